"""The public page of a contest's winner announcement: ``/contests/{id}``.

What ``GET /v1/contests/announcements/{id}`` answers, as a page: the names as the contest's
rules allow, read from the winners' current data ("Name withdrawn" for a winner erased since),
or, when the rules allow no names, how many winners were drawn. No external resource; rate
limited per client like the API's reading.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse

from charter.domain.errors import NotFound
from charter.facade import Charter
from charter.web.pages import charter_of, environment, sentence
from charter.web.ratelimit import limited

router = APIRouter(prefix="/contests", include_in_schema=False)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@router.get(
    "/{announcement_id}",
    response_class=HTMLResponse,
    dependencies=[Depends(limited("contest_announcements"))],
)
def announcement(
    announcement_id: str = Path(max_length=64),
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    view = None
    error = None
    try:
        if not _UUID.fullmatch(announcement_id):
            raise NotFound(f"no announcement '{announcement_id}'", code="unknown_announcement")
        view = charter.contests.announcement(announcement_id)
    except NotFound as found:
        error = sentence(found.message)
    policy = charter.manifest.policy
    html = (
        environment()
        .get_template("contest_announcement.html.j2")
        .render(
            title=view.title if view else "No such announcement",
            brand_name=view.brand_name if view else policy.controller.name,
            policy_url="/policy",
            contact_email=(policy.dpo or policy.controller).email,
            lang="en",
            announcement=view,
            error=error,
        )
    )
    return HTMLResponse(html, status_code=404 if view is None else 200)
