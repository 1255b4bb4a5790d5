"""The audit chain: canonical bytes, hashes, and ``verify`` naming the first row changed,
missing, out of order or cut off, at the first and last rows too, with and without anchors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from charter.domain.audit import (
    GENESIS,
    Anchor,
    AuditEntry,
    AuditRow,
    Finding,
    FindingKind,
    canonical,
    chain,
    chain_hash,
    iso_utc,
    jsonable,
    verify,
)
from charter.domain.errors import InvalidValue

T0 = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
N = 8


def entries(n: int = N) -> list[AuditEntry]:
    return [
        AuditEntry(
            seq,
            T0 + dt.timedelta(minutes=seq),
            f"staff:{seq:04d}",
            "request.approved",
            f"request-{seq}",
            {"status": "verified", "n": seq},
        )
        for seq in range(1, n + 1)
    ]


def log(n: int = N) -> list[AuditRow]:
    return list(chain(entries(n)))


def head(rows: list[AuditRow], at: dt.datetime | None = T0) -> Anchor:
    return Anchor(rows[-1].seq, rows[-1].hash, at)


# -- tampering, as raw SQL on the table would do it ------------------------------------------------


def change(k: int, **fields: Any) -> Callable[[list[AuditRow]], list[AuditRow]]:
    """Edit row k's content (its stored hashes stay)."""

    def tamper(rows: list[AuditRow]) -> list[AuditRow]:
        row = rows[k - 1]
        rows[k - 1] = dataclasses.replace(row, entry=dataclasses.replace(row.entry, **fields))
        return rows

    return tamper


def set_hashes(k: int, **fields: str) -> Callable[[list[AuditRow]], list[AuditRow]]:
    def tamper(rows: list[AuditRow]) -> list[AuditRow]:
        rows[k - 1] = dataclasses.replace(rows[k - 1], **fields)
        return rows

    return tamper


def delete(*ks: int, renumber: bool = False) -> Callable[[list[AuditRow]], list[AuditRow]]:
    """Delete rows; ``renumber`` closes the gap, as one hiding the deletion would."""

    def tamper(rows: list[AuditRow]) -> list[AuditRow]:
        kept = [row for row in rows if row.seq not in ks]
        if renumber:
            kept = [at_seq(row, seq) for seq, row in enumerate(kept, start=1)]
        return kept

    return tamper


def at_seq(row: AuditRow, seq: int) -> AuditRow:
    return dataclasses.replace(row, entry=dataclasses.replace(row.entry, seq=seq))


def swap(i: int, j: int) -> Callable[[list[AuditRow]], list[AuditRow]]:
    """Exchange two rows' content, seqs staying in place."""

    def tamper(rows: list[AuditRow]) -> list[AuditRow]:
        rows[i - 1], rows[j - 1] = at_seq(rows[j - 1], i), at_seq(rows[i - 1], j)
        return rows

    return tamper


def rewrite_from(k: int, **fields: Any) -> Callable[[list[AuditRow]], list[AuditRow]]:
    """Edit row k and recompute the hashes from it to the end: a valid chain again."""

    def tamper(rows: list[AuditRow]) -> list[AuditRow]:
        edited = [row.entry for row in rows]
        edited[k - 1] = dataclasses.replace(edited[k - 1], **fields)
        return rows[: k - 1] + list(chain(edited[k - 1 :], rows[k - 2].hash if k > 1 else GENESIS))

    return tamper


def rehash(k: int, **fields: Any) -> Callable[[list[AuditRow]], list[AuditRow]]:
    """Edit row k and recompute its own hash only."""

    def tamper(rows: list[AuditRow]) -> list[AuditRow]:
        row = rows[k - 1]
        entry = dataclasses.replace(row.entry, **fields)
        rows[k - 1] = AuditRow(entry, row.prev_hash, chain_hash(row.prev_hash, entry))
        return rows

    return tamper


def append_copy(k: int) -> Callable[[list[AuditRow]], list[AuditRow]]:
    def tamper(rows: list[AuditRow]) -> list[AuditRow]:
        return [*rows, at_seq(rows[k - 1], len(rows) + 1)]

    return tamper


def unreadable(k: int) -> Callable[[list[AuditRow]], list[AuditRow]]:
    def tamper(rows: list[AuditRow]) -> list[AuditRow]:
        rows[k - 1] = dataclasses.replace(rows[k - 1], unreadable=True)
        return rows

    return tamper


def duplicate_seq(k: int) -> Callable[[list[AuditRow]], list[AuditRow]]:
    def tamper(rows: list[AuditRow]) -> list[AuditRow]:
        return [*rows[:k], rows[k - 1], *rows[k:]]

    return tamper


def untouched(rows: list[AuditRow]) -> list[AuditRow]:
    return rows


CASES: list[tuple[str, Callable[[list[AuditRow]], list[AuditRow]], bool, Any]] = [
    ("intact", untouched, False, None),
    ("intact, with its head as anchor", untouched, True, None),
    ("first row's details changed", change(1, details={"status": "x"}), False,
     (FindingKind.CHANGED, 1, "row 1 was changed: its hash does not match its content")),
    ("last row's actor changed", change(N, actor="staff:9999"), False,
     (FindingKind.CHANGED, N, f"row {N} was changed")),
    ("middle row's time changed", change(4, at=T0), False, (FindingKind.CHANGED, 4, "row 4 was")),
    ("middle row's target removed", change(4, target=None), False, (FindingKind.CHANGED, 4, "")),
    ("middle row's action changed", change(5, action="x"), False, (FindingKind.CHANGED, 5, "")),
    ("a stored hash changed", set_hashes(3, hash="f" * 64), False, (FindingKind.CHANGED, 3, "")),
    ("a stored link changed", set_hashes(3, prev_hash="f" * 64), False,
     (FindingKind.CHANGED, 3, "")),
    ("an unreadable row", unreadable(6), False, (FindingKind.CHANGED, 6, "row 6 was changed")),
    ("first row deleted", delete(1), False,
     (FindingKind.MISSING, 1, "row 1 is missing")),
    ("middle row deleted", delete(4), False, (FindingKind.MISSING, 4, "row 4 is missing")),
    ("three rows deleted", delete(4, 5, 6), False,
     (FindingKind.MISSING, 4, "rows 4 to 6 are missing")),
    # Without an anchor, a log cut at its end is a valid shorter log: hence anchors.
    ("last row deleted, no anchor", delete(N), False, None),
    ("last row deleted, anchor kept", delete(N), True,
     (FindingKind.TRUNCATED, N,
      f"the log was truncated: anchor at row {N} (2026-11-29T10:00:00Z) is gone; "
      f"the log ends at row {N - 1}")),
    ("every row deleted, anchor kept", delete(*range(1, N + 1)), True,
     (FindingKind.TRUNCATED, 1, "the log is empty")),
    ("first row deleted and the rest renumbered", delete(1, renumber=True), False,
     (FindingKind.MISSING, 1,
      "row 1 is missing: the first row links to a row that is not in the log")),
    ("middle row deleted and the rest renumbered", delete(4, renumber=True), False,
     (FindingKind.MISSING, 4,
      "row 4 is missing: the row at 4 links to a row that is not in the log (a row was "
      "removed, or row 3 was rewritten)")),
    ("first and last rows swapped", swap(1, N), False,
     (FindingKind.REORDERED, 1,
      f"row 1 is out of order: it links to row {N - 1}, not as the first row")),
    ("two middle rows swapped", swap(4, 5), False,
     (FindingKind.REORDERED, 4, "row 4 is out of order: it links to row 5, not to row 3")),
    ("last two rows swapped", swap(N - 1, N), False,
     (FindingKind.REORDERED, N - 1, f"row {N - 1} is out of order")),
    ("an earlier row copied to the end", append_copy(3), False,
     (FindingKind.REORDERED, N + 1, f"row {N + 1} is out of order: it links to row 2")),
    ("a seq given twice", duplicate_seq(2), False,
     (FindingKind.REORDERED, 2, "row 2 is out of order: it comes after row 2")),
    # A row rewritten with its own hash recomputed breaks the next row's link.
    ("middle row rewritten, its hash recomputed", rehash(4, actor="system"), False,
     (FindingKind.MISSING, 5, "or row 4 was rewritten")),
    ("last row rewritten, its hash recomputed, no anchor", rehash(N, actor="system"), False, None),
    ("last row rewritten, its hash recomputed, anchor kept", rehash(N, actor="system"), True,
     (FindingKind.CHANGED, N,
      f"row {N} was changed: its hash differs from anchor at row {N} (2026-11-29T10:00:00Z), "
      "so the chain was rewritten at or before it")),
    ("the chain rewritten from row 2, anchor kept", rewrite_from(2, action="x"), True,
     (FindingKind.CHANGED, N, f"row {N} was changed")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tamper", "anchored", "expected"),
    [pytest.param(t, a, e, id=name) for name, t, a, e in CASES],
)
def test_verify_names_the_first_problem(
    tamper: Callable[[list[AuditRow]], list[AuditRow]], anchored: bool, expected: Any
) -> None:
    rows = log()
    anchors = [head(rows)] if anchored else []
    finding = verify(tamper(list(rows)), anchors)
    if expected is None:
        assert finding is None
        return
    assert finding is not None
    kind, seq, text = expected
    assert (finding.kind, finding.seq) == (kind, seq), finding.message
    assert text in finding.message
    assert finding.message.startswith((f"row {seq} ", f"rows {seq} ", "the log was truncated"))


def test_an_empty_log_is_intact_unless_an_anchor_names_a_row() -> None:
    assert verify([]) is None
    assert verify([], [Anchor(0, GENESIS, T0)]) is None
    finding = verify([], [Anchor(3, "a" * 64, T0)])
    assert finding == Finding(
        FindingKind.TRUNCATED,
        1,
        "the log was truncated: anchor at row 3 (2026-11-29T10:00:00Z) is gone; the log is empty",
        Anchor(3, "a" * 64, T0),
    )


def test_truncation_names_the_furthest_anchor_and_the_databases_head_has_its_own_words() -> None:
    rows = log()
    anchors = [Anchor(r.seq, r.hash, T0 + dt.timedelta(hours=r.seq)) for r in rows[4:]]
    finding = verify(rows[:4], [*anchors, Anchor(N, rows[-1].hash)])
    assert finding is not None
    assert finding.kind is FindingKind.TRUNCATED
    assert finding.seq == 5
    assert "anchor at row 8 (2026-11-29T18:00:00Z) is gone; the log ends at row 4" in (
        finding.message
    )
    alone = verify(rows[:4], [Anchor(N, rows[-1].hash)])
    assert alone is not None
    assert "the head recorded in the database (row 8) is gone" in alone.message


def test_a_one_shot_iterator_is_checked_too() -> None:
    rows = log()
    assert verify(iter(rows)) is None
    finding = verify(iter(swap(2, 6)(list(rows))))
    assert finding is not None
    assert (finding.kind, finding.seq) == (FindingKind.REORDERED, 2)


def test_canonical_bytes_are_sorted_compact_utf8_json_with_utc_microseconds() -> None:
    entry = AuditEntry(
        7,
        dt.datetime(2026, 11, 29, 11, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "staff:ü",
        "token.created",
        None,
        {"b": [1, 2], "a": {"z": True, "y": None}},
    )
    assert (
        canonical(entry)
        == (
            '{"action":"token.created","actor":"staff:ü","at":"2026-11-29T10:00:00.000005Z",'
            '"details":{"a":{"y":null,"z":true},"b":[1,2]},"target":null}'
        ).encode()
    )
    assert (
        chain_hash(GENESIS, entry)
        == hashlib.sha256(GENESIS.encode() + canonical(entry)).hexdigest()
    )
    # seq is the row's place, not its content.
    assert canonical(dataclasses.replace(entry, seq=1)) == canonical(entry)


def test_details_are_stored_as_json_reads_them_back() -> None:
    assert jsonable({"t": (1, 2), "when": T0}) == {
        "t": [1, 2],
        "when": "2026-11-29T10:00:00.000000Z",
    }
    assert jsonable(None) == {}
    for bad in ({"s": {1}}, {"x": float("nan")}):
        with pytest.raises(InvalidValue):
            jsonable(bad)
    with pytest.raises(InvalidValue):
        iso_utc(dt.datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(InvalidValue):
        AuditEntry(1, dt.datetime(2026, 1, 1), "system", "x")


def test_anchors_round_trip_as_one_json_line_and_bad_lines_say_why() -> None:
    anchor = Anchor(900, "ab" * 32, T0)
    line = anchor.to_json()
    assert line == f'{{"at": "2026-11-29T10:00:00Z", "hash": "{"ab" * 32}", "seq": 900}}'
    assert Anchor.from_json(line) == anchor
    for bad, reason in [
        ("nope", "not a JSON line"),
        ("[1]", "not a JSON object"),
        ('{"seq": "1", "hash": "' + "a" * 64 + '"}', "seq"),
        ('{"seq": true, "hash": "' + "a" * 64 + '"}', "seq"),
        ('{"seq": 1, "hash": "ABC"}', "hash"),
        ('{"seq": 1}', "hash"),
        ('{"seq": -1, "hash": "' + "a" * 64 + '"}', "seq"),
        ('{"seq": 0, "hash": "' + "a" * 64 + '"}', "seq 0"),
        ('{"seq": 1, "hash": "' + "a" * 64 + '", "at": "yesterday"}', "at"),
        ('{"seq": 1, "hash": "' + "a" * 64 + '", "at": "2026-11-29T10:00:00"}', "offset"),
    ]:
        with pytest.raises(InvalidValue) as raised:
            Anchor.from_json(bad)
        assert reason in raised.value.message, bad


# -- the property: any single mutation, deletion or swap is found at the right row ---------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
details = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
moments = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1), timezones=st.just(dt.UTC)
)
contents = st.tuples(
    moments,
    st.sampled_from(["system", "person", "staff:1", "token:ab12"]) | st.text(max_size=12),
    st.sampled_from(["token.created", "request.filed", "staff.login_failed"]),
    st.none() | st.text(max_size=12),
    details,
)


@st.composite
def chains(draw: st.DrawFn) -> list[AuditRow]:
    drawn = draw(st.lists(contents, min_size=1, max_size=20))
    return list(chain(AuditEntry(seq, *content) for seq, content in enumerate(drawn, start=1)))


hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)


@given(chains(), st.data())
def test_any_single_mutation_is_found_at_its_row(rows: list[AuditRow], data: st.DataObject) -> None:
    anchor = head(rows)
    k = data.draw(st.integers(1, len(rows)), label="k")
    row = rows[k - 1]
    what = data.draw(
        st.sampled_from(["at", "actor", "action", "target", "details", "prev", "hash"])
    )
    if what in ("prev", "hash"):
        new = data.draw(hex64)
        assume(new != (row.prev_hash if what == "prev" else row.hash))
        rows[k - 1] = dataclasses.replace(row, **{"prev_hash" if what == "prev" else what: new})
    else:
        strategy = {"at": moments, "actor": st.text(), "action": st.text(), "target": st.none()
                    | st.text(), "details": details}[what]  # fmt: skip
        entry = dataclasses.replace(row.entry, **{what: data.draw(strategy)})
        assume(canonical(entry) != canonical(row.entry))
        rows[k - 1] = dataclasses.replace(row, entry=entry)
    finding = verify(rows, [anchor])
    assert finding is not None
    assert (finding.kind, finding.seq) == (FindingKind.CHANGED, k)


@given(chains(), st.data(), st.booleans())
def test_any_single_deletion_is_found_at_its_row(
    rows: list[AuditRow], data: st.DataObject, renumber: bool
) -> None:
    anchor = head(rows)
    k = data.draw(st.integers(1, len(rows)), label="k")
    finding = verify(delete(k, renumber=renumber)(list(rows)), [anchor])
    assert finding is not None
    expected = FindingKind.TRUNCATED if k == len(rows) else FindingKind.MISSING
    assert (finding.kind, finding.seq) == (expected, k)


@given(chains(), st.data())
def test_any_swap_of_two_rows_is_found_at_the_first(
    rows: list[AuditRow], data: st.DataObject
) -> None:
    assume(len(rows) >= 2)
    i = data.draw(st.integers(1, len(rows) - 1), label="i")
    j = data.draw(st.integers(i + 1, len(rows)), label="j")
    finding = verify(swap(i, j)(list(rows)), [head(rows)])
    assert finding is not None
    assert (finding.kind, finding.seq) == (FindingKind.REORDERED, i)
