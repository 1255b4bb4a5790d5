"""Where a rectification's corrections go (GDPR Art. 16, 19): which targets and columns a
request may name (``charter.domain.rectification``, checked at intake), which part each system
is sent, what of a webhook system's answer is kept, and the plan of the example group's
manifest: the forum (webhook) and the event lake get a ``rectify`` step, not a manual one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from charter.domain.errors import InvalidValue, UndeclaredField
from charter.domain.rectification import (
    changes_for,
    check_changes,
    rectified_counts,
    systems_changed,
)
from charter.domain.requests import RequestType
from charter.manifest import Manifest, load_manifest
from charter.services.rights_plan import PlannedStep, correctable, plan_steps, staff_note

EXAMPLE = Path(__file__).parents[2] / "examples" / "musicgroup" / "charter.yaml"
CORRECTABLE = {
    "shop.customers": ["first_name", "last_name", "email"],
    "forum.profile": ["display_name", "location"],
}


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE)


@pytest.mark.parametrize(
    "changes",
    [
        None,
        {},
        {"charter": {"name": "Ann Smith", "anything": {"line1": "1 Road"}}},  # the step says
        {"shop.customers": {"last_name": "Smith", "email": "ann@example.org"}},
        {"forum.profile": {"display_name": "Ann S.", "location": None}},
        {"shop.customers": {"first_name": "Ann"}, "forum.profile": {"location": "Kiel"}},
    ],
)
def test_declared_targets_pass(changes: object) -> None:
    check_changes(changes, CORRECTABLE)


SENTINEL = "Smyth-7391"


@pytest.mark.parametrize(
    ("changes", "error", "named"),
    [
        ({"forum.posts": {"text": SENTINEL}}, UndeclaredField, "'forum.posts'"),
        ({"blog.profile": {"display_name": SENTINEL}}, UndeclaredField, "'blog.profile'"),
        ({"forum": {"display_name": SENTINEL}}, UndeclaredField, "'forum'"),
        ({"forum.profile": {"avatar": SENTINEL}}, UndeclaredField, "no column 'avatar'"),
        ({"shop.customers": {"last_name": [SENTINEL]}}, InvalidValue, "last_name"),
        ({"shop.customers": {"last_name": {"new": SENTINEL}}}, InvalidValue, "last_name"),
        ({"shop.customers": SENTINEL}, InvalidValue, "details.changes.shop.customers"),
        ({"charter": [SENTINEL]}, InvalidValue, "details.changes.charter"),
        (SENTINEL, InvalidValue, "details.changes"),
    ],
)
def test_unknown_targets_and_bad_shapes_are_refused_by_name(
    changes: object, error: type[Exception], named: str
) -> None:
    with pytest.raises(error) as refused:
        check_changes(changes, CORRECTABLE)
    assert named in str(refused.value)
    assert SENTINEL not in str(refused.value)  # never the new value


def test_an_unknown_target_is_told_what_can_be_corrected() -> None:
    with pytest.raises(UndeclaredField) as refused:
        check_changes({"forum.posts": {"text": "x"}}, CORRECTABLE)
    assert str(refused.value).endswith("charter, forum.profile, shop.customers")


def test_each_system_is_sent_its_own_part_only() -> None:
    changes = {
        "charter": {"name": "Ann Smith"},
        "shop.customers": {"last_name": "Smith"},
        "forum.profile": {"display_name": "Ann S."},
        "shop.orders": {"shipping_name": "Ann Smith"},
    }
    assert systems_changed(changes) == ["shop", "forum"]
    assert changes_for(changes, "forum") == {"profile": {"display_name": "Ann S."}}
    assert changes_for(changes, "shop") == {
        "customers": {"last_name": "Smith"},
        "orders": {"shipping_name": "Ann Smith"},
    }
    assert changes_for(changes, "events") == {}
    assert changes_for(changes, "charter") == {}


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        ({"profile": 1}, {"profile": 1}),
        ({"profile": 0, "posts": 3}, {"profile": 0}),  # only the tables Charter sent
        ({"profile": 1, "old": {"display_name": "Ann Smyth"}}, {"profile": 1}),
        ({"profile": "Ann Smyth"}, {}),
        ({"profile": -1}, {}),
        ({"profile": True}, {}),
        ({"profile": 1.5}, {}),
        (["profile"], {}),
        ("done", {}),
    ],
)
def test_a_webhook_answer_keeps_counts_of_the_tables_sent_only(
    answer: Any, kept: dict[str, int]
) -> None:
    assert rectified_counts(answer, {"profile": {"display_name": "Ann S."}}) == kept


def test_the_example_declares_what_can_be_corrected(manifest: Manifest) -> None:
    targets = correctable(manifest)
    assert targets["forum.profile"] == ["display_name", "date_of_birth", "location"]
    assert "last_name" in targets["shop.customers"]
    # the lake files rows by the bucket of their cookie id: that column is never corrected
    assert "cookie_id" not in targets["events.page_views"]
    assert "device_type" in targets["events.page_views"]
    assert "returns_ledger" in {t.split(".")[1] for t in targets if t.startswith("warehouse.")}


def plan(manifest: Manifest, changes: dict[str, Any], connected: bool = True) -> list[PlannedStep]:
    return plan_steps(
        manifest,
        RequestType.RECTIFICATION,
        {"changes": changes},
        [],
        [],
        [],
        [],
        connected=lambda _: connected,
        tables=lambda _: [],
        can_notify=lambda _: False,
    )


def test_the_forum_and_the_lake_get_a_rectify_step(manifest: Manifest) -> None:
    steps = plan(
        manifest,
        {
            "forum.profile": {"display_name": "Ann S."},
            "events.page_views": {"device_type": "tablet"},
            "warehouse.returns_ledger": {"customer_name": "Ann Smith"},
            "charter": {"name": "Ann Smith"},
        },
    )
    systems = [(s.system, s.target, s.action) for s in steps if s.system != "recipients"]
    assert systems == [
        ("events", None, "rectify"),
        ("forum", None, "rectify"),
        ("warehouse", None, "manual"),  # no connector: staff correct the ledger
        ("charter", None, "rectify"),
    ]


def test_unconnected_systems_wait_for_staff_and_say_why(manifest: Manifest) -> None:
    steps = plan(
        manifest,
        {"forum.profile": {"location": "Kiel"}, "events.page_views": {"device_type": "tablet"}},
        connected=False,
    )
    assert [(s.system, s.action) for s in steps if s.system != "recipients"] == [
        ("events", "manual"),
        ("forum", "manual"),
    ]

    class Step:
        def __init__(self, system: str) -> None:
            self.system, self.target, self.seq = system, None, 3

    assert "(FORUM_PRIVACY_WEBHOOK_URL and FORUM_PRIVACY_WEBHOOK_SECRET) is not set" in (
        staff_note(manifest, Step("forum"), lambda _: False)
    )
    assert "(EVENTS_LAKE_URL) is not set" in staff_note(manifest, Step("events"), lambda _: False)
    # set since the request was planned: the step still waits, and says so
    assert "not set when the request was planned" in staff_note(
        manifest, Step("forum"), lambda _: True
    )
