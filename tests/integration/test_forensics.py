"""Provable erasure: after each kind of erasure, the forensic scan finds none of the person's
identifiers in Charter's bytes (the database file, its WAL and journal on SQLite, its tables on
PostgreSQL, the outbox folder, the log) nor, on SQLite, in the shop's file that the erasure
reached. Before the erasure it finds them, so that a clean scan means something."""

from __future__ import annotations

import datetime as dt
import email
import logging
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from fixtures.shop import create_shop, email_of, phone_of
from sqlalchemy import Engine, delete, func, select, text

from charter.bootstrap import initialise, open_scanner
from charter.cli.logs import FILE_FORMAT
from charter.config import Settings
from charter.domain.errors import InvalidValue
from charter.facade import Charter
from charter.jobs.worker import Worker
from charter.services.cookie_banner import CookieChoice
from charter.services.forensics import ForensicScanner, ScanReport
from charter.services.requests import NewRequest
from charter.storage.engine import make_engine
from charter.storage.tables import outbox, request_steps, rights_requests, subjects

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
PERSON = 3
EMAIL = email_of(PERSON)
PHONE = "+1 202 555 0133"
ACCOUNT = "akkord-account-000004"
SERIAL = "SN000000030"  # the shop's first serial of customer 3
COOKIE = "visitor-cookie-3-0000000"
BRAND = "akkord_pro"


@dataclass
class World:
    charter: Charter
    settings: Settings
    shop: Engine
    shop_file: Path

    def scan(self, *identities: str, shop: bool = True) -> ScanReport:
        """Charter's files (or tables), and the shop's file and WAL unless ``shop`` is false."""
        files = [self.shop_file, self.shop_file.with_name(self.shop_file.name + "-wal")]
        paths = [p for p in files if shop and p.exists()]
        with open_scanner(self.settings, paths) as scanner:
            return scanner.scan(identities or (EMAIL, PHONE, ACCOUNT, SERIAL, COOKIE))

    def file(self, kind: str, address: str = EMAIL) -> str:
        received = self.charter.requests.submit(NewRequest(kind, BRAND, {"email": address}))
        self.charter.outbox.deliver()
        for path in sorted(self.settings.outbox_dir.glob("*.eml"), reverse=True):
            mail = email.message_from_bytes(path.read_bytes())
            body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
            if received.id in body and (code := re.search(r"^\s+(\d{6})$", body, re.M)):
                self.charter.requests.verify(received.id, code.group(1))
                return received.id
        raise AssertionError("no verification code")

    def carry_out(self, request_id: str, *, worker: bool = True) -> None:
        """Approve, run, confirm each step done by hand, then one round of the worker (the
        outbox: the confirmation, the notices, then the forgetting)."""
        charter = self.charter
        if charter.requests.view(request_id).status == "awaiting_approval":
            charter.requests.approve(request_id, "staff:test")
        status = charter.rights.run(request_id)
        while status != "completed":
            steps = charter.requests.view(request_id).steps
            waiting = [s for s in steps if s.status == "awaiting_staff"]
            assert waiting, steps
            status = charter.rights.confirm_manual_step(
                request_id, waiting[0].seq, "staff:test", "done by hand"
            )
        if worker:
            Worker(charter).run_once()


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Charter's loggers write to a file, as ``charter serve`` makes them with
    ``CHARTER_LOG_FILE``."""
    path = tmp_path / "logs" / "charter.log"
    path.parent.mkdir()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    logger = logging.getLogger("charter")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()


@pytest.fixture
def world(tmp_path: Path, database_url: str, log_file: Path) -> Iterator[World]:
    manifest = tmp_path / "charter.yaml"
    shutil.copy(EXAMPLE, manifest)
    settings = Settings(
        database_url=database_url,
        manifest=manifest,
        key_file=tmp_path / "charter.key",
        outbox_dir=tmp_path / "outbox",
        log_file=log_file,
    )
    initialise(settings)
    shop_file = tmp_path / "shop.db"
    # As SHOP_DATABASE_URL would give it: make_engine, so secure_delete is on for the shop too.
    shop = make_engine(f"sqlite:///{shop_file}")
    create_shop(shop, customers=6)
    with Charter.open(settings) as charter:
        charter.rights.systems._engine_for = lambda variable: (
            shop if variable == "SHOP_DATABASE_URL" else pytest.fail(variable)
        )
        yield World(charter, settings, shop, shop_file)
    shop.dispose()


def known_person(world: World) -> None:
    """Customer 3 buys, asks support about a product, and accepts the cookie banner, then
    signs in (the cookie id linked to them)."""
    charter = world.charter
    charter.submit(
        "purchase",
        brand=BRAND,
        identities={"email": EMAIL, "account_id": ACCOUNT},
        data={
            "name": "Dev Dahl",
            "phone": PHONE,
            "shipping_address": "1 Example Street, Hamburg",
            "country": "DE",
            "payment_token": "tok_example_3",
            "order_items": "GTR-100",
            "ip_address": "203.0.113.9",
        },
    )
    charter.submit(
        "support",
        brand=BRAND,
        identities={"email": EMAIL, "phone": PHONE, "device_serial": SERIAL.lower()},
        data={"message": "My amplifier hums at night.", "name": "Dev Dahl"},
    )
    choose(charter, "accept_all", COOKIE)
    charter.cookie_banner.link(COOKIE, {"email": EMAIL})


def choose(charter: Charter, method: str, cookie_id: str) -> None:
    banner = charter.cookie_banner.config(BRAND, "en", gpc=False)
    charter.cookie_banner.record(
        CookieChoice(
            brand=BRAND,
            method=method,
            language="en",
            config_version=banner["config_version"],
            text_version=banner["text_version"],
            cookie_id=cookie_id,
        )
    )


def places(report: ScanReport) -> set[str]:
    return {Path(f.where).name if "/" in f.where else f.where for f in report.findings}


def sqlite(world: World) -> bool:
    return world.settings.database_url.startswith("sqlite")


def test_an_erasure_request_leaves_nothing_behind(world: World, log_file: Path) -> None:
    known_person(world)
    someone_else = world.file("access", email_of(1))
    request_id = world.file("erasure")
    before = world.scan()
    assert not before.clean
    found = places(before)
    # the database holds every identity sealed, found by keyed hash; the code went by mail
    assert {f.identity for f in before.findings} == {EMAIL, PHONE, ACCOUNT, SERIAL, COOKIE}
    assert any(name.endswith(".eml") for name in found)
    assert "identities.lookup_hash" in found  # on SQLite: the live row behind the file's bytes
    assert found & {"shop.db", "shop.db-wal"}
    if sqlite(world):
        assert found & {"charter.db", "charter.db-wal"}
    else:
        assert "cannot be read from here" in before.notes[0]
        assert "identities.lookup_hash" in before.tables

    world.carry_out(request_id)

    after = world.scan()
    assert after.clean, [str(f) for f in after.findings]
    assert [k.request_id for k in after.kept] == [request_id]  # keyed hashes, by design
    if sqlite(world):
        assert {Path(p).name for p in after.files} >= {"charter.db", "shop.db", "charter.log"}
    logged = log_file.read_text(encoding="utf-8")
    assert f"request {request_id}: forgot" in logged  # the log names the request, not the person
    # the developer's outbox still holds everyone else's mail
    others = world.scan(email_of(1), shop=False)
    assert {Path(f.where).suffix for f in others.findings} == {".eml"}
    assert [k.request_id for k in others.kept] == [someone_else]


class Refusing:
    """A mail server that is down."""

    def send(self, _message: EmailMessage) -> None:
        raise ConnectionRefusedError("down")


def test_the_mail_is_forgotten_once_the_erasures_last_message_has_gone(world: World) -> None:
    charter = world.charter
    known_person(world)
    request_id = world.file("erasure")
    folder = charter.outbox.transport
    charter.outbox.transport = Refusing()
    world.carry_out(request_id, worker=False)
    charter.outbox.deliver()  # the confirmation fails: the forgetting waits behind it
    assert any(name.endswith(".eml") for name in places(world.scan(EMAIL, shop=False)))
    charter.outbox.transport = folder
    charter.outbox.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert charter.outbox.deliver() > 0
    report = world.scan(shop=False)
    assert report.clean, [str(f) for f in report.findings]
    with charter.store.read() as connection:
        assert connection.scalar(select(func.count()).select_from(outbox)) == 0


def test_closed_requests_keep_only_keyed_hashes(world: World) -> None:
    charter = world.charter
    known_person(world)
    access = world.file("access")
    world.carry_out(access)
    assert charter.rights.expire_packages() == 0
    charter.rights.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    assert charter.rights.expire_packages() == 1  # the package and the request's key go
    charter.rights.clock = charter.clock
    erasure = world.file("erasure")
    world.carry_out(erasure)
    report = world.scan()
    assert report.clean, [str(f) for f in report.findings]
    assert sorted(k.request_id for k in report.kept if k.identity == EMAIL) == sorted(
        [access, erasure]
    )
    with charter.store.read() as connection:
        rows = connection.execute(select(rights_requests)).all()
        results = connection.scalars(select(request_steps.c.result_sealed)).all()
    assert all(r.key_wrapped is None and r.contact_sealed is None for r in rows)
    assert all(r.details_sealed is None and r.code_hash is None and r.identity_hashes for r in rows)
    assert results and all(result is None for result in results)


def test_a_cookie_only_visitor_is_erased_by_the_retention_sweep(world: World) -> None:
    """An erasure request needs an e-mail (the code goes there): a visitor known only by a
    cookie id is erased by withdrawing (the banner) and by the sweep, once the cookie id's
    retention (``web_analytics``, 13 months) has run out; or, once signed in, by a request."""
    charter = world.charter
    visitor = "visitor-only-cookie-0000001"
    choose(charter, "accept_all", visitor)
    choose(charter, "reject_all", visitor)  # withdrawn (Art. 7(3))
    assert "identities.lookup_hash" in places(world.scan(visitor))
    report = charter.retention.sweep(dt.datetime.now(dt.UTC) + dt.timedelta(days=14 * 31))
    assert report.removed >= 1
    after = world.scan(visitor)
    assert after.clean, [str(f) for f in after.findings]


def test_the_retention_sweep_leaves_nothing_of_expired_identities(world: World) -> None:
    known_person(world)
    assert not world.scan(EMAIL, PHONE, SERIAL).clean
    # past every period (3 years since the last activity; 10 years of the order records hold)
    report = world.charter.retention.sweep(dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * 11))
    assert report.removed > 0
    after = world.scan(EMAIL, PHONE, ACCOUNT, SERIAL, COOKIE)
    # the shop is no part of the sweep: its own retention is its own
    assert {Path(f.where).name for f in after.findings} <= {"shop.db", "shop.db-wal"}, [
        str(f) for f in after.findings
    ]


def test_the_wal_keeps_deleted_rows_until_a_checkpoint(world: World) -> None:
    if not sqlite(world):
        pytest.skip("PostgreSQL's files are the server's")
    charter = world.charter
    subject = charter.submit(
        "support", brand=BRAND, identities={"email": EMAIL}, data={"message": "Hello."}
    ).subject_id
    with charter.store.write() as connection:
        connection.execute(delete(subjects).where(subjects.c.id == subject))
    left = world.scan(EMAIL, shop=False)
    assert {Path(f.where).name for f in left.findings} == {"charter.db-wal"}
    assert all(f.form == "keyed hash (email)" for f in left.findings)
    assert any("no row does" in note for note in left.notes)
    assert charter.store.checkpoint()
    assert world.scan(EMAIL, shop=False).clean


def test_secure_delete_is_what_keeps_deleted_bytes_out_of_the_file(tmp_path: Path) -> None:
    for secure, expected in ((0, 1), (1, 0)):
        path = tmp_path / f"plain-{secure}.db"
        connection = sqlite3.connect(path)
        connection.execute(f"PRAGMA secure_delete={secure}")
        connection.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT)")
        connection.executemany(
            "INSERT INTO people (email) VALUES (?)",
            [(f"someone{i}@example.org",) for i in range(50)] + [(EMAIL,)],
        )
        connection.commit()
        connection.execute("DELETE FROM people WHERE email = ?", (EMAIL,))
        connection.commit()
        connection.close()
        with ForensicScanner(make_engine(f"sqlite:///{path}")) as scanner:
            report = scanner.scan([EMAIL])
        assert len(report.findings) == expected, secure
        if expected:
            assert report.findings[0].where == str(path)
            assert any("no row does" in note for note in report.notes)


def test_database_errors_carry_no_parameters_into_logs_or_step_records(tmp_path: Path) -> None:
    """A failing statement's text reaches the log and the failed step's ``error``: the
    identities it was called with must not."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    query = text("SELECT * FROM no_such_table WHERE email = :email")
    for engine, shown in (
        (create_engine(f"sqlite:///{tmp_path / 'a.db'}"), True),
        (make_engine(f"sqlite:///{tmp_path / 'b.db'}"), False),
    ):
        with pytest.raises(OperationalError) as failed, engine.connect() as connection:
            connection.execute(query, {"email": EMAIL})
        assert (EMAIL in str(failed.value)) is shown
        engine.dispose()


def test_identities_too_short_to_search_for_are_refused(world: World) -> None:
    with pytest.raises(InvalidValue, match="shorter than 6"):
        world.scan("4")
    with pytest.raises(InvalidValue, match="at least one"), open_scanner(world.settings) as scan:
        scan.scan([])


def test_the_outbox_is_searched_in_the_forms_mail_takes(tmp_path: Path) -> None:
    """Base64 and quoted-printable bodies, wrapped lines, RFC 2047 headers, URL-encoded links:
    what a mail client would show is found."""
    from email.message import EmailMessage

    outbox = tmp_path / "outbox"
    outbox.mkdir()
    person = "jürgen.müller-example@example.org"
    for i, (charset, cte) in enumerate((("utf-8", "base64"), ("utf-8", "quoted-printable"))):
        mail = EmailMessage()
        mail["To"] = "someone@example.org"
        mail["Subject"] = f"Für {person}"
        mail.set_content(
            "x" * (i * 37 + 11) + f" your address {person}, phone {phone_of(PERSON)}\n" * 3,
            charset=charset,
            cte=cte,
        )
        (outbox / f"{i}.eml").write_bytes(bytes(mail))
    (outbox / "link.txt").write_text(
        "https://example.org/unsubscribe?who=j%C3%BCrgen.m%C3%BCller-example%40example.org"
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'none.db'}")
    with ForensicScanner(engine, outbox_dir=outbox, chunk_size=64) as scanner:
        report = scanner.scan([person.upper(), "+1 555-000-0003"])
    found = {(Path(f.where).name, f.form.split(", ")[-1]) for f in report.findings}
    assert ("0.eml", "base64") in found
    assert ("1.eml", "quoted-printable") in found
    assert ("link.txt", "URL-encoded") in found
    assert {Path(f.where).name for f in report.findings if f.identity != person.upper()} == {
        "0.eml",
        "1.eml",
    }
    assert not (tmp_path / "none.db").exists()  # the scan never creates the database
