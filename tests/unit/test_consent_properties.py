"""The consent state machine, stated as properties (``charter.domain.consent``).

A stateful test applies give, withdraw, refuse, expire and renew events for a few
(brand, purpose, channel) keys, at increasing times and out of order (retried calls, late
deliveries), and checks after every step that the state is what the module docstring says.
"""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from charter.domain.consent import (
    GRANTING,
    ConsentAction,
    ConsentEvent,
    ConsentKey,
    ConsentRecord,
    apply_event,
    fold,
)

T0 = dt.datetime(2028, 2, 28, 23, 59, tzinfo=dt.UTC)
KEYS: list[ConsentKey] = [
    ("akkord_pro", "marketing_communications", "email"),
    ("akkord_pro", "marketing_communications", "sms"),
    ("nimbus_audio", "marketing_communications", "any"),
    ("akkord_pro", "site_analytics", "any"),
]
keys = st.sampled_from(KEYS)
actions = st.sampled_from(list(ConsentAction))
versions = st.integers(1, 3)


def _event(key: ConsentKey, action: ConsentAction, version: int, at: dt.datetime) -> ConsentEvent:
    brand, purpose, channel = key
    return ConsentEvent(brand, purpose, channel, action, version, at)


def _expected(events: list[ConsentEvent]) -> dict[ConsentKey, ConsentRecord]:
    """The state by definition: per key, the latest event; among events at the same instant,
    the one recorded last."""
    latest: dict[ConsentKey, ConsentEvent] = {}
    for item in events:
        key = (item.brand, item.purpose, item.channel)
        if key not in latest or item.occurred_at >= latest[key].occurred_at:
            latest[key] = item
    return {
        key: ConsentRecord(item.action, item.purpose_version, item.occurred_at)
        for key, item in latest.items()
    }


class ConsentLedger(RuleBasedStateMachine):
    """The ledger as the services use it: events applied one by one as they arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[ConsentEvent] = []
        self.state: dict[ConsentKey, ConsentRecord] = {}
        self.now = T0

    def _apply(self, item: ConsentEvent) -> None:
        key = (item.brand, item.purpose, item.channel)
        before = self.state.get(key)
        self.state = apply_event(self.state, item)
        self.events.append(item)
        if before is not None and item.occurred_at < before.at:
            # A late event never overturns a newer one (a retried call, a late webhook).
            assert self.state[key] == before

    @initialize(key=keys, version=versions)
    def first_consent(self, key: ConsentKey, version: int) -> None:
        self._apply(_event(key, ConsentAction.GIVEN, version, self.now))

    @rule(key=keys, action=actions, version=versions, seconds=st.integers(0, 86_400 * 40))
    def event_now(self, key: ConsentKey, action: ConsentAction, version: int, seconds: int) -> None:
        """An event as it happens: at the same instant as the last one, or later."""
        self.now += dt.timedelta(seconds=seconds)
        self._apply(_event(key, action, version, self.now))

    @rule(key=keys, action=actions, version=versions, seconds=st.integers(1, 86_400 * 400))
    def late_event(
        self, key: ConsentKey, action: ConsentAction, version: int, seconds: int
    ) -> None:
        """An event that happened before ones already recorded, arriving only now."""
        self._apply(_event(key, action, version, self.now - dt.timedelta(seconds=seconds)))

    @rule(key=keys)
    def withdraw(self, key: ConsentKey) -> None:
        """Withdrawing is one event, whatever came before (GDPR Art. 7(3))."""
        self.now += dt.timedelta(microseconds=1)
        self._apply(_event(key, ConsentAction.WITHDRAWN, 1, self.now))
        assert not self.state[key].granted

    @precondition(lambda self: len({e.occurred_at for e in self.events}) == len(self.events))
    @rule(seed=st.integers(0, 2**32))
    def arrival_order_does_not_matter(self, seed: int) -> None:
        shuffled = list(self.events)
        random.Random(seed).shuffle(shuffled)
        assert fold(shuffled) == fold(self.events)

    @invariant()
    def state_is_the_fold_of_the_history(self) -> None:
        assert self.state == fold(self.events) == _expected(self.events)

    @invariant()
    def granted_iff_the_latest_event_grants(self) -> None:
        latest = _expected(self.events)
        for key, record in self.state.items():
            assert record.granted == (latest[key].action in GRANTING)

    @invariant()
    def a_withdrawal_now_always_ends_consent(self) -> None:
        later = self.now + dt.timedelta(seconds=1)
        for key in KEYS:
            after = apply_event(self.state, _event(key, ConsentAction.WITHDRAWN, 1, later))
            assert not after[key].granted


TestConsentLedger = ConsentLedger.TestCase


@given(
    st.lists(
        st.tuples(keys, actions, st.integers(0, 10**6)),
        min_size=1,
        max_size=40,
        unique_by=lambda item: item[2],
    ),
    st.randoms(use_true_random=False),
)
def test_the_fold_does_not_depend_on_arrival_order_for_distinct_times(
    history: list[tuple[ConsentKey, ConsentAction, int]], rng: random.Random
) -> None:
    events = [_event(k, a, 1, T0 + dt.timedelta(seconds=s)) for k, a, s in history]
    shuffled = list(events)
    rng.shuffle(shuffled)
    incremental: dict[ConsentKey, ConsentRecord] = {}
    for item in shuffled:
        incremental = apply_event(incremental, item)
    assert fold(shuffled) == fold(events) == incremental == _expected(sorted(events, key=_at))


def _at(item: ConsentEvent) -> dt.datetime:
    return item.occurred_at
