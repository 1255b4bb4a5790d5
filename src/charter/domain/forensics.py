"""Finding a person's identifiers in raw bytes: the forms an identifier takes once it is stored,
mailed, logged or exported, and a search for them over a stream of chunks.

An identifier (an e-mail, a phone number, an account id, a cookie id, a device serial) is
given as one or more *text forms* (as given, lower-cased, E.164 ...; see
``charter.services.forensics``). Each text form becomes byte patterns:

- UTF-8 and UTF-16-LE (SQLite stores text in either), matched without regard to ASCII case;
- URL-encoded (a link's query), JSON-escaped (``\\u00fc``) and quoted-printable (an ``.eml``
  body or an RFC 2047 header), where those differ from the UTF-8 bytes;
- base64 (an ``.eml`` part, a JSON export of bytes), in its three alignments: a value inside a
  longer base64 text starts at any byte of a 3-byte group, so only the characters that depend
  on the value alone are searched for (the standard and the URL-safe alphabet).

Forms shorter than ``MIN_LENGTH`` characters are left out: they would match unrelated bytes
(a short number inside a timestamp). Patterns may also be given as raw bytes (a keyed hash).

``search`` reads chunks of any size with an overlap, so that a match across two chunks is found
once, and never holds more than a chunk and the overlap. With ``unfold``, it also searches the
bytes with line breaks and quoted-printable soft breaks taken out (mail wraps base64 at 76
characters), reporting offsets in the original bytes. A match inside a longer match of the same
identity (``12025550133`` inside ``+12025550133``) is reported once, as the longer.
"""

from __future__ import annotations

import base64
import bisect
import json
import quopri
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

MIN_LENGTH = 6
"""Text forms shorter than this are not searched for (they match unrelated bytes)."""

_BREAKS = re.compile(rb"=?\r?\n")


@dataclass(frozen=True, slots=True)
class Pattern:
    """One byte sequence to look for. ``fold_case``: matched against ASCII-lower-cased bytes
    (``needle`` is lower-cased already). ``textual``: the needle is UTF-8 text, searchable in a
    text column; otherwise only in binary columns (UTF-16, a keyed hash)."""

    identity: str
    form: str
    needle: bytes
    fold_case: bool = True
    textual: bool = True


@dataclass(frozen=True, slots=True)
class Hit:
    offset: int
    pattern: Pattern


def base64_cores(data: bytes) -> list[bytes]:
    """The base64 characters that encode ``data`` alone, for each of its 3 possible alignments
    inside a longer base64 text (empty alignments left out)."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data)
        start = -(-8 * shift // 6)  # the first character with no bit of the bytes before
        end = 8 * (shift + len(data)) // 6  # past the last with no bit of the bytes after
        if end > start:
            cores.append(encoded[start:end])
    return cores


def patterns(identity: str, texts: Mapping[str, str]) -> list[Pattern]:
    """The byte patterns of one identity from its named text forms (see the module docstring);
    each distinct needle once, under the first form that gave it."""
    found: dict[tuple[bytes, bool], Pattern] = {}

    def add(form: str, needle: bytes, *, fold: bool = True, textual: bool = True) -> None:
        needle = needle.lower() if fold else needle
        if len(needle) >= MIN_LENGTH and (needle, fold) not in found:
            found[(needle, fold)] = Pattern(identity, form, needle, fold, textual)

    for name, text in texts.items():
        if len(text) < MIN_LENGTH:
            continue
        utf8 = text.encode("utf-8")
        add(f"{name}, UTF-8", utf8)
        add(f"{name}, UTF-16-LE", text.encode("utf-16-le"), textual=False)
        add(f"{name}, URL-encoded", quote(text, safe="").encode("ascii"))
        add(f"{name}, URL-encoded", quote_plus(text, safe="").encode("ascii"))
        add(f"{name}, JSON-escaped", json.dumps(text)[1:-1].encode("ascii"))
        for header in (False, True):
            encoded = quopri.encodestring(utf8, header=header)
            add(f"{name}, quoted-printable", _BREAKS.sub(b"", encoded))
        for core in base64_cores(utf8):
            add(f"{name}, base64", core, fold=False)
            add(f"{name}, base64", core.translate(bytes.maketrans(b"+/", b"-_")), fold=False)
    return list(found.values())


def search(
    chunks: Iterable[bytes], wanted: Sequence[Pattern], *, unfold: bool = False
) -> Iterator[Hit]:
    """Every occurrence of the ``wanted`` patterns in the concatenated ``chunks``, in order of
    the chunk it ends in (see the module docstring)."""
    if not wanted:
        for _ in chunks:
            pass
        return
    longest = max(len(p.needle) for p in wanted)
    # Unfolded, a match may span a line break every 76 characters (at most 3 bytes each).
    keep = 2 * longest + 8 if unfold else longest - 1
    folds = any(p.fold_case for p in wanted)
    tail = b""
    base = 0  # the stream offset of tail[0]
    for chunk in chunks:
        if not chunk:
            continue
        buffer = tail + chunk
        fresh = len(tail)  # a match must end past this index, else the last chunk had it
        found: dict[tuple[int, Pattern], Hit] = {}
        _find(buffer, buffer.lower() if folds else buffer, wanted, fresh, None, found)
        if unfold:
            flat, starts, raws = _unfolded(buffer)
            if len(flat) < len(buffer):
                lowered = flat.lower() if folds else flat
                _find(flat, lowered, wanted, fresh, (starts, raws), found)
        for hit in _outermost(list(found.values())):
            yield Hit(base + hit.offset, hit.pattern)
        kept = min(keep, len(buffer))
        tail = buffer[len(buffer) - kept :]
        base += len(buffer) - kept


def _find(
    raw: bytes,
    lowered: bytes,
    wanted: Sequence[Pattern],
    fresh: int,
    mapping: tuple[list[int], list[int]] | None,
    found: dict[tuple[int, Pattern], Hit],
) -> None:
    for pattern in wanted:
        haystack = lowered if pattern.fold_case else raw
        at = haystack.find(pattern.needle)
        while at >= 0:
            start, end = at, at + len(pattern.needle)
            if mapping is not None:
                start, end = _raw(mapping, start), _raw(mapping, end - 1) + 1
            if end > fresh:
                found.setdefault((start, pattern), Hit(start, pattern))
            at = haystack.find(pattern.needle, at + 1)


def _unfolded(buffer: bytes) -> tuple[bytes, list[int], list[int]]:
    """``buffer`` without line breaks and soft breaks; for each kept segment, where it starts in
    the result and in ``buffer``."""
    parts, starts, raws = [], [], []
    position = flat = 0
    for brk in _BREAKS.finditer(buffer):
        if brk.start() > position:
            parts.append(buffer[position : brk.start()])
            starts.append(flat)
            raws.append(position)
            flat += brk.start() - position
        position = brk.end()
    if position < len(buffer):
        parts.append(buffer[position:])
        starts.append(flat)
        raws.append(position)
    return b"".join(parts), starts, raws


def _raw(mapping: tuple[list[int], list[int]], index: int) -> int:
    starts, raws = mapping
    segment = bisect.bisect_right(starts, index) - 1
    return raws[segment] + index - starts[segment]


def _outermost(hits: list[Hit]) -> Iterator[Hit]:
    """Drop a hit lying inside another hit of the same identity (a shorter form of it)."""
    reach: dict[str, int] = {}  # per identity, the furthest end of the hits starting earlier
    for hit in sorted(hits, key=lambda h: (h.offset, -len(h.pattern.needle))):
        end = hit.offset + len(hit.pattern.needle)
        if reach.get(hit.pattern.identity, -1) >= end:
            continue
        reach[hit.pattern.identity] = end
        yield hit
