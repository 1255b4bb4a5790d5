"""The cookie banner: its content per brand and language, and each choice into the ledger.

The banner's categories, cookies, durations and vendors come from the manifest; its texts from
the built-in locale files (``locales/*.json``), overridden by ``cookie_banner.strings``. A choice
is recorded as one consent event per category asking for consent, against the visitor's
first-party cookie id, with the policy version, the language and the version of the whole text
shown; the notice kept for each event is the exact text the banner showed about that category.

The Global Privacy Control signal is recorded as soon as a request carries it for a known cookie
id: with a choice, or alone (method ``gpc``: the script found a stored choice that the signal
overrules), when the sale and sharing categories still standing are withdrawn (method ``gpc``)
and the person's record gets the sale/sharing opt-out; the other answers are left as they were.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from charter.domain.clock import Clock
from charter.domain.consent import ANY_CHANNEL, Channel, ConsentMethod
from charter.domain.cookie_banner import (
    BannerCategory,
    ChoiceMethod,
    TcfSetup,
    Vendor,
    answers,
    cookie_value,
    remembered_until,
    resolve_choice,
    signal_withdrawals,
    tc_model,
    version_of,
)
from charter.domain.durations import parse_duration
from charter.domain.errors import Conflict, InvalidInput, InvalidValue, NotFound
from charter.domain.tcf import TCF_POLICY_VERSION, encode
from charter.manifest.models import Cookie, CookieCategory, Manifest
from charter.services.brands import require_brand
from charter.services.consents import ConsentRequest, ConsentService
from charter.services.identify import find_or_create, hash_identities
from charter.services.preferences import PreferenceService
from charter.services.receipts import ReceiptService
from charter.services.rules import is_sale_or_sharing
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository

LOCALES = Path(__file__).parent / "locales"
COOKIE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_UNITS = (("years", "year"), ("months", "month"), ("days", "day"))


@cache
def builtin_strings(language: str) -> dict[str, str]:
    """The built-in banner texts of a language ({} when there are none)."""
    path = LOCALES / f"{language}.json"
    if not re.fullmatch(r"[a-z]{2}", language) or not path.is_file():
        return {}
    strings: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return strings


@dataclass(frozen=True)
class CookieChoice:
    brand: str
    method: str
    language: str
    config_version: str
    text_version: str
    choices: Mapping[str, bool] | None = None
    cookie_id: str | None = None
    gpc: bool = False
    stored_expires: int | None = None  # method gpc: the stored choice's expiry, epoch seconds


@dataclass(frozen=True)
class RecordedChoice:
    cookie_id: str
    choices: dict[str, bool]
    cookie_value: str
    max_age: int
    expires_at: str
    tc_string: str | None
    gpc_honoured: bool
    receipts: dict[str, str]


class CookieBannerService:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        consents: ConsentService,
        preferences: PreferenceService,
        receipts: ReceiptService,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.consents = consents
        self.preferences = preferences
        self.receipts = receipts
        self.settings = manifest.cookie_banner
        self.categories = [
            BannerCategory(
                key,
                category.purpose if category.consent_required else None,
                sale_or_sharing=category.purpose is not None
                and is_sale_or_sharing(manifest.purposes[category.purpose]),
                tcf_purposes=frozenset(category.tcf_purposes),
                tcf_special_features=frozenset(category.tcf_special_features),
            )
            for key, category in manifest.cookies.items()
        ]
        self._by_key = {category.key: category for category in self.categories}
        self._tcf = {
            key: TcfSetup(
                tcf.cmp_id,
                tcf.cmp_version,
                tcf.vendor_list_version,
                tcf.publisher_country,
                frozenset(tcf.publisher_purposes),
                tuple(
                    Vendor(v.id, v.category, frozenset(v.legitimate_interests)) for v in tcf.vendors
                ),
            )
            for key, brand in manifest.brands.items()
            if (tcf := brand.tcf) is not None
        }
        self._config_versions = {brand: self._config_version(brand) for brand in manifest.brands}
        self._views: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}

    # -- what the banner shows -----------------------------------------------------------

    def language(self, brand: str, wanted: str | None) -> str:
        """The first of the wanted languages (``de-CH,fr;q=0.8`` or ``ja``) that the banner
        offers, else the brand's default language when offered, else the first offered."""
        offered = self.settings.languages
        for tag in re.split(r"[,\s]+", wanted or ""):
            code = tag.split(";")[0].split("-")[0].strip().lower()
            if code in offered:
                return code
        default = self.manifest.brands[brand].default_language
        return default if default in offered else offered[0]

    def strings(self, language: str) -> dict[str, str]:
        """English, then the language's built-in texts, then the manifest's overrides."""
        merged = dict(builtin_strings("en"))
        merged.update(builtin_strings(language))
        merged.update(self.settings.strings.get(language, {}))
        return merged

    def config(self, brand: str, wanted_language: str | None, gpc: bool) -> dict[str, Any]:
        """Everything the banner script needs for one brand, in one language."""
        if brand not in self.manifest.brands:
            raise NotFound(f"no brand '{brand}' in the manifest", code="unknown_brand")
        language = self.language(brand, wanted_language)
        shown, text_version = self._shown(brand, language)
        tcf = self.manifest.brands[brand].tcf
        return {
            "brand": brand,
            "brand_name": self.manifest.brands[brand].name,
            "language": language,
            "languages": list(self.settings.languages),
            "policy_version": self.manifest.policy.version,
            "config_version": self._config_versions[brand],
            "text_version": text_version,
            "consent_cookie": self.settings.consent_cookie,
            "gpc": gpc,
            "links": {
                "policy": f"/policy?brand={brand}",
                "privacy_center": f"/privacy?brand={brand}",
            },
            **shown,
            "tcf": None
            if tcf is None
            else {
                "cmp_id": tcf.cmp_id,
                "cmp_version": tcf.cmp_version,
                "vendor_list_version": tcf.vendor_list_version,
                "tcf_policy_version": TCF_POLICY_VERSION,
                "publisher_country": tcf.publisher_country,
                "vendors": [v.model_dump() for v in tcf.vendors],
            },
        }

    def _shown(self, brand: str, language: str) -> tuple[dict[str, Any], str]:
        """The texts and tables shown, and their version (the manifest does not change while
        it is loaded, so each is built once)."""
        key = (brand, language)
        if key not in self._views:
            view = self._view(brand, language)
            self._views[key] = (view, version_of(view))
        return self._views[key]

    def _view(self, brand: str, language: str) -> dict[str, Any]:
        strings = self.strings(language)
        strings = {
            k: v.replace("{brand}", self.manifest.brands[brand].name) for k, v in strings.items()
        }
        tcf = self.manifest.brands[brand].tcf
        return {
            "strings": strings,
            "categories": [
                self._category(brand, key, category, language, strings)
                for key, category in self.manifest.cookies.items()
            ],
            "vendors": [] if tcf is None else [{"id": v.id, "name": v.name} for v in tcf.vendors],
        }

    def _category(
        self, brand: str, key: str, category: CookieCategory, language: str, strings: dict[str, str]
    ) -> dict[str, Any]:
        translated = category.translations.get(language)
        cookies = [c for c in category.cookies if c.brands == "all" or brand in c.brands]
        tcf = self.manifest.brands[brand].tcf
        return {
            "key": key,
            "name": (translated and translated.name) or category.name,
            "description": (translated and translated.description) or category.description,
            "required": not category.consent_required,
            "sale_or_sharing": self._by_key[key].sale_or_sharing,
            "cookies": [_cookie(cookie, language, strings) for cookie in cookies],
            "tcf_purposes": sorted(category.tcf_purposes) if tcf else [],
            "tcf_vendors": [v.id for v in tcf.vendors if v.category == key] if tcf else [],
        }

    def _config_version(self, brand: str) -> str:
        """What, when changed, asks every visitor again: the categories, their purposes and
        those purposes' notice versions, the brand's cookies and vendors, the TCF versions."""
        tcf = self.manifest.brands[brand].tcf
        return version_of(
            {
                "categories": {
                    key: {
                        "consent": category.consent_required,
                        "purpose": category.purpose,
                        "notice_version": self.manifest.purposes[category.purpose].notice_version
                        if category.purpose in self.manifest.purposes
                        else None,
                        "cookies": sorted(
                            (c.name, c.vendor, str(c.duration))
                            for c in category.cookies
                            if c.brands == "all" or brand in c.brands
                        ),
                        "tcf": [category.tcf_purposes, category.tcf_special_features],
                    }
                    for key, category in self.manifest.cookies.items()
                },
                "tcf": None if tcf is None else [tcf.model_dump(mode="json"), TCF_POLICY_VERSION],
            }
        )

    # -- a choice ------------------------------------------------------------------------

    def record(self, choice: CookieChoice) -> RecordedChoice:
        """Record one banner choice; 409 ``banner_changed`` when the banner the visitor saw is
        no longer the one served (the script then shows the new one)."""
        brand = choice.brand
        require_brand(self.manifest, brand)
        try:
            method = ChoiceMethod(choice.method)
        except ValueError:
            raise InvalidValue(
                f"method must be one of {', '.join(m.value for m in ChoiceMethod)}"
            ) from None
        if choice.language not in self.settings.languages:
            raise InvalidValue(f"language must be one of {', '.join(self.settings.languages)}")
        shown, text_version = self._shown(brand, choice.language)
        if (choice.config_version, choice.text_version) != (
            self._config_versions[brand],
            text_version,
        ):
            raise Conflict(
                "the banner has changed since it was shown; show the current one",
                code="banner_changed",
            )
        now = self.clock()
        outcome = resolve_choice(self.categories, method, choice.choices, choice.gpc)
        not_after = self._stored_expiry(choice, method, now)
        cookie_id = choice.cookie_id or secrets.token_urlsafe(16)
        if not COOKIE_ID.fullmatch(cookie_id):
            raise InvalidValue("cookie_id must be 16-64 letters, digits, '-' or '_'")
        texts = {c["key"]: c for c in shown["categories"]}
        known: str | None = None
        if method is ChoiceMethod.GPC:
            known, standing = self._standing(brand, cookie_id)
            to_record = signal_withdrawals(self.categories, standing)
        else:
            to_record = answers(self.categories, outcome, choice.gpc)
        requests = [
            ConsentRequest(
                brand=brand,
                purpose=answer.purpose,
                action=answer.action,
                method=(ConsentMethod.GPC if answer.by_gpc else ConsentMethod.BANNER).value,
                notice=_notice(shown["strings"], texts[answer.category.key]),
                channel=Channel.ANY.value,
                identities={"cookie_id": cookie_id},
                language=choice.language,
                text_version=text_version,
            )
            for answer in to_record
        ]
        # The signal seen again has nothing left to withdraw: no empty transaction.
        recorded = self.consents.record_all(requests) if requests else []
        receipts = {
            answer.category.key: self.receipts.url(event.event_id)
            for answer, event in zip(to_record, recorded, strict=True)
        }
        subject_id = recorded[0].subject_id if recorded else known
        if choice.gpc and subject_id is not None:
            self.preferences.opt_out_of_sale(brand, subject_id)
        until = remembered_until(
            outcome, now, self.settings.refusal_months, self.settings.consent_months, not_after
        )
        setup = self._tcf.get(brand)
        tc_string = (
            None
            if setup is None
            else encode(
                tc_model(
                    setup,
                    self.categories,
                    outcome,
                    now,
                    choice.language,
                    customised=method is ChoiceMethod.CUSTOMIZE,
                )
            )
        )
        return RecordedChoice(
            cookie_id=cookie_id,
            choices=outcome,
            cookie_value=cookie_value(cookie_id, self._config_versions[brand], outcome, until),
            max_age=int(until.timestamp()) - int(now.timestamp()),
            expires_at=until.isoformat(),
            tc_string=tc_string,
            gpc_honoured=choice.gpc,
            receipts=receipts,
        )

    def _stored_expiry(
        self, choice: CookieChoice, method: ChoiceMethod, now: dt.datetime
    ) -> dt.datetime | None:
        """The expiry of the stored choice that a ``gpc`` correction rewrites (it must not
        extend the consents kept from it); none for a choice made in the banner."""
        if method is not ChoiceMethod.GPC:
            return None
        if choice.cookie_id is None:
            raise InvalidInput(
                "method 'gpc' corrects a stored choice: give its cookie_id",
                code="cookie_id_required",
            )
        if choice.stored_expires is None:
            return None
        try:
            expires = dt.datetime.fromtimestamp(choice.stored_expires, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidValue("stored_expires is not a time (epoch seconds)") from None
        if expires <= now:
            raise InvalidValue("stored_expires has passed: the stored choice is to be asked again")
        return expires

    def _standing(self, brand: str, cookie_id: str) -> tuple[str | None, set[str]]:
        """The subject holding a cookie id, and the purposes whose consent stands for
        ``brand`` (on the banner's ``any`` channel)."""
        found, record = self.preferences.decisions.record_of(identities={"cookie_id": cookie_id})
        if record is None:
            return None, set()
        consents = record.decision.consents
        return found, {
            purpose
            for (b, purpose, channel), state in consents.items()
            if b == brand and channel == ANY_CHANNEL and state.granted
        }

    def link(
        self,
        cookie_id: str,
        identities: Mapping[str, Any],
        brand: str | None = None,
        gpc: bool = False,
    ) -> str:
        """Link a visitor's cookie id to the person signing in: their banner choices become
        that person's (subjects merged, the oldest kept), and the sign-in counts as activity.
        With the GPC signal, the person's opt-out of sale and sharing is recorded for
        ``brand``, or for every brand when none is named (under the CCPA the signal opts out
        of the business, not of one of its sites)."""
        if not COOKIE_ID.fullmatch(cookie_id):
            raise InvalidValue("cookie_id must be 16-64 letters, digits, '-' or '_'")
        if "cookie_id" in identities:
            raise InvalidInput("give the cookie id once, as cookie_id", code="invalid_value")
        if brand is not None:
            require_brand(self.manifest, brand)
        hashed = hash_identities(
            self.store.vault,
            {**identities, "cookie_id": cookie_id},
            self.manifest.policy.default_phone_region,
        )
        now = self.clock()
        with self.store.write() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            subject_id = find_or_create(repo, hashed, now)
            repo.touch(subject_id, now)  # signing in is activity (retention "last activity")
        if gpc:
            for each in [brand] if brand is not None else list(self.manifest.brands):
                self.preferences.opt_out_of_sale(each, subject_id)
        return subject_id


def _cookie(cookie: Cookie, language: str, strings: dict[str, str]) -> dict[str, Any]:
    translated = cookie.translations.get(language)
    return {
        "name": cookie.name,
        "vendor": cookie.vendor,
        "duration": duration_text(str(cookie.duration), strings),
        "description": (translated and translated.description) or cookie.description,
        "first_party": cookie.first_party,
    }


def duration_text(duration: str, strings: Mapping[str, str]) -> str:
    """``P13M`` as "13 months" in the banner's language; ``session`` as its own phrase."""
    if duration == "session":
        return strings["duration_session"]
    parsed = parse_duration(duration)
    parts = [(getattr(parsed, field), unit) for field, unit in _UNITS]
    parts += [(parsed.seconds // 3600, "hour"), (parsed.seconds % 3600 // 60, "minute")]
    return " ".join(
        strings[f"{unit}_{'one' if n == 1 else 'other'}"].replace("{n}", str(n))
        for n, unit in parts
        if n
    )


def _notice(strings: Mapping[str, str], category: Mapping[str, Any]) -> str:
    """The text the banner showed about one category: its introduction, the category and the
    cookies in it. Kept in the ledger (deduplicated by hash) as the notice of the consent."""
    lines = [
        strings["title"],
        strings["intro"],
        "",
        f"{category['name']}: {category['description']}",
    ]
    lines += [
        f"- {c['name']} ({c['vendor']}, {c['duration']}): {c['description']}"
        for c in category["cookies"]
    ]
    return "\n".join(lines)
