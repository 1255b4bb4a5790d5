"""Contests over HTTP, on SQLite and PostgreSQL (issue 9, item 5): winners named exactly as the
contest's rules say (or not at all), only entrants, the publication in the winner's access
report, "Name withdrawn" once a winner is erased; entries passed to a sponsor with only what it
is declared to receive, each person's disclosure recorded, nothing passed twice, and the sponsor
told of an erasure. The example manifest, without its external systems."""

from __future__ import annotations

import csv
import email
import io
import json
import re
import uuid
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
    audit_events,
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


# -- a transfer read again, as JSON or CSV --------------------------------------------------------

COLUMNS = ["email", "name", "postal_address", "country", "date_of_birth", "entry"]


def read_again(site: Site, transfer_id: str, csv_form: bool = False, role: str = "admin") -> Any:
    suffix = ".csv" if csv_form else ""
    return site.client.get(
        f"/v1/contests/sponsored_contest/sponsor-transfers/{transfer_id}{suffix}",
        headers=site.tokens[role],
    )


def audited(site: Site, action: str) -> list[Any]:
    with site.charter.store.read() as connection:
        return list(
            connection.execute(
                select(audit_events).where(audit_events.c.action == action).order_by("seq")
            )
        )


@pytest.mark.parametrize("changes", [extra_fields], ids=["extra_fields"])
def test_a_transfer_reads_again_as_json_and_as_csv_without_a_second_disclosure(
    site: Site,
) -> None:
    site.enter(
        ANN,
        '=HYPERLINK("https://evil.invalid")',
        touchpoint="sponsored_contest",
        phone="+4930901820",
        entry='My "remix", line one\nline two',
    )
    site.enter(BOB, "Zoë Ärger", "FR", touchpoint="sponsored_contest", entry="@SUM(1+1)")
    made = site.transfer()
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["columns"] == COLUMNS and body["id"] is not None
    disclosed = site.count(disclosures)

    again = read_again(site, body["id"], role="privacy_officer")
    assert again.status_code == 200, again.text
    assert again.json() == body

    sheet = read_again(site, body["id"], csv_form=True)
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    disposition = sheet.headers["content-disposition"]
    assert re.fullmatch(
        r'attachment; filename="sponsored_contest-dynamo_dj-\d{8}T\d{6}Z\.csv"', disposition
    ), disposition
    text = sheet.content.decode("utf-8")
    assert text.startswith('"email","name","postal_address"') and text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        COLUMNS,
        [
            ANN,
            '\'=HYPERLINK("https://evil.invalid")',
            "",
            "DE",
            "1990-04-01",
            'My "remix", line one\nline two',
        ],
        [BOB, "Zoë Ärger", "", "FR", "1990-04-01", "'@SUM(1+1)"],
    ]
    assert "+4930901820" not in text  # the phone: a category the sponsor is not declared for

    # Read twice, disclosed once: the reads are audited as staff reads, without any value.
    assert site.count(disclosures) == disclosed
    reads = audited(site, "contest.sponsor_transfer_read")
    assert [(r.target, r.details["format"], r.details["entries"]) for r in reads] == [
        (body["id"], "json", 2),
        (body["id"], "csv", 2),
    ]
    assert reads[0].actor != reads[1].actor  # who read it: the privacy officer, then the admin
    logged = json.dumps([r.details for r in reads], ensure_ascii=False)
    assert ANN not in logged and "Zoë" not in logged and "HYPERLINK" not in logged

    # Each transfer has its own id; a transfer that passed nothing has none.
    site.enter(CLEO, "Cleo Moreau", touchpoint="sponsored_contest")
    second = site.transfer().json()
    assert second["id"] not in (None, body["id"])
    assert [e["identities"]["email"] for e in read_again(site, second["id"]).json()["entries"]] == [
        [CLEO]
    ]
    assert site.transfer().json()["id"] is None


def test_an_erased_entrant_is_gone_from_a_transfer_read_again(site: Site) -> None:
    site.enter(ANN, "Ann Lopez", touchpoint="sponsored_contest")
    site.enter(BOB, "Bob Stone", touchpoint="sponsored_contest")
    transfer_id = site.transfer().json()["id"]
    view, _ = site.erase(ANN)
    assert view["status"] == "completed", view

    after = read_again(site, transfer_id).json()
    assert [e["identities"]["email"] for e in after["entries"]] == [[BOB]]
    assert after["disclosures"] == 1
    sheet = read_again(site, transfer_id, csv_form=True).content.decode()
    assert ANN not in sheet and "Ann Lopez" not in sheet and BOB in sheet

    site.erase(BOB)
    for csv_form in (False, True):
        gone = read_again(site, transfer_id, csv_form=csv_form)
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "unknown_transfer"


def test_a_value_corrected_since_reads_corrected_in_a_transfer_read_again(site: Site) -> None:
    site.enter(ANN, "Ann Lopez", touchpoint="sponsored_contest")
    transfer_id = site.transfer().json()["id"]
    staff = site.tokens["privacy_officer"]
    filed = site.client.post(
        "/v1/requests",
        json={
            "type": "rectification",
            "brand": BRAND,
            "identities": {"email": ANN},
            "details": {"changes": {"charter": {"name": "Ann Lopez-Weber"}}},
        },
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    verified = site.client.post(
        f"/v1/requests/{request_id}/verify", json={"code": site.code_for(request_id)}
    )
    assert verified.status_code == 200, verified.text
    for _ in range(20):  # run as the worker would, staff confirming the steps done by hand
        site.charter.rights.run(request_id)
        view = site.client.get(f"/v1/requests/{request_id}", headers=staff).json()
        if view["status"] == "completed":
            break
        waiting = [s for s in view["steps"] if s["status"] == "awaiting_staff"]
        assert waiting, view["steps"]
        confirmed = site.client.post(
            f"/v1/requests/{request_id}/steps/{waiting[0]['seq']}/confirm",
            headers=staff,
            json={"note": "done by hand"},
        )
        assert confirmed.status_code == 200, confirmed.text
    assert view["status"] == "completed", view
    [entry] = read_again(site, transfer_id).json()["entries"]
    assert entry["data"]["name"] == "Ann Lopez-Weber"
    sheet = read_again(site, transfer_id, csv_form=True).content.decode()
    assert "Ann Lopez-Weber" in sheet and '"Ann Lopez"' not in sheet


def test_a_person_restricted_since_is_withheld_from_a_transfer_read_again(site: Site) -> None:
    ann = site.enter(ANN, "Ann Lopez", touchpoint="sponsored_contest")
    site.enter(BOB, "Bob Stone", touchpoint="sponsored_contest")
    transfer_id = site.transfer().json()["id"]

    def restriction(action: str) -> None:
        answer = site.client.post(
            "/v1/restrictions",
            json={"subject_id": ann, "action": action, "brand": BRAND},
            headers=site.tokens["privacy_officer"],
        )
        assert answer.status_code == 200, answer.text

    restriction("restrict")  # Art. 18: their data is only stored, not shown for the sponsor
    after = read_again(site, transfer_id).json()
    assert [e["identities"]["email"] for e in after["entries"]] == [[BOB]]
    assert [(w["subject_id"], w["reason"]) for w in after["withheld"]] == [(ann, "restricted")]
    sheet = read_again(site, transfer_id, csv_form=True).content.decode()
    assert ANN not in sheet and "Ann Lopez" not in sheet and BOB in sheet
    assert audited(site, "contest.sponsor_transfer_read")[-1].details["withheld"] == 1
    restriction("lift")
    emails = [e["identities"]["email"] for e in read_again(site, transfer_id).json()["entries"]]
    assert emails == [[ANN], [BOB]]


def test_reading_a_transfer_again_refuses_what_is_not_one(site: Site) -> None:
    site.enter(ANN, "Ann Lopez", touchpoint="sponsored_contest")
    transfer_id = site.transfer().json()["id"]
    before = len(audited(site, "contest.sponsor_transfer_read"))
    headers = site.tokens["privacy_officer"]
    for path, status, code in (
        (f"sponsored_contest/sponsor-transfers/{uuid.uuid4()}", 404, "unknown_transfer"),
        (f"sponsored_contest/sponsor-transfers/{uuid.uuid4()}.csv", 404, "unknown_transfer"),
        (f"contest/sponsor-transfers/{transfer_id}", 404, "unknown_transfer"),
        (f"nowhere/sponsor-transfers/{transfer_id}.csv", 404, "unknown_touchpoint"),
        (f"support/sponsor-transfers/{transfer_id}", 422, "not_a_contest"),
        ("sponsored_contest/sponsor-transfers/not-an-id", 422, "invalid_request"),
        ("sponsored_contest/sponsor-transfers/not-an-id.csv", 422, "invalid_request"),
    ):
        answer = site.client.get(f"/v1/contests/{path}", headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), path
        assert "transfer_id" in answer.text or code != "invalid_request"
    assert len(audited(site, "contest.sponsor_transfer_read")) == before


def test_only_the_privacy_team_reads_a_transfer_again(site: Site) -> None:
    site.enter(ANN, "Ann Lopez", touchpoint="sponsored_contest")
    transfer_id = site.transfer().json()["id"]
    for csv_form in (False, True):
        for role in ("support", "service", "auditor"):
            refused = read_again(site, transfer_id, csv_form=csv_form, role=role)
            assert refused.status_code == 403 and ANN not in refused.text
        path = f"/v1/contests/sponsored_contest/sponsor-transfers/{transfer_id}"
        assert site.client.get(path + (".csv" if csv_form else "")).status_code == 401
        for role in ("admin", "privacy_officer"):
            assert read_again(site, transfer_id, csv_form=csv_form, role=role).status_code == 200
    assert len(audited(site, "contest.sponsor_transfer_read")) == 4
