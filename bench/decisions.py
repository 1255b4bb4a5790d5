"""In-process decisions per second over a million subjects, beside a raw SQL lookup baseline.

What is measured (issue 3, item 7):

1. **Population.** ``--subjects`` subject states (default 1,000,000) built in memory with the
   domain types (``SubjectState``, ``ConsentRecord``), from a seeded random generator: each
   person is known to one to three of the example group's brands; per brand, some of the
   consent purposes have a history (given; given then withdrawn; given, withdrawn, given again;
   refused; expired; given to an earlier notice version), mostly on channel ``any``, some on
   ``email``; 3 % objected to a legitimate-interest purpose, 2 % to direct marketing as a whole,
   0.5 % are restricted, 2 % are minors (half with a parent's consent, on the ``parent``
   channel); per brand, half are existing customers for the soft opt-in purpose
   ``customer_updates`` (the ``customer`` channel; one in ten lapsed). The purpose rules are
   compiled from ``examples/musicgroup/charter.yaml`` with ``compile_rules``; one consent
   purpose (``surveys``) has its notice version raised to 2, as after a material change, so
   that earlier consents to it are outdated.
2. **Queries.** ``--queries`` look-ups (default 1,000,000) of (subject id, purpose, categories,
   brand): random subjects (1 % unknown ids), a weighted mix of consent, legitimate-interest
   and contract purposes (1 % unknown purposes), zero to two declared categories (1 % an
   undeclared one), mostly a brand the person knows.
3. **Charter.** On one core (the process is pinned to one CPU where the OS allows it), for
   each query: the rule and the state by dictionary look-up, then
   ``charter.domain.decisions.decide``. Best of ``--repeat`` passes over all the queries.
4. **Baseline.** The same answers precomputed into an indexed SQLite table (in memory,
   ``WITHOUT ROWID``, primary key (subject, brand, purpose, categories)), then one
   ``SELECT allowed, reason`` per query through the standard ``sqlite3`` module; best of
   ``--repeat`` passes, reported as look-ups/s.
5. **Check.** A sample of ``--check`` queries is answered again by a plain restatement of the
   documented rules (``reference_decide`` below); every answer from ``decide`` and from the
   baseline table must equal it, or the script exits 1.

Usage: python bench/decisions.py [--subjects N] [--queries N] [--repeat N] [--seed N]
Bounded: a pass that exceeds ``--max-seconds`` stops the repetitions (default 120 s in all).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from charter.domain.consent import ConsentAction, ConsentKey, ConsentRecord
from charter.domain.decisions import MARKETING_OBJECTION, PurposeRule, SubjectState, decide
from charter.manifest import load_manifest
from charter.services.rules import compile_rules

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = REPO_ROOT / "examples" / "musicgroup" / "charter.yaml"
TARGET_PER_S = 500_000

CONSENT_PURPOSES = (
    "marketing_communications",
    "personalised_advertising",
    "surveys",
    "product_diagnostics",
    "site_analytics",
    "site_preferences",
)
OUTDATED_PURPOSE = "surveys"
SOFT_OPT_IN = "customer_updates"  # e-mail to existing customers (basis soft_opt_in)
OBJECTABLE = ("product_analysis", "customer_updates", "product_development")
QUERY_MIX = (
    ("marketing_communications", 30),
    ("personalised_advertising", 12),
    ("product_analysis", 12),
    ("customer_updates", 10),
    ("order_fulfilment", 10),
    ("site_analytics", 10),
    ("surveys", 5),
    ("legal_compliance", 3),
    ("contests", 3),
    ("no_such_purpose", 1),
)
# Final outcomes of a (brand, purpose) history, with their weights.
HISTORIES = (
    ((ConsentAction.GIVEN,), 40),
    ((ConsentAction.GIVEN, ConsentAction.WITHDRAWN), 20),
    ((ConsentAction.GIVEN, ConsentAction.WITHDRAWN, ConsentAction.GIVEN), 15),
    ((ConsentAction.REFUSED,), 15),
    ((ConsentAction.GIVEN, ConsentAction.EXPIRED), 5),
    ((ConsentAction.GIVEN, ConsentAction.WITHDRAWN, ConsentAction.RENEWED), 5),
)

Query = tuple[str, str, tuple[str, ...], str]


def pin_to_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        return "not pinned"
    return f"pinned to CPU {cpu}"


def reference_decide(
    rule: PurposeRule | None, state: SubjectState | None, categories: Sequence[str], brand: str
) -> tuple[bool, str | None, str]:
    """The documented rules, restated plainly (no shortcuts), channel ``any``."""
    if rule is None:
        return (False, None, "unknown_purpose")
    if state is None:
        return (False, rule.basis, "unknown_subject")
    for category in categories:
        parts = category.split(".")
        ancestors = {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
        if not ancestors & rule.categories:
            return (False, rule.basis, "category_not_allowed")
    if state.restricted and not rule.restriction_exempt:
        return (False, rule.basis, "restricted")
    if (rule.objectable and rule.key in state.objections) or (
        rule.marketing and MARKETING_OBJECTION in state.objections
    ):
        return (False, rule.basis, "objected")
    if state.minor:
        if rule.minors == "excluded":
            return (False, rule.basis, "child_without_parental_consent")
        parent = state.consents.get((brand, rule.key, "parent"))
        if rule.minors == "parental_consent" and not (
            parent is not None
            and parent.action in (ConsentAction.GIVEN, ConsentAction.RENEWED)
            and parent.purpose_version >= rule.version
        ):
            return (False, rule.basis, "child_without_parental_consent")
    if rule.basis == "soft_opt_in":
        relationship = state.consents.get((brand, rule.key, "customer"))
        if relationship is None or relationship.action not in (
            ConsentAction.GIVEN,
            ConsentAction.RENEWED,
        ):
            return (False, rule.basis, "not_a_customer")
        return (True, rule.basis, "ok")
    if rule.basis != "consent":
        return (True, rule.basis, "ok")
    record = state.consents.get((brand, rule.key, "any"))
    if record is None or record.action in (ConsentAction.REFUSED, ConsentAction.EXPIRED):
        return (False, rule.basis, "no_consent")
    if record.action == ConsentAction.WITHDRAWN:
        return (False, rule.basis, "consent_withdrawn")
    if record.purpose_version < rule.version:
        return (False, rule.basis, "consent_outdated")
    return (True, rule.basis, "ok")


def weighted(rng: random.Random, table: Sequence[tuple[object, int]], k: int) -> list[object]:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table], k=k)


def build_population(
    n: int, rules: dict[str, PurposeRule], brands: list[str], rng: random.Random
) -> dict[str, SubjectState]:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    moments = [start + dt.timedelta(minutes=37 * i) for i in range(4096)]
    histories = weighted(rng, HISTORIES, 1 << 16)
    keys: dict[ConsentKey, ConsentKey] = {}  # one tuple per key, as an interned state would
    states: dict[str, SubjectState] = {}
    rand = rng.random
    for _ in range(n):
        subject_id = f"{rng.getrandbits(128):032x}"
        consents: dict[ConsentKey, ConsentRecord] = {}
        minor = rand() < 0.02
        for brand in rng.sample(brands, 1 if rand() < 0.6 else (2 if rand() < 0.75 else 3)):
            if rand() < 0.5:  # a customer of the brand (soft opt-in), 1 in 10 of them lapsed
                key = keys.setdefault(
                    (brand, SOFT_OPT_IN, "customer"), (brand, SOFT_OPT_IN, "customer")
                )
                action = ConsentAction.EXPIRED if rand() < 0.1 else ConsentAction.GIVEN
                consents[key] = ConsentRecord(action, 1, moments[rng.getrandbits(12)])
            if minor and rand() < 0.5:  # a parent consented to the brand's purposes
                for purpose, rule in rules.items():
                    if rule.minors == "parental_consent":
                        key = keys.setdefault(
                            (brand, purpose, "parent"), (brand, purpose, "parent")
                        )
                        consents[key] = ConsentRecord(ConsentAction.GIVEN, rule.version, start)
            for purpose in CONSENT_PURPOSES:
                if rand() >= 0.45:
                    continue
                channel = "email" if rand() < 0.1 else "any"
                history = histories[rng.getrandbits(16)]
                assert isinstance(history, tuple)
                version = rules[purpose].version
                if purpose == OUTDATED_PURPOSE and rand() < 0.5:
                    version -= 1  # given before the notice changed
                key = (brand, purpose, channel)
                key = keys.setdefault(key, key)
                consents[key] = ConsentRecord(history[-1], version, moments[rng.getrandbits(12)])
        objections: frozenset[str] = frozenset()
        roll = rand()
        if roll < 0.03:
            objections = frozenset({OBJECTABLE[int(roll * 100) % len(OBJECTABLE)]})
        elif roll < 0.05:
            objections = frozenset({MARKETING_OBJECTION})
        states[subject_id] = SubjectState(
            consents=consents,
            objections=objections,
            restricted=rand() < 0.005,
            minor=minor,
        )
    return states


def build_queries(
    n: int,
    states: dict[str, SubjectState],
    rules: dict[str, PurposeRule],
    brands: list[str],
    rng: random.Random,
) -> list[Query]:
    ids = list(states)
    purposes = weighted(rng, QUERY_MIX, n)
    queries: list[Query] = []
    rand = rng.random
    for purpose in purposes:
        assert isinstance(purpose, str)
        subject_id = (
            f"{rng.getrandbits(128):032x}" if rand() < 0.01 else ids[rng.randrange(len(ids))]
        )
        state = states.get(subject_id)
        known = sorted({b for b, _, _ in state.consents}) if state else []
        brand = known[rng.randrange(len(known))] if known and rand() < 0.85 else rng.choice(brands)
        rule = rules.get(purpose)
        categories: tuple[str, ...] = ()
        if rule is not None:
            declared = sorted(rule.categories)
            categories = tuple(rng.sample(declared, min(len(declared), rng.randrange(3))))
            if rand() < 0.01:
                categories += ("user.financial.bank_account",)
        queries.append((subject_id, purpose, categories, brand))
    return queries


def time_pass(run: Callable[[], None]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    finally:
        gc.enable()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", type=int, default=100_000, help="queries checked")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()
    pinned = pin_to_one_core()
    rng = random.Random(args.seed)
    began = time.perf_counter()

    manifest = load_manifest(MANIFEST)
    rules = compile_rules(manifest)
    outdated = rules[OUTDATED_PURPOSE]
    rules[OUTDATED_PURPOSE] = dataclasses.replace(outdated, version=outdated.version + 1)
    brands = sorted(manifest.brands)

    t = time.perf_counter()
    states = build_population(args.subjects, rules, brands, rng)
    queries = build_queries(args.queries, states, rules, brands, rng)
    built_s = time.perf_counter() - t
    records = sum(len(s.consents) for s in states.values())
    print(
        f"built {len(states):,} subjects ({records:,} consent records) and "
        f"{len(queries):,} queries in {built_s:.1f} s; {pinned}",
        file=sys.stderr,
    )

    rules_get, states_get = rules.get, states.get

    def charter_pass() -> None:
        for subject_id, purpose, categories, brand in queries:
            decide(rules_get(purpose), states_get(subject_id), categories, brand)

    # Baseline: the same answers, precomputed into an indexed table, looked up with raw SQL.
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE answers (subject TEXT, brand TEXT, purpose TEXT, categories TEXT, "
        "allowed INTEGER NOT NULL, reason TEXT NOT NULL, "
        "PRIMARY KEY (subject, brand, purpose, categories)) WITHOUT ROWID"
    )
    rows = []
    for subject_id, purpose, categories, brand in queries:
        d = decide(rules_get(purpose), states_get(subject_id), categories, brand)
        rows.append((subject_id, brand, purpose, ",".join(categories), int(d.allowed), d.reason))
    db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    del rows
    sql = (
        "SELECT allowed, reason FROM answers "
        "WHERE subject = ? AND brand = ? AND purpose = ? AND categories = ?"
    )
    params = [(s, b, p, ",".join(c)) for s, p, c, b in queries]
    execute = db.execute

    def baseline_pass() -> None:
        for p in params:
            execute(sql, p).fetchone()

    charter_s: list[float] = []
    baseline_s: list[float] = []
    for _ in range(args.repeat):
        charter_s.append(time_pass(charter_pass))
        baseline_s.append(time_pass(baseline_pass))
        if time.perf_counter() - began > args.max_seconds:
            break

    # Check a sample against the plain restatement of the rules, and the baseline against both.
    mismatches = 0
    reasons: dict[str, int] = {}
    for subject_id, purpose, categories, brand in rng.sample(
        queries, min(args.check, len(queries))
    ):
        rule, state = rules_get(purpose), states_get(subject_id)
        got = decide(rule, state, categories, brand)
        expected = reference_decide(rule, state, categories, brand)
        stored = execute(sql, (subject_id, brand, purpose, ",".join(categories))).fetchone()
        reasons[got.reason] = reasons.get(got.reason, 0) + 1
        if (got.allowed, got.basis, got.reason) != expected or tuple(stored) != (
            int(expected[0]),
            expected[2],
        ):
            mismatches += 1
    checked = sum(reasons.values())

    rate = len(queries) / min(charter_s)
    base = len(queries) / min(baseline_s)
    header = ("measure", "value", "target", "meets")
    table = [
        (
            f"decide() decisions/s, 1 core, best of {len(charter_s)}",
            f"{rate:,.0f}",
            f">= {TARGET_PER_S:,}",
            "yes" if rate >= TARGET_PER_S else "NO",
        ),
        ("  median pass", f"{len(queries) / sorted(charter_s)[len(charter_s) // 2]:,.0f}", "", ""),
        (
            f"baseline: raw SQL look-ups/s (SQLite :memory:), best of {len(baseline_s)}",
            f"{base:,.0f}",
            "",
            "",
        ),
        ("decide() / baseline", f"{rate / base:.1f}x", "", ""),
        ("subjects", f"{len(states):,}", "", ""),
        ("queries per pass", f"{len(queries):,}", "", ""),
        (
            "sample checked against the rules",
            f"{checked:,}, {mismatches} mismatches",
            "0",
            "yes" if not mismatches else "NO",
        ),
    ]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(4)]
    print("In-process decisions (bench/decisions.py)")
    for r in [header, *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    mix = ", ".join(
        f"{k} {v / checked:.1%}" for k, v in sorted(reasons.items(), key=lambda i: -i[1])
    )
    print(f"reasons in the sample: {mix}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
