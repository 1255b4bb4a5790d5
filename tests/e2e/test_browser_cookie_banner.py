"""The cookie banner in a real browser, on the demo brand pages ``/demo/{brand}``.

Real parts: headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright), ``charter
serve`` as a process on the example manifest, Charter's store in a SQLite file that the tests read
back (the consent ledger) through a ``Charter`` of their own. The demo page's Content-Security-
Policy has no 'unsafe-inline' and no 'unsafe-eval', so every test also shows the banner works
under a strict CSP; every page must load only from the server's own origin.

``CHARTER_SCREENSHOTS=1`` also writes the two screenshots of the docs (``docs/images``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import iab_tcf
import pytest
from fixtures.servers import chromium, clean_env, free_port, serving
from sqlalchemy import select

from charter.config import Settings
from charter.domain.tcf import (
    PublisherRestriction,
    PublisherTC,
    TCModel,
    day_level_timestamp,
    decode,
    encode,
)
from charter.facade import Charter
from charter.services.identify import hash_identities, locate
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import consent_events

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "musicgroup" / "charter.yaml"
LOCALES = ROOT / "src" / "charter" / "services" / "locales"

EN = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
CONSENT_COOKIE = "rmg_consent"
# Category -> (its purpose in the manifest, the cookie its demo script sets)
DEMO = {
    "functional": ("site_preferences", "rmg_lang"),
    "analytics": ("site_analytics", "_tw_id"),
    "advertising": ("personalised_advertising", "adr_uid"),
    "social": ("social_plugins", "cb_browser"),
}
OPTIONAL_COOKIES = {cookie for _, cookie in DEMO.values()}


@dataclass
class Site:
    base: str
    charter: Charter

    def config(self, brand: str, lang: str = "en") -> dict[str, Any]:
        reply = httpx.get(f"{self.base}/v1/cookie-banner/{brand}", params={"lang": lang})
        reply.raise_for_status()
        config: dict[str, Any] = reply.json()
        return config

    def events(self, cookie_id: str) -> list[dict[str, Any]]:
        """The consent events recorded against a visitor's cookie id, oldest first."""
        charter = self.charter
        hashed = hash_identities(
            charter.store.vault,
            {"cookie_id": cookie_id},
            charter.manifest.policy.default_phone_region,
        )
        with charter.store.read() as connection:
            subject = locate(SubjectRepository(connection, charter.store.vault), hashed)
            assert subject is not None, "no subject holds this cookie id"
            rows = connection.execute(
                select(consent_events)
                .where(consent_events.c.subject_id == subject)
                .order_by(consent_events.c.id)
            )
            return [dict(row) for row in rows.mappings()]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("banner")
    shutil.copy(EXAMPLE, folder / "charter.yaml")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = f"sqlite:///{folder / 'charter.db'}"
    env = clean_env(CHARTER_DATABASE_URL=database, CHARTER_PUBLIC_BASE_URL=base)
    with (
        serving(env, folder, port),
        Charter.open(
            Settings(
                database_url=database,
                manifest=folder / "charter.yaml",
                key_file=folder / "charter.key",
                outbox_dir=folder / "outbox",
            )
        ) as charter,
    ):
        yield Site(base, charter)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@dataclass
class Tab:
    """One fresh browser context and its page, with what they requested and complained of."""

    base: str
    context: Any
    page: Any
    requested: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(self, brand: str, query: str = "") -> None:
        self.page.goto(f"{self.base}/demo/{brand}{query}")

    def action(self, name: str) -> Any:
        """A control of the banner (in its shadow root), by its data-charter-action."""
        return self.page.locator(f'charter-consent [data-charter-action="{name}"]')

    def toggle(self, category: str) -> Any:
        return self.page.locator(f'[data-charter-toggle="{category}"]')

    @property
    def dialog(self) -> Any:
        return self.page.get_by_role("dialog")

    def ran(self) -> list[str]:
        ran: list[str] = self.page.evaluate("window.charterDemo.ran")
        return ran

    def wait_ran(self, count: int) -> list[str]:
        self.page.wait_for_function(f"() => window.charterDemo.ran.length >= {count}")
        return self.ran()

    def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self.context.cookies()}

    def stored(self) -> tuple[str, list[str]]:
        """The consent cookie's cookie id and granted categories."""
        version, cookie_id, _, granted, _ = self.cookies()[CONSENT_COOKIE].split("~")
        assert version == "1"
        return cookie_id, granted.split("+") if granted else []

    def focused(self) -> dict[str, Any]:
        """The element focused, looking into the banner's shadow root."""
        focused: dict[str, Any] = self.page.evaluate(
            """() => {
                let e = document.activeElement;
                while (e && e.shadowRoot && e.shadowRoot.activeElement) {
                    e = e.shadowRoot.activeElement;
                }
                const style = getComputedStyle(e);
                return {action: e.getAttribute('data-charter-action'), tag: e.tagName.toLowerCase(),
                        inDialog: !!e.closest('[role=dialog]'), outline: style.outlineStyle,
                        width: parseFloat(style.outlineWidth)};
            }"""
        )
        return focused

    def assert_clean(self) -> None:
        assert [url for url in self.requested if not url.startswith(f"{self.base}/")] == []
        assert self.problems == []


@pytest.fixture
def new_tab(browser: Any, site: Site) -> Iterator[Callable[..., Tab]]:
    contexts: list[Any] = []

    def make(**options: Any) -> Tab:
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
        contexts.append(context)
        context.set_default_timeout(10_000)
        tab = Tab(site.base, context, context.new_page())
        context.on("request", lambda request: tab.requested.append(request.url))
        tab.page.on(
            "console",
            lambda message: tab.problems.append(message.text) if message.type == "error" else None,
        )
        tab.page.on("pageerror", lambda error: tab.problems.append(str(error)))
        return tab

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def tab(new_tab: Callable[..., Tab]) -> Tab:
    return new_tab()


def true_ids(bits: dict[str, bool]) -> set[int]:
    return {int(key) for key, value in bits.items() if value}


def assert_ledger(
    site: Site, cookie_id: str, config: dict[str, Any], granted: set[str], gpc: bool = False
) -> None:
    """The last choice is in the ledger: one event per category asking for consent."""
    sale = {c["key"] for c in config["categories"] if c["sale_or_sharing"]}
    asked = [c["key"] for c in config["categories"] if not c["required"]]
    latest = site.events(cookie_id)[-len(asked) :]
    assert [e["purpose"] for e in latest] == [DEMO[key][0] for key in asked]
    for key, event in zip(asked, latest, strict=True):
        assert event["action"] == ("given" if key in granted else "refused"), key
        assert event["method"] == ("gpc" if gpc and key in sale else "banner"), key
        assert event["language"] == config["language"]
        assert event["policy_version"] == config["policy_version"]
        assert event["text_version"] == config["text_version"]
        assert event["brand"] == config["brand"]


def test_first_visit_shows_the_banner_and_runs_nothing(tab: Tab, site: Site) -> None:
    tab.open("akkord_pro")
    dialog = tab.dialog
    dialog.wait_for()
    assert dialog.get_attribute("aria-modal") == "false"
    assert dialog.get_attribute("lang") == "en"
    title = tab.page.locator(f"charter-consent #{dialog.get_attribute('aria-labelledby')}")
    assert title.inner_text() == EN["title"].replace("{brand}", "Akkord Professional")
    intro = tab.page.locator(f"charter-consent #{dialog.get_attribute('aria-describedby')}")
    assert intro.inner_text() == EN["intro"]
    links = {a.inner_text(): a.get_attribute("href") for a in dialog.get_by_role("link").all()}
    assert links == {
        EN["policy"]: f"{site.base}/policy?brand=akkord_pro",
        EN["privacy_center"]: f"{site.base}/privacy?brand=akkord_pro",
    }
    assert tab.action("close").get_attribute("aria-label") == EN["close"]
    # three buttons of equal size, style and prominence
    looks = tab.page.evaluate(
        """() => [...document.querySelector('charter-consent').shadowRoot
                  .querySelectorAll('.acts button')].map(b => {
            const s = getComputedStyle(b), r = b.getBoundingClientRect();
            return [b.dataset.charterAction, b.textContent,
                    [Math.round(r.width), Math.round(r.height), s.backgroundColor, s.color,
                     s.fontSize, s.fontWeight, s.borderWidth]];
        })"""
    )
    assert [(a, t) for a, t, _ in looks] == [
        ("reject-all", EN["reject_all"]),
        ("accept-all", EN["accept_all"]),
        ("customize", EN["customize"]),
    ]
    assert len({json.dumps(look) for _, _, look in looks}) == 1, looks
    # nothing optional ran or was set, and the gated elements are still inert
    assert tab.ran() == []
    assert tab.cookies() == {}
    assert tab.page.locator('script[type="text/plain"][data-charter-category]').count() == 4
    assert tab.page.locator("iframe[data-charter-category]").get_attribute("src") is None
    # not a TCF brand: no CMP API left behind
    assert tab.page.evaluate("typeof window.__tcfapi + ':' + !!window.frames.__tcfapiLocator") == (
        "undefined:false"
    )
    tab.assert_clean()


def test_reject_all_is_remembered(tab: Tab, site: Site) -> None:
    tab.open("akkord_pro")
    tab.action("reject-all").click()
    tab.dialog.wait_for(state="detached")
    tab.page.get_by_role("status").filter(has_text=EN["saved"]).wait_for()
    cookie_id, granted = tab.stored()
    assert granted == []
    assert set(tab.cookies()) == {CONSENT_COOKIE}
    for _ in range(2):
        tab.page.reload()
        tab.action("open").wait_for()  # the settings button, shown once the choice is read
        assert tab.action("open").inner_text() == EN["settings"]
        assert tab.dialog.count() == 0
        assert tab.ran() == []
        assert set(tab.cookies()) == {CONSENT_COOKIE}
    assert_ledger(site, cookie_id, site.config("akkord_pro"), set())
    assert len(site.events(cookie_id)) == 4  # asked once
    # any element of the page with data-charter-action="open" reopens it, e.g. the footer link
    footer_link = tab.page.locator('footer [data-charter-action="open"]')
    footer_link.focus()
    tab.page.keyboard.press("Enter")
    tab.dialog.wait_for()
    tab.page.keyboard.press("Escape")
    tab.dialog.wait_for(state="detached")
    assert tab.page.evaluate("document.activeElement.textContent") == "Cookie settings"
    assert tab.page.evaluate("location.hash") == ""
    assert len(site.events(cookie_id)) == 8  # the same cookie id again
    tab.assert_clean()


def test_accept_all_runs_every_category(tab: Tab, site: Site) -> None:
    tab.open("akkord_pro")
    tab.action("accept-all").click()
    assert sorted(tab.wait_ran(4)) == sorted(DEMO)
    assert set(tab.cookies()) >= OPTIONAL_COOKIES
    frame = tab.page.locator("iframe[data-charter-category=social]")
    assert frame.get_attribute("src") == "/demo/assets/social-widget.html"
    for category in DEMO:
        text = f"{category.capitalize()} script ran"
        tab.page.locator("#charter-demo-status li", has_text=text).wait_for()
    cookie_id, granted = tab.stored()
    assert sorted(granted) == sorted(DEMO)
    assert_ledger(site, cookie_id, site.config("akkord_pro"), set(DEMO))
    tab.page.reload()  # remembered: everything runs again, no banner
    assert sorted(tab.wait_ran(4)) == sorted(DEMO)
    assert tab.dialog.count() == 0
    # gated elements added later are activated too
    tab.page.evaluate(
        """() => { const s = document.createElement('script');
            s.type = 'text/plain'; s.dataset.charterCategory = 'analytics';
            s.src = '/demo/assets/analytics.js'; document.body.append(s); }"""
    )
    assert tab.wait_ran(5).count("analytics") == 2
    tab.assert_clean()


def test_a_stale_banner_is_shown_again_and_errors_keep_it_open(tab: Tab, site: Site) -> None:
    answers = [
        (409, "banner_changed", "the banner has changed since it was shown; show the current one"),
        (429, "rate_limited", "too many requests; try again in 30 s"),
    ]

    def refuse(route: Any) -> None:
        status, code, message = answers.pop(0)
        body = json.dumps({"error": {"code": code, "message": message}})
        route.fulfill(status=status, content_type="application/json", body=body)

    tab.page.route("**/v1/cookie-consent", refuse)
    tab.open("akkord_pro")
    tab.action("accept-all").click()  # 409: the configuration is fetched again, banner shown
    tab.page.wait_for_function(  # the new banner, focus on its first button
        """() => document.querySelector('charter-consent').shadowRoot
            .activeElement?.dataset.charterAction === 'reject-all'"""
    )
    assert sum("/v1/cookie-banner/" in url for url in tab.requested) == 2
    tab.action("accept-all").click()  # 429: the error is shown, the banner stays
    tab.dialog.get_by_role("alert").filter(has_text=EN["error"]).wait_for()
    assert tab.dialog.is_visible() and tab.cookies() == {} and tab.ran() == []
    tab.page.unroute("**/v1/cookie-consent")
    tab.action("accept-all").click()
    assert len(tab.wait_ran(4)) == 4
    assert [p for p in tab.problems if "409" in p or "429" in p] == tab.problems  # the browser's
    tab.problems.clear()
    tab.assert_clean()


def test_customise_enables_exactly_the_chosen_categories(tab: Tab, site: Site) -> None:
    tab.open("akkord_pro")
    tab.action("customize").click()
    necessary = tab.toggle("strictly_necessary")
    assert necessary.is_checked() and necessary.is_disabled()
    tab.dialog.get_by_text(EN["always_on"]).wait_for()
    for category in DEMO:  # no pre-ticked boxes
        assert not tab.toggle(category).is_checked()
        assert tab.toggle(category).is_enabled()
    assert tab.focused()["tag"] == "input"  # focus moved into the second layer
    tab.dialog.get_by_text(EN["details"]).nth(2).click()  # analytics' cookies
    rows = tab.dialog.locator("details[open] tbody tr")
    assert rows.count() == 3 and rows.first.locator("code").inner_text() == "_tw_id"
    tab.dialog.get_by_label("Analytics").check()  # the label names the switch
    tab.action("save").click()
    assert tab.wait_ran(1) == ["analytics"]
    cookie_id, granted = tab.stored()
    assert granted == ["analytics"]
    assert set(tab.cookies()) & OPTIONAL_COOKIES == {"_tw_id"}
    assert_ledger(site, cookie_id, site.config("akkord_pro"), {"analytics"})
    tab.assert_clean()


def test_withdrawal_through_the_settings_button(tab: Tab, site: Site) -> None:
    tab.open("akkord_pro")
    tab.action("accept-all").click()
    tab.wait_ran(4)
    cookie_id, _ = tab.stored()
    tab.action("open").click()
    assert tab.focused()["action"] == "reject-all"
    tab.action("customize").click()
    for category in DEMO:  # the current choice, pre-filled
        assert tab.toggle(category).is_checked()
    tab.toggle("analytics").uncheck()
    with tab.page.expect_navigation():  # scripts that ran cannot be un-run: the page reloads
        tab.action("save").click()
    tab.action("open").wait_for()
    assert sorted(tab.wait_ran(3)) == ["advertising", "functional", "social"]
    assert "_tw_id" not in tab.cookies()
    assert tab.stored() == (cookie_id, ["functional", "advertising", "social"])
    analytics = [e for e in site.events(cookie_id) if e["purpose"] == "site_analytics"]
    assert analytics[0]["action"] == "given"
    assert analytics[-1]["action"] == "withdrawn"  # against the same cookie id (Art. 7(3))
    assert len(analytics) == 2
    tab.assert_clean()


def test_global_privacy_control(new_tab: Callable[..., Tab], site: Site) -> None:
    tab = new_tab(extra_http_headers={"Sec-GPC": "1"})
    tab.context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    tab.open("akkord_pro")
    tab.dialog.get_by_text(EN["gpc_honoured"]).wait_for()
    tab.action("customize").click()
    for category in ("advertising", "social"):
        assert tab.toggle(category).is_disabled() and not tab.toggle(category).is_checked()
    for category in ("functional", "analytics"):
        assert tab.toggle(category).is_enabled()
    tab.action("accept-all").click()
    assert sorted(tab.wait_ran(2)) == ["analytics", "functional"]
    tab.page.wait_for_timeout(300)  # nothing else arrives late
    assert sorted(tab.ran()) == ["analytics", "functional"]
    assert not {"adr_uid", "cb_browser"} & set(tab.cookies())
    cookie_id, granted = tab.stored()
    assert granted == ["functional", "analytics"]
    config = site.config("akkord_pro")
    assert_ledger(site, cookie_id, config, {"functional", "analytics"}, gpc=True)
    tab.assert_clean()


GPC_SCRIPT = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"


def send_gpc(tab: Tab) -> None:
    """From the next page load on, the browser sends the signal (header and navigator)."""
    tab.context.set_extra_http_headers({"Sec-GPC": "1"})
    tab.context.add_init_script(GPC_SCRIPT)


def decide(site: Site, cookie_id: str, purpose: str) -> tuple[bool, str]:
    token = site.charter.create_token("service").token
    reply = httpx.post(
        f"{site.base}/v1/decisions",
        json={"brand": "akkord_pro", "identities": {"cookie_id": cookie_id}, "purpose": purpose},
        headers={"Authorization": f"Bearer {token}"},
    )
    reply.raise_for_status()
    return reply.json()["allowed"], reply.json()["reason"]


def test_gpc_on_a_returning_visit_is_recorded_without_asking_again(tab: Tab, site: Site) -> None:
    tab.open("akkord_pro")
    tab.action("accept-all").click()
    tab.wait_ran(4)
    cookie_id, _ = tab.stored()
    assert decide(site, cookie_id, "personalised_advertising") == (True, "ok")
    asked = len(site.events(cookie_id))
    send_gpc(tab)
    tab.page.reload()
    notice = tab.page.get_by_role("status").filter(has_text=EN["gpc_honoured"])
    notice.wait_for()
    assert tab.dialog.count() == 0  # not asked again
    assert sorted(tab.wait_ran(2)) == ["analytics", "functional"]
    tab.page.wait_for_timeout(300)  # nothing else arrives late
    assert sorted(tab.ran()) == ["analytics", "functional"]
    gated = tab.page.locator('script[type="text/plain"][data-charter-category]')
    assert sorted(gated.evaluate_all("els => els.map(e => e.dataset.charterCategory)")) == [
        "advertising",
        "social",
    ]
    assert tab.page.locator("iframe[data-charter-category]").get_attribute("src") is None
    assert tab.stored() == (cookie_id, ["functional", "analytics"])
    assert not {"adr_uid", "cb_browser"} & set(tab.cookies())
    # the server knows: the signal's withdrawals, nothing else re-recorded, and decisions agree
    recorded = site.events(cookie_id)[asked:]
    assert [(e["purpose"], e["action"], e["method"]) for e in recorded] == [
        ("personalised_advertising", "withdrawn", "gpc"),
        ("social_plugins", "withdrawn", "gpc"),
    ]
    assert decide(site, cookie_id, "personalised_advertising") == (False, "consent_withdrawn")
    assert decide(site, cookie_id, "site_analytics") == (True, "ok")
    tab.action("dismiss").click()
    notice.wait_for(state="detached")
    tab.page.reload()  # recorded once: the corrected choice holds, quietly
    assert sorted(tab.wait_ran(2)) == ["analytics", "functional"]
    assert tab.dialog.count() == 0 and tab.action("dismiss").count() == 0
    assert sum(url.endswith("/v1/cookie-consent") for url in tab.requested) == 2
    assert len(site.events(cookie_id)) == asked + 2
    tab.assert_clean()


def test_gpc_unrecorded_or_on_a_stale_choice_asks_again(tab: Tab, site: Site) -> None:
    tab.open("akkord_pro")
    tab.action("accept-all").click()
    tab.wait_ran(4)
    send_gpc(tab)
    tab.page.route("**/v1/cookie-consent", lambda route: route.abort())
    tab.page.reload()  # the signal cannot be recorded: asked, as without it, nothing runs
    tab.dialog.get_by_text(EN["gpc_honoured"]).wait_for()
    tab.page.wait_for_timeout(300)
    assert tab.ran() == []
    tab.page.unroute("**/v1/cookie-consent")
    tab.problems.clear()  # the browser's report of the aborted request
    cookie_id, granted = tab.stored()
    version, _, config_version, _, expires = tab.cookies()[CONSENT_COOKIE].split("~")
    stale = "~".join([version, cookie_id, "0" * len(config_version), "+".join(granted), expires])
    tab.context.add_cookies([{"name": CONSENT_COOKIE, "value": stale, "url": site.base}])
    posts = sum(url.endswith("/v1/cookie-consent") for url in tab.requested)
    tab.page.reload()  # another banner since: asked again, the signal recorded with the choice
    tab.dialog.wait_for()
    tab.page.wait_for_timeout(300)
    assert tab.ran() == []
    assert sum(url.endswith("/v1/cookie-consent") for url in tab.requested) == posts
    tab.assert_clean()


def test_keyboard_only(tab: Tab, site: Site) -> None:
    tab.open("akkord_pro")
    tab.dialog.wait_for()
    first = tab.focused()
    assert (first["action"], first["inDialog"]) == ("reject-all", True)
    seen = []
    for _ in range(6):
        tab.page.keyboard.press("Tab")
        focused = tab.focused()
        assert focused["inDialog"], focused  # Tab cycles inside the open banner
        assert (focused["outline"], focused["width"]) == ("solid", 3), focused
        seen.append(focused["action"] or focused["tag"])
    assert seen == ["accept-all", "customize", "close", "a", "a", "reject-all"]
    tab.page.keyboard.press("Shift+Tab")
    tab.page.keyboard.press("Shift+Tab")
    assert tab.focused()["tag"] == "a"
    tab.page.keyboard.press("Escape")  # closing refuses
    tab.dialog.wait_for(state="detached")
    assert tab.focused()["action"] == "open"  # nothing was focused before: the settings button
    cookie_id, granted = tab.stored()
    assert granted == []
    assert_ledger(site, cookie_id, site.config("akkord_pro"), set())
    tab.page.keyboard.press("Enter")  # the settings button reopens the banner
    tab.dialog.wait_for()
    assert tab.focused()["action"] == "reject-all"
    tab.page.keyboard.press("Escape")
    tab.dialog.wait_for(state="detached")
    assert tab.focused()["action"] == "open"  # focus returns where it was
    assert tab.ran() == []
    tab.assert_clean()


def test_tcf_api_and_tc_string(tab: Tab, site: Site) -> None:
    tab.open("spark_audio")
    tab.dialog.wait_for()
    ping = tab.page.evaluate("() => new Promise(done => __tcfapi('ping', 2, done))")
    assert ping["cmpStatus"] == "loaded" and ping["cmpLoaded"] is True
    assert (ping["displayStatus"], ping["apiVersion"], ping["cmpId"], ping["gvlVersion"]) == (
        "visible",
        "2.2",
        4001,
        120,
    )
    tab.page.evaluate(
        """() => { window.seen = [];
            __tcfapi('addEventListener', 2, (d, ok) => window.seen.push([d.eventStatus, ok])); }"""
    )
    tab.action("customize").click()
    tab.toggle("analytics").check()
    tab.action("save").click()
    assert tab.wait_ran(1) == ["analytics"]
    data = tab.page.evaluate("() => new Promise(done => __tcfapi('getTCData', 2, done))")
    assert tab.page.evaluate("window.seen") == [["cmpuishown", True], ["useractioncomplete", True]]
    assert data["eventStatus"] == "useractioncomplete" and data["gdprApplies"] is True
    assert true_ids(data["purpose"]["consents"]) == {1, 8, 9, 10}
    assert data["vendor"]["consents"]["9002"] is True
    assert data["vendor"]["consents"]["9001"] is False
    only = tab.page.evaluate("() => new Promise(done => __tcfapi('getTCData', 2, done, [9001]))")
    assert only["vendor"]["consents"] == {"9001": False}
    # frames ask through postMessage (the __tcfapiLocator protocol)
    framed = tab.page.evaluate(
        """() => new Promise(done => {
            window.addEventListener('message', e => {
                if (e.data.__tcfapiReturn) done(e.data.__tcfapiReturn);
            });
            window.frames.__tcfapiLocator.parent.postMessage(
                {__tcfapiCall: {command: 'ping', version: 2, callId: 'c1'}}, '*');
        })"""
    )
    assert (framed["callId"], framed["success"]) == ("c1", True)
    assert framed["returnValue"]["displayStatus"] == "hidden"

    cookie = tab.cookies()["euconsent-v2"]
    assert cookie == data["tcString"]
    model = decode(cookie)
    purpose, vendor = data["purpose"], data["vendor"]
    assert true_ids(purpose["consents"]) == set(model.purpose_consents)
    assert true_ids(purpose["legitimateInterests"]) == set(model.purpose_legitimate_interests)
    assert true_ids(vendor["consents"]) == set(model.vendor_consents) == {9002}
    assert true_ids(vendor["legitimateInterests"]) == set(model.vendor_legitimate_interests)
    assert true_ids(data["specialFeatureOptins"]) == set(model.special_feature_optins)
    assert model.publisher is not None
    assert true_ids(data["publisher"]["consents"]) == set(model.publisher.purpose_consents)
    assert (data["cmpId"], data["cmpVersion"], data["publisherCC"]) == (
        model.cmp_id,
        model.cmp_version,
        model.publisher_cc,
    )
    assert (data["isServiceSpecific"], data["tcfPolicyVersion"]) == (True, model.tcf_policy_version)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # iab-tcf: datetime.utcfromtimestamp
        theirs = iab_tcf.decode(cookie)
    assert {k for k, v in theirs.purposes_consent.items() if v} == {1, 8, 9, 10}
    assert (theirs.cmp_id, theirs.vendor_list_version, theirs.publisher_cc) == (4001, 120, b"DE")
    assert theirs.is_vendor_allowed(9002) and not theirs.is_vendor_allowed(9001)
    assert {k for k, v in theirs.publisher_tc.purposes_consent.items() if v} == set(
        model.publisher.purpose_consents
    )
    tab.page.reload()  # remembered: the API answers from the cookie, without the banner
    tab.action("open").wait_for()
    data = tab.page.evaluate("() => new Promise(done => __tcfapi('getTCData', 2, done))")
    assert (data["eventStatus"], data["tcString"]) == ("tcloaded", cookie)
    tab.assert_clean()


def test_tcf_stub_queue_is_answered(new_tab: Callable[..., Tab]) -> None:
    tab = new_tab()
    # the publisher's own stub, before the banner script: calls wait in __tcfapi.a
    tab.context.add_init_script(
        """window.__tcfapi = function () { (window.__tcfapi.a = window.__tcfapi.a || [])
               .push(arguments); };
           window.early = [];
           __tcfapi('addEventListener', 2, (d, ok) => window.early.push([d.eventStatus, ok]));"""
    )
    tab.open("spark_audio")
    tab.dialog.wait_for()
    tab.page.wait_for_function("() => window.early.length > 0")
    assert tab.page.evaluate("window.early") == [["cmpuishown", True]]
    tab.action("reject-all").click()
    tab.page.wait_for_function("() => window.early.length > 1")
    data = tab.page.evaluate("() => new Promise(done => __tcfapi('getTCData', 2, done))")
    assert tab.page.evaluate("window.early") == [["cmpuishown", True], ["useractioncomplete", True]]
    assert not any(data["purpose"]["consents"].values())
    assert not any(data["vendor"]["consents"].values())
    assert data["tcString"] == tab.cookies()["euconsent-v2"]
    tab.assert_clean()


def test_tc_string_decoding_in_the_browser(tab: Tab, site: Site) -> None:
    """Every encoding the TC string has (bitfields, ranges, restrictions, the publisher segment
    with custom purposes), written by the Python codec, read by the script into TCData."""
    config = site.config("spark_audio")
    now = dt.datetime.now(dt.UTC)
    model = TCModel(
        created=day_level_timestamp(now),
        last_updated=day_level_timestamp(now),
        cmp_id=4001,
        cmp_version=1,
        consent_screen=2,
        consent_language="EN",
        vendor_list_version=config["tcf"]["vendor_list_version"],
        special_feature_optins=frozenset({1}),
        purpose_consents=frozenset({1, 2, 3, 4, 7, 8, 9, 10}),
        purpose_legitimate_interests=frozenset({2, 7}),
        publisher_cc="DE",
        vendor_consents=frozenset({1, 2, 3, 5, 8, 13}),  # a bitfield
        vendor_legitimate_interests=frozenset({9001, 9003}),  # ranges
        publisher_restrictions=(
            PublisherRestriction(2, 1, frozenset({9001, 9002, 9003})),
            PublisherRestriction(7, 0, frozenset({9001})),
        ),
        disclosed_vendors=frozenset({9001, 9002, 9003}),
        publisher=PublisherTC(
            purpose_consents=frozenset({1, 8}),
            purpose_legitimate_interests=frozenset({2}),
            custom_purposes=2,
            custom_purpose_consents=frozenset({1}),
            custom_purpose_legitimate_interests=frozenset({2}),
        ),
    )
    expires = int(now.timestamp()) + 3600
    value = f"1~{'v' * 22}~{config['config_version']}~{'+'.join(DEMO)}~{expires}"
    tab.context.add_cookies(
        [
            {"name": CONSENT_COOKIE, "value": value, "url": site.base},
            {"name": "euconsent-v2", "value": encode(model), "url": site.base},
        ]
    )
    tab.open("spark_audio")
    assert sorted(tab.wait_ran(4)) == sorted(DEMO)  # a valid stored choice: no banner
    assert tab.dialog.count() == 0
    data = tab.page.evaluate("() => new Promise(done => __tcfapi('getTCData', 2, done))")
    assert data["eventStatus"] == "tcloaded"
    assert true_ids(data["purpose"]["consents"]) == model.purpose_consents
    assert true_ids(data["purpose"]["legitimateInterests"]) == model.purpose_legitimate_interests
    assert true_ids(data["specialFeatureOptins"]) == {1}
    assert true_ids(data["vendor"]["consents"]) == model.vendor_consents
    assert true_ids(data["vendor"]["legitimateInterests"]) == {9001, 9003}
    publisher = data["publisher"]
    assert true_ids(publisher["consents"]) == {1, 8}
    assert true_ids(publisher["legitimateInterests"]) == {2}
    assert publisher["customPurpose"] == {
        "consents": {"1": True, "2": False},
        "legitimateInterests": {"1": False, "2": True},
    }
    assert publisher["restrictions"] == {
        "2": {"9001": 1, "9002": 1, "9003": 1},
        "7": {"9001": 0},
    }
    only = tab.page.evaluate(
        "() => new Promise(done => __tcfapi('getTCData', 2, done, [4, 5, 9001]))"
    )
    assert only["vendor"]["consents"] == {"4": False, "5": True, "9001": False}
    assert only["vendor"]["legitimateInterests"] == {"4": False, "5": False, "9001": True}
    # a TC string of another vendor list version is not this banner's: asked again
    tab.context.add_cookies(
        [
            {
                "name": "euconsent-v2",
                "value": encode(dataclasses.replace(model, vendor_list_version=119)),
                "url": site.base,
            }
        ]
    )
    tab.page.reload()
    tab.dialog.wait_for()
    assert tab.ran() == []
    tab.assert_clean()


def test_german(tab: Tab, site: Site) -> None:
    if not (LOCALES / "de.json").is_file():
        pytest.skip("de.json is not written yet")
    german = {**EN, **json.loads((LOCALES / "de.json").read_text(encoding="utf-8"))}
    tab.open("akkord_pro", "?lang=de")
    tab.dialog.wait_for()
    assert tab.dialog.get_attribute("lang") == "de"
    for action, key in (
        ("reject-all", "reject_all"),
        ("accept-all", "accept_all"),
        ("customize", "customize"),
    ):
        assert tab.action(action).inner_text() == german[key]
    tab.action("customize").click()
    assert tab.action("save").inner_text() == german["save"]
    tab.assert_clean()


def test_small_screens_and_zoom(new_tab: Callable[..., Tab], site: Site) -> None:
    # 320 CSS pixels wide, and a 1280x800 window at 200% zoom (640x400 CSS pixels)
    for viewport, scale in (({"width": 320, "height": 640}, 1), ({"width": 640, "height": 400}, 2)):
        tab = new_tab(viewport=viewport, device_scale_factor=scale)
        tab.open("akkord_pro")
        tab.action("customize").click()
        box = tab.dialog.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
        overflow = tab.page.evaluate(
            """() => { const d = document.querySelector('charter-consent').shadowRoot
                .querySelector('[role=dialog]'); return d.scrollWidth - d.clientWidth; }"""
        )
        assert overflow <= 0
        tab.toggle("functional").check()  # reachable by scrolling within the banner
        tab.action("save").click()
        assert tab.wait_ran(1) == ["functional"]
        tab.assert_clean()


def test_text_contrast(tab: Tab) -> None:
    tab.open("akkord_pro")
    tab.dialog.wait_for()
    ratios = tab.page.evaluate(
        """() => {
            const root = document.querySelector('charter-consent').shadowRoot;
            const lum = c => { const [r, g, b] = c.match(/\\d+/g).slice(0, 3).map(v => {
                v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
            const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
                return (x + 0.05) / (y + 0.05); };
            const dialogBg = getComputedStyle(root.querySelector('[role=dialog]')).backgroundColor;
            return [...root.querySelectorAll('h2, p, a, button')].map(e => {
                const s = getComputedStyle(e);
                const bg = s.backgroundColor === 'rgba(0, 0, 0, 0)' ? dialogBg : s.backgroundColor;
                return [e.textContent.slice(0, 20), ratio(s.color, bg)];
            });
        }"""
    )
    assert ratios and all(r >= 4.5 for _, r in ratios), ratios


def test_screenshot_for_docs(tab: Tab) -> None:
    if os.environ.get("CHARTER_SCREENSHOTS") != "1":
        pytest.skip("set CHARTER_SCREENSHOTS=1 to write docs/images/cookie-banner*.png")
    images = ROOT / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    tab.open("akkord_pro")
    tab.dialog.wait_for()
    blur = "() => document.querySelector('charter-consent').shadowRoot.activeElement?.blur()"
    tab.page.evaluate(blur)  # no focus ring in the pictures
    tab.page.screenshot(path=images / "cookie-banner.png")
    tab.action("customize").click()
    tab.page.evaluate(blur)
    tab.page.mouse.move(0, 0)  # no hover either
    tab.page.screenshot(path=images / "cookie-banner-customise.png")
    for name in ("cookie-banner.png", "cookie-banner-customise.png"):
        assert (images / name).stat().st_size < 200_000
