"""Records of processing activities (GDPR Art. 30(1)) built from the manifest: one per purpose,
with subjects, data, recipients, transfers, retention and the security measures."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from charter.manifest import Manifest, load_manifest
from charter.manifest.measures import SECURITY_MEASURES
from charter.manifest.models import Purpose, Recipient
from charter.manifest.ropa import (
    CSV_COLUMNS,
    ProcessingRecord,
    processing_records,
    records_csv,
    records_html,
    records_json,
)

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def example() -> Manifest:
    return load_manifest(ROOT / "examples" / "musicgroup" / "charter.yaml")


@pytest.fixture(scope="module")
def records(example: Manifest) -> dict[str, ProcessingRecord]:
    return {r.purpose: r for r in processing_records(example)}


def test_one_record_per_purpose_with_the_controller_contacts(
    example: Manifest, records: dict[str, ProcessingRecord]
) -> None:
    assert list(records) == list(example.purposes)
    record = records["order_fulfilment"]
    assert record.controller.name == "Resonance Music Group, Inc."
    assert record.controller.email == "privacy@example.org"
    assert record.representative is not None
    assert record.representative.email == "eu-representative@example.org"
    assert record.dpo is not None and record.dpo.email == "dpo@example.org"
    assert record.security_measures == SECURITY_MEASURES
    for each in records.values():
        assert each.data_subjects, each.purpose
        assert each.personal_data, each.purpose
        assert each.retention, each.purpose


def test_legal_basis_names_the_legitimate_interest(records: dict[str, ProcessingRecord]) -> None:
    fraud = records["security_fraud"]
    assert fraud.legal_basis == "legitimate_interest"
    assert fraud.legal_basis_text == "Legitimate interests of the controller (GDPR Art. 6(1)(f))"
    assert fraud.legitimate_interest is not None
    assert fraud.legitimate_interest.startswith("Preventing fraud and misuse")
    assert records["marketing_communications"].legal_basis_text == (
        "Consent of the data subject (GDPR Art. 6(1)(a))"
    )
    assert records["marketing_communications"].legitimate_interest is None


def test_subjects_and_data_come_from_the_touchpoints_and_categories(
    records: dict[str, ProcessingRecord],
) -> None:
    assert records["personalised_advertising"].data_subjects == ("Visitor",)
    assert set(records["marketing_communications"].data_subjects) == {
        "Prospect",
        "Customer",
        "Visitor",
    }
    assert "Newsletter sign-up" in records["marketing_communications"].collected_at
    data = {d.category: d.description for d in records["order_fulfilment"].personal_data}
    assert data["user.payment.token"].startswith("Payment token")
    # a group key stands for the declared categories under it
    assert "Email address" in data["user.contact"] and "Telephone number" in data["user.contact"]


def test_recipients_and_transfers_with_their_mechanism(
    records: dict[str, ProcessingRecord],
) -> None:
    order = records["order_fulfilment"]
    recipients = {r.key: r for r in order.recipients}
    assert recipients["payment_processor"].kind == "processor"
    assert recipients["payment_processor"].country == "NL"
    assert recipients["uk_subsidiary"].country_name == "United Kingdom"
    assert "helpdesk" not in recipients  # its purposes do not include order fulfilment
    transfers = {t.recipient: t for t in order.transfers}
    hosting = transfers["Cloudnest Hosting, Inc."]
    assert (hosting.country, hosting.mechanism, hosting.module) == (
        "US",
        "standard_contractual_clauses",
        2,
    )
    assert hosting.reference == "Commission Implementing Decision (EU) 2021/914"
    assert transfers["Resonance Music UK Ltd"].mechanism == "adequacy"
    assert "Paylane Payments B.V." not in transfers  # the Netherlands: inside the EEA
    assert "Parcel carriers" not in transfers  # Germany
    assert records["support_call_recording"].transfers == ()  # the helpdesk is in Ireland


def test_retention_in_words_with_legal_holds(records: dict[str, ProcessingRecord]) -> None:
    order = records["order_fulfilment"]
    assert any(
        "at purchase: 3 years after collection; then deleted (rule orders)" in r
        for r in order.retention
    )
    assert any(
        r.startswith("legal hold order_records") and "10 years" in r for r in order.retention
    )
    accounts = records["account_management"].retention
    assert any("3 years after the person's last activity" in r for r in accounts)
    surveys = records["surveys"].retention
    assert any(r.endswith("then anonymised (rule surveys)") for r in surveys)
    tokens = next(r for r in order.retention if "(rule payment_tokens)" in r)
    assert tokens == (
        "user.payment: 18 months after collection. The card networks' chargeback window, at "
        "most 540 days after the payment; then deleted (rule payment_tokens)"
    )
    # the newsletter's rule names its touchpoint, which does not serve order fulfilment
    assert not any("rule marketing_contacts" in r for r in order.retention)
    for record in records.values():
        for line in record.retention:
            assert re.search(r"\bP\d+[YMWD]\b", line) is None, line


def test_a_purpose_no_touchpoint_names_takes_subjects_from_its_categories(
    example: Manifest,
) -> None:
    archive = Purpose(
        name="Archive",
        description="Keep an archive of newsletters sent.",
        data_use="essential.service",
        legal_basis="legitimate_interest",
        legitimate_interest="Keeping proof of what we sent.",
        categories=["user.contact.email"],
    )
    offshore = Recipient(
        name="Offshore archive",
        kind="processor",
        description="Stores the archive.",
        purposes=["archive"],
        country="BR",
    )
    manifest = example.model_copy(
        update={
            "purposes": {**example.purposes, "archive": archive},
            "recipients": {**example.recipients, "offshore": offshore},
        }
    )
    record = {r.purpose: r for r in processing_records(manifest)}["archive"]
    assert "Newsletter sign-up" in record.collected_at  # e-mail as its identity
    assert "Prospect" in record.data_subjects
    (transfer,) = record.transfers
    assert transfer.country_name == "Brazil"
    assert transfer.mechanism is None and transfer.safeguard == "no safeguard declared"


def test_json_is_a_list_of_objects(records: dict[str, ProcessingRecord]) -> None:
    loaded = json.loads(records_json(list(records.values())))
    assert isinstance(loaded, list) and len(loaded) == len(records)
    first = loaded[0]
    assert list(first) == list(CSV_COLUMNS)
    assert first["controller"]["name"] == "Resonance Music Group, Inc."
    assert isinstance(first["personal_data"], list) and "category" in first["personal_data"][0]


def test_csv_has_one_row_per_purpose_with_lists_joined(
    records: dict[str, ProcessingRecord],
) -> None:
    rows = list(csv.reader(io.StringIO(records_csv(list(records.values())))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(records) + 1
    row = dict(zip(CSV_COLUMNS, rows[1 + list(records).index("order_fulfilment")], strict=True))
    assert row["purpose"] == "order_fulfilment"
    assert row["controller"].startswith("Resonance Music Group, Inc., 200 Lantern Hill Road")
    assert "Paylane Payments B.V. (processor, Netherlands)" in row["recipients"].split("; ")
    assert row["data_subjects"] == "Customer"
    assert row["legitimate_interest"] == ""
    transfers = row["transfers"].split("; ")
    assert len(transfers) == len(records["order_fulfilment"].transfers)
    assert transfers[0].startswith("Cloudnest Hosting, Inc. to United States: standard")
    assert row["security_measures"].split("; ") == list(SECURITY_MEASURES)


def test_html_is_one_accessible_page(
    example: Manifest, records: dict[str, ProcessingRecord]
) -> None:
    page = records_html(example, list(records.values()))
    assert page.startswith('<!doctype html>\n<html lang="en">')
    for key, record in records.items():
        assert f'<section id="{key}" aria-labelledby="{key}-h">' in page
        assert f'<a href="#{key}">{record.name}</a>' in page
    assert page.count("<caption>") == len(records) + 1
    assert 'scope="row">Transfers and safeguards (e)</th>' in page
    assert "module 2 (controller to processor)" in page
    # self-contained: nothing loaded from anywhere
    assert "<script" not in page and "<link" not in page and "src=" not in page
