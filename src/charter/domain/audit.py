"""The tamper-evident audit log: entries chained by SHA-256, and the check that names the first
row changed, missing, out of order, or cut off (GDPR Art. 5(2), accountability; Art. 30, 33(5)).

The chain:

- Row ``seq`` (contiguous from 1) holds ``prev_hash``, the hash of row ``seq - 1`` (64 zeros,
  ``GENESIS``, for row 1), and ``hash = SHA-256(prev_hash + canonical(entry))`` in lower-case
  hex, where ``canonical`` is the compact JSON (sorted keys, UTF-8, no ASCII escaping) of the
  entry's ``at``, ``actor``, ``action``, ``target`` and ``details``; datetimes, there and inside
  the details, as ISO 8601 UTC with microseconds (``2026-11-29T10:00:00.000000Z``).
- ``seq`` is the row's place, not part of what is hashed: the links alone carry the order, so a
  row moved elsewhere keeps its own hash intact, and ``verify`` can say "out of order" rather
  than "changed".

What ``verify`` finds, walking the rows in seq order and stopping at the first problem:

- ``changed``: a row's stored hash is not the hash of its content and its ``prev_hash``; or an
  anchor's row now has another hash (the chain was rewritten at or before that row).
- ``missing``: a seq is skipped; or a row links to a hash that no row of the log has (a row was
  removed and the later ones renumbered, or the row before was rewritten with a new hash:
  the two are indistinguishable without an anchor).
- ``reordered``: a row is intact but links to another row of the log than the one before it.
- ``truncated``: the log ends before an anchor's seq. Removing the last rows leaves a valid
  chain, so only an anchor kept elsewhere (the head's seq and hash, ``Anchor``) shows it.

An empty log is intact (unless an anchor names a row).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from charter.domain.errors import InvalidValue

GENESIS = "0" * 64
"""The ``prev_hash`` of row 1."""

_HEX64 = re.compile(r"[0-9a-f]{64}")


def iso_utc(moment: dt.datetime) -> str:
    """``moment`` as ISO 8601 UTC with microseconds: ``2026-11-29T10:00:00.000000Z``."""
    if moment.tzinfo is None:
        raise InvalidValue("audit times must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _shown(moment: dt.datetime) -> str:
    """A moment as people read it in a finding: to the second, UTC."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(value: Any) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_encode,
    )


def jsonable(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """The details as they will be stored and read back (a JSON round trip: tuples become
    lists, datetimes ISO strings), so that the hash made at append time is the hash that
    ``verify`` recomputes from the stored row. Raises ``InvalidValue`` for what JSON cannot
    hold (sets, NaN, non-string keys mixed with string keys, ...)."""
    try:
        loaded = json.loads(_json(dict(details or {})))
    except (TypeError, ValueError) as error:
        raise InvalidValue(f"audit details must be JSON: {error}") from None
    assert isinstance(loaded, dict)
    return loaded


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action. ``details`` hold ids, keyed hashes, counts and roles, never personal
    data (e-mails, names, IP addresses, tokens): the log is kept for good and never erased."""

    seq: int
    at: dt.datetime
    actor: str
    """``staff:<user id>``, ``token:<token id>``, ``system`` or ``person`` (the data subject)."""
    action: str
    target: str | None = None
    details: Any = field(default_factory=dict)
    """A JSON object when written; whatever the stored row holds when read back."""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise InvalidValue("audit times must be timezone-aware")


def canonical(entry: AuditEntry) -> bytes:
    """The bytes an entry's hash covers (see the module docstring); ``seq`` is not among them."""
    try:
        text = _json(
            {
                "at": iso_utc(entry.at),
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "details": entry.details,
            }
        )
    except (TypeError, ValueError) as error:
        raise InvalidValue(f"audit entry {entry.seq} is not JSON: {error}") from None
    # Lone surrogates can only come from a tampered row; they must hash, not crash the check.
    return text.encode("utf-8", "surrogatepass")


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    """SHA-256 (hex) over ``prev_hash`` followed by the entry's canonical bytes."""
    return hashlib.sha256(prev_hash.encode("utf-8", "surrogatepass") + canonical(entry)).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRow:
    """A stored row: the entry, the hash it links to, and its own hash as stored.
    ``unreadable`` marks a row whose stored content could not even be parsed (a time that is
    not a time): it counts as changed."""

    entry: AuditEntry
    prev_hash: str
    hash: str
    unreadable: bool = False

    @property
    def seq(self) -> int:
        return self.entry.seq


def chain(entries: Iterable[AuditEntry], prev_hash: str = GENESIS) -> Iterator[AuditRow]:
    """Rows for ``entries`` as ``append`` would store them, linked from ``prev_hash``."""
    for entry in entries:
        digest = chain_hash(prev_hash, entry)
        yield AuditRow(entry, prev_hash, digest)
        prev_hash = digest


@dataclass(frozen=True, slots=True)
class Anchor:
    """The head of the log at one moment (its last seq and hash), kept away from the database so
    that a log cut back to before it, or rewritten up to it, shows. ``at`` is when it was taken;
    ``None`` for the head the database itself records (``audit_head``)."""

    seq: int
    hash: str
    at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.seq < 0:
            raise InvalidValue("anchor seq: 0 or more")
        if not _HEX64.fullmatch(self.hash):
            raise InvalidValue("anchor hash: 64 lower-case hexadecimal digits")
        if self.seq == 0 and self.hash != GENESIS:
            raise InvalidValue("anchor at seq 0 (an empty log) has the hash of 64 zeros")
        if self.at is not None and self.at.tzinfo is None:
            raise InvalidValue("anchor at: a timezone-aware time")

    def describe(self) -> str:
        if self.at is None:
            return f"the head recorded in the database (row {self.seq})"
        return f"anchor at row {self.seq} ({_shown(self.at)})"

    def to_json(self) -> str:
        """One JSON line: ``{"at": "2026-11-29T10:00:00Z", "hash": "...", "seq": 900}``."""
        return json.dumps(
            {
                "at": _shown(self.at) if self.at is not None else None,
                "hash": self.hash,
                "seq": self.seq,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, line: str) -> Anchor:
        """Parse a line written by ``to_json``; ``InvalidValue`` names what is wrong."""
        try:
            data = json.loads(line)
        except ValueError:
            raise InvalidValue("not a JSON line") from None
        if not isinstance(data, dict):
            raise InvalidValue("not a JSON object")
        seq, digest, at = data.get("seq"), data.get("hash"), data.get("at")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise InvalidValue("seq: a whole number")
        if not isinstance(digest, str):
            raise InvalidValue("hash: a string")
        moment = None
        if at is not None:
            try:
                moment = dt.datetime.fromisoformat(str(at))
            except ValueError:
                raise InvalidValue("at: an ISO 8601 time") from None
            if moment.tzinfo is None:
                raise InvalidValue("at: an ISO 8601 time with its offset (Z for UTC)")
        return cls(seq, digest, moment)


class FindingKind(enum.StrEnum):
    CHANGED = "changed"
    MISSING = "missing"
    REORDERED = "reordered"
    TRUNCATED = "truncated"


@dataclass(frozen=True, slots=True)
class Finding:
    """The first problem of a log: its kind, the row (the first one gone, for ``truncated``),
    a sentence naming it, and the anchor that showed it, if one did."""

    kind: FindingKind
    seq: int
    message: str
    anchor: Anchor | None = None


def verify(rows: Iterable[AuditRow], anchors: Iterable[Anchor] = ()) -> Finding | None:
    """The first problem of the log ``rows`` (ascending seq), or ``None`` if it is intact and
    reaches every anchor with the anchor's hash. See the module docstring for the kinds.

    Memory stays constant however long the log: the walk keeps only the previous row. When a
    link is broken, the rest of ``rows`` is read to find the row it names; if ``rows`` can be
    iterated again (a list, or an object whose ``__iter__`` reads afresh), the rows before are
    searched too, otherwise only the later ones are.
    """
    pinned: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        pinned.setdefault(anchor.seq, []).append(anchor)
    pinned.pop(0, None)  # an empty log's head: always reached (``Anchor`` checks its hash)
    source = iter(rows)
    expected, prev_hash = 1, GENESIS
    for row in source:
        seq = row.seq
        if seq < expected:
            return Finding(
                FindingKind.REORDERED,
                seq,
                f"row {seq} is out of order: it comes after row {expected - 1}",
            )
        if seq > expected:
            gone = f"row {expected} is"
            if seq > expected + 1:
                gone = f"rows {expected} to {seq - 1} are"
            return Finding(FindingKind.MISSING, expected, f"{gone} missing")
        if row.unreadable or chain_hash(row.prev_hash, row.entry) != row.hash:
            return Finding(
                FindingKind.CHANGED,
                seq,
                f"row {seq} was changed: its hash does not match its content",
            )
        if row.prev_hash != prev_hash:
            return _broken_link(row, rows, source)
        for anchor in pinned.get(seq, ()):
            if anchor.hash != row.hash:
                return Finding(
                    FindingKind.CHANGED,
                    seq,
                    f"row {seq} was changed: its hash differs from {anchor.describe()}, so the "
                    "chain was rewritten at or before it",
                    anchor,
                )
        expected, prev_hash = expected + 1, row.hash
    last = expected - 1
    beyond = [anchor for seq, listed in pinned.items() if seq > last for anchor in listed]
    if beyond:
        # The furthest anchor bounds what was lost.
        anchor = max(beyond, key=lambda a: a.seq)
        ends = f"the log ends at row {last}" if last else "the log is empty"
        return Finding(
            FindingKind.TRUNCATED,
            last + 1,
            f"the log was truncated: {anchor.describe()} is gone; {ends}",
            anchor,
        )
    return None


def _broken_link(row: AuditRow, rows: Iterable[AuditRow], rest: Iterator[AuditRow]) -> Finding:
    """An intact row that does not link to the row before it: out of order if it links to
    another row of the log, otherwise the row it links to is missing."""
    seq = row.seq
    if row.prev_hash == GENESIS:
        return Finding(
            FindingKind.REORDERED, seq, f"row {seq} is out of order: it links as the first row"
        )
    found = next((other.seq for other in rest if other.hash == row.prev_hash), None)
    if found is None and iter(rows) is not rows:  # iterable again: search the rows before
        found = next(
            (
                other.seq
                for other in _until(rows, seq)
                if other.hash == row.prev_hash and other.seq != seq
            ),
            None,
        )
    if found is not None:
        instead = "as the first row" if seq == 1 else f"to row {seq - 1}"
        return Finding(
            FindingKind.REORDERED,
            seq,
            f"row {seq} is out of order: it links to row {found}, not {instead}",
        )
    before = "the first row links" if seq == 1 else f"the row at {seq} links"
    rewritten = "" if seq == 1 else f", or row {seq - 1} was rewritten"
    return Finding(
        FindingKind.MISSING,
        seq,
        f"row {seq} is missing: {before} to a row that is not in the log (a row was removed"
        f"{rewritten})",
    )


def _until(rows: Iterable[AuditRow], seq: int) -> Iterator[AuditRow]:
    for row in rows:
        if row.seq >= seq:
            return
        yield row
