"""The event lake's layout: one place for the bucket count, the columns and the paths.

Events are kept as Parquet files under ``<root>/page_views/day=YYYY-MM-DD/bucket=NN/``, one
directory per day and per bucket of the cookie id's hash. Bucketing by a hash of the person
means that an access or erasure request (GDPR Art. 15, 17) reads and rewrites only the files of
one bucket per day, never the whole dataset; the day lets retention drop whole directories
(Art. 5(1)(e)). The day and the bucket live only in the path (hive partitioning), not in the
files. Files are written under a name starting with ``.`` and renamed into place, so a reader
that skips such names never sees a half-written file.
"""

from __future__ import annotations

import datetime as dt
import hashlib

BUCKETS = 32
"""Buckets per day. Changing it moves every person to another bucket: a new dataset."""

TABLE = "page_views"

COLUMNS: tuple[tuple[str, str, bool], ...] = (
    # (name, Arrow type, nullable)
    ("event_id", "string", False),
    ("occurred_at", "timestamp[us, tz=UTC]", False),
    ("brand", "string", False),
    ("cookie_id", "string", False),
    ("account_id", "string", True),
    ("ip_address", "string", False),  # already truncated: the full address is never stored
    ("country", "string", True),  # ISO 3166-1 alpha-2
    ("device_type", "string", False),
    ("operating_system", "string", False),
    ("browser", "string", False),
    ("page_url", "string", False),
    ("referrer", "string", True),
    ("product_line", "string", True),
    ("category", "string", False),  # the cookie category that admitted the event
)
"""The columns of a ``page_views`` file, in order."""

PARTITION_COLUMNS = ("day", "bucket")


def bucket_of(cookie_id: str) -> int:
    """The bucket of a cookie id: the first four bytes of its SHA-256, big-endian, modulo
    ``BUCKETS``. Stable across processes and machines (unlike ``hash()``), so every engine
    (DuckDB, Spark, this module) finds a person's rows in the same bucket."""
    digest = hashlib.sha256(cookie_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % BUCKETS


def day_of(occurred_at: dt.datetime) -> dt.date:
    """The UTC day an event belongs to (a naive time is refused: the day would be a guess)."""
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must carry a time zone")
    return occurred_at.astimezone(dt.UTC).date()


def partition_path(day: dt.date, bucket: int, table: str = TABLE) -> str:
    """The directory of one (day, bucket), relative to the dataset root."""
    if not 0 <= bucket < BUCKETS:
        raise ValueError(f"bucket must be 0-{BUCKETS - 1}")
    return f"{table}/day={day.isoformat()}/bucket={bucket:02d}"


def is_hidden(name: str) -> bool:
    """Whether a file name is a temporary or hidden one that readers skip."""
    return name.startswith(".") or name.startswith("_")
