"""The policy's sentences about each touchpoint's particular promises come from the keys that
Charter enforces: a change of the key changes the sentence, and a touchpoint without such keys
promises nothing extra."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from charter.manifest import Manifest, load_manifest
from charter.manifest.models import Manifest as ManifestModel
from charter.manifest.render import render_policy_html, render_policy_markdown
from charter.manifest.touchpoint_promises import touchpoint_promises

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "musicgroup" / "charter.yaml"


@pytest.fixture(scope="module")
def example() -> Manifest:
    return load_manifest(EXAMPLE)


def changed(change: dict[str, Any]) -> Manifest:
    data = yaml.safe_load(EXAMPLE.read_text())
    for path, value in change.items():
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    return ManifestModel.model_validate(data)


def said(manifest: Manifest, touchpoint: str) -> tuple[str, ...]:
    return touchpoint_promises(manifest, touchpoint, manifest.touchpoints[touchpoint])


@pytest.mark.parametrize(
    ("touchpoint", "expected"),
    [
        ("support", 'only after we have sent you our notice "Product diagnostics" in advance'),
        ("forum", "Your display name, post and attachment URL are public"),
        ("forum", "Your location stays private unless you choose to show it on your profile."),
        ("forum", 'de-identified: it stays, shown as by "Former member"'),
        ("forum", "we tell Chordhub Archive GmbH, and anyone we know copied it"),
        ("partner_data", "We receive this from Loopworks Software Ltd and Tunecast Streaming AB."),
        ("partner_data", "We write to you within one month of receiving it"),
        ("social_media", "We do not write separately to people whose data Chirpbook brand pages"),
        ("survey", 'only if you agree to "Naming you with a published survey comment"'),
        ("contest", "Winners are named by first name and last initial, with their country"),
        ("sponsored_contest", "Entries are passed to the sponsor (Contest sponsor named"),
        ("purchase", 'you may receive "Product news for customers" without being asked'),
        ("product_registration", "you can opt out on this form and in every e-mail"),
    ],
)
def test_the_example_says_each_promise(example: Manifest, touchpoint: str, expected: str) -> None:
    assert any(expected in sentence for sentence in said(example, touchpoint))


def test_a_plain_touchpoint_promises_nothing_extra(example: Manifest) -> None:
    assert said(example, "marketing_signup") == ()
    assert said(example, "software_download") == ()


@pytest.mark.parametrize(
    ("change", "touchpoint", "expected", "absent"),
    [
        (
            {"touchpoints.forum.publication.on_erasure": "delete"},
            "forum",
            "what you published is deleted",
            "de-identified",
        ),
        (
            {"touchpoints.contest.contest.winners": "none"},
            "contest",
            "Winners' names are not published",
            "Winners are named",
        ),
        (
            {"touchpoints.contest.contest.winner_country": False},
            "contest",
            "Winners are named by first name and last initial, as the rules",
            "with their country",
        ),
        (
            {"partners.tunecast.exemption": {"ground": "required_by_law", "reason": "A law."}},
            "partner_data",
            "We do not write separately to people whose data Tunecast Streaming AB passes on.",
            "",
        ),
    ],
)
def test_the_sentence_follows_the_key(
    change: dict[str, Any], touchpoint: str, expected: str, absent: str
) -> None:
    sentences = " ".join(said(changed(change), touchpoint))
    assert expected in sentences
    if absent:
        assert absent not in sentences


def test_both_renderings_carry_the_promises(example: Manifest) -> None:
    promise = "Your location stays private unless you choose to show it on your profile."
    assert f"- {promise}" in render_policy_markdown(example)
    assert f"<li>{promise}</li>" in render_policy_html(example)
