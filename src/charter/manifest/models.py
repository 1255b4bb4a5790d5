"""The manifest (``charter.yaml``) as pydantic models.

The shape follows ``shared/DESIGN.md``. Every model forbids unknown keys, so a typo is an error
rather than a silently ignored promise. Keys of data categories and data uses are fideslang keys
(or extend one), so that a Fides data map can be imported. Cross-references (a touchpoint naming a
purpose, a retention rule naming a category) are checked by the lint rules in ``lint.py``, which
report every problem at once instead of stopping at the first.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from charter.domain.durations import parse_duration
from charter.domain.requests import RequestType
from charter.manifest.countries import COUNTRY_NAMES

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
DottedKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Duration(str):
    """An ISO 8601 duration such as ``P3Y`` or ``P13M``, validated on load."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: object, handler: object) -> object:
        from pydantic_core import core_schema

        def validate(value: str) -> Duration:
            parse_duration(value)
            return cls(value)

        return core_schema.no_info_after_validator_function(validate, core_schema.str_schema())


class LegalBasis(StrEnum):
    """GDPR Art. 6(1) bases, plus the ePrivacy soft opt-in for existing customers."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGITIMATE_INTEREST = "legitimate_interest"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTEREST = "vital_interest"
    PUBLIC_TASK = "public_task"
    SOFT_OPT_IN = "soft_opt_in"
    """ePrivacy Directive Art. 13(2): e-mail marketing of the brand's own similar products to
    its existing customers, with an opt-out offered at collection and in every message. Not
    consent: the person is a customer of the brand (a sale at a touchpoint the purpose names)
    and has not opted out."""


class MinorsRule(StrEnum):
    """What a purpose may do with data of people under ``policy.child_age``."""

    PARENTAL_CONSENT = "parental_consent"
    EXCLUDED = "excluded"
    ALLOWED = "allowed"


class Contact(Model):
    name: str
    address: str
    email: str
    phone: str | None = None
    country: CountryCode | None = None


class Policy(Model):
    title: str = "Privacy Policy"
    version: str
    effective_date: dt.date
    controller: Contact
    representative: Contact | None = None
    dpo: Contact | None = None
    home_region: str = Field(
        default="EEA",
        description="Region whose law governs transfers: 'EEA' or one ISO country code.",
    )
    default_phone_region: CountryCode = "US"
    response_deadline_days: int = Field(default=30, ge=1, le=90)
    extension_days: int = Field(default=60, ge=0, le=90)
    child_age: int = Field(default=18, ge=13, le=21)
    parental_consent_days: int = Field(
        default=14,
        ge=1,
        le=60,
        description="Days a parent has to answer, and the service to use the consent, before "
        "the parent's contact is deleted.",
    )
    sells_personal_data: bool = False
    shares_aggregate_statistics: bool = Field(
        default=False,
        description="Whether aggregate, anonymous statistics (no longer personal data) are "
        "given to third parties; the policy then says so.",
    )
    supervisory_authority_url: str | None = None
    request_record_months: int = Field(
        default=24,
        ge=12,
        le=120,
        description="Months a closed rights request's record (history, keyed hashes, outcome) is "
        "kept as evidence of the answer, then deleted by the retention sweep.",
    )
    approval_required: list[RequestType] = Field(
        default_factory=lambda: [RequestType.ERASURE],
        description="Request types the privacy team approves before they are carried out.",
    )
    notice_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description="Days between publishing a version with a material change and its "
        "effective date, in which the people concerned are told (GDPR Art. 13(3)).",
    )


TcfPurposeId = Annotated[int, Field(ge=1, le=11)]


class TcfVendor(Model):
    """A vendor of the IAB Global Vendor List, as the brand declares it to its visitors."""

    id: int = Field(ge=1, le=65535, description="The vendor's id on the Global Vendor List.")
    name: str
    category: Key = Field(description="The cookie category whose consent covers this vendor.")
    purposes: list[TcfPurposeId] = Field(default_factory=list)
    legitimate_interests: list[TcfPurposeId] = Field(default_factory=list)
    special_features: list[Annotated[int, Field(ge=1, le=2)]] = Field(default_factory=list)

    @field_validator("legitimate_interests")
    @classmethod
    def _no_li_for_consent_only_purposes(cls, purposes: list[int]) -> list[int]:
        # TCF 2.2 policy: storage (1) and the personalisation purposes (3-6) need consent.
        barred = sorted(set(purposes) & {1, 3, 4, 5, 6})
        if barred:
            raise ValueError(f"TCF purposes {barred} cannot rest on legitimate interest")
        return purposes


class Tcf(Model):
    """IAB Transparency & Consent Framework v2.2 settings of one brand."""

    cmp_id: int = Field(ge=2, le=4095, description="The CMP id IAB Europe registered.")
    cmp_version: int = Field(default=1, ge=1, le=4095)
    vendor_list_version: int = Field(ge=1, le=4095)
    publisher_country: CountryCode
    publisher_purposes: list[TcfPurposeId] = Field(
        default_factory=list,
        description="TCF purposes the brand pursues itself (the publisher TC segment).",
    )
    vendors: list[TcfVendor] = Field(min_length=1)


class Brand(Model):
    name: str
    domains: list[str] = Field(min_length=1)
    tcf: Tcf | None = None
    default_language: Language = "en"

    @field_validator("domains")
    @classmethod
    def _domains_are_hostnames(cls, domains: list[str]) -> list[str]:
        for domain in domains:
            if not re.fullmatch(r"(?i)[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
                raise ValueError(f"{domain!r} is not a host name")
        return domains


class Sensitivity(StrEnum):
    LOW = "low"
    PERSONAL = "personal"
    SENSITIVE = "sensitive"
    SPECIAL = "special"


class DataCategory(Model):
    description: str
    sensitivity: Sensitivity = Sensitivity.PERSONAL


class SoftOptIn(Model):
    """How a ``soft_opt_in`` purpose comes to apply (ePrivacy Directive Art. 13(2))."""

    established_by: list[Key] = Field(
        min_length=1,
        description="Touchpoints whose submission (a sale, a product registration) makes the "
        "person an existing customer of that brand; each offers the opt-out at collection.",
    )
    opt_out_notice: str = Field(
        description="The opt-out offered at collection, shown beside the form (recorded as the "
        "evidence of the offer)."
    )
    lapses_after: Duration | None = Field(
        default=None,
        description="How long after the latest sale the relationship still counts as existing; "
        "none: while the person stays a customer.",
    )


class Purpose(Model):
    name: str
    description: str
    data_use: DottedKey
    legal_basis: LegalBasis
    legitimate_interest: str | None = Field(
        default=None, description="The interest pursued; required for legitimate_interest."
    )
    categories: list[DottedKey] = Field(min_length=1)
    objectable: bool | None = Field(
        default=None, description="Whether a person may object; defaults to true for LI."
    )
    direct_marketing: bool = False
    minors: MinorsRule = MinorsRule.PARENTAL_CONSENT
    notice: str | None = Field(default=None, description="Consent text shown to the person.")
    notice_version: int = Field(default=1, ge=1)
    soft_opt_in: SoftOptIn | None = Field(
        default=None, description="Required for, and only for, legal_basis soft_opt_in."
    )

    @model_validator(mode="after")
    def _soft_opt_in_matches_basis(self) -> Purpose:
        if (self.legal_basis is LegalBasis.SOFT_OPT_IN) != (self.soft_opt_in is not None):
            raise ValueError("soft_opt_in: give it exactly when legal_basis is soft_opt_in")
        return self

    @property
    def may_object(self) -> bool:
        if self.objectable is not None:
            return self.objectable
        return self.legal_basis in {LegalBasis.LEGITIMATE_INTEREST, LegalBasis.PUBLIC_TASK}


class FieldType(StrEnum):
    STRING = "string"
    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    COUNTRY = "country"
    DATE = "date"
    DATETIME = "datetime"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    URL = "url"
    IP_ADDRESS = "ip_address"
    PASSWORD = "password"  # noqa: S105 (a field type, not a secret)
    PAYMENT_TOKEN = "payment_token"  # noqa: S105
    ADDRESS = "address"


class Visibility(StrEnum):
    """Who may see a collected value beyond the company (privacy by default, GDPR Art. 25(2))."""

    PRIVATE = "private"
    PUBLIC = "public"
    """Published by the touchpoint's nature (a forum post and the name it is posted under)."""
    CHOICE = "choice"
    """Private unless the person chooses to make it public (a profile's location, a bio)."""


Choice = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class FieldSpec(Model):
    category: DottedKey
    type: FieldType = FieldType.STRING
    required: bool = False
    max_length: int = Field(default=500, ge=1, le=100_000)
    description: str | None = None
    choices: list[Choice] | None = Field(
        default=None,
        description="The only values accepted (a string field): a survey's answer options, "
        "which aggregate results count.",
    )
    prior_notice: Key | None = Field(
        default=None,
        description="A ``notices`` entry that must have been sent to the person before this "
        "field is collected (e.g. product diagnostics).",
    )
    visibility: Visibility = Visibility.PRIVATE

    @model_validator(mode="after")
    def _choices_are_strings(self) -> FieldSpec:
        if self.choices is not None:
            if self.type is not FieldType.STRING:
                raise ValueError("choices: only a string field takes choices")
            if not self.choices or len(set(self.choices)) != len(self.choices):
                raise ValueError("choices: list each value once, at least one")
        return self


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    ACCOUNT_ID = "account_id"
    COOKIE_ID = "cookie_id"
    DEVICE_SERIAL = "device_serial"


class Source(StrEnum):
    """Where the data comes from; anything but ``direct`` triggers GDPR Art. 14 duties."""

    DIRECT = "direct"
    AUTOMATIC = "automatic"
    PARTNER = "partner"
    SOCIAL_MEDIA = "social_media"


class SurveyRules(Model):
    """How a survey's results may be published (policy: "we will not attribute any particular
    response to you without your permission"): counts of the ``results`` fields' choices as an
    aggregate release, and quotes only from people who gave ``attribution_purpose``."""

    results: list[Key] = Field(
        min_length=1, description="Fields with choices whose counts are published."
    )
    quote_field: Key | None = Field(default=None, description="A free-text answer quoted.")
    name_field: Key | None = Field(default=None, description="The name a quote is signed with.")
    attribution_purpose: Key | None = Field(
        default=None, description="The consent purpose allowing a quote to be published."
    )

    @model_validator(mode="after")
    def _quotes_need_permission(self) -> SurveyRules:
        if self.quote_field is not None and self.attribution_purpose is None:
            raise ValueError("quote_field: quotes need an attribution_purpose")
        return self


class WinnerNames(StrEnum):
    """How much of a winner's name a contest's rules allow to be published."""

    NONE = "none"
    FIRST_NAME_AND_INITIAL = "first_name_and_initial"
    FULL_NAME = "full_name"


class ContestRules(Model):
    rules_url: Annotated[str, StringConstraints(pattern=r"^https://\S+$")]
    winners: WinnerNames = WinnerNames.NONE
    winner_country: bool = Field(
        default=False, description="Whether the winner's country is published with the name."
    )
    name_field: Key = "name"
    country_field: Key | None = None
    sponsor: Key | None = Field(
        default=None, description="The recipient co-sponsoring the contest, who receives entries."
    )


class ErasureOfPublic(StrEnum):
    DELETE = "delete"
    DEIDENTIFY = "deidentify"


class Publication(Model):
    """Where a touchpoint's public values are published, and what erasure does to them
    (GDPR Art. 17(1)-(2))."""

    system: Key | None = Field(
        default=None, description="The system publishing them (a forum's privacy webhook)."
    )
    on_erasure: ErasureOfPublic = ErasureOfPublic.DELETE
    replacement: str = Field(
        default="Former member",
        max_length=100,
        description="The author shown on de-identified posts.",
    )
    republishers: list[Key] = Field(
        default_factory=list,
        description="Recipients known to copy what is published (search engines, syndication "
        "partners), told of every erasure (Art. 17(2)).",
    )


class Touchpoint(Model):
    name: str
    description: str
    brands: Literal["all"] | list[Key] = "all"
    source: Source = Source.DIRECT
    partners: list[Key] = Field(
        default_factory=list,
        description="For a partner or social_media source: the ``partners`` it receives from.",
    )
    data_subjects: list[Key] = Field(default_factory=lambda: ["customer"])
    identities: list[IdentityKind] = Field(min_length=1)
    fields: dict[Key, FieldSpec] = Field(default_factory=dict)
    purposes: list[Key] = Field(min_length=1)
    consent_purposes: list[Key] = Field(
        default_factory=list, description="Consent purposes offered as unticked checkboxes."
    )
    survey: SurveyRules | None = None
    contest: ContestRules | None = None
    publication: Publication | None = None


class PriorNotice(Model):
    """A notice sent to the person before a kind of data is collected (policy: "we will notify
    you specifically in advance")."""

    name: str
    subject: str
    body: str
    valid_for: Duration = Field(
        default=Duration("P30D"), description="How long after it is sent the notice covers."
    )


class Art14Ground(StrEnum):
    """GDPR Art. 14(5): when data obtained from others needs no notice to the person."""

    ALREADY_INFORMED = "already_informed"  # (a)
    DISPROPORTIONATE_EFFORT = "disproportionate_effort"  # (b)
    REQUIRED_BY_LAW = "required_by_law"  # (c)
    PROFESSIONAL_SECRECY = "professional_secrecy"  # (d)


class Art14Exemption(Model):
    ground: Art14Ground
    reason: str


class Partner(Model):
    """Someone who passes personal data to us (Art. 14): a partner under an agreement, or a
    social media platform."""

    name: str
    kind: Literal["partner", "social_media"]
    description: str
    agreements: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        description="References of the agreements under which it passes data; a submission "
        "names one.",
    )
    exemption: Art14Exemption | None = Field(
        default=None, description="Why its people get no Art. 14 notice; none: they do."
    )


class RecipientKind(StrEnum):
    PROCESSOR = "processor"
    AFFILIATE = "affiliate"
    PUBLIC = "public"
    AUTHORITY = "authority"
    THIRD_PARTY = "third_party"


class TransferMechanism(StrEnum):
    ADEQUACY = "adequacy"
    SCC = "standard_contractual_clauses"
    BCR = "binding_corporate_rules"
    DEROGATION = "derogation"


class Transfer(Model):
    mechanism: TransferMechanism
    module: int | None = Field(default=None, ge=1, le=4, description="SCC module (1-4).")
    reference: str | None = None
    copy_url: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] | None = Field(
        default=None,
        description="Where a copy of the safeguard can be read (Art. 13(1)(f), 46): mailed to "
        "whoever asks for one.",
    )


class RecipientNotice(Model):
    """Where a recipient is told of an erasure, correction or restriction (GDPR Art. 17(2), 19):
    an e-mail address, or an HTTPS webhook receiving a signed JSON notice."""

    email: str | None = None
    webhook: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] | None = None
    secret_env: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")] | None = Field(
        default=None, description="With a webhook: the variable holding the HMAC secret."
    )

    @model_validator(mode="after")
    def _one_way(self) -> RecipientNotice:
        if (self.email is None) == (self.webhook is None):
            raise ValueError("give either email or webhook")
        return self


class Recipient(Model):
    name: str
    kind: RecipientKind
    description: str
    purposes: list[Key] = Field(default_factory=list)
    categories: list[DottedKey] = Field(default_factory=list)
    country: CountryCode | None = Field(
        default=None, description="Where the data goes; none for the public and for authorities."
    )
    transfer: Transfer | None = None
    notify: RecipientNotice | None = Field(
        default=None,
        description="How to tell it of an erasure, correction or restriction; none: staff do.",
    )


class Translation(Model):
    name: str | None = None
    description: str | None = None


class Cookie(Model):
    name: str
    vendor: str
    duration: Duration | Literal["session"]
    description: str
    first_party: bool = True
    brands: Literal["all"] | list[Key] = "all"
    translations: dict[Language, Translation] = Field(default_factory=dict)


class CookieCategory(Model):
    name: str
    description: str
    consent_required: bool = True
    purpose: Key | None = Field(
        default=None, description="The consent purpose a choice for this category records."
    )
    cookies: list[Cookie] = Field(default_factory=list)
    translations: dict[Language, Translation] = Field(default_factory=dict)
    tcf_purposes: list[TcfPurposeId] = Field(default_factory=list)
    tcf_special_features: list[Annotated[int, Field(ge=1, le=2)]] = Field(default_factory=list)


class CookieBanner(Model):
    """How the cookie banner asks and how long an answer is kept (CNIL, EDPB guidance)."""

    languages: list[Language] = Field(default_factory=lambda: ["en", "de", "fr", "es", "ja"])
    refusal_months: int = Field(default=6, ge=1, le=13)
    consent_months: int = Field(default=13, ge=1, le=13)
    consent_cookie: str = Field(default="charter_consent", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    strings: dict[Language, dict[str, str]] = Field(
        default_factory=dict, description="Overrides of the built-in banner texts per language."
    )


class CountedFrom(StrEnum):
    COLLECTION = "collection"
    LAST_ACTIVITY = "last_activity"


class RetentionAction(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"


class RetentionRule(Model):
    key: Key
    description: str | None = None
    categories: list[DottedKey] = Field(default_factory=list)
    touchpoints: list[Key] = Field(default_factory=list)
    period: Duration | None = None
    criteria: str | None = Field(
        default=None, description="When no fixed period applies: the criteria used (Art. 13(2)(a))."
    )
    counted_from: CountedFrom = CountedFrom.COLLECTION
    action: RetentionAction = RetentionAction.DELETE


class LegalHold(Model):
    key: Key
    law: str
    period: Duration
    categories: list[DottedKey] = Field(min_length=1)
    touchpoints: list[Key] = Field(min_length=1)


class Retention(Model):
    rules: list[RetentionRule] = Field(min_length=1)
    legal_holds: list[LegalHold] = Field(default_factory=list)


class ErasureAction(StrEnum):
    DELETE_ROW = "delete_row"
    NULL = "null"
    MASK = "mask"


class ColumnSpec(Model):
    category: DottedKey
    erasure: ErasureAction = ErasureAction.NULL


class Relation(Model):
    column: str
    references: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][\w]*\.[A-Za-z_][\w]*$")]


class Table(Model):
    identities: dict[str, IdentityKind] = Field(default_factory=dict)
    primary_key: str = "id"
    relations: list[Relation] = Field(default_factory=list)
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    legal_hold: Key | None = Field(
        default=None,
        description="The retention.legal_holds entry whose records this table holds; erasure "
        "keeps its rows and the columns the hold covers.",
    )


class ConnectorKind(StrEnum):
    SQL = "sql"
    PARQUET = "parquet"
    WEBHOOK = "webhook"
    MANUAL = "manual"


class System(Model):
    name: str
    connector: ConnectorKind
    connection_env: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")] | None = None
    secret_env: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")] | None = Field(
        default=None, description="A webhook system: the variable holding its HMAC secret."
    )
    description: str | None = None
    tables: dict[str, Table] = Field(default_factory=dict)


DEFAULT_DEVICE_TYPES = ("desktop", "mobile", "tablet", "other")


class Dimension(Model):
    """A dimension aggregate statistics may be broken down by, with its public domain: the
    values every release lists, present in the data or not (a cell list drawn from the data
    would itself reveal who is there)."""

    column: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")] | None = Field(
        default=None, description="The dataset column; defaults to the dimension's key."
    )
    values: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] | None = Field(
        default=None,
        description="The public domain; defaults: every ISO 3166-1 country for country, "
        "the manifest's brands for brand, desktop/mobile/tablet/other for device_type.",
    )

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list[str] | None) -> list[str] | None:
        if values is not None and (not values or len(set(values)) != len(values)):
            raise ValueError("list each value once, at least one")
        return values


def _default_dimensions() -> dict[str, Dimension]:
    return {"country": Dimension(), "device_type": Dimension(), "brand": Dimension()}


class Statistics(Model):
    """Anonymous aggregate releases (counts, sums, histograms) protected by differential
    privacy; see ``charter.domain.release``. The contribution salt is not here: it is derived
    from the master key, so no reader of the manifest can predict which contributions are kept."""

    k: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Cells whose noisy value is below k are suppressed.",
    )
    epsilon_budget: float = Field(
        default=10.0,
        gt=0,
        le=100,
        description="Total epsilon per dataset (sequential composition).",
    )
    epsilon: float = Field(default=1.0, gt=0, le=100, description="Default epsilon per release.")
    max_rows_per_cell: int = Field(
        default=1, ge=1, le=1000, description="K: rows a person contributes to one cell."
    )
    max_cells_per_person: int = Field(
        default=4, ge=1, le=1000, description="M: cells a person contributes to."
    )
    dimensions: dict[Key, Dimension] = Field(default_factory=_default_dimensions)

    @model_validator(mode="after")
    def _domains_known(self) -> Statistics:
        if self.epsilon > self.epsilon_budget:
            raise ValueError("epsilon: the default per release exceeds epsilon_budget")
        for key, dimension in self.dimensions.items():
            if dimension.values is None and key not in ("country", "device_type", "brand"):
                raise ValueError(f"dimensions.{key}: declare its values (the public domain)")
        return self

    def domain(self, key: str, brands: list[str]) -> tuple[str, ...]:
        """The public domain of dimension ``key`` (see ``Dimension``)."""
        values = self.dimensions[key].values
        if values is not None:
            return tuple(values)
        if key == "country":
            return tuple(sorted(COUNTRY_NAMES))
        if key == "brand":
            return tuple(brands)
        return DEFAULT_DEVICE_TYPES


class IpTruncationBits(Model):
    ipv4: int = Field(default=24, ge=0, le=32, description="Leading bits of an IPv4 address kept.")
    ipv6: int = Field(default=48, ge=0, le=128, description="Leading bits of an IPv6 address kept.")


class Events(Model):
    """Where ``POST /v1/events`` stores page views (``charter.services.events``)."""

    system: Key = Field(default="events", description="The parquet system holding the lake.")
    table: Key = Field(default="page_views", description="The dataset under the system's root.")
    ip_truncation: IpTruncationBits = Field(default_factory=IpTruncationBits)


class Manifest(Model):
    charter: Literal[1] = Field(description="Manifest format version.")
    policy: Policy
    brands: dict[Key, Brand] = Field(min_length=1)
    data_categories: dict[DottedKey, DataCategory] = Field(min_length=1)
    purposes: dict[Key, Purpose] = Field(min_length=1)
    touchpoints: dict[Key, Touchpoint] = Field(min_length=1)
    notices: dict[Key, PriorNotice] = Field(
        default_factory=dict, description="Notices sent before a field is collected."
    )
    partners: dict[Key, Partner] = Field(
        default_factory=dict, description="Sources of data not collected from the person."
    )
    recipients: dict[Key, Recipient] = Field(default_factory=dict)
    cookies: dict[Key, CookieCategory] = Field(default_factory=dict)
    cookie_banner: CookieBanner = Field(default_factory=CookieBanner)
    retention: Retention
    systems: dict[Key, System] = Field(default_factory=dict)
    statistics: Statistics = Field(default_factory=Statistics)
    events: Events | None = Field(
        default=None, description="Page views collected by POST /v1/events; none without it."
    )

    def touchpoint_brands(self, touchpoint: Touchpoint) -> list[str]:
        return list(self.brands) if touchpoint.brands == "all" else list(touchpoint.brands)


IDENTITY_CATEGORIES: dict[IdentityKind, str] = {
    IdentityKind.EMAIL: "user.contact.email",
    IdentityKind.PHONE: "user.contact.phone_number",
    IdentityKind.ACCOUNT_ID: "user.unique_id",
    IdentityKind.COOKIE_ID: "user.device.cookie_id",
    IdentityKind.DEVICE_SERIAL: "user.device.device_id",
}
"""The data category each kind of identity belongs to; identities are personal data too."""
