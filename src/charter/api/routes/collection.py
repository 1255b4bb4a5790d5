"""Collection at touchpoints: ``POST /v1/touchpoints/{touchpoint}/submissions``."""

from __future__ import annotations

import json
from dataclasses import asdict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from charter.api.auth import get_charter, require
from charter.api.routes import gpc
from charter.api.schemas import (
    AwaitingParentOut,
    ErrorOut,
    FieldOut,
    SubmissionIn,
    SubmissionOut,
    TouchpointOut,
)
from charter.domain.cards import refuse_card_data
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.children import AwaitingParent
from charter.web.ratelimit import hit_identity

router = APIRouter(prefix="/v1", tags=["collection"])

_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 413, 422)
}


async def reject_card_data(request: Request) -> None:
    """Scan the raw body before any other check: a card number anywhere refuses it all.

    This runs ahead of schema validation so that a card number in an unknown key or a
    mistyped field is still reported as card data, and never echoed back.
    """
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return  # malformed JSON is reported by body validation as 400
    refuse_card_data(body)


@router.post(
    "/touchpoints/{touchpoint}/submissions",
    status_code=201,
    response_model=SubmissionOut,
    responses={
        **_ERRORS,
        202: {
            "model": AwaitingParentOut,
            "description": "A child's submission: nothing kept; the parent was asked.",
        },
    },
    dependencies=[Depends(require(Permission.COLLECT)), Depends(reject_card_data)],
    summary="Collect a form submission at a touchpoint",
)
def submit(
    touchpoint: str, body: SubmissionIn, request: Request, charter: Charter = Depends(get_charter)
) -> SubmissionOut | JSONResponse:
    if body.parent is not None:
        # A child can type any address as their parent's: one address gets only so many mails.
        hit_identity(request, "parental_consent_ask", "email", body.parent.email)
    receipt = charter.submit(
        touchpoint,
        brand=body.brand,
        identities=body.identities,
        data=body.data,
        consents=[consent.model_dump() for consent in body.consents],
        parent=body.parent.model_dump() if body.parent else None,
        parental_consent=body.parental_consent,
        opt_outs=body.opt_outs,
        source=body.source.model_dump() if body.source else None,
    )
    if isinstance(receipt, AwaitingParent):
        out = AwaitingParentOut.model_validate(asdict(receipt))
        return JSONResponse(out.model_dump(mode="json"), status_code=202)
    if gpc.signalled(request):
        # Sec-GPC: 1 is the person's opt-out of sale/sharing (recorded right after the
        # submission's own transaction, in one of its own).
        charter.opt_out_of_sale(body.brand, receipt.subject_id)
    return SubmissionOut.model_validate(asdict(receipt))


@router.get(
    "/touchpoints",
    response_model=list[TouchpointOut],
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.READ_MANIFEST))],
    summary="What each touchpoint may collect, for form builders",
)
def touchpoints(charter: Charter = Depends(get_charter)) -> list[TouchpointOut]:
    manifest = charter.manifest
    return [
        TouchpointOut(
            key=key,
            name=tp.name,
            brands=manifest.touchpoint_brands(tp),
            identities=[kind.value for kind in tp.identities],
            fields=[
                FieldOut(
                    name=name, category=spec.category, type=spec.type.value, required=spec.required
                )
                for name, spec in tp.fields.items()
            ],
            purposes=tp.purposes,
            consent_purposes={p: manifest.purposes[p].notice or "" for p in tp.consent_purposes},
        )
        for key, tp in manifest.touchpoints.items()
    ]
