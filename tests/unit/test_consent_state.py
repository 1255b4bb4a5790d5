"""Consent state from events: sequences, late events, brands and channels."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from charter.domain.consent import ConsentAction, ConsentEvent, apply_event, fold

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def event(
    action: ConsentAction, minutes: int, brand: str = "acme", version: int = 1, channel: str = "any"
) -> ConsentEvent:
    return ConsentEvent(
        brand, "marketing_email", channel, action, version, T0 + dt.timedelta(minutes=minutes)
    )


def test_give_withdraw_give_again() -> None:
    records = fold(
        [
            event(ConsentAction.GIVEN, 0),
            event(ConsentAction.WITHDRAWN, 5),
            event(ConsentAction.GIVEN, 9),
        ]
    )
    record = records[("acme", "marketing_email", "any")]
    assert record.granted
    assert record.at == T0 + dt.timedelta(minutes=9)


def test_brands_and_channels_are_separate() -> None:
    records = fold(
        [
            event(ConsentAction.GIVEN, 0, brand="acme"),
            event(ConsentAction.WITHDRAWN, 1, brand="zeta"),
            event(ConsentAction.GIVEN, 2, brand="acme", channel="sms"),
        ]
    )
    assert records[("acme", "marketing_email", "any")].granted
    assert not records[("zeta", "marketing_email", "any")].granted
    assert records[("acme", "marketing_email", "sms")].granted


def test_a_late_event_does_not_overturn_a_newer_one() -> None:
    withdrawn = apply_event({}, event(ConsentAction.WITHDRAWN, 10))
    after_late_give = apply_event(withdrawn, event(ConsentAction.GIVEN, 3))
    assert not after_late_give[("acme", "marketing_email", "any")].granted


def test_renewal_records_the_new_version() -> None:
    records = fold(
        [event(ConsentAction.GIVEN, 0, version=1), event(ConsentAction.RENEWED, 5, version=2)]
    )
    assert records[("acme", "marketing_email", "any")].purpose_version == 2


actions = st.sampled_from(list(ConsentAction))


@given(st.lists(st.tuples(actions, st.integers(0, 10_000)), min_size=1, max_size=30))
def test_state_is_the_last_event_whatever_the_arrival_order(
    pairs: list[tuple[ConsentAction, int]],
) -> None:
    events = [event(action, minute) for action, minute in pairs]
    # Incremental application in arrival order equals the fold of the sorted history when
    # timestamps are distinct; with ties the first-arrived at a time loses to a later arrival.
    incremental: dict = {}
    for item in events:
        incremental = apply_event(incremental, item)
    latest = max(item.occurred_at for item in events)
    last_at_latest = [item for item in events if item.occurred_at == latest][-1]
    assert incremental[("acme", "marketing_email", "any")].action is last_at_latest.action
    assert fold(events)[("acme", "marketing_email", "any")].at == latest
