"""Request and response bodies of the HTTP API (pydantic at the edge)."""

from __future__ import annotations

from typing import Annotated, Any

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


class SubmissionIn(Body):
    brand: str = Field(max_length=64)
    identities: dict[str, Any] = Field(
        description="email, phone, account_id, cookie_id, device_serial (as declared)."
    )
    data: dict[str, Any] = Field(default_factory=dict, description="Declared fields only.")
    consents: list[ConsentIn] = Field(default_factory=list, max_length=50)


class StoredOut(BaseModel):
    field: str
    category: str
    purposes: list[str]


class SubmissionOut(BaseModel):
    subject_id: str
    submission_id: str
    stored: list[StoredOut]
    consents: list[str] = Field(description="Purposes whose consent was recorded.")


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


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    policy_version: str
