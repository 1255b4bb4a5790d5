"""The loader names file, line and key for every fault, and reports them all at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from charter.domain.errors import ManifestError
from charter.manifest import check_manifest, load_manifest, load_manifest_with_lines, parse_manifest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"
EXAMPLE = ROOT / "examples" / "musicgroup" / "charter.yaml"
SOURCE = "charter.yaml"
PROBLEM = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<key>\S+): (?P<message>.+)$")


@pytest.fixture(scope="module")
def text() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not found {occurrence} time(s)"
    return hits[occurrence - 1]


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once in the fixture"
    return text.replace(old, new)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, SOURCE)
    assert caught.value.problems, "a ManifestError must list its problems"
    return caught.value.problems


# ---- the good manifests -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [FIXTURE, EXAMPLE], ids=["minimal", "musicgroup"])
def test_good_manifests_load_and_pass_lint(path: Path) -> None:
    manifest = load_manifest(path)
    assert manifest.brands
    assert check_manifest(path) == []


def test_example_models_the_reference_policy() -> None:
    manifest = load_manifest(EXAMPLE)
    assert len(manifest.brands) == 15
    assert manifest.policy.response_deadline_days == 30
    assert manifest.policy.child_age == 18
    assert manifest.policy.sells_personal_data is False
    assert {t.source.value for t in manifest.touchpoints.values()} == {
        "direct",
        "automatic",
        "partner",
        "social_media",
    }
    assert set(manifest.cookies) == {
        "strictly_necessary",
        "functional",
        "analytics",
        "advertising",
        "social",
    }
    assert {r.kind.value for r in manifest.recipients.values()} == {
        "processor",
        "affiliate",
        "public",
        "authority",
        "third_party",
    }
    holds = {hold.key: hold for hold in manifest.retention.legal_holds}
    assert holds["order_records"].period == "P10Y"
    password = manifest.touchpoints["product_registration"].fields["password"]
    assert (password.type.value, password.category) == (
        "password",
        "user.authorization.credentials",
    )


def test_lines_are_those_of_the_keys(text: str) -> None:
    _, lines = load_manifest_with_lines(FIXTURE)
    assert lines[("policy",)] == line_of(text, "policy:")
    assert lines[("policy", "controller")] == line_of(text, "  controller:")
    assert lines[("policy", "controller", "email")] == line_of(text, "privacy@example.org")
    assert lines[("retention", "rules", 1)] == line_of(text, "- key: support_messages")


# ---- one fault, one precise message -------------------------------------------------------------

Mutation = Callable[[str], str]


CASES: list[tuple[str, Mutation, str, str, str]] = [
    # (id, mutation, expected key, line needle in the mutated text, message fragment)
    (
        "unknown key (typo)",
        lambda t: replace_once(t, "  child_age: 18", "  child_agee: 18"),
        "policy.child_agee",
        "child_agee:",
        "unknown key",
    ),
    (
        "unknown nested key",
        lambda t: replace_once(t, "    direct_marketing: true", "    direct_marketting: true"),
        "purposes.marketing_email.direct_marketting",
        "direct_marketting:",
        "unknown key",
    ),
    (
        "missing required key, reported at its parent",
        lambda t: replace_once(t, '  version: "2026.1"\n', ""),
        "policy.version",
        "policy:",
        "required key is missing",
    ),
    (
        "missing key under a block mapping, reported at the mapping's key",
        lambda t: replace_once(t, "    data_use: analytics.reporting\n", ""),
        "purposes.analytics.data_use",
        "  analytics:",
        "required key is missing",
    ),
    (
        "missing required section",
        lambda t: t[: t.index("retention:")],
        "retention",
        "charter: 1",
        "required key is missing",
    ),
    (
        "bad ISO 8601 duration",
        lambda t: replace_once(t, "period: P3Y", "period: 3 years"),
        "retention.rules[0].period",
        "period: 3 years",
        "'3 years' is not an ISO 8601 duration",
    ),
    (
        "bad cookie duration",
        lambda t: replace_once(t, "duration: P13M", "duration: 13 months"),
        "cookies.analytics.cookies[0].duration",
        "duration: 13 months",
        "'13 months' is not an ISO 8601 duration",
    ),
    (
        "bad legal hold duration",
        lambda t: replace_once(t, "period: P10Y", "period: P10X"),
        "retention.legal_holds[0].period",
        "period: P10X",
        "'P10X' is not an ISO 8601 duration",
    ),
    (
        "duplicate key",
        lambda t: replace_once(t, "  child_age: 18", "  child_age: 18\n  child_age: 16"),
        "policy.child_age",
        "child_age: 16",
        "duplicate key",
    ),
    (
        "duplicate nested key",
        lambda t: replace_once(
            t,
            "      name: {category: user.name}\n      message:",
            "      name: {category: user.name}\n      name: {category: user.name, max_length: 80}\n"
            "      message:",
        ),
        "touchpoints.support.fields.name",
        "max_length: 80",
        "duplicate key",
    ),
    (
        "wrong enum value: legal basis",
        lambda t: replace_once(t, "legal_basis: legitimate_interest", "legal_basis: interest"),
        "purposes.analytics.legal_basis",
        "legal_basis: interest",
        "'consent', 'contract', 'legitimate_interest'",
    ),
    (
        "wrong enum value: field type",
        lambda t: replace_once(t, "type: phone}", "type: telephone}"),
        "touchpoints.purchase.fields.phone.type",
        "type: telephone",
        "Input should be",
    ),
    (
        "wrong enum value: erasure action",
        lambda t: replace_once(t, "erasure: mask", "erasure: shred"),
        "systems.shop.tables.orders.columns.shipping_address.erasure",
        "erasure: shred",
        "'delete_row', 'null' or 'mask'",
    ),
    (
        "wrong enum value: identity kind",
        lambda t: replace_once(t, "identities: [email, cookie_id]", "identities: [email, fax]"),
        "touchpoints.marketing_signup.identities[1]",
        "identities: [email, fax]",
        "Input should be",
    ),
    (
        "wrong type",
        lambda t: replace_once(t, "child_age: 18", "child_age: eighteen"),
        "policy.child_age",
        "child_age: eighteen",
        "valid integer",
    ),
    (
        "value out of range",
        lambda t: replace_once(t, "response_deadline_days: 30", "response_deadline_days: 365"),
        "policy.response_deadline_days",
        "response_deadline_days: 365",
        "less than or equal to 90",
    ),
    (
        "bad key pattern",
        lambda t: replace_once(t, "  zeta:\n", "  Zeta-Sound:\n"),
        "brands.Zeta-Sound",
        "Zeta-Sound:",
        "should match pattern",
    ),
    (
        "bad host name",
        lambda t: replace_once(t, "[zeta.example.org]", "[https://zeta.example.org/]"),
        "brands.zeta.domains",
        "https://zeta.example.org/",
        "is not a host name",
    ),
    (
        "bad country code",
        lambda t: replace_once(t, "    country: IE", "    country: IRL"),
        "policy.representative.country",
        "country: IRL",
        "should match pattern",
    ),
    (
        "bad manifest format version",
        lambda t: replace_once(t, "charter: 1", "charter: 2"),
        "charter",
        "charter: 2",
        "Input should be 1",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "key", "needle", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_a_fault_names_file_line_and_key(
    text: str, mutate: Mutation, key: str, needle: str, fragment: str
) -> None:
    bad = mutate(text)
    problems = problems_of(bad)
    parsed = [PROBLEM.match(problem) for problem in problems]
    assert all(parsed), problems
    ours = [m for m in parsed if m is not None and m["key"] == key]
    assert ours, f"no problem names {key!r}: {problems}"
    first = ours[0]
    assert first["file"] == SOURCE
    assert int(first["line"]) == line_of(bad, needle), problems
    assert fragment in first["message"], problems


def test_union_errors_stay_on_the_faulty_key(text: str) -> None:
    # `duration` is "ISO 8601 or 'session'": pydantic reports both branches; neither may leak a
    # branch name such as function-after[...] into the key path.
    problems = problems_of(replace_once(text, "duration: P13M", "duration: 13 months"))
    assert len(problems) == 1, problems  # both branches' messages on one line
    for problem in problems:
        assert ": cookies.analytics.cookies[0].duration: " in problem
        assert "[" not in problem.split(": ")[1].removeprefix("cookies.analytics.cookies[0]")


def test_every_problem_is_reported_at_once(text: str) -> None:
    bad = replace_once(text, "  child_age: 18", "  child_agee: 18")
    bad = replace_once(bad, "legal_basis: legitimate_interest", "legal_basis: interest")
    bad = replace_once(bad, "period: P3Y", "period: three years")
    keys = {PROBLEM.match(p)["key"] for p in problems_of(bad)}  # type: ignore[index]
    assert keys >= {
        "policy.child_agee",
        "purposes.analytics.legal_basis",
        "retention.rules[0].period",
    }


def test_every_duplicate_key_is_reported(text: str) -> None:
    bad = replace_once(text, "  child_age: 18", "  child_age: 18\n  child_age: 16")
    bad = replace_once(bad, "  home_region: EEA", "  home_region: EEA\n  home_region: US")
    problems = problems_of(bad)
    assert len(problems) == 2
    assert all("duplicate key" in problem for problem in problems)


# ---- not YAML, or not a manifest ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "at", "started"),
    [
        pytest.param(
            "  child_age: 18", "  child_age: [18", "brands:", "child_age: [18", id="open-flow"
        ),
        pytest.param("  child_age: 18", "\tchild_age: 18", "\tchild_age", None, id="tab"),
        pytest.param(
            "  child_age: 18", "  child_age: 18\n bad: indent", "bad: indent", None, id="indent"
        ),
        # An unclosed quote is noticed only at the end of the file: the start is named too.
        pytest.param('version: "2026.1"', 'version: "2026.1', None, 'version: "2026.1', id="quote"),
    ],
)
def test_invalid_yaml_names_the_line(
    text: str, old: str, new: str, at: str | None, started: str | None
) -> None:
    bad = replace_once(text, old, new)
    (problem,) = problems_of(bad)
    match = re.match(rf"^{SOURCE}:(\d+): not valid YAML: (.+)$", problem)
    assert match, problem
    if at is None:  # noticed at the end of the stream
        assert int(match[1]) >= len(bad.splitlines()), problem
    else:
        assert int(match[1]) == line_of(bad, at), problem
    if started is not None:
        assert f"started at line {line_of(bad, started)})" in match[2], problem


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param("", "the manifest is empty", id="empty"),
        pytest.param("# only a comment\n", "the manifest is empty", id="comment-only"),
        pytest.param("- charter: 1\n", "must be a mapping", id="list"),
        pytest.param("just a string\n", "must be a mapping", id="scalar"),
        pytest.param("? [a, b]\n: 1\n", "keys must be plain strings", id="complex-key"),
    ],
)
def test_not_a_manifest(content: str, fragment: str) -> None:
    (problem,) = problems_of(content)
    assert problem.startswith(SOURCE)
    assert fragment in problem


def test_missing_file_is_a_manifest_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ManifestError) as caught:
        load_manifest(missing)
    assert caught.value.problems == [f"{missing}: no such file"]
    assert caught.value.code == "manifest_invalid"
    assert check_manifest(missing) == [f"{missing}: no such file"]


def test_problems_name_the_real_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "charter.yaml"
    path.write_text(replace_once(text, "  child_age: 18", "  child_agee: 18"), encoding="utf-8")
    (problem,) = check_manifest(path)
    assert problem.startswith(f"{path}:{line_of(path.read_text(), 'child_agee')}: ")


def test_yaml_1_1_booleans_stay_keys(text: str) -> None:
    # PyYAML would read an unquoted key `on:` as True; the loader keeps key text verbatim.
    problems = problems_of(replace_once(text, "  child_age: 18", "  on: 18"))
    assert any(": policy.on: unknown key" in problem for problem in problems)
