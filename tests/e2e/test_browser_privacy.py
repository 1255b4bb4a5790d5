"""The privacy center in a real browser: a person files an access request on ``/privacy``,
confirms it with the code from the e-mail and downloads their data; and the form works from the
keyboard alone. A parent answers the e-mail asking their consent for their child, and later has
the child's data deleted, from the page its link opens.

Real parts: headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright), ``charter
serve`` as a process (its worker carries the request out), an SMTP server (aiosmtpd) on loopback
in this process catching the mail, Charter's store and the shop in SQLite files. Every page must
load only from the server's own origin.
"""

from __future__ import annotations

import email
import email.header
import json
import queue
import re
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fixtures.servers import CLI, chromium, clean_env, free_port, serving
from fixtures.shop import Shop, create_shop, email_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
PERSON = 3
CUSTOMERS = 5


class Collect:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Message] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.put(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[int, queue.Queue[Message]]]:
    from aiosmtpd.controller import Controller

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, handler.messages
    finally:
        controller.stop()


@dataclass
class Site:
    base: str
    mail: queue.Queue[Message]
    shop: Shop
    service_token: str


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[int, queue.Queue[Message]]
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("charter")
    manifest = yaml.safe_load(EXAMPLE.read_text())
    manifest["systems"] = {"shop": manifest["systems"]["shop"]}  # the others need staff
    manifest.pop("events")  # its lake is one of the others
    manifest["touchpoints"]["forum"]["publication"].pop("system")  # the forum's webhook too
    (folder / "charter.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    shop_url = f"sqlite:///{folder / 'shop.db'}"
    shop = create_shop(shop_url, customers=CUSTOMERS)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(
        CHARTER_DATABASE_URL=f"sqlite:///{folder / 'charter.db'}",
        CHARTER_SMTP_URL=f"smtp://127.0.0.1:{mailbox[0]}",
        CHARTER_PUBLIC_BASE_URL=base,
        SHOP_DATABASE_URL=shop_url,
    )
    with serving(env, folder, port):
        token = subprocess.run(
            [*CLI, "token", "create", "--role", "service"],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        yield Site(base, mailbox[1], shop, token)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[tuple[Any, list[str]]]:
    """A fresh browser context (no cookies) and the URL of every request its pages make."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    try:
        yield context.new_page(), requested
    finally:
        context.close()


def foreign(requested: list[str], base: str) -> list[str]:
    return [url for url in requested if not url.startswith(f"{base}/")]


def test_the_form_works_from_the_keyboard(page: tuple[Any, list[str]], site: Site) -> None:
    tab, requested = page
    tab.goto(f"{site.base}/privacy?brand=akkord_pro")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Skip to the content"
    order = []
    for _ in range(10):
        tab.keyboard.press("Tab")
        focused = tab.evaluate(
            """() => {
                const e = document.activeElement, style = getComputedStyle(e);
                return {tag: e.tagName.toLowerCase(), type: e.type || '', id: e.id,
                        value: e.type === 'radio' ? e.value : (e.hreflang || ''),
                        outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
            }"""
        )
        # the page's own focus style (:focus-visible, a 3px outline), not only the browser's
        assert (focused["outline"], focused["width"]) == ("solid", 3), focused
        order.append((focused["tag"], focused["type"], focused["value"] or focused["id"]))
    assert order == [
        *(("a", "", language) for language in ("en", "de", "fr", "es", "ja")),  # the switcher
        ("input", "radio", "access"),  # the group is one stop; arrows move within it
        ("input", "email", "email"),
        ("textarea", "textarea", "details"),
        ("select", "select-one", "jurisdiction"),
        ("button", "submit", ""),
    ]
    for _ in range(4):
        tab.keyboard.press("Shift+Tab")  # back to the radios
    tab.keyboard.press("ArrowDown")  # arrows choose a type
    assert tab.get_by_label("Give me my data to take elsewhere").is_checked()
    assert foreign(requested, site.base) == []


def test_file_confirm_and_download_a_copy_of_my_data(
    page: tuple[Any, list[str]], site: Site, tmp_path: Path
) -> None:
    tab, requested = page
    while not site.mail.empty():
        site.mail.get_nowait()
    tab.goto(f"{site.base}/privacy?brand=akkord_pro")
    tab.get_by_label("Send me a copy of my data").check()
    tab.get_by_label("Your e-mail address").fill(email_of(PERSON))
    tab.get_by_role("button", name="Send my request").click()
    tab.get_by_role("heading", name="Check your e-mail").wait_for()

    mail = site.mail.get(timeout=10)
    assert mail["To"] == email_of(PERSON)
    body = "\n".join(mail.get_payload(decode=True).decode().splitlines())  # type: ignore[union-attr]
    code = re.search(r"^\s+(\d{6})$", body, re.M).group(1)  # type: ignore[union-attr]
    link = re.search(r"\S+/privacy/verify\?\S+", body).group(0)  # type: ignore[union-attr]
    request_id = re.search(r"request=([0-9a-f-]{36})", link).group(1)  # type: ignore[union-attr]
    assert link == f"{site.base}/privacy/verify?request={request_id}&code={code}"

    tab.get_by_label("Code").fill(code)
    tab.get_by_role("button", name="Confirm my request").click()
    tab.wait_for_url(f"{site.base}/privacy/requests/{request_id}")
    status = tab.get_by_role("status")
    deadline = time.monotonic() + 30
    while "Done." not in status.inner_text():
        assert time.monotonic() < deadline, status.inner_text()
        time.sleep(0.3)
        tab.reload()

    with tab.expect_download() as started:
        tab.get_by_role("link", name="Download your data").click()
    saved = tmp_path / "my-data.zip"
    started.value.save_as(saved)
    assert started.value.suggested_filename == f"my-data-{request_id[:8]}.zip"
    with zipfile.ZipFile(saved) as package:
        data = json.loads(package.read("data.json"))
        report = package.read("report.html").decode()
    held = data["systems"]["shop"]
    assert {table: {row["id"] for row in held[table]["rows"]} for table in held} == (
        site.shop.rows_of(PERSON)  # every row of the person's, no one else's
    )
    assert [row["email"] for row in held["customers"]["rows"]] == [email_of(PERSON)]
    assert email_of(PERSON) in report
    assert foreign(requested, site.base) == []

    # the report is self-contained: opened in the browser it loads nothing
    requested.clear()
    tab.set_content(report)
    assert requested == []


def test_the_switcher_turns_the_center_german_and_the_request_follows(
    page: tuple[Any, list[str]], site: Site, tmp_path: Path
) -> None:
    tab, requested = page
    while not site.mail.empty():
        site.mail.get_nowait()
    person = PERSON + 1
    tab.goto(f"{site.base}/privacy?brand=akkord_pro")
    assert tab.evaluate("document.documentElement.lang") == "en"
    tab.get_by_role("navigation", name="Language").get_by_role("link", name="Deutsch").click()
    tab.get_by_role("heading", name="Ihre Datenschutz-Anliegen").wait_for()
    assert tab.evaluate("document.documentElement.lang") == "de"
    tab.get_by_label("Schicken Sie mir eine Kopie meiner Daten").check()
    tab.get_by_label("Ihre E-Mail-Adresse").fill(email_of(person))
    tab.get_by_role("button", name="Anfrage senden").click()
    tab.get_by_role("heading", name="Sehen Sie in Ihre E-Mails").wait_for()

    mail = site.mail.get(timeout=10)
    assert mail["To"] == email_of(person) and mail["Content-Language"] == "de"
    body = "\n".join(mail.get_payload(decode=True).decode().splitlines())  # type: ignore[union-attr]
    assert "Ihr Code" in str(email.header.make_header(email.header.decode_header(mail["Subject"])))
    code = re.search(r"^\s+(\d{6})$", body, re.M).group(1)  # type: ignore[union-attr]
    request_id = re.search(r"request=([0-9a-f-]{36})", body).group(1)  # type: ignore[union-attr]

    tab.get_by_label("Code").fill(code)
    tab.get_by_role("button", name="Anfrage bestätigen").click()
    tab.wait_for_url(f"{site.base}/privacy/requests/{request_id}")
    tab.get_by_role("heading", name="Ihre Anfrage").wait_for()
    assert "Sie haben die Anfrage bestätigt." in tab.get_by_role("table").inner_text()
    status = tab.get_by_role("status")
    deadline = time.monotonic() + 30
    while "Erledigt." not in status.inner_text():
        assert time.monotonic() < deadline, status.inner_text()
        time.sleep(0.3)
        tab.reload()
    with tab.expect_download() as started:
        tab.get_by_role("link", name="Ihre Daten herunterladen").click()
    saved = tmp_path / "meine-daten.zip"
    started.value.save_as(saved)
    with zipfile.ZipFile(saved) as package:
        report = package.read("report.html").decode()
    requested.clear()
    tab.set_content(report)
    assert tab.evaluate("document.documentElement.lang") == "de"
    tab.get_by_role("heading", name="Welche Daten wir über Sie speichern").wait_for()
    assert requested == []


def test_a_parent_consents_for_their_child_and_later_deletes_the_data(
    page: tuple[Any, list[str]], site: Site
) -> None:
    tab, requested = page
    while not site.mail.empty():
        site.mail.get_nowait()
    post = {
        "brand": "akkord_pro",
        "identities": {"email": "young.drummer@example.org"},
        "data": {"display_name": "beatkid", "date_of_birth": "2013-04-02", "post": "Hi all!"},
    }
    service = {"Authorization": f"Bearer {site.service_token}"}
    url = f"{site.base}/v1/touchpoints/forum/submissions"
    asked = httpx.post(
        url, json={**post, "parent": {"email": "pat.parent@example.org"}}, headers=service
    )
    assert asked.status_code == 202, asked.text
    mail = site.mail.get(timeout=10)
    assert mail["To"] == "pat.parent@example.org"
    body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "beatkid" not in body and "young.drummer" not in body  # nothing of the child
    link = re.search(r"\S+/parental-consent/\S+", body).group(0)  # type: ignore[union-attr]

    tab.goto(link)
    tab.get_by_role("heading", name="What we would collect").wait_for()
    tab.get_by_label("Marketing communications").check()
    tab.get_by_label("I am this child's parent or legal guardian").check()
    tab.get_by_role("button", name="I agree").click()
    assert "Thank you: your consent is recorded." in tab.get_by_role("status").inner_text()

    consent_id = asked.json()["parental_consent_id"]
    kept = httpx.post(url, json={**post, "parental_consent": consent_id}, headers=service)
    assert kept.status_code == 201, kept.text
    tab.reload()
    table = tab.get_by_role("table", name="What we hold about your child")
    assert "beatkid" in table.inner_text() and "2013-04-02" in table.inner_text()

    tab.get_by_label("I understand that this cancels the account").check()
    tab.get_by_role("button", name="Delete my child's data").click()
    assert "data is deleted" in tab.get_by_role("status").inner_text()
    decided = httpx.post(
        f"{site.base}/v1/decisions",
        json={
            "brand": "akkord_pro",
            "purpose": "forum_publication",
            "identities": {"email": "young.drummer@example.org"},
        },
        headers=service,
    )
    assert decided.json()["reason"] == "unknown_subject"
    assert foreign(requested, site.base) == []
