"""Request and response bodies of the HTTP API (pydantic at the edge)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SubjectId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9-]{1,36}$"),
    Field(description="A subject id Charter gave (a UUID); letters, digits and hyphens."),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentIn(Body):
    purpose: str = Field(max_length=64, description="A consent purpose the touchpoint offers.")
    notice: str = Field(max_length=20_000, description="The exact text shown beside the checkbox.")


UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class ParentIn(Body):
    email: str = Field(
        max_length=320,
        description="The parent's or guardian's e-mail: all that is kept until they answer.",
    )
    name: str | None = Field(default=None, max_length=200, description="For the greeting.")
    language: str | None = Field(default=None, max_length=16)


class SourceIn(Body):
    partner: str = Field(
        max_length=64, description="The partner it came from: one the touchpoint lists."
    )
    agreement: str | None = Field(
        default=None,
        max_length=200,
        description="The agreement it came under, one of the partner's; a social media "
        "platform with none may leave it out.",
    )


class SubmissionIn(Body):
    brand: str = Field(max_length=64)
    identities: dict[str, Any] = Field(
        description="email, phone, account_id, cookie_id, device_serial (as declared)."
    )
    data: dict[str, Any] = Field(default_factory=dict, description="Declared fields only.")
    consents: list[ConsentIn] = Field(default_factory=list, max_length=50)
    parent: ParentIn | None = Field(
        default=None,
        description="For a person under the child age: the parent to ask (answer 202). "
        "Ignored for adults and for children whose parent already consented.",
    )
    parental_consent: str | None = Field(
        default=None,
        pattern=UUID_PATTERN,
        description="The id of the parent's confirmed consent, when sending a child's "
        "submission again.",
    )
    source: SourceIn | None = Field(
        default=None,
        description="Required at a partner or social_media touchpoint, refused elsewhere: "
        "where the data came from (GDPR Art. 14); the person is told unless the partner is "
        "exempt.",
    )
    opt_outs: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list,
        max_length=50,
        description="Soft opt-in purposes established at this touchpoint that the person opted "
        "out of at collection (ePrivacy Directive Art. 13(2)); any other is 422 "
        "opt_out_not_offered.",
    )


class StoredOut(BaseModel):
    field: str
    category: str
    purposes: list[str]


class SoftOptInOut(BaseModel):
    purpose: str
    status: Literal["established", "opted_out"] = Field(
        description="opted_out: the person opted out now, or an objection already stands."
    )
    notice: str = Field(description="The opt-out notice shown at collection.")


class SubmissionOut(BaseModel):
    subject_id: str
    submission_id: str
    stored: list[StoredOut]
    consents: list[str] = Field(description="Purposes whose consent was recorded.")
    soft_opt_in: list[SoftOptInOut] = Field(
        default_factory=list,
        description="Soft opt-in relationships this submission establishes (not consents).",
    )


class AwaitingParentOut(BaseModel):
    status: Literal["awaiting_parental_consent"]
    parental_consent_id: str = Field(
        description="Poll GET /v1/parental-consents/{id}; once confirmed, send the submission "
        "again with it as parental_consent."
    )
    expires_at: dt.datetime = Field(description="When the request lapses if nobody answers.")
    purposes: list[str] = Field(description="What the parent is asked to consent to.")


class ParentalConsentOut(BaseModel):
    id: str
    brand: str
    touchpoint: str
    status: str = Field(description="pending, confirmed, used or withdrawn.")
    purposes: list[str]
    allowed_consents: list[str] = Field(description="Optional uses the parent allowed.")
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    expires_at: dt.datetime


class FieldOut(BaseModel):
    name: str
    category: str
    type: str
    required: bool


class TouchpointOut(BaseModel):
    key: str
    name: str
    brands: list[str]
    identities: list[str]
    fields: list[FieldOut]
    purposes: list[str]
    consent_purposes: dict[str, str] = Field(description="Purpose -> notice text to show.")


class NoticeIn(Body):
    brand: str = Field(max_length=64)
    identities: dict[str, Any] = Field(
        description="The person, by the touchpoint's identities; an email, or one of someone "
        "whose e-mail is known."
    )
    notice: str = Field(max_length=64, description="A key of the manifest's notices.")
    touchpoint: str = Field(
        max_length=64, description="The touchpoint with a field needing this notice."
    )


class NoticeOut(BaseModel):
    id: str
    notice: str
    touchpoint: str
    sent_at: dt.datetime | None = Field(
        description="When the outbox delivered it; null if delivery failed for now (it is "
        "retried, and covers nothing until it goes)."
    )
    valid_until: dt.datetime | None = Field(
        description="Until when it covers collecting the fields that need it."
    )


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    policy_version: str
