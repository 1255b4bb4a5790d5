"""The staff console in a real browser: a privacy officer logs in and reads the dashboard (its
charts drawn, their numbers in tables, nothing loaded from elsewhere), then each register's page.

Real parts: headless Chromium (Debian's, via Playwright), ``charter serve`` as a process on the
example manifest, the CLI for the staff account, a service token and a sweep. With
``CHARTER_SCREENSHOTS=1`` the test also writes the console's pictures in ``docs/images``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fixtures.servers import CLI, chromium, clean_env, free_port, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "musicgroup" / "charter.yaml"
OFFICER = "dana.diaz@example.org"
PASSWORD = "correct horse battery staple"
NOTICE = "Yes, send me news, offers, events and contests from the Resonance brands by email."


@dataclass
class Site:
    base: str
    env: dict[str, str]
    folder: Path

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [*CLI, *args], env=self.env, cwd=self.folder, capture_output=True, text=True, check=True
        ).stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("console")
    (folder / "charter.yaml").write_text(EXAMPLE.read_text())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(
        CHARTER_DATABASE_URL=f"sqlite:///{folder / 'charter.db'}",
        CHARTER_PUBLIC_BASE_URL=base,
        CHARTER_STAFF_PASSWORD=PASSWORD,
    )
    with serving(env, folder, port):
        site = Site(base, env, folder)
        site.cli(
            "staff",
            "create",
            "--email",
            OFFICER,
            "--name",
            "Dana Diaz",
            "--role",
            "privacy_officer",
        )
        service = {
            "Authorization": f"Bearer {site.cli('token', 'create', '--role', 'service').strip()}"
        }
        answers = {"akkord_pro": (5, 2), "dynamo_dj": (3, 3), "nuvola_dj": (4, 1)}
        for brand, (yes, no) in answers.items():
            for n in range(yes + no):
                consents = [{"purpose": "marketing_communications", "notice": NOTICE}]
                answer = httpx.post(
                    f"{base}/v1/touchpoints/marketing_signup/submissions",
                    json={
                        "brand": brand,
                        "identities": {"email": f"fan{n}.{brand}@example.org"},
                        "consents": consents if n < yes else [],
                    },
                    headers=service,
                )
                assert answer.status_code == 201, answer.text
                if n >= yes:  # answered no: a refusal in the ledger
                    refused = httpx.post(
                        f"{base}/v1/consents",
                        json={
                            "brand": brand,
                            "identities": {"email": f"fan{n}.{brand}@example.org"},
                            "purpose": "marketing_communications",
                            "action": "refuse",
                            "notice": NOTICE,
                        },
                        headers=service,
                    )
                    assert refused.status_code == 201, refused.text
        for n in range(3):
            httpx.post(
                f"{base}/v1/requests",
                json={
                    "type": "access",
                    "brand": "akkord_pro",
                    "identities": {"email": f"fan{n}.akkord_pro@example.org"},
                },
            ).raise_for_status()
        site.cli("sweep")
        site.cli("policy", "publish")
        token = site.cli("token", "create", "--role", "privacy_officer").strip()
        officer = {"Authorization": f"Bearer {token}"}
        breach = httpx.post(
            f"{base}/v1/breaches",
            json={
                "title": "Newsletter list sent in copy",
                "description": "A newsletter went out with every address in copy.",
                "aware_at": "2026-11-29T08:00:00Z",
                "systems": ["charter"],
                "categories": ["user.contact.email"],
                "risk": "risk",
                "risk_reasons": "Addresses seen by other subscribers.",
                "consequences": "Unwanted mail.",
                "measures": "Mailing tool access reviewed.",
            },
            headers=officer,
        )
        assert breach.status_code == 201, breach.text
        shared = httpx.post(
            f"{base}/v1/disclosures",
            json={
                "kind": "processor_share",
                "recipient": "email_service",
                "brand": "akkord_pro",
                "identities": {"email": "fan0.akkord_pro@example.org"},
                "categories": ["user.contact.email"],
                "purposes": ["marketing_communications"],
            },
            headers=service,
        )
        assert shared.status_code == 201, shared.text
        yield site


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


def test_an_officer_reads_the_dashboard(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.goto(f"{site.base}/admin")
    tab.get_by_label("E-mail").fill(OFFICER)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    tab.get_by_role("heading", name="Dashboard").wait_for()

    chart = tab.get_by_role("img", name="Marketing communications")
    widths = chart.evaluate(
        "svg => [...svg.querySelectorAll('rect')].map(r => r.getBoundingClientRect().width)"
    )
    labels = chart.evaluate("svg => [...svg.querySelectorAll('title')].map(t => t.textContent)")
    assert labels == [
        "Akkord Professional: 71% of 7",
        "Dynamo DJ: 50% of 6",
        "Nuvola DJ: 80% of 5",
    ], labels
    assert widths[2] > widths[0] > widths[1] > 0  # drawn to scale
    bands = tab.get_by_role("img", name="Open requests by days left")
    titles = bands.evaluate("svg => [...svg.querySelectorAll('title')].map(t => t.textContent)")
    assert titles == ["overdue: 0", "0-3 days: 0", "4-7 days: 0", "8-14 days: 0", "15+ days: 3"]
    assert "Last sweep" in tab.get_by_role("region", name="Retention").inner_text()
    assert [u for u in requested if not u.startswith(site.base)] == []
    assert (
        "Newsletter list sent in copy"
        in tab.get_by_role("region", name="Open breaches").inner_text()
    )
    shots = os.environ.get("CHARTER_SCREENSHOTS") == "1"
    if shots:
        tab.screenshot(path=ROOT / "docs" / "images" / "admin-dashboard.png", full_page=True)

    # Each register from the console's menu, as the officer reaches it.
    for link, heading, seen in (
        ("Breaches", "Breach register", "Newsletter list sent in copy"),
        ("Disclosures", "Disclosures", "processor share"),
        ("Transfers", "Transfers", "standard contractual clauses"),
        ("Records of processing", "Records of processing activities", "Marketing communications"),
        ("Policy versions", "Versions of our privacy policy", "2026.1"),
    ):
        tab.goto(f"{site.base}/admin")
        tab.get_by_role("banner").get_by_role("link", name=link, exact=True).click()
        tab.get_by_role("heading", name=heading, exact=True).wait_for()
        assert seen in tab.locator("main").inner_text(), (link, tab.url)
        if shots and link != "Policy versions":
            name = "admin-" + link.lower().replace(" ", "-") + ".png"
            tab.screenshot(path=ROOT / "docs" / "images" / name)  # the first screenful
    assert [u for u in requested if not u.startswith(site.base)] == []
    context.close()
