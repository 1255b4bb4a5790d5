"""Prior notices: ``POST /v1/notices`` tells a person before a field that needs it is collected
(see ``charter.services.prior_notices``)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends

from charter.api.auth import get_charter, require
from charter.api.schemas import ErrorOut, NoticeIn, NoticeOut
from charter.domain.permissions import Permission
from charter.facade import Charter

router = APIRouter(prefix="/v1", tags=["collection"])

_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 413, 422)
}


@router.post(
    "/notices",
    status_code=201,
    response_model=NoticeOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.COLLECT))],
    summary="Send a person the notice a touchpoint's field needs before it is collected",
)
def send_notice(body: NoticeIn, charter: Charter = Depends(get_charter)) -> NoticeOut:
    sent = charter.prior_notices.send(
        brand=body.brand,
        identities=body.identities,
        notice=body.notice,
        touchpoint=body.touchpoint,
    )
    return NoticeOut.model_validate(asdict(sent))
