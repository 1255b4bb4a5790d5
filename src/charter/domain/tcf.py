"""IAB Europe TCF v2.2 TC strings: ``encode`` a ``TCModel``, ``decode`` one back.

Source: IAB Tech Lab, "Transparency and Consent String with Global Vendor & CMP List Formats",
Final v.2.2, May 2023 (InteractiveAdvertisingBureau/GDPR-Transparency-and-Consent-Framework,
``TCFv2/IAB Tech Lab - Consent string and vendor list formats v2.md``). Its rules, as used here:

* Segments joined by ".", each the unpadded base64url text of big-endian bits. The core segment
  is required; the others open with a 3-bit SegmentType: 1 DisclosedVendors, 3 PublisherTC, and
  2 (AllowedVendors), which went with out-of-band legal bases: decode skips it, encode never
  writes it. The core's Version (2) starts with three zero bits, SegmentType 0, so decode takes
  segments in any order; encode writes the core first, as the spec asks.
* Core fields in order (bits): Version 6, Created 36, LastUpdated 36, CmpId 12, CmpVersion 12,
  ConsentScreen 6, ConsentLanguage 12, VendorListVersion 12, TcfPolicyVersion 6,
  IsServiceSpecific 1, UseNonStandardTexts 1, SpecialFeatureOptIns 12, PurposesConsent 24,
  PurposesLITransparency 24, PurposeOneTreatment 1, PublisherCC 12, the vendor consent and the
  vendor legitimate-interest sections, the publisher restrictions.
* Created and LastUpdated are deciseconds since the Unix epoch; since v2.2 both hold the day of
  the last update (``day_level_timestamp``; the codec itself stays exact). Letters are 6 bits,
  A=0..Z=25; bitfields hold ids from 1, left to right.
* A vendor section is MaxVendorId 16, IsRangeEncoding 1, then MaxVendorId bits or NumEntries 12
  range entries (IsARange 1, StartOrOnlyVendorId 16, EndVendorId 16 if a range); v2 has no
  default-consent bit. encode takes the shorter of the two, as the spec asks; the bitfield on
  a tie.
* Publisher restrictions: NumPubRestrictions 12, each PurposeId 6, RestrictionType 2 (0 not
  allowed, 1 require consent, 2 require legitimate interest, 3 undefined) and range entries.
* "With the release of TCF v2.2, the policy version has been incremented to version 4"; v2.2
  removed legitimate interest for purposes 3 to 6, and purpose 1 is a consent purpose only.

``encode`` refuses what a v2.2 string cannot say (values wider than their fields, purposes
outside 1..24, special features outside 1..12, codes other than two letters A-Z, naive
datetimes, legitimate interest for purposes 1 and 3-6, undefined or repeated restrictions) and
truncates datetimes to deciseconds: ``decode(encode(m)) == m`` for every accepted model whose
datetimes are whole deciseconds. ``decode`` refuses malformed strings with ``TCStringError`` and
nothing else. It does not refuse policy breaches (an old policy version, legitimate interest for
3-6, IsServiceSpecific 0): it reports what a string says and leaves the judging to its caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

TCF_POLICY_VERSION = 4
_VERSION = 2
_DISCLOSED_VENDORS, _ALLOWED_VENDORS, _PUBLISHER_TC = 1, 2, 3
_CONSENT_ONLY = frozenset({1, 3, 4, 5, 6})
_MAX_VENDOR = (1 << 16) - 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SEXTETS = {char: format(i, "06b") for i, char in enumerate(_ALPHABET)}


class TCStringError(ValueError):
    """A TC string that cannot be read, or a model that cannot be written as one."""


@dataclass(frozen=True, slots=True)
class PublisherRestriction:
    purpose: int  # 1..24
    restriction_type: int  # 0 not allowed, 1 require consent, 2 require legitimate interest
    vendors: frozenset[int]


@dataclass(frozen=True, slots=True)
class PublisherTC:
    purpose_consents: frozenset[int] = frozenset()
    purpose_legitimate_interests: frozenset[int] = frozenset()
    custom_purposes: int = 0  # NumCustomPurposes: custom purpose ids are 1..custom_purposes
    custom_purpose_consents: frozenset[int] = frozenset()
    custom_purpose_legitimate_interests: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class TCModel:
    created: dt.datetime  # timezone-aware; written with decisecond precision
    last_updated: dt.datetime
    cmp_id: int
    cmp_version: int
    consent_screen: int
    consent_language: str  # "EN"
    vendor_list_version: int
    tcf_policy_version: int = TCF_POLICY_VERSION
    is_service_specific: bool = True
    use_non_standard_texts: bool = False
    special_feature_optins: frozenset[int] = frozenset()  # 1..12
    purpose_consents: frozenset[int] = frozenset()  # 1..24
    purpose_legitimate_interests: frozenset[int] = frozenset()
    purpose_one_treatment: bool = False
    publisher_cc: str = "AA"
    vendor_consents: frozenset[int] = frozenset()
    vendor_legitimate_interests: frozenset[int] = frozenset()
    publisher_restrictions: tuple[PublisherRestriction, ...] = ()
    disclosed_vendors: frozenset[int] | None = None  # None: segment absent
    publisher: PublisherTC | None = None  # None: segment absent


def day_level_timestamp(moment: dt.datetime) -> dt.datetime:
    """Midnight UTC of ``moment``'s day, for both Created and LastUpdated.

    Since v2.2 both fields "have the same value corresponding to the day-level timestamp of when
    the TC String was last updated". The codec stays exact; whoever writes a string rounds first.
    """
    if moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    return dt.datetime.combine(moment.astimezone(dt.UTC).date(), dt.time(), dt.UTC)


def _checked_ids(ids: Iterable[int], high: int, field: str) -> frozenset[int]:
    chosen = frozenset(ids)
    bad = [i for i in chosen if not (isinstance(i, int) and 1 <= i <= high)]
    if bad:
        raise TCStringError(f"{field} must lie within 1..{high}, got {sorted(bad, key=str)[:5]}")
    return chosen


class _Writer:
    """Bits as "0"/"1" text; every value is checked against its width on the way in."""

    def __init__(self) -> None:
        self._bits: list[str] = []

    def uint(self, value: int, width: int, field: str) -> None:
        if not 0 <= value < 1 << width:
            raise TCStringError(f"{field} must be in 0..{(1 << width) - 1}, got {value}")
        if width:  # format(0, "00b") is "0", not ""
            self._bits.append(format(value, f"0{width}b"))

    def flag(self, value: bool) -> None:
        self._bits.append("1" if value else "0")

    def ids(self, ids: Iterable[int], width: int, field: str) -> None:
        chosen = _checked_ids(ids, width, field)
        self._bits.append("".join("1" if i in chosen else "0" for i in range(1, width + 1)))

    def letters(self, code: str, field: str) -> None:
        if not (isinstance(code, str) and len(code) == 2 and all("A" <= c <= "Z" for c in code)):
            raise TCStringError(f"{field} must be two ASCII letters A-Z, got {code!r}")
        for letter in code:
            self.uint(ord(letter) - ord("A"), 6, field)

    def text(self) -> str:
        bits = "".join(self._bits)
        # Whole bytes, then whole sextets: the text standard base64url gives for those bytes.
        bits += "0" * (-len(bits) % 8)
        bits += "0" * (-len(bits) % 6)
        return "".join(_ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


class _Reader:
    def __init__(self, text: str, index: int) -> None:
        text = text.rstrip("=")  # padding should not be there, but it carries no bits
        if not text:
            raise TCStringError(f"segment {index} is empty")
        try:
            self._bits = "".join(_SEXTETS[char] for char in text)
        except KeyError as error:
            raise TCStringError(f"segment {index} has a non-base64url character {error}") from None
        self._pos, self._index = 0, index

    def segment_type(self) -> int:
        return int(self._bits[:3], 2)

    def _take(self, width: int, field: str) -> str:
        end = self._pos + width
        if end > len(self._bits):
            left = len(self._bits) - self._pos
            raise TCStringError(
                f"segment {self._index} is truncated: {field} needs {width} bits, {left} left"
            )
        chunk, self._pos = self._bits[self._pos : end], end
        return chunk

    def uint(self, width: int, field: str) -> int:
        return int(self._take(width, field) or "0", 2)

    def flag(self, field: str) -> bool:
        return self._take(1, field) == "1"

    def ids(self, width: int, field: str) -> frozenset[int]:
        return frozenset(i for i, bit in enumerate(self._take(width, field), 1) if bit == "1")

    def letters(self, field: str) -> str:
        values = (self.uint(6, field), self.uint(6, field))
        if max(values) > 25:
            raise TCStringError(f"{field} has a letter value above 25 (Z): {values}")
        return "".join(chr(ord("A") + value) for value in values)


def _runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in sorted(ids):
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _write_ranges(w: _Writer, ids: Iterable[int], field: str) -> None:
    runs = _runs(_checked_ids(ids, _MAX_VENDOR, field))
    w.uint(len(runs), 12, f"{field} NumEntries")
    for start, end in runs:
        w.flag(start != end)
        w.uint(start, 16, field)
        if start != end:
            w.uint(end, 16, field)


def _write_vendors(w: _Writer, ids: Iterable[int], field: str) -> None:
    chosen = _checked_ids(ids, _MAX_VENDOR, field)
    top = max(chosen, default=0)
    range_bits = 12 + sum(17 if start == end else 33 for start, end in _runs(chosen))
    w.uint(top, 16, f"{field} MaxVendorId")
    w.flag(range_bits < top)
    if range_bits < top:
        _write_ranges(w, chosen, field)
    else:
        w.ids(chosen, top, field)


def _read_ranges(r: _Reader, top: int, field: str) -> frozenset[int]:
    mask = 0  # one bit per id, so overlapping entries cannot multiply the work
    for _ in range(r.uint(12, f"{field} NumEntries")):
        is_range = r.flag(f"{field} IsARange")
        start = r.uint(16, f"{field} StartOrOnlyVendorId")
        end = r.uint(16, f"{field} EndVendorId") if is_range else start
        if not 1 <= start <= end <= top:
            raise TCStringError(f"{field} has range entry {start}-{end} outside 1..{top}")
        mask |= ((1 << (end - start + 1)) - 1) << start
    return frozenset(i for i, bit in enumerate(reversed(format(mask, "b"))) if bit == "1")


def _read_vendors(r: _Reader, field: str) -> frozenset[int]:
    top = r.uint(16, f"{field} MaxVendorId")
    if r.flag(f"{field} IsRangeEncoding"):
        return _read_ranges(r, top, field)
    return r.ids(top, field)


def _check_restriction(purpose: int, kind: int, seen: set[tuple[int, int]]) -> None:
    # Decode checks too: a restriction on no purpose, of no type, or said twice has no meaning.
    if not 1 <= purpose <= 24:
        raise TCStringError(f"publisher restriction purpose must be in 1..24, got {purpose}")
    if not 0 <= kind <= 2:
        raise TCStringError(f"publisher restriction type must be 0, 1 or 2, got {kind}")
    if (purpose, kind) in seen:
        raise TCStringError(f"publisher restriction (purpose {purpose}, type {kind}) repeats")
    seen.add((purpose, kind))


def _check_consent_only(purposes: Iterable[int], field: str) -> None:
    barred = sorted(_CONSENT_ONLY.intersection(purposes))
    if barred:
        raise TCStringError(f"{field}: purposes {barred} may not rest on legitimate interest")


def _deciseconds(moment: dt.datetime, field: str) -> int:
    if moment.utcoffset() is None:
        raise TCStringError(f"{field} must be timezone-aware, got a naive datetime")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10 + delta.microseconds // 100_000


def encode(model: TCModel) -> str:
    """The TC string of ``model``: the core, then DisclosedVendors and PublisherTC when set."""
    _check_consent_only(model.purpose_legitimate_interests, "purpose_legitimate_interests")
    w = _Writer()
    w.uint(_VERSION, 6, "Version")
    w.uint(_deciseconds(model.created, "created"), 36, "created")
    w.uint(_deciseconds(model.last_updated, "last_updated"), 36, "last_updated")
    w.uint(model.cmp_id, 12, "cmp_id")
    w.uint(model.cmp_version, 12, "cmp_version")
    w.uint(model.consent_screen, 6, "consent_screen")
    w.letters(model.consent_language, "consent_language")
    w.uint(model.vendor_list_version, 12, "vendor_list_version")
    w.uint(model.tcf_policy_version, 6, "tcf_policy_version")
    w.flag(model.is_service_specific)
    w.flag(model.use_non_standard_texts)
    w.ids(model.special_feature_optins, 12, "special_feature_optins")
    w.ids(model.purpose_consents, 24, "purpose_consents")
    w.ids(model.purpose_legitimate_interests, 24, "purpose_legitimate_interests")
    w.flag(model.purpose_one_treatment)
    w.letters(model.publisher_cc, "publisher_cc")
    _write_vendors(w, model.vendor_consents, "vendor_consents")
    _write_vendors(w, model.vendor_legitimate_interests, "vendor_legitimate_interests")
    w.uint(len(model.publisher_restrictions), 12, "number of publisher_restrictions")
    seen: set[tuple[int, int]] = set()
    for restriction in model.publisher_restrictions:
        _check_restriction(restriction.purpose, restriction.restriction_type, seen)
        w.uint(restriction.purpose, 6, "restriction purpose")
        w.uint(restriction.restriction_type, 2, "restriction type")
        _write_ranges(w, restriction.vendors, f"purpose {restriction.purpose} restriction")
    segments = [w.text()]
    if model.disclosed_vendors is not None:
        w = _Writer()
        w.uint(_DISCLOSED_VENDORS, 3, "SegmentType")
        _write_vendors(w, model.disclosed_vendors, "disclosed_vendors")
        segments.append(w.text())
    if (pub := model.publisher) is not None:
        _check_consent_only(pub.purpose_legitimate_interests, "publisher legitimate interests")
        w = _Writer()
        w.uint(_PUBLISHER_TC, 3, "SegmentType")
        w.ids(pub.purpose_consents, 24, "publisher purpose_consents")
        w.ids(pub.purpose_legitimate_interests, 24, "publisher purpose_legitimate_interests")
        w.uint(pub.custom_purposes, 6, "custom_purposes")
        w.ids(pub.custom_purpose_consents, pub.custom_purposes, "custom_purpose_consents")
        w.ids(pub.custom_purpose_legitimate_interests, pub.custom_purposes, "custom purpose LI")
        segments.append(w.text())
    return ".".join(segments)


def _read_restrictions(r: _Reader) -> tuple[PublisherRestriction, ...]:
    restrictions = []
    seen: set[tuple[int, int]] = set()
    for _ in range(r.uint(12, "NumPubRestrictions")):
        purpose, kind = r.uint(6, "PurposeId"), r.uint(2, "RestrictionType")
        _check_restriction(purpose, kind, seen)
        vendors = _read_ranges(r, _MAX_VENDOR, f"purpose {purpose} restriction")
        restrictions.append(PublisherRestriction(purpose, kind, vendors))
    return tuple(restrictions)


def _read_publisher(r: _Reader) -> PublisherTC:
    consents = r.ids(24, "PubPurposesConsent")
    legitimate_interests = r.ids(24, "PubPurposesLITransparency")
    custom = r.uint(6, "NumCustomPurposes")
    return PublisherTC(
        purpose_consents=consents,
        purpose_legitimate_interests=legitimate_interests,
        custom_purposes=custom,
        custom_purpose_consents=r.ids(custom, "CustomPurposesConsent"),
        custom_purpose_legitimate_interests=r.ids(custom, "CustomPurposesLITransparency"),
    )


def _moment(r: _Reader, field: str) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=100 * r.uint(36, field))


def _read_core(r: _Reader, disclosed: frozenset[int] | None, pub: PublisherTC | None) -> TCModel:
    if (version := r.uint(6, "Version")) != _VERSION:
        raise TCStringError(f"TC string version {version} is not supported, only {_VERSION}")
    # Arguments are evaluated as written, so this call reads the fields in the spec's order.
    return TCModel(
        created=_moment(r, "Created"),
        last_updated=_moment(r, "LastUpdated"),
        cmp_id=r.uint(12, "CmpId"),
        cmp_version=r.uint(12, "CmpVersion"),
        consent_screen=r.uint(6, "ConsentScreen"),
        consent_language=r.letters("ConsentLanguage"),
        vendor_list_version=r.uint(12, "VendorListVersion"),
        tcf_policy_version=r.uint(6, "TcfPolicyVersion"),
        is_service_specific=r.flag("IsServiceSpecific"),
        use_non_standard_texts=r.flag("UseNonStandardTexts"),
        special_feature_optins=r.ids(12, "SpecialFeatureOptIns"),
        purpose_consents=r.ids(24, "PurposesConsent"),
        purpose_legitimate_interests=r.ids(24, "PurposesLITransparency"),
        purpose_one_treatment=r.flag("PurposeOneTreatment"),
        publisher_cc=r.letters("PublisherCC"),
        vendor_consents=_read_vendors(r, "vendor consents"),
        vendor_legitimate_interests=_read_vendors(r, "vendor legitimate interests"),
        publisher_restrictions=_read_restrictions(r),
        disclosed_vendors=disclosed,
        publisher=pub,
    )


def decode(tc_string: str) -> TCModel:
    """The model a TC string carries; ``TCStringError`` says what is wrong with a bad one."""
    if not isinstance(tc_string, str):
        raise TCStringError(f"TC string must be a str, got {type(tc_string).__name__}")
    if not tc_string:
        raise TCStringError("TC string is empty")
    core: _Reader | None = None
    disclosed: frozenset[int] | None = None
    publisher: PublisherTC | None = None
    seen: set[int] = set()
    for index, text in enumerate(tc_string.split("."), 1):
        r = _Reader(text, index)
        kind = r.segment_type()
        if kind in seen and kind != _ALLOWED_VENDORS:
            raise TCStringError(f"segment {index} repeats SegmentType {kind}")
        seen.add(kind)
        if kind == 0:
            core = r
        elif kind == _DISCLOSED_VENDORS:
            r.uint(3, "SegmentType")
            disclosed = _read_vendors(r, "disclosed vendors")
        elif kind == _PUBLISHER_TC:
            r.uint(3, "SegmentType")
            publisher = _read_publisher(r)
        elif kind != _ALLOWED_VENDORS:
            raise TCStringError(f"segment {index} has unknown SegmentType {kind}")
    if core is None:
        raise TCStringError("TC string has no core segment (SegmentType 0)")
    return _read_core(core, disclosed, publisher)
