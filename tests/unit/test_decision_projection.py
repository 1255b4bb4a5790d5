"""The decision projection answers exactly as the full state does (storage/ledger.project)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from charter.domain.consent import ConsentAction, ConsentRecord
from charter.domain.decisions import MARKETING_OBJECTION, PurposeRule, SubjectState, decide
from charter.domain.preferences import SubjectRecord
from charter.storage.ledger import consent_slice, decision_state, project

# Names that are prefixes of one another, so that a search for one must not find the other.
BRANDS = ("akkord", "akkord_pro", "nova")
PURPOSES = ("surveys", "surveys_extra", "marketing")
CHANNELS = ("any", "email", "sms", "parent")
AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

records = st.builds(
    lambda action, version: ConsentRecord(action, version, AT),
    st.sampled_from(list(ConsentAction)),
    st.integers(1, 3),
)
states = st.builds(
    SubjectState,
    consents=st.dictionaries(
        st.tuples(st.sampled_from(BRANDS), st.sampled_from(PURPOSES), st.sampled_from(CHANNELS)),
        records,
        max_size=12,
    ),
    objections=st.frozensets(st.sampled_from((*PURPOSES, MARKETING_OBJECTION))),
    restricted=st.booleans(),
    minor=st.booleans(),
)
rules = st.builds(
    PurposeRule,
    key=st.sampled_from(PURPOSES),
    basis=st.sampled_from(("consent", "legitimate_interests", "contract")),
    categories=st.just(frozenset({"user.contact"})),
    version=st.integers(1, 3),
    objectable=st.booleans(),
    marketing=st.booleans(),
    restriction_exempt=st.booleans(),
    minors=st.sampled_from(("parental_consent", "excluded", "allowed")),
)


@given(states, rules, st.sampled_from(BRANDS), st.sampled_from(CHANNELS))
def test_the_projection_decides_as_the_full_state(
    state: SubjectState, rule: PurposeRule, brand: str, channel: str
) -> None:
    columns = project(SubjectRecord(decision=state))
    sliced = consent_slice(columns["consent_index"], brand, rule.key)
    projected = decision_state(columns["flags"], columns["objections"], sliced)
    categories = ["user.contact.email"]
    assert decide(rule, projected, categories, brand, channel) == decide(
        rule, state, categories, brand, channel
    )


@given(states)
def test_the_whole_index_holds_every_record(state: SubjectState) -> None:
    columns = project(SubjectRecord(decision=state))
    restored = decision_state(columns["flags"], columns["objections"], columns["consent_index"])
    assert {k: (r.action, r.purpose_version) for k, r in restored.consents.items()} == {
        k: (r.action, r.purpose_version) for k, r in state.consents.items()
    }
    assert (restored.objections, restored.restricted, restored.minor) == (
        state.objections,
        state.restricted,
        state.minor,
    )


def test_a_slice_takes_only_its_brand_and_purpose() -> None:
    index = (
        " akkord/surveys/any=given/1 akkord/surveys_extra/any=withdrawn/1"
        " akkord_pro/surveys/email=given/2 akkord_pro/surveys/sms=refused/1"
        " nova/surveys/any=given/1"
    )
    assert consent_slice(index, "akkord", "surveys") == " akkord/surveys/any=given/1"
    assert (
        consent_slice(index, "akkord_pro", "surveys")
        == " akkord_pro/surveys/email=given/2 akkord_pro/surveys/sms=refused/1"
    )
    assert consent_slice(index, "nova", "surveys") == " nova/surveys/any=given/1"
    assert consent_slice(index, "nova", "surveys_extra") == ""
    assert consent_slice("", "nova", "surveys") == ""
