"""The SQL connector finds, erases and corrects exactly one person's rows in the example shop.

The shop comes from ``tests/fixtures/shop.py`` (ground truth of who owns which row), plus a few
rows of the person that only an identity other than the account finds: a guest order under the
email in other letter case, and a guest ticket under the phone number. Other people's rows are
compared before and after, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.shop import TABLES, Shop, create_shop, email_of, identities_of, phone_of
from sqlalchemy import Engine, MetaData, event, insert, select

from charter.connectors.sql import (
    MASK,
    SchemaMismatch,
    SqlConnector,
    SystemUnavailable,
    TableOutcome,
)
from charter.domain.errors import InvalidInput
from charter.manifest import load_manifest
from charter.manifest.models import ColumnSpec, ErasureAction, Manifest, System, Table
from charter.storage.engine import make_engine

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
PERSON = 2
CUSTOMERS = 6
GUEST_ORDER, GUEST_ITEM, GUEST_TICKET, GUEST_MESSAGE = 9001, 9002, 9003, 9004
DECOY_ORDER = 9005

Rows = dict[str, dict[int, dict[str, Any]]]


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)  # SQLite with foreign keys enforced, like PostgreSQL
    yield engine
    engine.dispose()


@pytest.fixture
def shop(engine: Engine) -> Shop:
    shop = create_shop(engine, CUSTOMERS, seed=7)
    tables = MetaData()
    tables.reflect(engine)
    at = "2025-03-01 10:00:00"
    with engine.begin() as connection:
        connection.execute(
            insert(tables.tables["orders"]),
            [
                _order(GUEST_ORDER, email_of(PERSON).upper().replace("EXAMPLE", "Example")),
                # Someone else whose email merely starts like the person's: never theirs.
                _order(DECOY_ORDER, email_of(PERSON).replace("@", "2@")),
            ],
        )
        connection.execute(
            insert(tables.tables["order_items"]),
            [
                {
                    "id": GUEST_ITEM,
                    "order_id": GUEST_ORDER,
                    "sku": "GTR-100",
                    "quantity": 1,
                    "price_cents": 4990,
                    "gift_message": "For the band",
                }
            ],
        )
        connection.execute(
            insert(tables.tables["support_tickets"]),
            [
                {
                    "id": GUEST_TICKET,
                    "customer_id": None,
                    "contact_email": None,
                    "contact_phone": phone_of(PERSON),
                    "contact_name": "Caller",
                    "diagnostics": "hum at 50 Hz",
                    "opened_at": _time(at),
                }
            ],
        )
        connection.execute(
            insert(tables.tables["messages"]),
            [{"id": GUEST_MESSAGE, "ticket_id": GUEST_TICKET, "body": "Hi", "sent_at": _time(at)}],
        )
    return shop


@pytest.fixture
def connector(manifest: Manifest, engine: Engine, shop: Shop) -> SqlConnector:
    return _connector(manifest, manifest.systems["shop"], engine)


def _connector(manifest: Manifest, system: System, engine: Engine) -> SqlConnector:
    holds = {hold.key: hold for hold in manifest.retention.legal_holds}
    return SqlConnector("shop", system, engine, holds)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _order(id_: int, email: str) -> dict[str, Any]:
    return {
        "id": id_,
        "customer_id": None,
        "email": email,
        "shipping_name": "Guest Buyer",
        "shipping_address": "1 Guest Lane, Oslo, NO",
        "phone": None,
        "payment_token": "tok_guest",
        "ip_address": "192.0.2.200",
        "total_cents": 4990,
        "ordered_at": _time("2025-03-01 10:00:00"),
    }


def everything(shop: Shop) -> dict[str, list[str]]:
    return {**identities_of(PERSON), "device_serial": shop.serials[PERSON]}


def expected(shop: Shop, kinds: set[str]) -> dict[str, set[int]]:
    """The person's row ids that identities of ``kinds`` reach, from the seeding ground truth."""
    seeded = shop.rows_of(PERSON)
    rows: dict[str, set[int]] = {table: set() for table in TABLES}
    if kinds & {"email", "phone", "account_id"}:  # each finds the customer row, then its tree
        rows = {table: set(ids) for table, ids in seeded.items()}
    elif "device_serial" in kinds:
        rows["product_registrations"] = set(seeded["product_registrations"])
    if "email" in kinds:
        rows["orders"].add(GUEST_ORDER)
        rows["order_items"].add(GUEST_ITEM)
    if "phone" in kinds:
        rows["support_tickets"].add(GUEST_TICKET)
        rows["messages"].add(GUEST_MESSAGE)
    return rows


def dump(engine: Engine) -> Rows:
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        return {
            name: {
                row["id"]: dict(row)
                for row in connection.execute(select(tables.tables[name])).mappings()
            }
            for name in TABLES
        }


def without(rows: Rows, ids: dict[str, set[int]]) -> Rows:
    return {t: {k: v for k, v in r.items() if k not in ids[t]} for t, r in rows.items()}


class Statements:
    """Counts the statements an engine sends (BEGIN and friends aside)."""

    def __init__(self, engine: Engine) -> None:
        self.sql: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, *args: Any) -> None:
        statement = str(args[2]).lstrip().split(None, 1)[0].upper()
        if statement in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
            self.sql.append(statement)


# ---- access (Art. 15) ---------------------------------------------------------------------------


def test_tables_come_parents_first(connector: SqlConnector) -> None:
    assert connector.tables() == [
        "customers",
        "orders",
        "order_items",
        "product_registrations",
        "support_tickets",
        "messages",
    ]


@pytest.mark.parametrize(
    "kinds",
    [
        {"email", "phone", "account_id", "device_serial"},
        {"email"},
        {"account_id"},
        {"phone"},
        {"device_serial"},
    ],
    ids=lambda kinds: "+".join(sorted(kinds)),
)
def test_collect_finds_exactly_the_persons_rows(
    connector: SqlConnector, shop: Shop, kinds: set[str]
) -> None:
    identities = {kind: values for kind, values in everything(shop).items() if kind in kinds}
    found = connector.collect(identities)
    assert list(found) == connector.tables()
    assert {table: {row["id"] for row in rows} for table, rows in found.items()} == expected(
        shop, kinds
    )


def test_collect_returns_json_safe_copies_of_whole_rows(connector: SqlConnector) -> None:
    found = connector.collect({"account_id": ["3"]})
    json.dumps(found)  # dates, times: ISO strings
    (customer,) = found["customers"]
    assert customer["email"] == email_of(PERSON)
    assert isinstance(customer["created_at"], str)
    assert customer["created_at"].startswith("20")
    assert all(isinstance(r["purchase_date"], str) for r in found["product_registrations"])


def test_collect_matches_nobody_for_strangers_and_bad_values(connector: SqlConnector) -> None:
    found = connector.collect(
        {
            "email": ["nobody@example.org"],
            "account_id": ["not-a-number", "", "99999999999999999999999"],
            "phone": [],
        }
    )
    assert found == {table: [] for table in connector.tables()}


def test_one_statement_per_table_at_most(connector: SqlConnector, shop: Shop) -> None:
    connector.collect({"email": ["warm-up@example.org"]})  # reflection happens once, here
    statements = Statements(connector.engine)
    connector.collect(everything(shop))
    assert statements.sql == ["SELECT"] * len(connector.tables())
    statements.sql.clear()
    connector.collect({"device_serial": shop.serials[PERSON]})
    # Only registrations can match; the tables before and after it are not even asked.
    assert statements.sql == ["SELECT"]


def test_collect_table_resumes_from_persisted_keys(
    manifest: Manifest, engine: Engine, connector: SqlConnector, shop: Shop
) -> None:
    identities = everything(shop)
    whole = connector.collect(identities)
    found: dict[str, list[Any]] = {}
    for table in connector.tables()[:3]:
        found[table] = connector.collect_table(table, identities, found).keys
    saved = json.loads(json.dumps(found))  # what a crashed worker left in its steps
    resumed = _connector(manifest, manifest.systems["shop"], engine)
    for table in resumed.tables()[3:]:
        step = resumed.collect_table(table, identities, saved)
        saved[table] = step.keys
        assert step.rows == whole[table]
    assert saved == {t: [r["id"] for r in rows] for t, rows in whole.items()}


# ---- erasure (Art. 17) --------------------------------------------------------------------------

HOLD_ERASED = {"email": MASK, "phone": None, "payment_token": None, "ip_address": None}


def test_erase_removes_the_person_and_keeps_what_the_hold_covers(
    connector: SqlConnector, engine: Engine, shop: Shop
) -> None:
    identities = everything(shop)
    mine = expected(shop, set(identities))
    before = dump(engine)
    connector.collect({"email": ["warm-up@example.org"]})
    statements = Statements(engine)

    outcomes = {outcome.table: outcome for outcome in connector.erase(identities)}

    assert len(statements.sql) <= 2 * len(connector.tables())
    after = dump(engine)
    assert without(after, mine) == without(before, mine)  # nobody else changed

    # Deleted: registrations (serial_number: delete_row) and messages (body: delete_row).
    for table in ("product_registrations", "messages"):
        assert not mine[table] & set(after[table])
        deleted = len(mine[table])
        assert outcomes[table] == TableOutcome(
            table, deleted, 0, (), (), None, f"{deleted} row{'s' * (deleted > 1)} deleted"
        )
    # Held orders: rows, links and the name and address kept for the tax law; the rest erased.
    for key in mine["orders"]:
        assert after["orders"][key] == {**before["orders"][key], **HOLD_ERASED}
    orders = outcomes["orders"]
    assert (orders.hold, orders.rows_deleted, orders.rows_minimised) == (
        "order_records",
        0,
        len(mine["orders"]),
    )
    assert orders.columns_kept == ("shipping_name", "shipping_address")
    assert orders.columns_erased == ("email", "phone", "payment_token", "ip_address")
    assert "P10Y" in orders.reason
    assert "Tax and bookkeeping law" in orders.reason
    for key in mine["order_items"]:
        assert after["order_items"][key] == {**before["order_items"][key], "gift_message": None}
    assert outcomes["order_items"].hold == "order_records"
    assert outcomes["order_items"].columns_kept == ()
    # Tickets have no delete_row column: kept, every declared column erased, links kept.
    for key in mine["support_tickets"]:
        assert after["support_tickets"][key] == {
            **before["support_tickets"][key],
            "contact_email": MASK,
            "contact_phone": None,
            "contact_name": None,
            "return_address": None,
            "diagnostics": None,
            "recording_url": None,
        }
    # The customer row would go (email: delete_row), but held orders and tickets point at it.
    (customer,) = mine["customers"]
    personal = dict.fromkeys(connector.system.tables["customers"].columns)
    assert after["customers"][customer] == {**before["customers"][customer], **personal}
    customers = outcomes["customers"]
    assert (customers.rows_deleted, customers.rows_minimised, customers.hold) == (0, 1, None)
    assert "kept rows of orders, support_tickets refer to them" in customers.reason

    # Forensics: the person's unique identifiers are in no cell of the shop.
    cells = json.dumps(after, default=str).lower()
    for value in (email_of(PERSON), phone_of(PERSON), *shop.serials[PERSON]):
        assert value.lower() not in cells


def test_erase_twice_changes_nothing_more(
    connector: SqlConnector, engine: Engine, shop: Shop
) -> None:
    connector.erase(everything(shop))
    once = dump(engine)
    again = connector.erase(everything(shop))
    assert dump(engine) == once
    assert all(o.rows_deleted == 0 and o.rows_minimised == 0 for o in again)
    assert connector.erase({"email": [email_of(PERSON)]}) == [
        TableOutcome(table, 0, 0, (), (), None, "no rows of the person")
        for table in connector.tables()
    ]


def test_erase_deletes_a_customer_nothing_kept_points_at(
    manifest: Manifest, engine: Engine, shop: Shop
) -> None:
    shop_system = manifest.systems["shop"]
    system = _without_holds(shop_system)
    tables = dict(system.tables)
    tables["support_tickets"] = _declare(tables["support_tickets"], "diagnostics", "delete_row")
    tables["orders"] = _declare(tables["orders"], "email", "delete_row")
    tables["order_items"] = _declare(tables["order_items"], "gift_message", "delete_row")
    connector = _connector(manifest, system.model_copy(update={"tables": tables}), engine)
    before = dump(engine)
    mine = expected(shop, {"account_id"})
    outcomes = connector.erase({"account_id": [str(PERSON + 1)]})
    after = dump(engine)
    for table in TABLES:
        assert not mine[table] & set(after[table]), table
    assert [o.rows_deleted for o in outcomes] == [len(mine[t]) for t in connector.tables()]
    assert without(after, mine) == without(before, mine)


def test_a_failed_erasure_changes_nothing(manifest: Manifest, engine: Engine, shop: Shop) -> None:
    # order_items.sku is NOT NULL: declaring it erasable makes the update of that table fail
    # after messages and registrations were already deleted in the same transaction.
    system = manifest.systems["shop"]
    tables = dict(system.tables)
    tables["order_items"] = _declare(tables["order_items"], "sku", "null", "user.content.private")
    connector = _connector(manifest, system.model_copy(update={"tables": tables}), engine)
    before = dump(engine)
    with pytest.raises(SchemaMismatch) as raised:
        connector.erase(everything(shop))
    assert (raised.value.system_key, raised.value.table) == ("shop", "order_items")
    assert dump(engine) == before


# ---- rectification (Art. 16) --------------------------------------------------------------------


def test_rectify_changes_the_persons_rows_and_reports_old_values(
    connector: SqlConnector, engine: Engine, shop: Shop
) -> None:
    before = dump(engine)
    mine = expected(shop, {"email"})
    changes = {
        "customers": {"city": "Bergen", "country": "NO"},
        "orders": {"shipping_address": "2 New Street, Bergen, NO"},
    }
    rectified = connector.rectify({"email": [email_of(PERSON)]}, changes)
    after = dump(engine)
    assert {(r.table, r.key) for r in rectified} == {
        *(("customers", key) for key in mine["customers"]),
        *(("orders", key) for key in mine["orders"]),
    }
    for record in rectified:
        old = before[record.table][record.key]
        assert record.old == {column: old[column] for column in changes[record.table]}
        assert record.new == changes[record.table]
        assert after[record.table][record.key] == {**old, **changes[record.table]}
    assert without(after, mine) == without(before, mine)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"customers": {"created_at": "2020-01-01"}}, "customers.created_at"),
        ({"orders": {"customer_id": 1}}, "orders.customer_id"),
        ({"wishlists": {"note": "x"}}, "wishlists"),
    ],
)
def test_rectify_refuses_undeclared_columns(
    connector: SqlConnector, engine: Engine, changes: dict[str, dict[str, Any]], named: str
) -> None:
    before = dump(engine)
    with pytest.raises(InvalidInput, match=named):
        connector.rectify({"email": [email_of(PERSON)]}, changes)
    assert dump(engine) == before


# ---- errors -------------------------------------------------------------------------------------


def test_a_missing_table_or_column_is_named(manifest: Manifest, engine: Engine, shop: Shop) -> None:
    system = manifest.systems["shop"]
    tables = dict(system.tables)
    tables["wishlists"] = tables["product_registrations"]
    connector = _connector(manifest, system.model_copy(update={"tables": tables}), engine)
    with pytest.raises(SchemaMismatch, match="no table 'wishlists'") as raised:
        connector.collect(everything(shop))
    assert (raised.value.system_key, raised.value.table) == ("shop", "wishlists")

    tables = dict(system.tables)
    tables["customers"] = _declare(tables["customers"], "nickname", "null")
    connector = _connector(manifest, system.model_copy(update={"tables": tables}), engine)
    with pytest.raises(SchemaMismatch, match="no column 'nickname'") as raised:
        connector.erase(everything(shop))
    assert raised.value.table == "customers"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/missing/shop.db",  # a folder that does not exist
        "postgresql+psycopg://charter:wrong@127.0.0.1:1/shop?connect_timeout=2",  # nobody there
    ],
    ids=["sqlite", "postgres"],
)
def test_an_unreachable_database_is_reported(manifest: Manifest, tmp_path: Path, url: str) -> None:
    engine = make_engine(url.format(tmp=tmp_path))
    connector = _connector(manifest, manifest.systems["shop"], engine)
    with pytest.raises(SystemUnavailable) as raised:
        connector.collect({"email": [email_of(PERSON)]})
    assert raised.value.system_key == "shop"
    assert raised.value.code == "system_unavailable"
    engine.dispose()


# ---- helpers ------------------------------------------------------------------------------------


def _declare(table: Table, column: str, erasure: str, category: str = "user.name") -> Table:
    columns = dict(table.columns)
    spec = columns.get(column)
    columns[column] = ColumnSpec(
        category=spec.category if spec else category, erasure=ErasureAction(erasure)
    )
    return table.model_copy(update={"columns": columns})


def _without_holds(system: System) -> System:
    tables = {k: t.model_copy(update={"legal_hold": None}) for k, t in system.tables.items()}
    return system.model_copy(update={"tables": tables})
