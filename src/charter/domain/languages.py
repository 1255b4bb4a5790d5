"""Which language a mail to a person is written in.

GDPR Art. 12(1) asks for information "in a concise, transparent, intelligible and easily
accessible form, using clear and plain language"; supervisory authorities read "plain
language" as the language of the audience the controller addresses. So a mail to a person is
in, by order of preference:

1. the language of the request it answers, when one was given and is offered;
2. else the person's latest recorded language (a consent given through a banner in that
   language, an earlier request), when offered;
3. else the brand's default language (a German-speaking brand writes in German), when offered;
4. else English, the language of the texts' source.

"Offered" means Charter has mail texts for it and the group chose it (the manifest's
``cookie_banner.languages``, the languages it addresses people in). Language tags are compared
by their primary subtag, case-insensitive: ``de-AT`` and ``DE`` are ``de``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FALLBACK = "en"
"""The language of the texts' source, and of a mail when nothing else is known."""

_PRIMARY = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")


def primary(tag: str | None) -> str | None:
    """The primary language subtag of a BCP 47 tag, lower-cased (``pt-BR`` -> ``pt``); ``None``
    for nothing or for what is no language tag."""
    if tag is None:
        return None
    found = _PRIMARY.match(tag.strip())
    return found.group(1).lower() if found else None


def offered(available: Iterable[str], chosen: Iterable[str] | None) -> frozenset[str]:
    """The languages a mail may be written in: those with texts (``available``) that the group
    chose (``chosen``; ``None`` when it chose none, then all available). English, the source,
    is always offered."""
    have = {primary(a) for a in available} - {None}
    if chosen is not None:
        have &= {primary(c) for c in chosen}
    return frozenset({str(a) for a in have} | {FALLBACK})


def mail_language(
    *,
    requested: str | None,
    recorded: str | None,
    brand_default: str | None,
    offered: frozenset[str],
) -> str:
    """The language of a mail to a person (see the module docstring for the order)."""
    return first_offered((requested, recorded, brand_default), offered)


def first_offered(candidates: Iterable[str | None], offered: frozenset[str]) -> str:
    """The first of ``candidates`` (tags, most preferred first) that is offered, else English."""
    for candidate in candidates:
        language = primary(candidate)
        if language is not None and language in offered:
            return language
    return FALLBACK
