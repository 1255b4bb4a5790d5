"""Linking two subjects into one keeps everything either had promised or refused."""

from __future__ import annotations

from sqlalchemy import func, select

from charter.domain.preferences import SubjectRecord, merge_records
from charter.facade import Charter
from charter.services.consents import ConsentRequest
from charter.storage.tables import preference_events

NOTICE = "Send me news and offers by email. You can unsubscribe at any time."


def test_linking_keeps_consents_objections_restrictions_and_unsubscribes(charter: Charter) -> None:
    phone = {"phone": "+14015550177"}
    email = {"email": "ivy@example.org"}
    first = charter.record_consent(
        ConsentRequest(
            brand="acme", purpose="marketing_email", action="give", notice=NOTICE, identities=email
        )
    ).subject_id
    charter.object("analytics", identities=phone)
    charter.set_subscription(brand="zeta", channel="email", subscribed=False, identities=phone)
    charter.restrict(identities=phone)
    linked = charter.submit("support", brand="acme", identities={**phone, **email}).subject_id
    assert linked == first  # the older of the two survives
    assert charter.decide("marketing_email", brand="acme", identities=email).reason == "restricted"
    charter.restrict(restricted=False, identities=email)
    assert charter.decide("marketing_email", brand="acme", identities=phone).reason == "ok"
    assert charter.decide("analytics", brand="acme", identities=email).reason == "objected"
    check = charter.check_message(
        brand="zeta", channel="email", message_class="marketing", identities=email
    )
    assert check.reason == "unsubscribed"
    with charter.store.read() as connection:
        owners = connection.execute(
            select(func.count(func.distinct(preference_events.c.subject_id)))
        )
        assert owners.scalar() == 1


def test_merge_records_is_protective() -> None:
    a, b = (
        SubjectRecord(sale_opt_out=True),
        SubjectRecord(unsubscribed=frozenset({("acme", "sms")})),
    )
    merged = merge_records(a, b)
    assert merged.sale_opt_out
    assert merged.unsubscribed == {("acme", "sms")}
    assert merge_records(b, a) == merged
