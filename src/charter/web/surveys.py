"""The public page of a published survey result: ``/surveys/results/{result_id}``.

It shows what ``GET /v1/surveys/results/{result_id}`` answers (``charter.services.surveys``):
every declared choice with its noisy count ("fewer than k" where suppressed), and the quotes
whose author's permission stands now, each signed with the name they gave. No script, no
resource of another host; never cached, so that a quote withdrawn since is not served again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse

from charter.domain.errors import NotFound
from charter.facade import Charter
from charter.web.pages import charter_of, environment, sentence
from charter.web.ratelimit import limited

router = APIRouter(prefix="/surveys", include_in_schema=False)
ResultId = Path(max_length=36)


@router.get(
    "/results/{result_id}",
    response_class=HTMLResponse,
    dependencies=[Depends(limited("survey_results"))],
)
def result_page(result_id: str = ResultId, charter: Charter = Depends(charter_of)) -> HTMLResponse:
    policy = charter.manifest.policy
    context: dict[str, Any] = {
        "brand_name": policy.controller.name,
        "policy_url": "/policy",
        "contact_email": (policy.dpo or policy.controller).email,
        "lang": "en",
    }
    status = 200
    try:
        found = charter.surveys.result(result_id)
    except NotFound as error:
        status = 404
        context |= {"title": "Survey result not found", "error": sentence(error.message)}
    else:
        brand = charter.manifest.brands.get(found.brand or "")
        context |= {
            "title": found.title,
            "result": found,
            "result_brand": brand.name if brand is not None else None,
        }
    html = environment().get_template("survey_result.html.j2").render(**context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
