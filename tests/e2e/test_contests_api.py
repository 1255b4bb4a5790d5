"""Contests over HTTP, on SQLite and PostgreSQL (issue 9, item 5): winners named exactly as the
contest's rules say (or not at all), only entrants, the publication in the winner's access
report, "Name withdrawn" once a winner is erased; entries passed to a sponsor with only what it
is declared to receive, each person's disclosure recorded, nothing passed twice, and the sponsor
told of an erasure. The example manifest, without its external systems."""

from __future__ import annotations

import email
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from charter.config import Settings
from charter.facade import Charter
from charter.storage.tables import (
    contest_announcements,
    contest_transfers,
    contest_winners,
    disclosures,
    outbox,
)
from charter.storage.vault import Vault

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
BRAND = "dynamo_dj"
ANN = "ann@example.org"
BOB = "bob@example.org"
CLEO = "cleo@example.org"
Changes = Callable[[dict[str, Any]], None] | None


@pytest.fixture
def changes() -> Changes:
    return None


@pytest.fixture
def manifest_path(tmp_path: Path, changes: Changes) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["systems"] = {}  # requests run in Charter alone
    data.pop("events", None)  # its lake is one of the systems
    if changes is not None:
        changes(data)
    path = tmp_path / "charter.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


class Site:
    def __init__(self, client: TestClient, charter: Charter, outbox_dir: Path) -> None:
        self.client = client
        self.charter = charter
        self.outbox_dir = outbox_dir
        self.tokens = {
            role: {"Authorization": f"Bearer {charter.create_token(role).token}"}
            for role in ("admin", "privacy_officer", "support", "service", "auditor")
        }

    def enter(
        self, who: str, name: str, country: str = "DE", touchpoint: str = "contest", **data: Any
    ) -> str:
        answer = self.client.post(
            f"/v1/touchpoints/{touchpoint}/submissions",
            json={
                "brand": data.pop("brand", BRAND),
                "identities": {"email": who},
                "data": {"name": name, "country": country, "date_of_birth": "1990-04-01"} | data,
            },
            headers=self.tokens["service"],
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["subject_id"])

    def announce(
        self,
        winners: list[dict[str, Any]],
        touchpoint: str = "contest",
        role: str = "admin",
        **body: Any,
    ) -> Any:
        return self.client.post(
            f"/v1/contests/{touchpoint}/winners",
            json={"brand": BRAND, "title": "Remix contest 2026", "winners": winners} | body,
            headers=self.tokens[role],
        )

    def transfer(
        self, touchpoint: str = "sponsored_contest", role: str = "privacy_officer", **body: Any
    ) -> Any:
        return self.client.post(
            f"/v1/contests/{touchpoint}/sponsor-transfers",
            json={"brand": BRAND} | body,
            headers=self.tokens[role],
        )

    def count(self, table: Any, *where: Any) -> int:
        with self.charter.store.read() as connection:
            query = select(func.count()).select_from(table)
            return int(connection.scalar(query.where(*where) if where else query) or 0)

    def ledger(self, **filters: str) -> list[dict[str, Any]]:
        answer = self.client.get(
            "/v1/disclosures", params=filters, headers=self.tokens["privacy_officer"]
        )
        assert answer.status_code == 200, answer.text
        return list(answer.json()["disclosures"])

    # -- a person's rights requests ---------------------------------------------------------------

    def code_for(self, request_id: str) -> str:
        for path in sorted(self.outbox_dir.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(path.read_bytes())
            body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
            found = re.search(r"^\s+(\d{6})$", body, re.M)
            if request_id in body and found:
                return found.group(1)
        raise AssertionError(f"no code for {request_id}")

    def file_verified(self, kind: str, who: str) -> tuple[str, str]:
        filed = self.client.post(
            "/v1/requests", json={"type": kind, "brand": BRAND, "identities": {"email": who}}
        )
        assert filed.status_code == 202, filed.text
        request_id = filed.json()["id"]
        verified = self.client.post(
            f"/v1/requests/{request_id}/verify", json={"code": self.code_for(request_id)}
        )
        assert verified.status_code == 200, verified.text
        return request_id, verified.json()["access_token"]

    def package(self, who: str) -> tuple[str, dict[str, Any]]:
        request_id, token = self.file_verified("access", who)
        self.charter.rights.run(request_id)
        answer = self.client.get(
            f"/v1/requests/{request_id}/package", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        with zipfile.ZipFile(io.BytesIO(answer.content)) as package:
            return package.read("report.html").decode(), json.loads(package.read("data.json"))

    def erase(self, who: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Erase the person; the request as staff see it, and the recipients' notices (read
        before delivery: once the erasure's mail has gone the outbox forgets them)."""
        request_id, _ = self.file_verified("erasure", who)
        approved = self.client.post(
            f"/v1/requests/{request_id}/approve", json={}, headers=self.tokens["privacy_officer"]
        )
        assert approved.status_code == 200, approved.text
        self.charter.outbox.deliver()
        self.charter.rights.run(request_id)
        notices = queued(self.charter, "recipient_notice")
        self.charter.outbox.deliver()
        view = self.client.get(
            f"/v1/requests/{request_id}", headers=self.tokens["privacy_officer"]
        ).json()
        return view, notices


def queued(charter: Charter, kind: str) -> list[dict[str, Any]]:
    with charter.store.read() as connection:
        rows = connection.execute(select(outbox).where(outbox.c.kind == kind)).all()
    found = []
    for row in rows:
        key = charter.store.vault.unwrap("outbox", bytes(row.key_wrapped))
        found.append(Vault.open(key, "outbox", "message", bytes(row.message_sealed)))
    return found


@pytest.fixture
def site(client: TestClient, charter: Charter, settings: Settings) -> Site:
    return Site(client, charter, settings.outbox_dir)


def rule(winners: str, country: bool = True) -> Changes:
    def change(data: dict[str, Any]) -> None:
        data["touchpoints"]["contest"]["contest"].update(winners=winners, winner_country=country)

    change.__name__ = f"{winners}{'_with_country' if country else ''}"
    return change


# -- winners ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "lines"),
    [
        (rule("first_name_and_initial"), ["Ann L., Germany", "Bob D., France"]),
        (rule("full_name"), ["Ann Lopez, Germany", "Bob van Dijk, France"]),
        (rule("full_name", country=False), ["Ann Lopez", "Bob van Dijk"]),
    ],
    ids=["first_name_and_initial", "full_name", "full_name_no_country"],
)
def test_winners_are_named_exactly_as_the_rules_say(site: Site, lines: list[str]) -> None:
    site.enter(ANN, "Ann  Lopez", "DE")
    bob = site.enter(BOB, "Bob van Dijk", "FR")
    site.enter(CLEO, "Cleo Moreau", "FR")  # entered, did not win
    made = site.announce([{"identities": {"email": ANN}}, {"subject_id": bob}])
    assert made.status_code == 201, made.text
    announcement = made.json()
    assert [w["line"] for w in announcement["winners"]] == lines
    assert announcement["names_published"] is True and announcement["winner_count"] == 2
    assert announcement["summary"] is None
    assert announcement["rules_url"] == "https://www.resonance-group.example/contests/rules"

    # anyone may read it, as JSON and as a page, with no token
    public = site.client.get(f"/v1/contests/announcements/{announcement['id']}")
    assert public.status_code == 200 and public.json() == announcement
    page = site.client.get(f"/contests/{announcement['id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for line in lines:
        assert line in page.text
    assert "Cleo" not in page.text and "Cleo" not in public.text
    assert not re.search(
        r"""(src|href)="(https?:)?//(?!www\.resonance-group\.example/)""", page.text
    )

    # each publication is a disclosure to the public, of the categories published
    published = site.ledger(recipient="public")
    assert [(d["kind"], d["purposes"], d["about_a_person"]) for d in published] == [
        ("public_posting", ["contests"], True)
    ] * 2
    categories = ["user.name"] + (["user.contact.address.country"] if "," in lines[0] else [])
    assert all(d["categories"] == categories for d in published)


@pytest.mark.parametrize("changes", [rule("none")], ids=["none"])
def test_under_the_rule_none_only_the_count_is_published(site: Site) -> None:
    for who, name in ((ANN, "Ann Lopez"), (BOB, "Bob Stone"), (CLEO, "Cleo Moreau")):
        site.enter(who, name)
    made = site.announce([{"identities": {"email": w}} for w in (ANN, BOB, CLEO)])
    assert made.status_code == 201, made.text
    announcement = made.json()
    assert announcement["names_published"] is False and announcement["winners"] == []
    assert announcement["summary"] == (
        "3 winners were drawn; the rules do not allow their names to be published."
    )
    page = site.client.get(f"/contests/{announcement['id']}").text
    assert "3 winners were drawn" in page
    for name in ("Ann", "Bob", "Cleo", "Lopez"):
        assert name not in page
    assert site.ledger(recipient="public") == []  # a count is about no one


def test_only_an_entrant_can_win_and_nothing_is_kept_when_one_is_refused(site: Site) -> None:
    site.enter(ANN, "Ann Lopez")
    site.charter.submit("marketing_signup", brand=BRAND, identities={"email": BOB})
    site.enter(CLEO, "Cleo Moreau", brand="akkord_pro")  # the same contest, another brand

    def refused(winners: list[dict[str, Any]], code: str, status: int = 422, **body: Any) -> str:
        answer = site.announce(winners, **body)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"] == code, answer.text
        return str(answer.json()["error"]["message"])

    ann = {"identities": {"email": ANN}}
    message = refused([ann, {"identities": {"email": BOB}}], "not_an_entrant")
    assert message.startswith("winners[1]:") and BOB not in message
    refused([ann, {"identities": {"email": "nobody@example.org"}}], "not_an_entrant")
    refused([{"identities": {"email": CLEO}}], "not_an_entrant")
    refused([{"subject_id": "00000000-0000-4000-8000-000000000000"}], "not_an_entrant")
    refused([ann, ann], "duplicate_winner")
    refused([ann], "not_a_contest", touchpoint="support")
    refused([ann], "unknown_touchpoint", 404, touchpoint="nowhere")
    refused([ann], "unknown_brand", brand="nobrand")
    refused(
        [{"identities": {"email": ANN}, "subject_id": "00000000-0000-4000-8000-000000000000"}],
        "invalid_request",
    )
    refused([], "invalid_request")
    assert site.count(contest_announcements) == 0
    assert site.count(contest_winners) == 0
    assert site.count(disclosures) == 0


def test_a_child_cannot_enter_so_never_wins(site: Site) -> None:
    child = site.client.post(
        "/v1/touchpoints/contest/submissions",
        json={
            "brand": BRAND,
            "identities": {"email": ANN},
            "data": {"name": "Ann Lopez", "country": "DE", "date_of_birth": "2015-06-01"},
        },
        headers=site.tokens["service"],
    )
    assert child.status_code == 422 and child.json()["error"]["code"] == "child_not_allowed"
    answer = site.announce([{"identities": {"email": ANN}}])
    assert answer.json()["error"]["code"] == "not_an_entrant"


def test_the_winners_access_report_lists_the_publication(site: Site) -> None:
    site.enter(ANN, "Ann Lopez")
    site.enter(BOB, "Bob Stone")
    assert site.announce([{"identities": {"email": ANN}}]).status_code == 201
    report, data = site.package(ANN)
    listed = [d for d in data["disclosures"] if d["recipient"] == "public"]
    assert len(listed) == 1
    assert listed[0]["kind"] == "public_posting"
    assert listed[0]["categories"] == ["user.name", "user.contact.address.country"]
    assert listed[0]["reason"] == "Contests and sweepstakes"
    section = report[report.index("<h3>Disclosures we actually made</h3>") :]
    assert "The public" in section[: section.index("</section>")]
    _, bobs = site.package(BOB)
    assert [d for d in bobs["disclosures"] if d["recipient"] == "public"] == []


def test_an_erased_winner_reads_name_withdrawn(site: Site) -> None:
    site.enter(ANN, "Ann Lopez", "DE")
    site.enter(BOB, "Bob Stone", "FR")
    made = site.announce([{"identities": {"email": ANN}}, {"identities": {"email": BOB}}]).json()
    view, _ = site.erase(ANN)
    assert view["status"] == "completed", view
    public = site.client.get(f"/v1/contests/announcements/{made['id']}").json()
    assert [(w["line"], w["withdrawn"]) for w in public["winners"]] == [
        ("Name withdrawn", True),
        ("Bob S., France", False),
    ]
    assert public["winner_count"] == 2
    page = site.client.get(f"/contests/{made['id']}").text
    assert "Name withdrawn" in page and "Ann" not in page and "Bob S., France" in page
    # the publication stays as evidence, naming no one readable
    (ann,) = [d for d in site.ledger(recipient="public") if d["subject_id"] is None]
    assert ann["about_a_person"] is True


def test_unknown_announcements_are_404(site: Site) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    answer = site.client.get(f"/v1/contests/announcements/{missing}")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_announcement"
    assert site.client.get("/v1/contests/announcements/not-an-id").status_code == 422
    assert site.client.get(f"/contests/{missing}").status_code == 404
    assert site.client.get("/contests/not-an-id").status_code == 404


# -- the sponsor --------------------------------------------------------------------------------


def extra_fields(data: dict[str, Any]) -> None:
    """Two fields the sponsor may not have: a phone (a category it is not declared to receive)
    and the IP address (collected for fraud prevention only)."""
    data["touchpoints"]["sponsored_contest"]["fields"].update(
        phone={"category": "user.contact.phone_number", "type": "phone"},
        ip_address={"category": "user.device.ip_address", "type": "ip_address"},
    )


@pytest.mark.parametrize("changes", [extra_fields], ids=["extra_fields"])
def test_the_sponsor_receives_only_what_it_is_declared_for_and_nothing_twice(
    site: Site,
) -> None:
    extra = {
        "phone": "+4930901820",
        "ip_address": "203.0.113.9",
        "entry": "https://example.org/t",
    }
    ann = site.enter(ANN, "Ann Lopez", touchpoint="sponsored_contest", **extra)
    site.enter(BOB, "Bob Stone", "FR", touchpoint="sponsored_contest")
    site.enter(CLEO, "Cleo Moreau", touchpoint="contest")  # not the sponsored contest

    first = site.transfer()
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["recipient"] == "contest_sponsor" and body["purposes"] == ["sponsored_contests"]
    assert body["disclosures"] == 2 and body["withheld"] == []
    entries = {e["identities"]["email"][0]: e for e in body["entries"]}
    assert set(entries) == {ANN, BOB}
    assert entries[ANN]["subject_id"] == ann
    assert entries[ANN]["data"] == {
        "name": "Ann Lopez",
        "country": "DE",
        "date_of_birth": "1990-04-01",
        "entry": "https://example.org/t",
    }
    assert "phone" not in json.dumps(body) and "203.0.113.9" not in json.dumps(body)

    recorded = site.ledger(recipient="contest_sponsor")
    assert len(recorded) == 2
    by_id = {d["id"]: d for d in recorded}
    ann_record = by_id[entries[ANN]["disclosure_id"]]
    assert ann_record["kind"] == "third_party_share"
    assert ann_record["purposes"] == ["sponsored_contests"]
    assert ann_record["categories"] == [
        "user.contact.address.country",
        "user.contact.email",
        "user.content.private",
        "user.demographic.date_of_birth",
        "user.name",
    ]
    assert site.count(contest_transfers) == 2

    again = site.transfer()
    assert again.status_code == 201 and again.json()["entries"] == []
    assert again.json()["disclosures"] == 0 and len(site.ledger(recipient="contest_sponsor")) == 2

    site.enter(CLEO, "Cleo Moreau", touchpoint="sponsored_contest")
    third = site.transfer(role="admin").json()
    assert [e["identities"]["email"] for e in third["entries"]] == [[CLEO]]

    _, data = site.package(ANN)
    assert [d["recipient"] for d in data["disclosures"]] == ["contest_sponsor"]


def test_erasing_a_passed_entrant_tells_the_sponsor(site: Site) -> None:
    site.enter(ANN, "Ann Lopez", touchpoint="sponsored_contest")
    assert site.transfer().status_code == 201
    view, notices = site.erase(ANN)
    assert view["status"] == "completed", view
    steps = [(s["system"], s["target"], s["action"]) for s in view["steps"]]
    assert ("recipients", "contest_sponsor", "notify") in steps
    told = [m for m in notices if m["to"] == "privacy@resonance-contests.example"]
    assert len(told) == 1 and "erase" in told[0]["subject"] and ANN in told[0]["body"]
    # the entry's mark went with the person; the disclosure stays as evidence about no one
    assert site.count(contest_transfers) == 0
    (record,) = site.ledger(recipient="contest_sponsor")
    assert record["subject_id"] is None and record["about_a_person"] is True


def sponsor_is_a_processor(data: dict[str, Any]) -> None:
    data["recipients"]["contest_sponsor"]["kind"] = "processor"


def sponsor_for_other_purposes(data: dict[str, Any]) -> None:
    data["recipients"]["contest_sponsor"]["purposes"] = ["contests"]
    data["touchpoints"]["sponsored_contest"]["purposes"].remove("contests")


@pytest.mark.parametrize(
    "changes", [sponsor_is_a_processor, sponsor_for_other_purposes], ids=lambda c: c.__name__
)
def test_a_sponsor_the_manifest_does_not_declare_receives_nothing(site: Site) -> None:
    site.enter(ANN, "Ann Lopez", touchpoint="sponsored_contest")
    answer = site.transfer()
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "sponsor_not_declared"
    assert site.count(contest_transfers) == 0 and site.count(disclosures) == 0


def test_transfer_refusals(site: Site) -> None:
    site.enter(ANN, "Ann Lopez")
    for touchpoint, brand, status, code in (
        ("contest", BRAND, 422, "no_sponsor"),
        ("support", BRAND, 422, "not_a_contest"),
        ("nowhere", BRAND, 404, "unknown_touchpoint"),
        ("sponsored_contest", "akkord_pro", 422, "brand_not_offered"),
        ("sponsored_contest", "nobrand", 422, "unknown_brand"),
    ):
        answer = site.transfer(touchpoint, brand=brand)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    assert site.count(contest_transfers) == 0 and site.count(disclosures) == 0


def test_only_the_privacy_team_runs_contests(site: Site) -> None:
    site.enter(ANN, "Ann Lopez")
    site.enter(BOB, "Bob Stone", touchpoint="sponsored_contest")
    winners = [{"identities": {"email": ANN}}]
    for role in ("support", "service", "auditor"):
        assert site.announce(winners, role=role).status_code == 403
        assert site.transfer(role=role).status_code == 403
    anonymous = site.client.post(
        "/v1/contests/contest/winners", json={"brand": BRAND, "title": "x", "winners": winners}
    )
    assert anonymous.status_code == 401
    assert site.count(contest_announcements) == 0 and site.count(contest_transfers) == 0
    assert site.announce(winners, role="privacy_officer").status_code == 201
    assert site.transfer(role="admin").status_code == 201


def test_a_restricted_person_is_neither_named_nor_passed_until_lifted(site: Site) -> None:
    ann = site.enter(ANN, "Ann Lopez", touchpoint="sponsored_contest")
    site.enter(BOB, "Bob Stone", touchpoint="sponsored_contest")

    def restriction(action: str) -> None:
        answer = site.client.post(
            "/v1/restrictions",
            json={"subject_id": ann, "action": action, "brand": BRAND},
            headers=site.tokens["privacy_officer"],
        )
        assert answer.status_code == 200, answer.text

    restriction("restrict")  # Art. 18: only storage goes on
    refused = site.announce([{"subject_id": ann}], touchpoint="sponsored_contest")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "winner_not_publishable"
    assert "restricted" in refused.json()["error"]["message"]
    assert site.count(contest_announcements) == 0

    first = site.transfer().json()
    assert [e["identities"]["email"] for e in first["entries"]] == [[BOB]]
    assert [(w["subject_id"], w["reason"]) for w in first["withheld"]] == [(ann, "restricted")]
    assert first["disclosures"] == 1

    restriction("lift")
    second = site.transfer().json()
    assert [e["subject_id"] for e in second["entries"]] == [ann] and second["withheld"] == []
    made = site.announce([{"subject_id": ann}], touchpoint="sponsored_contest")
    assert made.status_code == 201 and made.json()["winners"][0]["line"] == "Ann Lopez, Germany"
