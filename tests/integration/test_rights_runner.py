"""Carrying out verified requests with the example group's manifest: Charter's own store and a
real shop database (SQLite file; Charter's store on SQLite and PostgreSQL), persisted steps,
legal holds, manual steps for systems with no connector, and the messages to the person."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fixtures.shop import Shop, create_shop, email_of, shop_metadata
from sqlalchemy import Engine, create_engine, event, func, select, update

from charter.bootstrap import initialise
from charter.config import Settings
from charter.domain.errors import InvalidValue
from charter.facade import Charter
from charter.services.outbox import DirectoryTransport
from charter.services.requests import NewRequest
from charter.services.rights import LEASE, env_engine
from charter.storage.engine import utc
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import outbox, request_events, request_steps, rights_requests

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
PERSON = 3


class KeepingTransport(DirectoryTransport):
    """The outbox folder, and a copy of every message sent: once an erasure is done, the
    person's files are forgotten (``Outbox.forget``), but the test still reads what they got."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.sent: list[email.message.Message] = []

    def send(self, message: EmailMessage) -> None:
        super().send(message)
        self.sent.append(email.message_from_bytes(bytes(message)))


class World:
    def __init__(self, charter: Charter, shop: Shop, engine: Engine, outbox: Path) -> None:
        self.charter = charter
        self.shop = shop
        self.engine = engine
        self.outbox = outbox
        self.transport = KeepingTransport(outbox)
        charter.outbox.transport = self.transport

    def file_and_verify(self, kind: str, **details: Any) -> str:
        received = self.charter.requests.submit(
            NewRequest(kind, "akkord_pro", {"email": email_of(PERSON)}, details=details)
        )
        body = self.last_mail_to(email_of(PERSON))
        code = re.search(r"^\s+(\d{6})$", body, re.M)
        assert code is not None
        self.charter.requests.verify(received.id, code.group(1))
        return received.id

    def last_mail_to(self, to: str) -> str:
        self.charter.outbox.deliver()  # as the worker does after each round of requests
        for mail in reversed(self.transport.sent):
            if mail["To"] == to:
                return str(mail.get_payload(decode=True).decode())  # type: ignore[union-attr]
        raise AssertionError(f"no mail to {to}")

    def shop_rows(self, table: str) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(shop_metadata().tables[table])).mappings())


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    manifest = tmp_path / "charter.yaml"
    shutil.copy(EXAMPLE, manifest)
    settings = Settings(
        database_url=database_url,
        manifest=manifest,
        key_file=tmp_path / "charter.key",
        outbox_dir=tmp_path / "outbox",
    )
    initialise(settings)
    shop_url = f"sqlite:///{tmp_path / 'shop.db'}"
    shop = create_shop(shop_url, customers=6)
    engine = create_engine(shop_url)
    with Charter.open(settings) as charter:
        # the shop, as SHOP_DATABASE_URL says
        charter.rights.systems._engine_for = lambda variable: (
            engine if variable == "SHOP_DATABASE_URL" else pytest.fail(variable)
        )
        charter.submit(
            "purchase",
            brand="akkord_pro",
            identities={"email": email_of(PERSON)},
            data={
                "name": "Dev Dahl",
                "phone": "+1 202 555 0133",
                "shipping_address": "1 Example Street, Hamburg",
                "country": "DE",
                "payment_token": "tok_example_3",
                "order_items": "GTR-100",
                "ip_address": "203.0.113.9",
            },
            consents=[{"purpose": "marketing_communications", "notice": "Email me offers."}],
        )
        yield World(charter, shop, engine, settings.outbox_dir)
    engine.dispose()


def all_steps(charter: Charter, request_id: str) -> list[tuple[str, str | None, str, str]]:
    with charter.store.read() as connection:
        return [
            (s.system, s.target, s.action, s.status)
            for s in connection.execute(
                select(request_steps)
                .where(request_steps.c.request_id == request_id)
                .order_by(request_steps.c.seq)
            )
        ]


def steps_of(charter: Charter, request_id: str) -> list[tuple[str, str | None, str, str]]:
    """The steps in the systems (the recipients' notices are checked on their own)."""
    return [s for s in all_steps(charter, request_id) if s[0] != "recipients"]


def notices(charter: Charter, request_id: str) -> dict[str, tuple[str, str]]:
    return {
        str(target): (action, status)
        for system, target, action, status in all_steps(charter, request_id)
        if system == "recipients"
    }


def test_erasure_waits_for_approval_then_reaches_every_system(world: World) -> None:
    charter = world.charter
    request_id = world.file_and_verify("erasure")
    assert charter.requests.view(request_id).status == "awaiting_approval"
    assert charter.rights.run_pending() == []  # nothing happens before approval
    charter.requests.approve(request_id, "staff:test")
    assert charter.rights.run(request_id) == "in_progress"
    # the event lake, the forum's webhook and the warehouse's manual process have no connector
    # here: each waits for staff in turn, after the shop is done and before Charter's own erasure
    assert steps_of(charter, request_id) == [
        ("shop", None, "erase", "done"),
        ("events", None, "manual", "awaiting_staff"),
        ("forum", None, "manual", "pending"),
        ("warehouse", None, "manual", "pending"),
        ("charter", None, "erase", "pending"),
    ]
    assert charter.rights.confirm_manual_step(request_id, 1, "staff:test", "lake rows deleted") == (
        "in_progress"
    )
    assert charter.rights.confirm_manual_step(request_id, 2, "staff:test", "posts de-identified")
    assert charter.rights.confirm_manual_step(
        request_id, 3, "staff:test", "paper files shredded"
    ) == ("completed")
    # the shop: the person's rows are gone, held orders kept with only what the law needs
    customers = [r for r in world.shop_rows("customers") if r["email"] == email_of(PERSON)]
    assert customers == []
    mine = world.shop.rows_of(PERSON)
    orders = [r for r in world.shop_rows("orders") if r["id"] in mine["orders"]]
    assert orders and all(r["email"] in (None, "[erased]") for r in orders)
    assert all(r["shipping_name"] not in (None, "[erased]") for r in orders)  # held: user.name
    assert not [r for r in world.shop_rows("messages") if r["ticket_id"] in mine["support_tickets"]]
    # Charter: purchase values under the order_records hold are kept, the rest erased
    view = charter.requests.view(request_id)
    assert view.status == "completed"
    own = next(s for s in view.outcome["steps"] if s["system"] == "charter")  # type: ignore[index]
    kept = {k["category"] for k in own["kept"]}
    assert kept == {
        "user.name",
        "user.contact.address",
        "user.contact.address.country",
        "user.behavior.purchase_history",
    }
    assert own["values_erased"] == 3  # phone, payment token, IP address
    decision = charter.decide(
        "order_fulfilment", brand="akkord_pro", identities={"email": email_of(PERSON)}
    )
    assert decision.reason == "unknown_subject"  # identities erased: nobody to find by email
    mail = world.last_mail_to(email_of(PERSON))
    assert "complete" in mail and "order_records" in mail
    # every processor, affiliate and third party holding such data was told (Art. 17(2), 19);
    # the social plugins' provider holds only cookie ids and browsing data, which the shop
    # and Charter do not hold about this person; the forum's archive copies only what is
    # published at the forum, where this person never posted (a poster's erasure tells it:
    # tests/e2e/test_forums_api.py); the public and authorities are not told
    told = notices(charter, request_id)
    expected = {
        key
        for key, recipient in charter.manifest.recipients.items()
        if recipient.kind.value in ("processor", "affiliate", "third_party")
    } - {"social_network", "forum_archive"}
    assert set(told) == expected
    assert set(told.values()) == {("notify", "done")}
    hosting = world.last_mail_to("privacy@cloudnest.example")
    assert request_id in hosting and email_of(PERSON) in hosting and "erase" in hosting
    # sent, then forgotten: no file of the outbox folder names the erased person any more
    assert all(email_of(PERSON) not in p.read_text() for p in world.outbox.glob("*.eml"))
    with charter.store.read() as connection:
        row = connection.execute(
            select(rights_requests).where(rights_requests.c.id == request_id)
        ).one()
    assert row.key_wrapped is None and row.contact_sealed is None  # only hashes remain
    assert all(h.split(":")[0] == "email" for h in row.identity_hashes)


def test_restriction_objection_and_withdrawal_set_what_decisions_read(world: World) -> None:
    charter = world.charter
    who = {"email": email_of(PERSON)}
    assert charter.decide("marketing_communications", brand="akkord_pro", identities=who).allowed
    withdraw = world.file_and_verify("withdraw_consent", purpose="marketing_communications")
    assert charter.rights.run(withdraw) == "completed"
    assert (
        charter.decide("marketing_communications", brand="akkord_pro", identities=who).reason
        == "consent_withdrawn"
    )
    objection = world.file_and_verify("objection", purpose="customer_updates")
    assert charter.rights.run(objection) == "completed"
    assert (
        charter.decide("customer_updates", brand="akkord_pro", identities=who).reason == "objected"
    )
    restriction = world.file_and_verify("restriction")
    assert charter.rights.run(restriction) == "completed"
    assert (
        charter.decide("order_fulfilment", brand="akkord_pro", identities=who).reason
        == "restricted"
    )
    assert charter.decide("legal_compliance", brand="akkord_pro", identities=who).allowed
    assert steps_of(charter, restriction) == [("charter", None, "restrict", "done")]


def test_rectification_corrects_the_shop_and_charter(world: World) -> None:
    charter = world.charter
    request_id = world.file_and_verify(
        "rectification",
        changes={
            "shop.customers": {"last_name": "Dahl-Berg"},
            "charter": {"name": "Dev Dahl-Berg"},
        },
    )
    assert charter.rights.run(request_id) == "completed"
    assert steps_of(charter, request_id) == [
        ("shop", None, "rectify", "done"),
        ("charter", None, "rectify", "done"),
    ]
    [customer] = [r for r in world.shop_rows("customers") if r["email"] == email_of(PERSON)]
    assert customer["last_name"] == "Dahl-Berg"
    with charter.store.read() as connection:
        repo = SubjectRepository(connection, charter.store.vault)
        subject = charter.requests.view(request_id)
        values = {
            v["field"]: v["value"]
            for v in repo.values_of(
                connection.execute(
                    select(rights_requests.c.subject_id).where(rights_requests.c.id == subject.id)
                ).scalar_one()
            )
        }
    assert values["name"] == "Dev Dahl-Berg"


def test_access_collects_every_table_and_builds_the_package(world: World) -> None:
    charter = world.charter
    request_id = world.file_and_verify("access")
    assert charter.rights.run(request_id) == "in_progress"  # the manual systems wait
    steps = steps_of(charter, request_id)
    assert steps[0] == ("charter", None, "collect", "done")
    collected = [s for s in steps if s[0] == "shop"]
    assert [s[1] for s in collected] == charter.rights.systems.sql("shop").tables()
    assert all(s[2:] == ("collect", "done") for s in collected)
    for seq, step in enumerate(steps):
        if step[2] == "manual":
            charter.rights.confirm_manual_step(request_id, seq, "staff:test", "nothing held there")
    assert charter.requests.view(request_id).status == "completed"
    archive = zipfile.ZipFile(io.BytesIO(charter.requests.package(request_id)))
    names = set(archive.namelist())
    assert {"data.json", "report.html"} <= names
    assert {f"shop/{table}.csv" for table in ("customers", "orders", "messages")} <= names
    data = json.loads(archive.read("data.json"))
    text = json.dumps(data)
    assert email_of(PERSON) in text and "Dev Dahl" in text and "tok_example_3" in text
    assert email_of(PERSON + 1) not in text  # nobody else's rows
    mine = world.shop.rows_of(PERSON)
    orders = archive.read("shop/orders.csv").decode()
    assert len(orders.strip().splitlines()) == 1 + len(mine["orders"])
    assert "/privacy/requests/" in world.last_mail_to(email_of(PERSON))
    # the key stays until the link expires; then the package and the key go
    charter.rights.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    assert charter.rights.expire_packages() == 1
    with charter.store.read() as connection:
        row = connection.execute(
            select(rights_requests).where(rights_requests.c.id == request_id)
        ).one()
    assert row.key_wrapped is None


def test_portability_pushes_the_data_where_the_person_says(
    world: World, https_endpoint: dict[str, Any]
) -> None:
    charter = world.charter
    with pytest.raises(Exception, match="push_to"):
        world.file_and_verify("access", push_to=https_endpoint["url"])  # only for portability
    request_id = world.file_and_verify("portability", push_to=https_endpoint["url"])
    charter.rights.run(request_id)
    while waiting := [
        seq
        for seq, step in enumerate(all_steps(charter, request_id))
        if step[2:] == ("manual", "awaiting_staff")
    ]:
        with contextlib.suppress(InvalidValue):  # the push, at the end, is refused (below)
            charter.rights.confirm_manual_step(request_id, waiting[0], "staff:test", "none")
    # loopback is not the public internet: refused unless the operator allows private networks
    last = charter.requests.view(request_id).steps[-1]
    assert (last.action, last.status) == ("push", "pending")
    assert last.error is not None and "public internet" in last.error
    assert https_endpoint["bodies"] == []
    charter.rights.push_allow_private = True
    assert charter.rights.run(request_id) == "completed"
    [body] = https_endpoint["bodies"]
    pushed = json.loads(body)
    assert email_of(PERSON) in json.dumps(pushed) and "shop" in json.dumps(pushed)
    assert https_endpoint["headers"][0]["Charter-Request"] == request_id
    assert (
        json.loads(
            zipfile.ZipFile(io.BytesIO(charter.requests.package(request_id))).read("data.json")
        )
        == pushed
    )


def test_a_system_not_connected_here_waits_for_staff(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    charter = world.charter
    monkeypatch.delenv("SHOP_DATABASE_URL", raising=False)
    charter.rights.systems._engine_for = env_engine
    charter.rights.systems._engines.clear()
    request_id = world.file_and_verify("access")
    assert charter.rights.run(request_id) == "in_progress"
    assert steps_of(charter, request_id)[1] == ("shop", None, "manual", "awaiting_staff")
    note = charter.requests.view(request_id).history[-1].note
    assert note is not None and "SHOP_DATABASE_URL" in note and "is not set" in note


def erasure_up_to_the_notices(world: World) -> str:
    """An approved erasure run up to its last manual step (the warehouse), after which the
    recipients are told and Charter's own data erased."""
    charter = world.charter
    request_id = world.file_and_verify("erasure")
    charter.requests.approve(request_id, "staff:test")
    assert charter.rights.run(request_id) == "in_progress"
    charter.rights.confirm_manual_step(request_id, 1, "staff:test", "lake rows deleted")
    charter.rights.confirm_manual_step(request_id, 2, "staff:test", "posts de-identified")
    return request_id


def queued_notices(charter: Charter, request_id: str) -> int:
    with charter.store.read() as connection:
        return int(
            connection.scalar(
                select(func.count()).where(
                    outbox.c.request_id == request_id, outbox.c.kind == "recipient_notice"
                )
            )
        )


def test_the_notices_of_an_erasure_are_queued_together_or_not_at_all(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    charter = world.charter
    request_id = erasure_up_to_the_notices(world)
    notifier = charter.rights.notifier
    queue = notifier.queue
    told: list[str] = []

    def failing(connection: Any, recipient: str, *args: Any, **kwargs: Any) -> Any:
        told.append(recipient)
        if len(told) == 3:
            raise OSError("the outbox's disk is full")
        return queue(connection, recipient, *args, **kwargs)

    monkeypatch.setattr(notifier, "queue", failing)
    with pytest.raises(OSError, match="disk is full"):
        charter.rights.confirm_manual_step(request_id, 3, "staff:test", "paper files shredded")
    # the first two notices were queued in the same transaction as the third: none remains,
    # and no recipient's step is recorded done, so none is told twice on the next run
    assert queued_notices(charter, request_id) == 0
    assert set(notices(charter, request_id).values()) == {("notify", "pending")}
    with charter.store.read() as connection:
        failed = connection.execute(
            select(request_steps.c.target, request_steps.c.error, request_steps.c.attempts).where(
                request_steps.c.request_id == request_id, request_steps.c.error.is_not(None)
            )
        ).all()
    assert [(f.target, f.attempts) for f in failed] == [(told[2], 1)]
    assert "OSError: the outbox's disk is full" in str(failed[0].error)
    monkeypatch.setattr(notifier, "queue", queue)
    assert charter.rights.run(request_id) == "completed"
    recipients = notices(charter, request_id)
    assert len(recipients) >= 10 and set(recipients.values()) == {("notify", "done")}
    assert queued_notices(charter, request_id) == len(recipients)  # one each, no duplicate
    with charter.store.read() as connection:
        events = list(
            connection.scalars(
                select(request_events.c.note).where(
                    request_events.c.request_id == request_id,
                    request_events.c.kind == "step_done",
                    request_events.c.note.like("notify recipients.%"),
                )
            )
        )
        summaries = {
            s.target: s.summary
            for s in connection.execute(
                select(request_steps).where(
                    request_steps.c.request_id == request_id,
                    request_steps.c.system == "recipients",
                )
            )
        }
    assert sorted(events) == sorted(f"notify recipients.{key}" for key in recipients)
    assert summaries == {key: {"via": "email", "recipient": key} for key in recipients}


def test_a_request_opens_few_transactions_however_many_recipients_are_told(
    world: World,
) -> None:
    """Each transaction is a round trip or more to a PostgreSQL store: the notices of an
    erasure and Charter's own erasure take one each, and the run's claim, start and close one
    each."""
    charter = world.charter
    request_id = erasure_up_to_the_notices(world)
    began: list[object] = []
    listener = lambda connection: began.append(connection)  # noqa: E731
    event.listen(charter.store.engine, "begin", listener)
    try:
        result = charter.rights.confirm_manual_step(request_id, 3, "staff:test", "shredded")
    finally:
        event.remove(charter.store.engine, "begin", listener)
    assert result == "completed"
    assert len(notices(charter, request_id)) >= 10
    # the confirmation, the claim, the start, the notices, Charter's erasure, and the close
    # (which frees the lease)
    assert len(began) == 6


def test_a_long_run_keeps_its_lease_until_its_last_step(world: World) -> None:
    charter = world.charter
    runner = charter.rights
    request_id = world.file_and_verify("access")
    moment = [dt.datetime.now(dt.UTC)]
    runner.clock = lambda: moment[0]
    execute = runner.steps.execute
    seen: list[tuple[dt.datetime, dt.datetime]] = []

    def watched(state: Any, step: Any) -> Any:
        moment[0] += dt.timedelta(minutes=3)  # each step takes three minutes
        with charter.store.read() as connection:
            until = connection.scalar(
                select(rights_requests.c.lease_until).where(rights_requests.c.id == request_id)
            )
        seen.append((moment[0], utc(until)))
        return execute(state, step)

    runner.steps.execute = watched  # type: ignore[method-assign]
    assert runner.run(request_id) == "in_progress"  # the manual systems wait
    assert len(seen) >= 7  # Charter's own data and six shop tables, over more than a lease
    assert seen[-1][0] - seen[0][0] > LEASE
    assert all(until > now for now, until in seen)  # never free for another runner to take


def test_a_request_another_runner_holds_is_left_to_it_unless_that_runner_died(
    world: World,
) -> None:
    charter = world.charter
    request_id = world.file_and_verify("access")
    here = socket.gethostname()
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(finished.stdout)

    def held_by(owner: str, until: dt.timedelta) -> str:
        with charter.store.write() as connection:
            connection.execute(
                update(rights_requests)
                .where(rights_requests.c.id == request_id)
                .values(lease_owner=owner, lease_until=dt.datetime.now(dt.UTC) + until)
            )
        return charter.rights.run(request_id)

    # another host's runner, and a live process of this one (the test's own parent)
    for owner in ("elsewhere:4242", f"{here}:{os.getppid()}"):
        assert held_by(owner, dt.timedelta(minutes=5)) == "verified"
        assert all_steps(charter, request_id) == []
    # a lease run out is free; so is one whose owner on this host died
    assert held_by(f"{here}:{dead}", dt.timedelta(minutes=5)) == "in_progress"
    assert all_steps(charter, request_id)[0] == ("charter", None, "collect", "done")
    assert held_by("elsewhere:4242", -dt.timedelta(seconds=1)) == "in_progress"
    with charter.store.read() as connection:
        lease = connection.execute(
            select(rights_requests.c.lease_owner, rights_requests.c.lease_until).where(
                rights_requests.c.id == request_id
            )
        ).one()
    assert tuple(lease) == (None, None)  # freed when the run stopped
