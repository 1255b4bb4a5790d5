"""The breach register over HTTP (GDPR Art. 33, 34), on SQLite and PostgreSQL, with a fake clock:
recording, the people concerned counted per system, the drafts, the notices to the authority
(phased, late only with reasons) and to the people (those concerned only, unsubscribed or not),
the refusals, the roles, the reminders, and the console pages."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, create_engine, select

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.jobs.worker import Worker
from charter.storage.tables import audit_events, breach_events, breaches

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"
ANN, BEN, CLEO, DAN = "ann@example.org", "ben@example.org", "cleo-serial-0001", "dan@example.org"
DPO = "dpo@example.org"
NEWSLETTER = "Send me news and offers by email. You can unsubscribe at any time."


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, hours: float) -> None:
        self.now += dt.timedelta(hours=hours)


@dataclass
class World:
    charter: Charter
    client: TestClient
    clock: FakeClock
    outbox: Path
    tokens: dict[str, dict[str, str]]

    def as_(self, role: str) -> dict[str, str]:
        return self.tokens[role]

    def record(self, role: str = "privacy_officer", **fields: Any) -> Response:
        body = {
            "title": "Shop backup exposed",
            "description": "A backup of the order database was readable from the internet.",
            "aware_at": (self.clock.now - dt.timedelta(hours=2)).isoformat(),
            "occurred_at": (self.clock.now - dt.timedelta(days=3)).isoformat(),
            "systems": ["charter", "shop"],
            "categories": ["user.contact.address"],
            "risk": "risk",
            "risk_reasons": "Postal addresses readable by anyone who found the link.",
            "consequences": "Unwanted mail; addresses known to strangers.",
            "measures": "Access closed, link revoked, logs reviewed.",
            **fields,
        }
        return self.client.post("/v1/breaches", json=body, headers=self.as_(role))

    def recorded(self, **fields: Any) -> dict[str, Any]:
        answer = self.record(**fields)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def mails(self) -> list[EmailMessage]:
        while self.charter.outbox.deliver():
            pass
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(self.outbox.glob("*.eml"))
        ]

    def count(self, table: Table) -> int:
        with self.charter.store.read() as connection:
            return len(connection.execute(select(table)).all())


def body_of(message: EmailMessage) -> str:
    return str(message.get_content())


@pytest.fixture
def world(settings: Settings, manifest_path: Path) -> Iterator[World]:
    text = manifest_path.read_text()
    manifest_path.write_text(
        text.replace(
            "  home_region: EEA",
            "  dpo:\n    name: Dana Diaz\n    address: 2 Example Street, Dublin, IE\n"
            f"    email: {DPO}\n    phone: '+353 1 555 0100'\n  home_region: EEA",
        )
    )
    initialise(settings)
    clock = FakeClock(START)
    with Charter.open(settings, clock=clock) as charter:
        people(charter)
        tokens = {
            role: {"Authorization": f"Bearer {charter.create_token(role).token}"}
            for role in ("admin", "privacy_officer", "auditor", "support", "service")
        }
        with TestClient(create_app(settings, charter=charter)) as client:
            yield World(charter, client, clock, settings.outbox_dir, tokens)


def people(charter: Charter) -> None:
    """Ann bought at Acme (name, postal address); Ben signed up to Zeta's newsletter with his
    e-mail only; Cleo wrote to Acme's support from a product (its serial, a message; no e-mail);
    Dan signed up to Zeta's newsletter with his name, then unsubscribed."""
    charter.submit(
        "purchase",
        brand="acme",
        identities={"email": ANN, "account_id": "A-1"},
        data={"name": "Ann Adler", "shipping_address": "1 Elm Street, Springfield"},
    )
    charter.submit(
        "marketing_signup",
        brand="zeta",
        identities={"email": BEN},
        consents=[{"purpose": "marketing_email", "notice": NEWSLETTER}],
    )
    charter.submit(
        "support",
        brand="acme",
        identities={"device_serial": CLEO},
        data={"message": "My amplifier hums."},
    )
    charter.submit(
        "marketing_signup",
        brand="zeta",
        identities={"email": DAN},
        data={"name": "Dan Dahl"},
        consents=[{"purpose": "marketing_email", "notice": NEWSLETTER}],
    )
    charter.set_subscription("zeta", "email", False, identities={"email": DAN})


# -- recording and reading ------------------------------------------------------------------------


def test_a_breach_is_recorded_with_its_72_hour_clock_and_read_back(world: World) -> None:
    before = world.count(audit_events)
    made = world.recorded()
    aware = START - dt.timedelta(hours=2)
    assert made["status"] == "awaiting_authority_notice" and made["open"] is True
    assert dt.datetime.fromisoformat(made["due_at"]) == aware + dt.timedelta(hours=72)
    assert made["hours_left"] == 70
    assert made["authority_required"] is True and made["people_required"] is False
    assert made["systems"] == ["charter", "shop"]
    assert [e["kind"] for e in made["history"]] == ["recorded"]
    assert made["recorded_by"].startswith("token:")

    world.clock.advance(80)
    listed = world.client.get("/v1/breaches", headers=world.as_("auditor"))
    assert listed.status_code == 200
    (row,) = listed.json()
    assert row["id"] == made["id"] and row["hours_left"] == -10  # late now
    one = world.client.get(f"/v1/breaches/{made['id']}", headers=world.as_("auditor"))
    assert one.json()["description"].startswith("A backup")

    with world.charter.store.read() as connection:
        (audit,) = connection.execute(select(audit_events).where(audit_events.c.seq > before)).all()
    assert audit.action == "breach.recorded" and audit.target == made["id"]
    assert audit.details["affected_count"] == 1 and audit.details["risk"] == "risk"
    assert "example.org" not in str(audit.details) and "Elm" not in str(audit.details)


def test_the_register_lists_open_breaches_first_by_hours_left(world: World) -> None:
    settled = world.recorded(title="Laptop lost", risk="none", risk_reasons="Disk encrypted.")
    later = world.recorded(title="Later", aware_at=START.isoformat())
    sooner = world.recorded(title="Sooner", aware_at=(START - dt.timedelta(hours=30)).isoformat())
    rows = world.client.get("/v1/breaches", headers=world.as_("admin")).json()
    assert [r["id"] for r in rows] == [sooner["id"], later["id"], settled["id"]]
    assert [r["hours_left"] for r in rows] == [42, 72, None]
    assert settled["status"] == "recorded" and settled["due_at"]
    only_open = world.client.get("/v1/breaches?open_only=true", headers=world.as_("admin"))
    assert [r["id"] for r in only_open.json()] == [sooner["id"], later["id"]]


# -- the people concerned -------------------------------------------------------------------------


def test_the_people_concerned_are_counted_from_charters_own_store(world: World) -> None:
    address = world.recorded(categories=["user.contact.address"])
    affected = world.client.get(
        f"/v1/breaches/{address['id']}/affected", headers=world.as_("auditor")
    ).json()
    own, shop = affected["systems"]
    assert own == {
        "system": "charter",
        "name": own["name"],
        "status": "counted",
        "people": 1,  # Ann, the only one who gave a postal address
        "records": 1,
        "tables": {"personal_values": 1, "identities": 0},
    }
    assert shop["status"] == "unknown: not connected" and shop["people"] is None
    assert affected["people"] == 1 and affected["complete"] is False
    assert address["affected_count"] == 1

    tokens = world.recorded(systems=["charter"], categories=["user.payment.token"])
    assert tokens["affected_count"] == 0  # nobody gave one

    # A group key covers its members, identities included: e-mail (Ann, Ben, Dan), the
    # address (Ann); Cleo gave only a serial number.
    contact = world.recorded(systems=["charter"], categories=["user.contact"])
    counted = world.client.get(
        f"/v1/breaches/{contact['id']}/affected", headers=world.as_("admin")
    ).json()
    assert counted["people"] == 3 and counted["records"] == 4 and counted["complete"] is True

    names = world.recorded(systems=["charter"], categories=["user.name", "user.device"])
    assert names["affected_count"] == 3  # Ann and Dan by name, Cleo by serial


def shop_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    metadata = MetaData()
    customers = Table(
        "customers",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("email", String(200)),
        Column("name", String(200)),
    )
    orders = Table(
        "orders",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("customer_id", Integer, ForeignKey("customers.id")),
        Column("shipping_address", String(200)),
    )
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            customers.insert(),
            [{"id": i, "email": f"c{i}@example.org", "name": f"C {i}"} for i in (1, 2, 3)],
        )
        connection.execute(
            orders.insert(),
            [
                {"id": 10, "customer_id": 1, "shipping_address": "1 Road"},
                {"id": 11, "customer_id": 1, "shipping_address": "1 Road"},
                {"id": 12, "customer_id": 2, "shipping_address": "2 Road"},
                {"id": 13, "customer_id": 2, "shipping_address": "2 Road"},
            ],
        )
    engine.dispose()
    return url


def test_a_connected_sql_system_is_counted_and_an_unconnected_one_is_unknown(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOP_DATABASE_URL", raising=False)
    made = world.recorded(systems=["shop"], categories=["user.contact.address"])
    assert made["affected_count"] == 0
    before = world.client.get(f"/v1/breaches/{made['id']}/affected", headers=world.as_("admin"))
    assert before.json()["systems"][0]["status"] == "unknown: not connected"

    monkeypatch.setenv("SHOP_DATABASE_URL", shop_database(tmp_path / "shop.db"))
    recount = world.client.post(
        f"/v1/breaches/{made['id']}/affected", headers=world.as_("privacy_officer")
    )
    assert recount.status_code == 200, recount.text
    (shop,) = recount.json()["systems"]
    # orders hold addresses: 4 rows of 2 customers
    assert shop["status"] == "counted" and shop["tables"] == {"orders": 4}
    assert shop["people"] == 2 and shop["records"] == 4
    assert recount.json()["complete"] is True
    again = world.client.get(f"/v1/breaches/{made['id']}", headers=world.as_("admin")).json()
    assert again["affected_count"] == 2 and again["history"][-1]["kind"] == "recounted"

    wider = world.recorded(systems=["shop", "charter"], categories=["user.contact"])
    counted = world.client.get(
        f"/v1/breaches/{wider['id']}/affected", headers=world.as_("admin")
    ).json()
    shop, own = counted["systems"][1], counted["systems"][0]
    assert own["system"] == "charter" and own["people"] == 3
    assert shop["tables"] == {"customers": 3, "orders": 4} and shop["people"] == 3
    assert counted["people"] == 6 and counted["records"] == 4 + 7


# -- drafts ---------------------------------------------------------------------------------------


def test_the_authority_notice_draft_holds_the_items_of_article_33_3(world: World) -> None:
    made = world.recorded(categories=["user.contact.address", "user.name"])
    draft = world.client.get(
        f"/v1/breaches/{made['id']}/authority-notice", headers=world.as_("auditor")
    )
    assert draft.status_code == 200 and draft.headers["content-type"].startswith("text/plain")
    text = draft.text
    assert "Phase 1: first notice" in text and made["id"] in text
    # (a) nature, categories of data and people, approximate numbers of people and records
    assert "A backup of the order database was readable" in text
    assert "Postal address (user.contact.address)" in text and "Name (user.name)" in text
    assert "Categories of people concerned: customer" in text
    assert "Approximate number of people concerned: 2 (at least; see below)" in text
    assert "Approximate number of personal data records concerned: 3" in text
    assert "Web shop database: unknown: not connected" in text
    # (b) the DPO's name and contact
    assert "Data protection officer (Art. 33(3)(b))" in text
    assert "Dana Diaz" in text and DPO in text and "+353 1 555 0100" in text
    # (c) consequences, (d) measures
    assert "Likely consequences (Art. 33(3)(c))" in text and "Unwanted mail" in text
    assert "(Art. 33(3)(d))" in text and "Access closed, link revoked" in text
    assert "Notice due (72 hours after awareness, Art. 33(1)): 2026-03-05 07:00 UTC" in text
    assert ANN not in text and "Adler" not in text  # counts, never the people


def test_the_people_notice_is_plain_language_per_brand(world: World) -> None:
    made = world.recorded(
        risk="high_risk",
        advice="Be wary of letters asking for payment; we never ask by post.",
        summary="Someone could see the postal addresses of our customers.",
    )
    acme = world.client.get(
        f"/v1/breaches/{made['id']}/people-notice?brand=acme", headers=world.as_("auditor")
    ).text
    zeta = world.client.get(
        f"/v1/breaches/{made['id']}/people-notice?brand=zeta", headers=world.as_("auditor")
    ).text
    assert acme.startswith("Subject: Important: a security incident involving your data at Acme")
    assert "Zeta Sound" in zeta and "Acme Audio" not in zeta
    for item in (
        "Someone could see the postal addresses",  # the nature, in plain words
        "What this may mean for you\nUnwanted mail",  # Art. 33(3)(c)
        "What we have done\nAccess closed",  # (d)
        "What you can do\nBe wary of letters",
        f"Dana Diaz, e-mail {DPO}, telephone +353 1 555 0100",  # (b)
        "not marketing",
    ):
        assert item in acme, item
    wrong = world.client.get(
        f"/v1/breaches/{made['id']}/people-notice?brand=nope", headers=world.as_("auditor")
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unknown_brand"


# -- notices ---------------------------------------------------------------------------------------


def test_a_late_first_notice_needs_reasons_and_follow_ups_are_numbered_phases(
    world: World,
) -> None:
    made = world.recorded()
    url = f"/v1/breaches/{made['id']}/authority-notice"
    world.clock.advance(75)  # 77 hours after awareness
    audit_before, events_before = world.count(audit_events), world.count(breach_events)
    refused = world.client.post(url, json={}, headers=world.as_("privacy_officer"))
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "delay_reasons_required"
    assert "delay_reasons" in refused.json()["error"]["message"]
    assert (world.count(audit_events), world.count(breach_events)) == (audit_before, events_before)
    still = world.client.get(f"/v1/breaches/{made['id']}", headers=world.as_("admin")).json()
    assert still["authority_notified_at"] is None and still["status"] == "awaiting_authority_notice"

    first = world.client.post(
        url,
        json={
            "delay_reasons": "The scope was only known once the host answered on day 3.",
            "reference": "DPC-2026-0042",
        },
        headers=world.as_("privacy_officer"),
    )
    assert first.status_code == 201, first.text
    assert first.json()["phase"] == 1 and first.json()["late"] is True
    assert "Reasons for the delay (Art. 33(1)):" in first.json()["text"]

    skipped = world.client.post(url, json={"phase": 3}, headers=world.as_("privacy_officer"))
    assert skipped.status_code == 422 and "the next phase is 2" in skipped.text
    draft = world.client.get(url, headers=world.as_("auditor")).text
    assert "Phase 2: follow-up (GDPR Art. 33(4))" in draft and "Phase 1 submitted" in draft

    world.clock.advance(24)
    second = world.client.post(
        url,
        json={"additional": "Forensics: 120 more records in the second backup."},
        headers=world.as_("privacy_officer"),
    )
    assert second.status_code == 201 and second.json()["phase"] == 2
    assert second.json()["late"] is False  # follow-ups do not run on the clock
    assert "Further information in phase 2" in second.json()["text"]
    stored = world.client.get(f"{url}?phase=1", headers=world.as_("auditor")).text
    assert stored == first.json()["text"]  # the text as submitted, kept
    view = world.client.get(f"/v1/breaches/{made['id']}", headers=world.as_("admin")).json()
    assert view["phases"] == 2 and view["status"] == "recorded" and view["hours_left"] is None
    assert view["delay_reasons"].startswith("The scope")
    assert [e["phase"] for e in view["history"] if e["kind"] == "authority_notice"] == [1, 2]
    assert "authority reference DPC-2026-0042" in view["history"][1]["note"]


def test_an_in_time_notice_needs_no_reasons(world: World) -> None:
    made = world.recorded()
    done = world.client.post(
        f"/v1/breaches/{made['id']}/authority-notice",
        json={"submitted_at": (START - dt.timedelta(hours=1)).isoformat()},
        headers=world.as_("admin"),
    )
    assert done.status_code == 201 and done.json()["late"] is False


def test_telling_the_people_reaches_those_concerned_only_unsubscribed_or_not(
    world: World,
) -> None:
    # Dan unsubscribed: a newsletter would not reach him.
    assert not world.charter.check_message(
        "zeta", "email", "marketing", identities={"email": DAN}
    ).allowed
    made = world.recorded(systems=["charter"], categories=["user.name"], risk="high_risk")
    url = f"/v1/breaches/{made['id']}/notify-people"
    without = world.client.post(url, json={}, headers=world.as_("privacy_officer"))
    assert without.status_code == 422 and "advice" in without.json()["error"]["message"]
    assert world.mails() == []

    told = world.client.post(
        url,
        json={"advice": "Watch for messages using your name that ask for money."},
        headers=world.as_("privacy_officer"),
    )
    assert told.status_code == 200, told.text
    assert told.json() == {"messages": 2, "total": 2, "brands": {"acme": 1, "zeta": 1}}
    mails = {m["To"]: m for m in world.mails()}
    assert set(mails) == {ANN, DAN}  # not Ben (no name given) nor Cleo (no name, no e-mail)
    assert "Acme Audio" in mails[ANN]["Subject"] and "Zeta Sound" in mails[DAN]["Subject"]
    assert "Watch for messages using your name" in body_of(mails[DAN])
    assert "List-Unsubscribe" not in mails[DAN]

    again = world.client.post(url, json={"advice": "x"}, headers=world.as_("privacy_officer"))
    assert again.status_code == 422 and again.json()["error"]["code"] == "already_notified"
    view = world.client.get(f"/v1/breaches/{made['id']}", headers=world.as_("admin")).json()
    assert view["people_told"] == 2 and view["people_notified_at"]
    assert view["status"] == "awaiting_authority_notice"  # the authority still is to be told
    kinds = [e["kind"] for e in view["history"]]
    assert kinds[-3:] == ["people_notice_started", "people_notice_batch", "people_notified"]
    with world.charter.store.read() as connection:
        actions = connection.execute(
            select(audit_events.c.action, audit_events.c.details).where(
                audit_events.c.target == made["id"]
            )
        ).all()
    assert [a.action for a in actions][-2:] == [
        "breach.people_notice_batch",
        "breach.people_notified",
    ]
    assert "example.org" not in str([a.details for a in actions])


def test_telling_the_people_resumes_after_a_crash_without_telling_anyone_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("charter.services.breaches.BATCH", 1)  # Ann's batch, then Dan's
    made = world.recorded(
        systems=["charter"], categories=["user.name"], risk="high_risk", advice="Be careful."
    )
    outbox = world.charter.breaches.outbox
    enqueue = outbox.enqueue
    calls: list[int] = []

    def crash_on_the_second(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the process died")
        enqueue(*args)

    monkeypatch.setattr(outbox, "enqueue", crash_on_the_second)
    with pytest.raises(RuntimeError):
        world.charter.breaches.notify_people(made["id"], "staff:test")
    view = world.charter.breaches.view(made["id"])
    assert view.status == "notifying_people" and view.people_told == 1
    first = [m["To"] for m in world.mails()]
    assert len(first) == 1  # the first batch was committed and sent

    monkeypatch.setattr(outbox, "enqueue", enqueue)
    done = world.charter.breaches.notify_people(made["id"], "staff:test")
    assert (done.messages, done.total) == (1, 2)
    recipients = [m["To"] for m in world.mails()]
    assert sorted(recipients) == sorted([ANN, DAN]) and recipients[0] == first[0]
    assert world.charter.breaches.view(made["id"]).status == "awaiting_authority_notice"


def test_an_exemption_replaces_telling_each_person(world: World) -> None:
    made = world.recorded(risk="high_risk")
    url = f"/v1/breaches/{made['id']}/people-exemption"
    lacking = world.client.post(
        url,
        json={"ground": "disproportionate_effort", "reasons": "No contact details kept."},
        headers=world.as_("privacy_officer"),
    )
    assert lacking.status_code == 422 and "public_communication" in lacking.text
    exempt = world.client.post(
        url,
        json={"ground": "encrypted", "reasons": "The backup was AES-256 encrypted; key safe."},
        headers=world.as_("privacy_officer"),
    )
    assert exempt.status_code == 200, exempt.text
    assert exempt.json()["exemption"]["ground"] == "encrypted"
    refused = world.client.post(
        f"/v1/breaches/{made['id']}/notify-people",
        json={"advice": "x"},
        headers=world.as_("privacy_officer"),
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "exempted"
    low = world.recorded(risk="risk")
    pointless = world.client.post(
        f"/v1/breaches/{low['id']}/people-exemption",
        json={"ground": "encrypted", "reasons": "x"},
        headers=world.as_("privacy_officer"),
    )
    assert pointless.status_code == 422 and "only a high-risk" in pointless.text


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"aware_at": (START + dt.timedelta(minutes=5)).isoformat()}, "aware_at"),
        ({"aware_at": "2026-03-01T09:00:00"}, "aware_at"),  # no time zone
        (
            {
                "occurred_at": START.isoformat(),
                "aware_at": (START - dt.timedelta(hours=1)).isoformat(),
            },
            "occurred_at",
        ),
        ({"systems": ["crm"]}, "systems"),
        ({"systems": []}, "systems"),
        ({"categories": ["user.biometric"]}, "categories"),
        ({"categories": ["user.contact.email.work"]}, "categories"),
        ({"risk": "none", "risk_reasons": ""}, "risk_reasons"),
        ({"risk": "severe"}, "risk"),
        ({"measures": "   "}, "measures"),
        ({"description": "bad\u0000byte"}, "description"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    world: World, fields: dict[str, Any], named: str
) -> None:
    audit_before = world.count(audit_events)
    answer = world.record(**fields)
    assert answer.status_code == 422, answer.text
    assert named in answer.json()["error"]["message"]
    assert world.count(breaches) == 0 and world.count(audit_events) == audit_before


def test_a_breach_not_notified_is_recorded_with_its_reasons(world: World) -> None:
    made = world.recorded(risk="none", risk_reasons="The laptop's disk was encrypted.")
    assert made["status"] == "recorded" and made["open"] is False
    assert made["authority_required"] is False and made["hours_left"] is None
    assert made["risk_reasons"] == "The laptop's disk was encrypted."


def test_unknown_breaches_are_404(world: World) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for path in ("", "/affected", "/authority-notice", "/people-notice"):
        answer = world.client.get(f"/v1/breaches/{missing}{path}", headers=world.as_("admin"))
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_breach"
    posted = world.client.post(
        f"/v1/breaches/{missing}/notify-people", json={"advice": "x"}, headers=world.as_("admin")
    )
    assert posted.status_code == 404


def test_roles(world: World) -> None:
    made = world.recorded(role="admin")
    url = f"/v1/breaches/{made['id']}"
    for role in ("auditor", "privacy_officer", "admin"):
        assert world.client.get(url, headers=world.as_(role)).status_code == 200
    for role in ("support", "service"):
        assert world.client.get(url, headers=world.as_(role)).status_code == 403
    assert world.client.get(url).status_code == 401
    for role in ("auditor", "support", "service"):
        answer = world.record(role=role)
        assert answer.status_code == 403, role
        notice = world.client.post(f"{url}/authority-notice", json={}, headers=world.as_(role))
        assert notice.status_code == 403
    assert world.count(breaches) == 1


# -- reminders -------------------------------------------------------------------------------------


def test_reminders_go_to_the_privacy_team_at_48_24_and_6_hours_left_once_each(
    world: World,
) -> None:
    made = world.recorded(title="Open one", aware_at=START.isoformat())
    world.recorded(title="Not notifiable", risk="none", risk_reasons="Encrypted.")
    notified = world.recorded(title="Done", aware_at=START.isoformat())
    world.client.post(
        f"/v1/breaches/{notified['id']}/authority-notice", json={}, headers=world.as_("admin")
    )
    service = world.charter.breaches
    sent: list[tuple[float, int]] = []
    for hours in (23.5, 24, 25, 47.9, 48, 60, 66, 71.9, 72.5, 100):
        world.clock.now = START + dt.timedelta(hours=hours)
        sent.append((hours, service.remind()))
    assert [hours for hours, count in sent if count] == [24, 48, 66]
    assert sum(count for _, count in sent) == 3
    mails = [m for m in world.mails() if "authority notice is due" in m["Subject"]]
    assert [m["To"] for m in mails] == [DPO] * 3
    assert [m["Subject"].split(" due in ")[1] for m in mails] == ["48 hours", "24 hours", "6 hours"]
    assert all(made["id"] in m["Subject"] for m in mails)
    view = world.client.get(f"/v1/breaches/{made['id']}", headers=world.as_("admin")).json()
    assert view["reminders_sent"] == [48, 24, 6]
    assert [e["note"] for e in view["history"] if e["kind"] == "reminder"] == [
        "48 hours left",
        "24 hours left",
        "6 hours left",
    ]


def test_the_worker_sends_breach_reminders(world: World) -> None:
    world.recorded(aware_at=START.isoformat())
    world.clock.now = START + dt.timedelta(hours=60)  # after downtime: 24 and 48 both due
    Worker(world.charter).run_once()
    Worker(world.charter).run_once()
    mails = [m for m in world.mails() if "authority notice is due" in m["Subject"]]
    assert [m["Subject"].split(" due in ")[1] for m in mails] == ["12 hours"]


# -- the console ----------------------------------------------------------------------------------


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def browser(world: World, who: str, role: str) -> TestClient:
    world.charter.staff.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    world.charter.staff.create_user(who, who.split("@")[0], role, PASSWORD)
    client = TestClient(world.client.app, follow_redirects=False)
    page = client.get("/admin/login")
    answer = client.post(
        "/admin/login", data={"email": who, "password": PASSWORD, "csrf_token": csrf(page.text)}
    )
    assert answer.status_code == 303
    return client


def test_the_console_records_a_breach_and_its_notices(world: World) -> None:
    officer = browser(world, "officer@example.org", "privacy_officer")
    form = officer.get("/admin/breaches/new")
    assert form.status_code == 200 and 'name="aware_at"' in form.text
    assert 'value="user.contact"' in form.text  # a group key to tick
    fields = {
        "csrf_token": csrf(form.text),
        "title": "Support inbox forwarded",
        "description": "A rule forwarded support mail to an outside address.",
        "aware_at": (START - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "systems": ["charter"],
        "categories": ["user.name"],
        "risk": "high_risk",
        "risk_reasons": "Names and messages read by a stranger.",
        "consequences": "Embarrassment; phishing.",
        "measures": "Rule removed.",
        "advice": "Ignore mail that quotes your support ticket.",
    }
    missing = officer.post("/admin/breaches", data={**fields, "aware_at": ""})
    assert missing.status_code == 422 and "Aware_at: required" in missing.text
    assert 'value="Support inbox forwarded"' in missing.text  # the form keeps what was typed
    assert world.count(breaches) == 0

    made = officer.post("/admin/breaches", data=fields)
    assert made.status_code == 303
    page = officer.get(made.headers["location"])
    assert page.status_code == 200 and "Breach recorded" in page.text
    assert "71 h left" in page.text and '<pre class="draft">' in page.text
    assert "NOTIFICATION OF A PERSONAL DATA BREACH" in page.text and "Dana Diaz" in page.text
    assert "style=" not in page.text
    base = made.headers["location"].split("?")[0]

    notified = officer.post(f"{base}/authority-notice", data={"csrf_token": csrf(page.text)})
    assert notified.status_code == 303
    told = officer.post(f"{base}/notify-people", data={"csrf_token": csrf(page.text)})
    assert told.status_code == 422 and "Tick the box" in told.text
    told = officer.post(
        f"{base}/notify-people", data={"csrf_token": csrf(page.text), "sure": "yes"}
    )
    assert told.status_code == 303
    assert {m["To"] for m in world.mails()} == {ANN, DAN}

    listing = officer.get("/admin/breaches")
    assert "Support inbox forwarded" in listing.text and "recorded" in listing.text


def test_an_auditor_sees_the_console_register_and_changes_nothing(world: World) -> None:
    made = world.recorded()
    auditor = browser(world, "auditor@example.org", "auditor")
    listing = auditor.get("/admin/breaches")
    assert listing.status_code == 200 and "Shop backup exposed" in listing.text
    assert "70 h" in listing.text and "/admin/breaches/new" not in listing.text
    page = auditor.get(f"/admin/breaches/{made['id']}")
    assert page.status_code == 200 and "Record phase 1" not in page.text
    assert auditor.get("/admin/breaches/new").status_code == 403
    refused = auditor.post(
        f"/admin/breaches/{made['id']}/authority-notice", data={"csrf_token": csrf(page.text)}
    )
    assert refused.status_code == 403
    support = browser(world, "agent@example.org", "support")
    assert support.get("/admin/breaches").status_code == 403
