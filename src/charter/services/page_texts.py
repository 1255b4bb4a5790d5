"""The texts of what a person sees, per language (``page_locales/<language>.json``): the privacy
center's pages (keys ``privacy.*``) and the access report of a package (keys ``report.*``).

The mail catalogue's rules hold (``charter.services.mail_texts``): English is the source of
truth, every other language has the same keys with the same ``{placeholders}`` (a unit test
checks it), and the mail catalogue's months, date pattern, units of time and list words are
shared, so that a page and a mail write a date alike. A page text is plain text, escaped for
HTML like what goes into its placeholders, unless the template made that markup (a link, a
``<time>``). Which language: ``charter.domain.languages``
for the report (as for mails), ``charter.domain.page_languages`` for pages.

The texts of the manifest (brand names, purposes' descriptions) and what staff wrote go as
written.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from charter.domain.languages import FALLBACK
from charter.services.mail_texts import MailTexts

FOLDER = Path(__file__).parent / "page_locales"

NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español", "ja": "日本語"}
"""Each language in its own words, for a language switcher (a reader looks for their own)."""


@cache
def _catalogue(language: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FOLDER / f"{language}.json").read_text("utf-8"))
    return loaded


@cache
def available() -> frozenset[str]:
    """The languages Charter has page texts for."""
    return frozenset(path.stem for path in FOLDER.glob("*.json"))


class PageTexts(MailTexts):
    """The page texts of one language, with its mail texts' dates and durations (English for
    a language without page texts)."""

    def __init__(self, language: str = FALLBACK) -> None:
        super().__init__(language if language in available() else FALLBACK)
        self._texts = {**self._texts, **_catalogue(self.language)}

    def has(self, key: str) -> bool:
        return key in self._texts

    def pattern(self, key: str) -> Any:
        """The text of ``key`` with its ``{placeholders}`` unfilled (a list for ``months``)."""
        return self._texts[key]

    def date(self, moment: dt.date) -> str:
        """A day as a page writes it, "5 March 2026", "5. März 2026" (``moment`` as given: pass
        it in UTC). A page's own pattern: a mail's may pad the day ("05 March 2026")."""
        month = self.pattern("months")[moment.month - 1]
        return self("day", day=moment.day, month=month, year=moment.year)

    def moment(self, at: dt.datetime) -> str:
        """A day and time as people of the language write it (``at`` as given: pass UTC)."""
        return self("time", date=self.date(at), hour=at.hour, minute=at.minute)


class HtmlTexts:
    """``PageTexts`` for a template: each text as markup, its values escaped unless markup."""

    def __init__(self, texts: PageTexts) -> None:
        self.texts = texts
        self.language = texts.language

    def __call__(self, key: str, **values: object) -> Markup:
        # Escaped, then filled: Markup.format escapes each value unless it is markup already.
        return escape(str(self.texts.pattern(key))).format(**values)

    def count(self, key: str, n: int, **values: object) -> Markup:
        """The text for ``n`` things: ``key.one`` for one, ``key.other`` otherwise."""
        return self(f"{key}.{'one' if n == 1 else 'other'}", n=n, **values)

    def known(self, key: str, otherwise: str) -> Markup | str:
        """The text of ``key`` if the catalogue has one (a value Charter knows), else
        ``otherwise`` (a value it does not, such as a connector's own kind)."""
        return self(key) if self.texts.has(key) else otherwise
