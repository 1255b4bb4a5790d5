"""What changed between two versions of the policy, and which changes are material.

A controller that starts using personal data for a new purpose must tell the person before it
does (GDPR Art. 13(3), 14(4)), and the information owed under Art. 13-14 (purposes, legal
bases, recipients, transfers, retention) must stay true. The EDPB's guidelines on transparency
(WP260 rev.01, paragraphs 29-33) call a change *material* when it changes what a person would
reasonably expect: such a change is brought to the people concerned actively and before it
takes effect; other changes are published, nothing more.

A change is material when it widens what is done with a person's data:

- a new purpose, or a purpose gaining data categories (Art. 5(1)(b), 13(3));
- a form collecting a data category it did not collect, or data that now comes from elsewhere
  than the person (Art. 5(1)(c), 14);
- the data of a form now also used for a purpose it was not (Art. 13(3));
- a new recipient, a recipient gaining purposes or categories, or a processor becoming a
  recipient that uses the data for its own ends (Art. 13(1)(e));
- a new transfer out of the home region, or a changed transfer mechanism (Art. 13(1)(f));
- a longer retention: a longer period, no fixed period any more, or a period counted from the
  last activity instead of the collection (Art. 13(2)(a));
- a weaker legal basis (``BASIS_ORDER``), or a purpose one can no longer object to (Art. 21);
- a longer response deadline, a lower age of parental consent, selling personal data.

Not material: wording and names, shorter retention, removed purposes, recipients, fields and
forms, brands and cookies (the cookie banner asks for consent itself), new data categories
declared but not collected, and contact details (listed, as people write to them).

Each material change carries a ``Scope``: whose data it concerns, so that the notice goes to
those people only (``Audience``). Everything here is plain data: ``charter.services``
builds ``PolicyFacts`` from the manifest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from charter.domain.categories import covered_by_any
from charter.domain.durations import parse_duration
from charter.domain.regions import in_region
from charter.domain.retention import Rule, governing_rule, identity_rule

BASIS_ORDER = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interest",
    "public_task",
    "legitimate_interest",
)
"""Legal bases from the strongest to the weakest for the person (GDPR Art. 6(1)).

Consent leaves the person in control (Art. 7(3): withdrawn at any time). A contract covers only
what is necessary for a service the person asked for (Art. 6(1)(b)). A legal obligation, vital
interests and a public task are fixed by law or by an emergency, not chosen by the controller.
A legitimate interest rests on the controller's own balancing test, and the person can only
object afterwards (Art. 6(1)(f), 21). Moving a purpose towards the end is weaker: material."""

COLLECTION = "collection"
LAST_ACTIVITY = "last_activity"


class ChangeKind(StrEnum):
    POLICY_WORDING = "policy_wording"
    CONTACT = "contact"
    RESPONSE_DEADLINE = "response_deadline"
    CHILD_AGE = "child_age"
    SALE = "sale"
    PURPOSE_ADDED = "purpose_added"
    PURPOSE_REMOVED = "purpose_removed"
    PURPOSE_BASIS = "purpose_basis"
    PURPOSE_CATEGORIES_ADDED = "purpose_categories_added"
    PURPOSE_CATEGORIES_REMOVED = "purpose_categories_removed"
    PURPOSE_OBJECTION = "purpose_objection"
    PURPOSE_WORDING = "purpose_wording"
    TOUCHPOINT_ADDED = "touchpoint_added"
    TOUCHPOINT_REMOVED = "touchpoint_removed"
    FIELD_ADDED = "field_added"
    FIELD_REMOVED = "field_removed"
    TOUCHPOINT_PURPOSE_ADDED = "touchpoint_purpose_added"
    TOUCHPOINT_PURPOSE_REMOVED = "touchpoint_purpose_removed"
    TOUCHPOINT_SOURCE = "touchpoint_source"
    TOUCHPOINT_WORDING = "touchpoint_wording"
    RECIPIENT_ADDED = "recipient_added"
    RECIPIENT_REMOVED = "recipient_removed"
    RECIPIENT_WIDENED = "recipient_widened"
    RECIPIENT_NARROWED = "recipient_narrowed"
    RECIPIENT_KIND = "recipient_kind"
    TRANSFER = "transfer"
    RECIPIENT_WORDING = "recipient_wording"
    RETENTION_LONGER = "retention_longer"
    RETENTION_SHORTER = "retention_shorter"
    RETENTION_ADDED = "retention_added"
    RETENTION_REMOVED = "retention_removed"
    RETENTION_WORDING = "retention_wording"
    CATEGORY = "category"
    BRAND = "brand"
    COOKIE = "cookie"


@dataclass(frozen=True, slots=True)
class PurposeFacts:
    name: str
    legal_basis: str
    categories: tuple[str, ...]
    objectable: bool
    wording: tuple[str | None, ...] = ()
    """Texts the policy shows (description, interest, consent notice): said, not done."""


@dataclass(frozen=True, slots=True)
class TouchpointFacts:
    name: str
    collected: Mapping[str, tuple[str, str]]
    """What the form collects: a key (a field, or ``identity:email``) -> (label, category)."""
    purposes: tuple[str, ...]
    source: str = "direct"
    wording: tuple[str | None, ...] = ()


@dataclass(frozen=True, slots=True)
class RecipientFacts:
    name: str
    kind: str
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    country: str | None = None
    mechanism: str | None = None
    wording: tuple[str | None, ...] = ()


@dataclass(frozen=True, slots=True)
class RetentionFacts:
    label: str
    categories: tuple[str, ...]
    touchpoints: tuple[str, ...]
    period: str | None
    """An ISO 8601 duration; ``None`` when criteria stand instead (no fixed period)."""
    period_words: str
    """The period as the policy says it ("3 years"), or the criteria."""
    counted_from: str = COLLECTION


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """The part of a manifest that the public policy promises, as plain data."""

    version: str
    title: str
    home_region: str
    contacts: Mapping[str, str]
    response_deadline_days: int
    child_age: int
    sells_personal_data: bool
    categories: Mapping[str, str]
    purposes: Mapping[str, PurposeFacts]
    touchpoints: Mapping[str, TouchpointFacts]
    recipients: Mapping[str, RecipientFacts]
    retention: Mapping[str, RetentionFacts]
    brands: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    """A cookie (``category/name``) -> how the policy lists it."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose data a material change concerns: values of these categories (any, if none),
    collected at these touchpoints (any, if none) and, with ``retention_rule``, governed by
    that rule of the new version."""

    categories: tuple[str, ...] = ()
    touchpoints: tuple[str, ...] = ()
    retention_rule: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    text: str
    material: bool
    scope: Scope | None = None
    """For a material change, whose data it concerns; ``None``: nobody's in particular."""
    consent_purpose: str | None = None
    """A purpose resting on consent that the change introduces: the notice asks for it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "text": self.text,
            "material": self.material,
            "scope": None
            if self.scope is None
            else {
                "categories": list(self.scope.categories),
                "touchpoints": list(self.scope.touchpoints),
                "retention_rule": self.scope.retention_rule,
            },
            "consent_purpose": self.consent_purpose,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        scope = data.get("scope")
        return cls(
            ChangeKind(data["kind"]),
            str(data["text"]),
            bool(data["material"]),
            None
            if scope is None
            else Scope(
                tuple(scope["categories"]), tuple(scope["touchpoints"]), scope["retention_rule"]
            ),
            data.get("consent_purpose"),
        )


def diff(old: PolicyFacts, new: PolicyFacts) -> list[Change]:
    """Every change from ``old`` to ``new``, classified; in the order of the policy's sections
    (the policy itself, purposes, forms, recipients, retention, categories, brands, cookies)."""
    return [
        *_policy(old, new),
        *_purposes(old, new),
        *_touchpoints(old, new),
        *_recipients(old, new),
        *_retention(old, new),
        *_keyed(old.categories, new.categories, ChangeKind.CATEGORY, "data category"),
        *_keyed(old.brands, new.brands, ChangeKind.BRAND, "brand"),
        *_keyed(old.cookies, new.cookies, ChangeKind.COOKIE, "cookie"),
    ]


def weaker_basis(old: str, new: str) -> bool:
    """Whether moving a purpose from basis ``old`` to ``new`` is weaker (see ``BASIS_ORDER``);
    a basis not in the order counts as the weakest."""
    return _basis_rank(new) > _basis_rank(old)


def _basis_rank(basis: str) -> int:
    return BASIS_ORDER.index(basis) if basis in BASIS_ORDER else len(BASIS_ORDER)


def basis_words(basis: str) -> str:
    return basis.replace("_", " ")


# -- the policy itself -------------------------------------------------------------------------


def _policy(old: PolicyFacts, new: PolicyFacts) -> Iterator[Change]:
    everyone = Scope()
    if old.title != new.title:
        yield Change(ChangeKind.POLICY_WORDING, f"Title: {old.title} -> {new.title}", False)
    for role in dict.fromkeys([*old.contacts, *new.contacts]):
        before, after = old.contacts.get(role), new.contacts.get(role)
        if before != after:
            now = f"now {after}" if after else "no longer given"
            yield Change(ChangeKind.CONTACT, f"Contact details of the {role}: {now}", False)
    if old.response_deadline_days != new.response_deadline_days:
        slower = new.response_deadline_days > old.response_deadline_days
        yield Change(
            ChangeKind.RESPONSE_DEADLINE,
            f"Time to answer your requests: {old.response_deadline_days} days -> "
            f"{new.response_deadline_days} days",
            slower,
            everyone if slower else None,
        )
    if old.child_age != new.child_age:
        lower = new.child_age < old.child_age
        yield Change(
            ChangeKind.CHILD_AGE,
            f"Age below which a parent's consent is needed: {old.child_age} -> {new.child_age}",
            lower,
            everyone if lower else None,
        )
    if old.sells_personal_data != new.sells_personal_data:
        sells = new.sells_personal_data
        yield Change(
            ChangeKind.SALE,
            "We now sell personal information"
            if sells
            else "We no longer sell personal information",
            sells,
            everyone if sells else None,
        )


# -- purposes ----------------------------------------------------------------------------------


def _purpose_scope(facts: PolicyFacts, key: str, categories: Iterable[str]) -> Scope:
    """The data a purpose may use: these categories, at the forms that name the purpose (at
    any form when none does: a use decided elsewhere, by an API call)."""
    at = tuple(k for k, tp in facts.touchpoints.items() if key in tp.purposes)
    return Scope(tuple(categories), at)


def _purposes(old: PolicyFacts, new: PolicyFacts) -> Iterator[Change]:
    for key, purpose in new.purposes.items():
        before = old.purposes.get(key)
        if before is None:
            yield Change(
                ChangeKind.PURPOSE_ADDED,
                f"New purpose: {purpose.name} ({basis_words(purpose.legal_basis)}), using "
                f"{_categories(new, purpose.categories)}",
                True,
                _purpose_scope(new, key, purpose.categories),
                key if purpose.legal_basis == "consent" else None,
            )
            continue
        yield from _purpose_changed(new, key, before, purpose)
    for key, purpose in old.purposes.items():
        if key not in new.purposes:
            yield Change(ChangeKind.PURPOSE_REMOVED, f"Purpose removed: {purpose.name}", False)


def _purpose_changed(
    new: PolicyFacts, key: str, before: PurposeFacts, after: PurposeFacts
) -> Iterator[Change]:
    name = after.name
    if before.legal_basis != after.legal_basis:
        weaker = weaker_basis(before.legal_basis, after.legal_basis)
        yield Change(
            ChangeKind.PURPOSE_BASIS,
            f"Legal basis of {name}: {basis_words(before.legal_basis)} -> "
            f"{basis_words(after.legal_basis)}",
            weaker,
            _purpose_scope(new, key, after.categories) if weaker else None,
        )
    gained = [c for c in after.categories if c not in before.categories]
    if gained:
        yield Change(
            ChangeKind.PURPOSE_CATEGORIES_ADDED,
            f"{name} now also uses {_categories(new, gained)}",
            True,
            _purpose_scope(new, key, gained),
        )
    lost = [c for c in before.categories if c not in after.categories]
    if lost:
        yield Change(
            ChangeKind.PURPOSE_CATEGORIES_REMOVED,
            f"{name} no longer uses {_categories(new, lost)}",
            False,
        )
    if before.objectable != after.objectable:
        yield Change(
            ChangeKind.PURPOSE_OBJECTION,
            f"{name}: you can {'now' if after.objectable else 'no longer'} object to it",
            not after.objectable,
            None if after.objectable else _purpose_scope(new, key, after.categories),
        )
    if before.name != after.name:
        yield Change(
            ChangeKind.PURPOSE_WORDING, f"Purpose renamed: {before.name} -> {after.name}", False
        )
    elif before.wording != after.wording:
        yield Change(ChangeKind.PURPOSE_WORDING, f"Description of {name} reworded", False)


# -- forms (touchpoints) -----------------------------------------------------------------------


def _touchpoints(old: PolicyFacts, new: PolicyFacts) -> Iterator[Change]:
    collected_before = {cat for tp in old.touchpoints.values() for _, cat in tp.collected.values()}
    for key, tp in new.touchpoints.items():
        before = old.touchpoints.get(key)
        if before is None:
            cats = [cat for _, cat in tp.collected.values()]
            fresh = [c for c in dict.fromkeys(cats) if c not in collected_before]
            text = f"New form: {tp.name}, collecting {_categories(new, dict.fromkeys(cats))}"
            yield Change(
                ChangeKind.TOUCHPOINT_ADDED,
                text,
                bool(fresh),
                Scope(touchpoints=(key,)) if fresh else None,
            )
            continue
        yield from _touchpoint_changed(old, new, key, before, tp)
    for key, tp in old.touchpoints.items():
        if key not in new.touchpoints:
            yield Change(ChangeKind.TOUCHPOINT_REMOVED, f"Form removed: {tp.name}", False)


def _touchpoint_changed(
    old: PolicyFacts, new: PolicyFacts, key: str, before: TouchpointFacts, after: TouchpointFacts
) -> Iterator[Change]:
    here = Scope(touchpoints=(key,))
    had = {cat for _, cat in before.collected.values()}
    for name, (label, category) in after.collected.items():
        previous = before.collected.get(name)
        if previous is not None and previous[1] == category:
            continue
        fresh = category not in had
        yield Change(
            ChangeKind.FIELD_ADDED,
            f"{after.name} now also collects {label} ({_category(new, category)})"
            if previous is None
            else f"{after.name}: {label} is now recorded as {_category(new, category)}",
            fresh,
            here if fresh else None,
        )
    for name, (label, _) in before.collected.items():
        if name not in after.collected:
            yield Change(
                ChangeKind.FIELD_REMOVED, f"{after.name} no longer collects {label}", False
            )
    for purpose in after.purposes:
        if purpose in before.purposes or purpose not in old.purposes:
            continue  # a purpose new to the policy is announced as such
        facts = new.purposes.get(purpose)
        if facts is None:
            continue
        yield Change(
            ChangeKind.TOUCHPOINT_PURPOSE_ADDED,
            f"What {after.name} collects is now also used for {facts.name} "
            f"({basis_words(facts.legal_basis)})",
            True,
            Scope(facts.categories, (key,)),
            purpose if facts.legal_basis == "consent" else None,
        )
    for purpose in before.purposes:
        if purpose not in after.purposes:
            name = (new.purposes.get(purpose) or old.purposes[purpose]).name
            yield Change(
                ChangeKind.TOUCHPOINT_PURPOSE_REMOVED,
                f"What {after.name} collects is no longer used for {name}",
                False,
            )
    if before.source != after.source:
        elsewhere = after.source != "direct"
        yield Change(
            ChangeKind.TOUCHPOINT_SOURCE,
            f"{after.name}: the data now comes from {after.source.replace('_', ' ')} "
            f"(was {before.source.replace('_', ' ')})",
            elsewhere,
            here if elsewhere else None,
        )
    if before.name != after.name:
        yield Change(
            ChangeKind.TOUCHPOINT_WORDING, f"Form renamed: {before.name} -> {after.name}", False
        )
    elif before.wording != after.wording:
        yield Change(ChangeKind.TOUCHPOINT_WORDING, f"Description of {after.name} reworded", False)


# -- recipients and transfers ------------------------------------------------------------------


def _recipient_categories(facts: PolicyFacts, recipient: RecipientFacts) -> tuple[str, ...]:
    """What a recipient receives: its categories, or else those of its purposes."""
    if recipient.categories:
        return recipient.categories
    return tuple(
        dict.fromkeys(
            c
            for p in recipient.purposes
            if p in facts.purposes
            for c in facts.purposes[p].categories
        )
    )


def _abroad(facts: PolicyFacts, recipient: RecipientFacts) -> bool:
    return recipient.country is not None and not in_region(recipient.country, facts.home_region)


def _where(recipient: RecipientFacts) -> str:
    text = f" in {recipient.country}" if recipient.country else ""
    if recipient.mechanism:
        text += f" ({recipient.mechanism.replace('_', ' ')})"
    return text


def _recipients(old: PolicyFacts, new: PolicyFacts) -> Iterator[Change]:
    for key, recipient in new.recipients.items():
        before = old.recipients.get(key)
        receives = _recipient_categories(new, recipient)
        scope = Scope(receives) if receives else None
        if before is None:
            what = f", receiving {_categories(new, receives)}" if receives else ""
            yield Change(
                ChangeKind.RECIPIENT_ADDED,
                f"New recipient: {recipient.name} ({recipient.kind.replace('_', ' ')})"
                f"{_where(recipient)}{what}",
                True,
                scope,
            )
            continue
        yield from _recipient_changed(old, new, before, recipient, scope)
    for key, recipient in old.recipients.items():
        if key not in new.recipients:
            yield Change(
                ChangeKind.RECIPIENT_REMOVED, f"Recipient removed: {recipient.name}", False
            )


def _recipient_changed(
    old: PolicyFacts,
    new: PolicyFacts,
    before: RecipientFacts,
    after: RecipientFacts,
    scope: Scope | None,
) -> Iterator[Change]:
    name = after.name
    gained = [c for c in after.categories if c not in before.categories]
    if gained:
        yield Change(
            ChangeKind.RECIPIENT_WIDENED,
            f"{name} now also receives {_categories(new, gained)}",
            True,
            Scope(tuple(gained)),
        )
    for_more = [p for p in after.purposes if p not in before.purposes]
    if for_more:
        names = ", ".join(new.purposes[p].name if p in new.purposes else p for p in for_more)
        yield Change(
            ChangeKind.RECIPIENT_WIDENED,
            f"{name} now also receives data for {names}",
            True,
            scope,
        )
    lost = [c for c in before.categories if c not in after.categories]
    fewer = [p for p in before.purposes if p not in after.purposes]
    if lost or fewer:
        yield Change(ChangeKind.RECIPIENT_NARROWED, f"{name} now receives less data", False)
    if before.kind != after.kind:
        # A processor acts on our instructions only; any other recipient uses the data for its
        # own ends (Art. 28 against Art. 13(1)(e)).
        own_ends = before.kind == "processor"
        yield Change(
            ChangeKind.RECIPIENT_KIND,
            f"{name}: {before.kind.replace('_', ' ')} -> {after.kind.replace('_', ' ')}",
            own_ends,
            scope if own_ends else None,
        )
    was_abroad, abroad = _abroad(old, before), _abroad(new, after)
    if abroad and (
        not was_abroad or before.country != after.country or before.mechanism != after.mechanism
    ):
        text = (
            f"Transfer to {name}{_where(after)}: {(before.mechanism or 'none').replace('_', ' ')}"
            f" -> {(after.mechanism or 'none').replace('_', ' ')}"
            if was_abroad and before.country == after.country
            else f"Data sent to {name} is now transferred outside {new.home_region}:{_where(after)}"
        )
        yield Change(ChangeKind.TRANSFER, text, True, scope)
    elif (before.country, before.mechanism) != (after.country, after.mechanism):
        yield Change(ChangeKind.TRANSFER, f"{name} is now{_where(after) or ' unlocated'}", False)
    if before.name != after.name:
        yield Change(
            ChangeKind.RECIPIENT_WORDING, f"Recipient renamed: {before.name} -> {name}", False
        )
    elif before.wording != after.wording:
        yield Change(ChangeKind.RECIPIENT_WORDING, f"Description of {name} reworded", False)


# -- retention ---------------------------------------------------------------------------------


def _exceeds(after: str | None, before: str | None) -> bool:
    """Whether period ``after`` is longer than ``before``; ``None`` (criteria, no fixed period)
    is longest. Calendar units compare exactly (``P24M`` is ``P2Y``); only a mix of months and
    days compares by average lengths (a month of 30.44 days)."""
    if after is None or before is None:
        return after is None and before is not None
    a, b = parse_duration(after), parse_duration(before)
    a_months, b_months = a.years * 12 + a.months, b.years * 12 + b.months
    a_rest, b_rest = a.days * 86400 + a.seconds, b.days * 86400 + b.seconds
    if a_months >= b_months and a_rest >= b_rest:
        return (a_months, a_rest) != (b_months, b_rest)
    if a_months <= b_months and a_rest <= b_rest:
        return False
    return a.approx_days() > b.approx_days()


def longer(before: RetentionFacts, after: RetentionFacts) -> bool:
    """Whether ``after`` may keep data longer than ``before``: a longer period (none at all is
    longest), or one that now restarts with every activity instead of running from collection."""
    restarts = before.counted_from == COLLECTION and after.counted_from == LAST_ACTIVITY
    return _exceeds(after.period, before.period) or restarts


def shorter(before: RetentionFacts, after: RetentionFacts) -> bool:
    return longer(after, before)


def _rules(facts: PolicyFacts) -> list[Rule]:
    return [
        Rule(
            key,
            rule.categories,
            rule.touchpoints,
            None if rule.period is None else parse_duration(rule.period),
            rule.counted_from,
        )
        for key, rule in facts.retention.items()
    ]


def _collected(facts: PolicyFacts) -> set[tuple[str, str]]:
    return {(key, cat) for key, tp in facts.touchpoints.items() for _, cat in tp.collected.values()}


def _governed(facts: PolicyFacts) -> dict[tuple[str, str], str]:
    """(touchpoint, category) collected -> the key of the rule that governs it."""
    rules = _rules(facts)
    found = {}
    for touchpoint, category in _collected(facts):
        rule = governing_rule(rules, category, touchpoint)
        if rule is not None:
            found[(touchpoint, category)] = rule.key
    return found


def _span(rule: RetentionFacts) -> str:
    start = "the last activity" if rule.counted_from == LAST_ACTIVITY else "collection"
    return f"{rule.period_words} from {start}" if rule.period else rule.period_words


def _retention(old: PolicyFacts, new: PolicyFacts) -> Iterator[Change]:
    before_rule, after_rule = _governed(old), _governed(new)
    # Data that moves to another rule may be kept longer although no rule's period changed.
    moves = [
        (before_rule[pair], after_rule[pair])
        for pair in sorted(after_rule.keys() & before_rule.keys())
        if before_rule[pair] != after_rule[pair]
        and longer(old.retention[before_rule[pair]], new.retention[after_rule[pair]])
    ]
    lengthened = {to for _, to in moves}
    moved_longer = {source for source, _ in moves}
    for key, rule in new.retention.items():
        scope = Scope(rule.categories, rule.touchpoints, key)
        before = old.retention.get(key)
        if before is None:
            yield Change(
                ChangeKind.RETENTION_ADDED,
                f"New retention rule, {rule.label}: {_span(rule)}",
                key in lengthened,
                scope if key in lengthened else None,
            )
            continue
        text = f"Retention of {rule.label}: {_span(before)} -> {_span(rule)}"
        if longer(before, rule):
            yield Change(ChangeKind.RETENTION_LONGER, text, True, scope)
        elif shorter(before, rule):
            yield Change(ChangeKind.RETENTION_SHORTER, text, False)
        elif before.period_words != rule.period_words:
            yield Change(ChangeKind.RETENTION_WORDING, text, False)
        if (before.categories, before.touchpoints) != (rule.categories, rule.touchpoints):
            covers = key in lengthened
            yield Change(
                ChangeKind.RETENTION_WORDING if not covers else ChangeKind.RETENTION_LONGER,
                f"Retention of {rule.label} now covers "
                f"{_categories(new, rule.categories) if rule.categories else 'all data'}"
                + (f" from {', '.join(_names(new, rule.touchpoints))}" if rule.touchpoints else ""),
                covers,
                scope if covers else None,
            )
    for key, rule in old.retention.items():
        if key not in new.retention:
            material = key in moved_longer
            yield Change(
                ChangeKind.RETENTION_REMOVED,
                f"Retention rule removed, {rule.label} (its data follows another rule)",
                material,
                Scope(rule.categories, rule.touchpoints) if material else None,
            )


# -- what is only listed -----------------------------------------------------------------------


def _keyed(
    old: Mapping[str, str], new: Mapping[str, str], kind: ChangeKind, noun: str
) -> Iterator[Change]:
    for key, text in new.items():
        if key not in old:
            yield Change(kind, f"New {noun}: {text}", False)
        elif old[key] != text:
            yield Change(kind, f"{noun.capitalize()} {key}: {old[key]} -> {text}", False)
    for key, text in old.items():
        if key not in new:
            yield Change(kind, f"{noun.capitalize()} removed: {text}", False)


def _category(facts: PolicyFacts, key: str) -> str:
    return facts.categories.get(key, key)


def _categories(facts: PolicyFacts, keys: Iterable[str]) -> str:
    return ", ".join(_category(facts, key) for key in keys) or "no data"


def _names(facts: PolicyFacts, touchpoints: Iterable[str]) -> list[str]:
    return [facts.touchpoints[k].name if k in facts.touchpoints else k for k in touchpoints]


# -- who is concerned --------------------------------------------------------------------------

Held = tuple[str, str | None]
"""A category of data held about a person, and the form it came from (``None``: an identity
known without its form)."""


class Audience:
    """Which material changes concern a person, from the categories held about them."""

    def __init__(self, changes: Sequence[Change], new: PolicyFacts) -> None:
        self.changes = [c for c in changes if c.material and c.scope is not None]
        self._rules = _rules(new)

    def concerning(self, held: Iterable[Held]) -> list[Change]:
        """The material changes whose scope covers something in ``held``, in order."""
        pairs = set(held)
        return [c for c in self.changes if any(self._covers(c, pair) for pair in pairs)]

    def _covers(self, change: Change, pair: Held) -> bool:
        scope = change.scope
        assert scope is not None
        category, touchpoint = pair
        if scope.categories and not covered_by_any(category, scope.categories):
            return False
        if scope.touchpoints and touchpoint not in scope.touchpoints:
            return False
        if scope.retention_rule is None:
            return True
        rule = (
            identity_rule(self._rules, category)
            if touchpoint is None
            else governing_rule(self._rules, category, touchpoint)
        )
        return rule is not None and rule.key == scope.retention_rule
