"""The records of processing activities (GDPR Art. 30) for staff: ``GET /v1/ropa``.

The same records as ``charter ropa export --format json`` (``charter.manifest.ropa``), built from
the manifest Charter runs on, so that what the register says is what Charter enforces. Art. 30(4)
makes the records available to the supervisory authority on request; here the roles holding
``read_registers`` (admin, privacy officer, auditor) read them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from charter.api.auth import get_charter, require
from charter.api.schemas import ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.manifest.ropa import ProcessingRecord, processing_records

router = APIRouter(prefix="/v1", tags=["registers"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403)}


@router.get(
    "/ropa",
    response_model=list[ProcessingRecord],
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.READ_REGISTERS))],
    summary="Records of processing activities (GDPR Art. 30), one per purpose",
)
async def ropa(charter: Charter = Depends(get_charter)) -> list[ProcessingRecord]:
    # ``async``: the records come from the manifest in memory, with no database read to wait on.
    return processing_records(charter.manifest)
