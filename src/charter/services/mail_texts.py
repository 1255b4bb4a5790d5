"""The texts of the mails to people, per language (``mail_locales/<language>.json``).

English (``en.json``) is the source of truth; every other language has the same keys with the
same ``{placeholders}`` (a unit test checks it), so that a mail renders in every language or in
none. A catalogue also carries its month names and its date pattern ("12 March 2026",
"12. März 2026", "2026年3月12日") and its units of time, so that the dates and periods a mail
names read naturally too. Which language a given mail is in: ``charter.domain.languages`` and
``charter.services.mail_language``.

The texts of the manifest (a purpose's name, a category's description, a prior notice) and
what staff wrote (reasons, a breach's description) are not translated: they go as written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from charter.domain.durations import parse_duration
from charter.domain.languages import FALLBACK

FOLDER = Path(__file__).parent / "mail_locales"


@cache
def _catalogue(language: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FOLDER / f"{language}.json").read_text("utf-8"))
    return loaded


@cache
def available() -> frozenset[str]:
    """The languages Charter has mail texts for."""
    return frozenset(path.stem for path in FOLDER.glob("*.json"))


class MailTexts:
    """The mail texts of one language (English for a language without texts)."""

    def __init__(self, language: str = FALLBACK) -> None:
        self.language = language if language in available() else FALLBACK
        self._texts = _catalogue(self.language)

    def __call__(self, key: str, **values: object) -> str:
        return str(self._texts[key]).format(**values)

    def date(self, moment: dt.date) -> str:
        """A day as people of the language write it (``moment`` as given: pass it in UTC)."""
        month = self._texts["months"][moment.month - 1]
        return self("date", day=moment.day, month=month, year=moment.year)

    def duration(self, period: str) -> str:
        """An ISO 8601 period in words: ``P1Y6M`` -> "1 year and 6 months"."""
        d = parse_duration(period)
        hours, rest = divmod(d.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        counts = (
            ("year", d.years),
            ("month", d.months),
            ("day", d.days),
            ("hour", hours),
            ("minute", minutes),
            ("second", seconds),
        )
        parts = [
            self(f"duration.{unit}.{'one' if n == 1 else 'other'}", n=n) for unit, n in counts if n
        ]
        return self.join(parts) if parts else self("duration.none")

    def sign_off(self, controller: str, email: str) -> str:
        """The end of a mail: the controller's privacy team and its address."""
        return f"\n\n{self('sign_off', controller=controller)}\n{email}\n"

    def join(self, items: Sequence[str]) -> str:
        """``a``; ``a and b``; ``a, b and c`` (in the language's words)."""
        if len(items) < 2:
            return "".join(items)
        return self("list.separator").join(items[:-1]) + self("list.and") + items[-1]
