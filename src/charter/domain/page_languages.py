"""Which language a page shown to a person is in (the privacy center).

The same duty as for mails (GDPR Art. 12(1): information "in a concise, transparent,
intelligible and easily accessible form, using clear and plain language", the language of the
audience addressed), but a page knows more about its reader than a mail: the person may choose
a language on the page, and their browser says which languages they read (the
``Accept-Language`` header, RFC 9110 section 12.5.4). So a page is in, by order of preference:

1. the language the person chose on the page (``?lang=`` or the form's choice), when offered;
2. else the language of the request the page is about, when there is one and it is offered
   (the person chose it when filing; the page and the mails then agree);
3. else the first offered language of ``Accept-Language``, by quality value (``q=0`` means
   "not this one"; equal values keep the header's order; ``*`` names no language);
4. else the brand's default language, when offered; else English.

"Offered" is as for mails (``charter.domain.languages.offered``); tags compare by their
primary subtag.
"""

from __future__ import annotations

from charter.domain.languages import first_offered, primary


def accepted(header: str | None) -> list[str]:
    """The primary languages ``Accept-Language`` asks for, most wanted first; malformed items
    and those refused (``q=0``) are left out, ``fr-CH, fr;q=0.9, en;q=0.8`` -> ``fr, en``."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = primary(tag)
        if language is not None and 0.0 < quality <= 1.0:
            ranked.append((-quality, position, language))
    return list(dict.fromkeys(language for _, _, language in sorted(ranked)))


def page_language(
    *,
    chosen: str | None,
    request: str | None,
    accept_language: str | None,
    brand_default: str | None,
    offered: frozenset[str],
) -> str:
    """The language of a page to a person (see the module docstring for the order)."""
    return first_offered((chosen, request, *accepted(accept_language), brand_default), offered)
