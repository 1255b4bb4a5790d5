"""The language of a mail to a person, from what Charter recorded (the rule:
``charter.domain.languages``).

The person's latest recorded language is the language of their latest consent event or rights
request that recorded one (a banner shown in French, a request filed in German). The brand's
``default_language`` follows; the group's ``cookie_banner.languages`` bound what is offered.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from charter.domain.languages import mail_language, offered
from charter.manifest.models import Manifest
from charter.services.mail_texts import MailTexts, available
from charter.storage.engine import utc
from charter.storage.tables import consent_events, rights_requests


def offered_languages(manifest: Manifest) -> frozenset[str]:
    """The languages Charter has mail texts for that the group addresses people in."""
    return offered(available(), manifest.cookie_banner.languages)


def recorded_languages(connection: Connection, subject_ids: Sequence[str]) -> dict[str, str]:
    """Each subject's latest recorded language (consent events and requests), if any."""
    if not subject_ids:
        return {}
    found = []
    for table, at in (
        (consent_events, consent_events.c.occurred_at),
        (rights_requests, rights_requests.c.received_at),
    ):
        found += [
            (utc(row.at), row.subject_id, row.language)
            for row in connection.execute(
                select(table.c.subject_id, table.c.language, at.label("at")).where(
                    table.c.subject_id.in_(list(subject_ids)), table.c.language.is_not(None)
                )
            )
        ]
    latest: dict[str, str] = {}
    for _, subject_id, language in sorted(found, key=lambda f: f[0]):
        latest[subject_id] = language
    return latest


def texts_for(
    manifest: Manifest,
    connection: Connection | None,
    *,
    brand: str | None,
    subject_id: str | None = None,
    requested: str | None = None,
    recorded: str | None = None,
) -> MailTexts:
    """The texts of a mail to the person ``subject_id`` (or to nobody known yet) in the name of
    ``brand``, answering a request in ``requested``. ``recorded``: the person's latest recorded
    language when the caller looked it up for many people at once (or for nobody: no
    ``connection``)."""
    if recorded is None and subject_id is not None and connection is not None:
        recorded = recorded_languages(connection, [subject_id]).get(subject_id)
    found = manifest.brands.get(brand) if brand is not None else None
    return MailTexts(
        mail_language(
            requested=requested,
            recorded=recorded,
            brand_default=found.default_language if found is not None else None,
            offered=offered_languages(manifest),
        )
    )


def content_language(texts: MailTexts) -> dict[str, str]:
    """The mail's ``Content-Language`` header (RFC 3282)."""
    return {"Content-Language": texts.language}
