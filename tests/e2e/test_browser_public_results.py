"""The public pages of issue 9 in a real browser: a published survey result and a contest's
winners, as anyone reads them.

Real parts: headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright) and
``charter serve`` as a process on the example manifest, seeded over HTTP as a brand's services
would. Each page must load only from the server's own origin, name nobody who did not allow it,
and read without a script.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fixtures.servers import CLI, chromium, clean_env, free_port, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
BRAND = "akkord_pro"
SURVEY_NOTICE = "Take part in this survey."
ATTRIBUTION_NOTICE = "You may publish my comment with the name I gave."
SECRET_COMMENT = "my-unattributed-comment-7f3a"


@dataclass
class Site:
    base: str
    survey: str
    announcement: str


def submit(base: str, token: str, touchpoint: str, body: dict[str, Any]) -> None:
    answer = httpx.post(
        f"{base}/v1/touchpoints/{touchpoint}/submissions",
        json={"brand": BRAND, **body},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("public-results")
    manifest = yaml.safe_load(EXAMPLE.read_text())
    manifest["systems"] = {}  # nothing here reaches an outside system
    manifest.pop("events")
    manifest["touchpoints"]["forum"]["publication"].pop("system")
    (folder / "charter.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(
        CHARTER_DATABASE_URL=f"sqlite:///{folder / 'charter.db'}", CHARTER_PUBLIC_BASE_URL=base
    )

    def token(role: str) -> str:
        return subprocess.run(
            [*CLI, "token", "create", "--role", role],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    with serving(env, folder, port):
        service, officer = token("service"), token("privacy_officer")
        surveyed = [("satisfied", 40), ("very_dissatisfied", 1)]
        n = 0
        for choice, count in surveyed:
            for _ in range(count):
                n += 1
                submit(
                    base,
                    service,
                    "survey",
                    {
                        "identities": {"email": f"respondent{n}@example.org"},
                        "data": {"satisfaction": choice, "recommend": "yes"},
                        "consents": [{"purpose": "surveys", "notice": SURVEY_NOTICE}],
                    },
                )
        submit(
            base,
            service,
            "survey",
            {
                "identities": {"email": "rosa@example.org"},
                "data": {"comment": "The pads feel great.", "display_name": "Rosa M."},
                "consents": [
                    {"purpose": "surveys", "notice": SURVEY_NOTICE},
                    {"purpose": "survey_attribution", "notice": ATTRIBUTION_NOTICE},
                ],
            },
        )
        submit(
            base,
            service,
            "survey",
            {
                "identities": {"email": "quiet@example.org"},
                "data": {"comment": SECRET_COMMENT, "display_name": "Quiet Person"},
                "consents": [{"purpose": "surveys", "notice": SURVEY_NOTICE}],
            },
        )
        staff = {"Authorization": f"Bearer {officer}"}
        result = httpx.post(
            f"{base}/v1/surveys/survey/results",
            json={"title": "Spring survey", "epsilon": 8, "quotes": True},
            headers=staff,
        )
        assert result.status_code == 201, result.text
        for email, name, country in (
            ("ann.lopez@example.org", "Ann Lopez", "DE"),
            ("cleo.moreau@example.org", "Cleo Moreau", "FR"),
        ):
            submit(
                base,
                service,
                "contest",
                {
                    "identities": {"email": email},
                    "data": {"name": name, "country": country, "date_of_birth": "1990-05-04"},
                },
            )
        announced = httpx.post(
            f"{base}/v1/contests/contest/winners",
            json={
                "brand": BRAND,
                "title": "Beat battle 2026",
                "winners": [{"identities": {"email": "ann.lopez@example.org"}}],
            },
            headers=staff,
        )
        assert announced.status_code == 201, announced.text
        yield Site(base, result.json()["id"], announced.json()["id"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


def visit(browser: Any, site: Site, path: str) -> tuple[Any, Any, list[str]]:
    """The page at ``path`` with scripts off, and every URL it asked for."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    answer = page.goto(f"{site.base}{path}")
    return context, page, asked if answer is not None and answer.ok else ["failed"]


def test_a_survey_result_shows_every_choice_and_quotes_only_who_allowed_it(
    browser: Any, site: Site
) -> None:
    context, page, asked = visit(browser, site, f"/surveys/results/{site.survey}")
    try:
        assert all(url.startswith(site.base) for url in asked), asked
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("h1").inner_text() == "Spring survey"
        satisfaction = page.locator("table").first
        rows = satisfaction.locator("tbody tr")
        assert rows.count() == 5  # every declared choice, answered or not
        cells = {
            rows.nth(i).locator("td").first.inner_text(): rows.nth(i)
            .locator("td")
            .nth(1)
            .inner_text()
            for i in range(rows.count())
        }
        assert cells["very dissatisfied"] == "fewer than 10"  # one answer: suppressed
        assert int(cells["satisfied"]) > 10
        quotes = page.locator("blockquote")
        assert quotes.count() == 1
        assert "The pads feel great." in quotes.inner_text() and "Rosa M." in quotes.inner_text()
        text = page.locator("body").inner_text()
        assert SECRET_COMMENT not in text and "Quiet Person" not in text
    finally:
        context.close()


def test_a_contest_announcement_names_the_winner_as_the_rules_allow(
    browser: Any, site: Site
) -> None:
    context, page, asked = visit(browser, site, f"/contests/{site.announcement}")
    try:
        assert all(url.startswith(site.base) for url in asked), asked
        winners = page.locator("ul.winners li")
        assert [winners.nth(i).inner_text() for i in range(winners.count())] == ["Ann L., Germany"]
        text = page.locator("body").inner_text()
        assert "Lopez" not in text and "Cleo" not in text
        rules = page.get_by_role("link", name="the contest rules")
        assert rules.get_attribute("href") == "https://www.resonance-group.example/contests/rules"
    finally:
        context.close()
