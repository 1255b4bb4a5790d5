"""The disclosures ledger over HTTP, on SQLite and PostgreSQL: recording each kind, refusing what
the manifest does not declare, the workflow of authority requests and court orders with their
documents and refusals, roles, the person's access report and the notices of an erasure, and
the console's pages."""

from __future__ import annotations

import base64
import email
import html
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from fixtures.recipients import manifest_with_recipients
from sqlalchemy import func, select

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.domain.errors import InvalidValue
from charter.facade import Charter
from charter.services.disclosure_inputs import MAX_DOCUMENT_BYTES, DocumentInput, NewDisclosure
from charter.storage.tables import (
    audit_events,
    disclosure_documents,
    disclosure_events,
    disclosure_identities,
    disclosures,
    outbox,
)
from charter.storage.vault import Vault

ANN = "ann@example.org"
BOB = "bob@example.org"
PASSWORD = "correct horse battery"
ORDER_PDF = b"%PDF-1.4 court order 12/2026 for the account of ann@example.org"


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return manifest_with_recipients(tmp_path / "charter.yaml")


class Site:
    def __init__(self, client: TestClient, charter: Charter, outbox: Path) -> None:
        self.client = client
        self.charter = charter
        self.outbox = outbox
        self.tokens = {
            role: {"Authorization": f"Bearer {charter.create_token(role).token}"}
            for role in ("admin", "privacy_officer", "support", "service", "auditor")
        }

    def post(self, role: str, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body, headers=self.tokens[role])

    def get(self, role: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.tokens[role])

    def record(self, role: str = "service", **body: Any) -> Any:
        return self.post(role, "/v1/disclosures", body)

    def step(self, disclosure_id: str, role: str = "privacy_officer", **body: Any) -> Any:
        return self.post(role, f"/v1/disclosures/{disclosure_id}/steps", body)

    def count(self, table: Any) -> int:
        with self.charter.store.read() as connection:
            return int(connection.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def site(client: TestClient, charter: Charter, settings: Settings) -> Site:
    return Site(client, charter, settings.outbox_dir)


def share(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "processor_share",
        "recipient": "shop_host",
        "brand": "acme",
        "identities": {"email": ANN},
        "categories": ["user.contact.address", "user.name"],
        "purposes": ["order_fulfilment"],
        "occurred_at": "2026-03-01T10:00:00Z",
    }
    return body | changes


def order(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "court_order",
        "recipient": "authorities",
        "authority": "District Court of Springfield",
        "identities": {"email": ANN},
        "categories": ["user.name", "user.contact"],
        "occurred_at": "2026-03-02T09:00:00Z",
        "note": "Served by post; asks for the account holder's name and contact details.",
        "documents": [
            {
                "name": "order-12-2026.pdf",
                "content_base64": base64.b64encode(ORDER_PDF).decode(),
                "content_type": "application/pdf",
            },
            {"name": "Cover letter", "reference": "Legal DMS 2026-0042"},
        ],
    }
    return body | changes


# -- recording --------------------------------------------------------------------------------


def test_each_kind_is_recorded_with_its_status(site: Site) -> None:
    recorded = [
        site.record(**share()),
        site.record(
            **share(kind="affiliate_share", recipient="group_parent", purposes=["support"])
        ),
        site.record(
            **share(
                kind="public_posting",
                recipient="public",
                identities={"account_id": "forum-77"},
                categories=["user.name"],
                purposes=["support"],
            )
        ),
        site.record("privacy_officer", **order(kind="authority_request", documents=[])),
        site.record("admin", **order()),
    ]
    assert [r.status_code for r in recorded] == [201] * 5, [r.text for r in recorded]
    views = [r.json() for r in recorded]
    assert [v["status"] for v in views] == ["disclosed"] * 3 + ["received"] * 2
    assert [v["recipient_name"] for v in views] == [
        "Shop hosting provider",
        "Example Holdings, Inc.",
        "The public",
        "District Court of Springfield",
        "District Court of Springfield",
    ]
    assert views[0]["disclosed_at"] == "2026-03-01T10:00:00Z"
    assert views[3]["disclosed_at"] is None and views[3]["next"] == ["legal_review"]
    assert all(v["about_a_person"] for v in views)
    # Ann is not known to Charter: the disclosure keeps her keyed hash, no subject
    assert views[0]["subject_id"] is None
    assert [e["kind"] for e in views[4]["history"]] == ["recorded"]
    assert [(d["name"], d["size"]) for d in views[4]["history"][0]["documents"]] == [
        ("order-12-2026.pdf", len(ORDER_PDF)),
        ("Cover letter", 0),
    ]
    assert site.count(disclosure_identities) == 5


def test_a_disclosure_about_no_one_in_particular_and_one_about_a_known_subject(
    site: Site,
) -> None:
    site.charter.submit("marketing_signup", brand="acme", identities={"email": ANN})
    aggregate = site.record(**share(identities=None, categories=["user.contact.address"]))
    known = site.record(**share(identities={"email": "Ann@Example.org"}))
    assert aggregate.status_code == known.status_code == 201
    assert aggregate.json()["about_a_person"] is False
    assert aggregate.json()["subject_id"] is None
    assert known.json()["subject_id"] is not None  # found by the normalised address


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (share(categories=["user.content.private"]), "categories"),  # not the host's
        (share(purposes=["support"]), "purposes"),  # the host is not declared for it
        (share(purposes=[]), "purposes"),
        (share(recipient="nobody"), "recipient"),
        (share(recipient="group_parent", purposes=["support"]), "recipient"),  # an affiliate
        (share(categories=["user.secrets"]), "categories"),  # no such category
        (
            share(kind="public_posting", recipient="public", purposes=["marketing_email"]),
            "purposes",
        ),
    ],
)
def test_a_disclosure_the_manifest_does_not_declare_is_refused(
    site: Site, body: dict[str, Any], field: str
) -> None:
    answer = site.record(**body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "undeclared_disclosure"
    assert error["message"].startswith(f"{field}:")
    assert ANN not in answer.text
    assert site.count(disclosures) == site.count(disclosure_events) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (share(occurred_at="2026-03-01T10:00:00"), "occurred_at"),  # no time zone
        (share(occurred_at="2999-01-01T00:00:00Z"), "occurred_at"),  # the future
        (share(brand="nope"), None),
        (share(identities={"shoe_size": "44"}), "identities.shoe_size"),
        (share(identities={"email": "not an address"}), "email"),
        (share(authority="A police"), "authority"),
        (share(confidential=True), "confidential"),
        (share(note="bad\x00note"), "note"),
        (share(documents=[{"name": "x", "content_base64": "@@not base64@@"}]), "documents"),
        (share(documents=[{"name": "x", "content_base64": "eA==", "reference": "y"}]), None),
        (share(documents=[{"name": "x"}]), None),
        (order(authority=None), "authority"),
        (order(note=None), "note"),
        (order(confidential_until="2027-01-01T00:00:00Z"), "confidential_until"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_leaves_the_ledger_as_it_was(
    site: Site, body: dict[str, Any], field: str | None
) -> None:
    answer = site.record("privacy_officer", **body)
    assert answer.status_code == 422, answer.text
    if field is not None:
        assert field in answer.text
    assert site.count(disclosures) == site.count(disclosure_documents) == 0


def test_a_document_over_the_bound_is_refused_whole(charter: Charter) -> None:
    too_big = DocumentInput("scan.tiff", b"x" * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(InvalidValue, match=r"documents\[0\]\.content"):
        charter.disclosures.record(
            NewDisclosure(
                kind="court_order",
                recipient="authorities",
                authority="A court",
                categories=["user.name"],
                note="served",
                documents=[too_big],
            ),
            "test",
        )
    with charter.store.read() as connection:
        assert connection.scalar(select(func.count()).select_from(disclosures)) == 0


# -- roles ------------------------------------------------------------------------------------


def test_roles(site: Site) -> None:
    # a brand's system records its shares; authority requests are the privacy team's
    assert site.record("service", **order()).status_code == 403
    assert site.record("support", **share()).status_code == 403
    assert site.record("auditor", **share()).status_code == 403
    made = site.record("service", **share()).json()
    compelled = site.record("privacy_officer", **order()).json()
    assert site.step(compelled["id"], "service", note="x", to="legal_review").status_code == 403
    assert site.step(compelled["id"], "auditor", note="x", to="legal_review").status_code == 403
    # the registers are read by the privacy team and auditors, not by a brand's system
    assert site.get("auditor", "/v1/disclosures").status_code == 200
    assert site.get("auditor", f"/v1/disclosures/{made['id']}").status_code == 200
    assert site.get("service", "/v1/disclosures").status_code == 403
    assert site.get("support", f"/v1/disclosures/{made['id']}").status_code == 403
    assert site.client.get("/v1/disclosures").status_code == 401
    # documents: names and sizes for whoever reads the register, the bytes for the team only
    document = compelled["history"][0]["documents"][0]["id"]
    path = f"/v1/disclosures/{compelled['id']}/documents/{document}"
    assert site.get("auditor", path).status_code == 403
    assert site.get("privacy_officer", path).content == ORDER_PDF


def test_the_ledger_filters_by_kind_status_and_recipient(site: Site) -> None:
    first = site.record(**share()).json()
    second = site.record(**share(occurred_at="2026-04-01T10:00:00Z")).json()
    compelled = site.record("privacy_officer", **order()).json()
    assert site.get("auditor", "/v1/disclosures", kind="xyz").status_code == 422
    assert site.get("auditor", "/v1/disclosures", recipient="shop\x00").status_code == 422

    def ids(**filters: str) -> list[str]:
        answer = site.get("auditor", "/v1/disclosures", **filters)
        assert answer.status_code == 200, answer.text
        return [d["id"] for d in answer.json()["disclosures"]]

    assert ids() == [second["id"], compelled["id"], first["id"]]  # newest first
    assert ids(kind="court_order") == ids(status="received") == [compelled["id"]]
    assert ids(recipient="shop_host", status="disclosed") == [second["id"], first["id"]]
    assert ids(recipient="group_parent") == []
    assert (
        site.get("auditor", "/v1/disclosures", limit="1").json()["disclosures"][0]["id"]
        == (second["id"])
    )


# -- the workflow -----------------------------------------------------------------------------


def test_a_court_order_runs_its_workflow_with_documents_to_disclosure(site: Site) -> None:
    made = site.record("privacy_officer", **order())
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]

    def refused(answer: Any, code: str, field: str) -> None:
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == code
        assert answer.json()["error"]["message"].startswith(f"{field}:")

    # nothing is disclosed before review and scope
    refused(site.step(order_id, note="send it", to="disclosed"), "not_allowed_now", "to")
    reviewed = site.step(
        order_id,
        to="legal_review",
        note="Legal checks the court's competence.",
        documents=[{"name": "Review memo", "reference": "Legal DMS 2026-0043"}],
    )
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "legal_review"
    # the scope needs the legal reference, and may not widen what was asked
    refused(site.step(order_id, note="ok", to="scope_decided"), "invalid_value", "legal_reference")
    refused(
        site.step(
            order_id,
            note="ok",
            to="scope_decided",
            legal_reference="Order 12/2026",
            categories=["user.contact.email", "user.content.private"],
        ),
        "invalid_value",
        "categories",
    )
    decided = site.step(
        order_id,
        to="scope_decided",
        note="Competent court; only the e-mail address is needed.",
        legal_reference="Order 12/2026 of the District Court of Springfield",
        categories=["user.contact.email"],
        occurred_at="2026-03-03T09:00:00Z",
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["scope"] == ["user.contact.email"]
    assert decided.json()["decided_at"] == "2026-03-03T09:00:00Z"
    answer_text = b"Answer to the court: the address on file."
    answer = base64.b64encode(answer_text).decode()
    done = site.step(
        order_id,
        to="disclosed",
        note="Sent by registered mail.",
        documents=[{"name": "answer.txt", "content_base64": answer}],
        occurred_at="2026-03-04T09:00:00Z",
    )
    assert done.status_code == 200, done.text
    view = done.json()
    assert view["status"] == "disclosed" and view["next"] == []
    assert view["disclosed_at"] == "2026-03-04T09:00:00Z"
    assert [(e["kind"], e["status"]) for e in view["history"]] == [
        ("recorded", "received"),
        ("moved", "legal_review"),
        ("moved", "scope_decided"),
        ("moved", "disclosed"),
    ]
    refused(
        site.step(order_id, note="again", to="refused", reasons="late"), "not_allowed_now", "to"
    )
    # a note or a document may still be added, the status stays
    noted = site.step(order_id, note="Court acknowledged receipt.")
    assert noted.json()["status"] == "disclosed" and noted.json()["history"][-1]["kind"] == "noted"
    # every document, listed by name and size; the upload comes back byte for byte
    read = site.get("auditor", f"/v1/disclosures/{order_id}").json()
    documents = [d for e in read["history"] for d in e["documents"]]
    assert [(d["name"], d["size"]) for d in documents] == [
        ("order-12-2026.pdf", len(ORDER_PDF)),
        ("Cover letter", 0),
        ("Review memo", 0),
        ("answer.txt", len(answer_text)),
    ]
    assert documents[2]["reference"] == "Legal DMS 2026-0043"
    download = site.get(
        "privacy_officer", f"/v1/disclosures/{order_id}/documents/{documents[0]['id']}"
    )
    assert download.status_code == 200 and download.content == ORDER_PDF
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == 'attachment; filename="order-12-2026.pdf"'
    reference = site.get(
        "privacy_officer", f"/v1/disclosures/{order_id}/documents/{documents[1]['id']}"
    )
    assert reference.status_code == 404
    assert reference.json()["error"]["code"] == "document_not_uploaded"
    # sealed: neither the document nor the notes are readable in the database
    with site.charter.store.read() as connection:
        stored = connection.execute(select(disclosure_documents.c.content_sealed)).all()
        notes = connection.execute(select(disclosure_events.c.note_sealed)).all()
    assert all(ORDER_PDF not in bytes(row[0] or b"") for row in stored)
    assert all(b"registered mail" not in bytes(row[0] or b"") for row in notes)


def test_a_refusal_states_its_reasons(site: Site) -> None:
    request_id = site.record("privacy_officer", **order(kind="authority_request")).json()["id"]
    site.step(request_id, to="legal_review", note="Checking the request.")
    no_reasons = site.step(request_id, to="refused", note="Refused.")
    assert no_reasons.status_code == 422
    assert no_reasons.json()["error"]["message"].startswith("reasons:")
    refused = site.step(
        request_id,
        to="refused",
        note="Refused after review.",
        reasons="The request names no legal basis and no court order was shown.",
    )
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "refused" and refused.json()["decided_at"] is not None
    assert refused.json()["history"][-1]["reasons"].startswith("The request names no legal basis")
    assert refused.json()["disclosed_at"] is None


def test_the_audit_log_records_each_change_without_personal_data(site: Site) -> None:
    order_id = site.record("privacy_officer", **order()).json()["id"]
    site.step(order_id, to="legal_review", note="Legal checks it for Ann Example.")
    document = site.get("privacy_officer", f"/v1/disclosures/{order_id}").json()["history"][0]
    site.get(
        "privacy_officer",
        f"/v1/disclosures/{order_id}/documents/{document['documents'][0]['id']}",
    )
    with site.charter.store.read() as connection:
        rows = connection.execute(
            select(audit_events.c.action, audit_events.c.target, audit_events.c.details).where(
                audit_events.c.action.like("disclosure.%")
            )
        ).all()
    assert [(r.action, r.target) for r in rows] == [
        ("disclosure.recorded", order_id),
        ("disclosure.step", order_id),
        ("disclosure.document_read", order_id),
    ]
    assert rows[0].details["kind"] == "court_order" and rows[0].details["identities"] == 1
    assert rows[1].details["from"] == "received" and rows[1].details["to"] == "legal_review"
    text = json.dumps([r.details for r in rows])
    for personal in (ANN, "Ann Example", "Springfield", "order-12-2026"):
        assert personal not in text
    assert site.charter.audit.verify() is None


# -- the person's access report and the notices of an erasure ---------------------------------


def code_for(outbox: Path, request_id: str) -> str:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
        found = re.search(r"^\s+(\d{6})$", body, re.M)
        if request_id in body and found:
            return found.group(1)
    raise AssertionError(f"no code for {request_id}")


def file_verified(site: Site, kind: str, who: str) -> tuple[str, str]:
    filed = site.client.post(
        "/v1/requests", json={"type": kind, "brand": "acme", "identities": {"email": who}}
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    verified = site.client.post(
        f"/v1/requests/{request_id}/verify", json={"code": code_for(site.outbox, request_id)}
    )
    assert verified.status_code == 200, verified.text
    return request_id, verified.json()["access_token"]


def package_of(site: Site, who: str) -> tuple[str, dict[str, Any]]:
    request_id, token = file_verified(site, "access", who)
    site.charter.rights.run(request_id)
    answer = site.client.get(
        f"/v1/requests/{request_id}/package", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    with zipfile.ZipFile(io.BytesIO(answer.content)) as package:
        return package.read("report.html").decode(), json.loads(package.read("data.json"))


def disclosed_table(report: str) -> str:
    """The report's section "Disclosures we actually made"."""
    start = report.index("<h3>Disclosures we actually made</h3>")
    return report[start : report.index("</section>", start)]


def test_the_access_report_lists_the_disclosures_about_that_person_only(site: Site) -> None:
    site.charter.submit(
        "purchase",
        brand="acme",
        identities={"email": ANN, "account_id": "acct-ann"},
        data={"name": "Ann Example", "shipping_address": "1 Main St"},
    )
    site.charter.submit("marketing_signup", brand="acme", identities={"email": BOB})
    # about Ann, by an identity of hers other than the one her request names
    site.record(**share(identities={"account_id": "acct-ann"}))
    court = site.record("privacy_officer", **order()).json()["id"]
    for to, extra in (
        ("legal_review", {}),
        ("scope_decided", {"legal_reference": "Order 12/2026"}),
        ("disclosed", {}),
    ):
        assert site.step(court, to=to, note="done", **extra).status_code == 200
    gagged = site.record(
        "privacy_officer",
        **order(
            kind="authority_request",
            authority="Springfield Police, fraud unit",
            legal_reference="Production order PO-7",
            confidential=True,
            documents=[],
        ),
    ).json()["id"]
    for to in ("legal_review", "scope_decided", "disclosed"):
        assert site.step(gagged, to=to, note="done").status_code == 200
    pending = site.record("privacy_officer", **order(authority="Another court")).json()["id"]
    site.record(
        **share(
            kind="affiliate_share",
            recipient="group_parent",
            purposes=["support"],
            identities={"email": BOB},
        )
    )

    report, data = package_of(site, ANN)
    listed = data["disclosures"]
    assert [(x["recipient"], x["kind"]) for x in listed] == [
        ("shop_host", "processor_share"),
        ("authorities", "court_order"),
    ]
    assert listed[1]["recipient_name"] == "District Court of Springfield"
    assert listed[1]["legal_reference"] == "Order 12/2026"
    assert listed[1]["categories"] == ["user.name", "user.contact"]
    assert listed[0]["reason"] == "Order fulfilment"
    table = disclosed_table(report)
    assert "Shop hosting provider" in table and "Court order" in table
    assert "Order 12/2026" in table
    # the gagged request, the one still under review and Bob's are not Ann's to see now
    for absent in ("Springfield Police", "PO-7", "Another court", "Example Holdings"):
        assert absent not in json.dumps(listed) and absent not in table

    # once the confidentiality is lifted, the next report says it
    lifted = site.step(gagged, note="The gag order expired.", confidential=False)
    assert lifted.status_code == 200 and lifted.json()["confidential"] is False
    report, data = package_of(site, ANN)
    assert [x["recipient_name"] for x in data["disclosures"]][-1] == (
        "Springfield Police, fraud unit"
    )
    assert "PO-7" in disclosed_table(report)
    assert pending  # recorded, still received: never listed

    _, bobs = package_of(site, BOB)
    assert [(x["recipient"], x["kind"]) for x in bobs["disclosures"]] == [
        ("group_parent", "affiliate_share")
    ]


def test_an_erasure_notifies_the_recipients_a_disclosure_reached(site: Site) -> None:
    for who in (ANN, BOB):
        site.charter.submit("marketing_signup", brand="acme", identities={"email": who})
    # a product of Ann's went to the repair partner: nothing Charter holds says so but this
    site.record(
        **share(
            recipient="repair_partner",
            categories=["user.device.device_id"],
            purposes=["support"],
            identities={"email": ANN},
        )
    )
    steps, notices = {}, {}
    for who in (ANN, BOB):
        request_id, _ = file_verified(site, "erasure", who)
        approved = site.post("privacy_officer", f"/v1/requests/{request_id}/approve", {})
        assert approved.status_code == 200
        site.charter.outbox.deliver()
        site.charter.rights.run(request_id)
        # read before delivery: once the erasure's mail has gone, the outbox folder forgets
        # every message naming the person, this notice included
        notices[who] = queued(site.charter, "recipient_notice")
        site.charter.outbox.deliver()
        view = site.get("privacy_officer", f"/v1/requests/{request_id}").json()
        assert view["status"] == "completed", view
        steps[who] = [(s["system"], s["target"], s["action"]) for s in view["steps"]]
    assert ("recipients", "repair_partner", "notify") in steps[ANN]
    assert [s for s in steps[BOB] if s[0] == "recipients"] == []
    assert [m["to"] for m in notices[ANN]] == ["privacy@fixit.example.org"]
    assert "erase" in notices[ANN][0]["subject"] and ANN in notices[ANN][0]["body"]
    assert notices[BOB] == []


def queued(charter: Charter, kind: str) -> list[dict[str, Any]]:
    """The messages of ``kind`` waiting in the outbox, opened."""
    with charter.store.read() as connection:
        rows = connection.execute(select(outbox).where(outbox.c.kind == kind)).all()
    found = []
    for row in rows:
        key = charter.store.vault.unwrap("outbox", bytes(row.key_wrapped))
        found.append(Vault.open(key, "outbox", "message", bytes(row.message_sealed)))
    return found


# -- the console --------------------------------------------------------------------------------


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


@pytest.fixture
def console(settings: Settings, manifest_path: Path) -> Iterator[tuple[TestClient, Charter]]:
    initialise(settings)
    with Charter.open(settings) as charter:
        charter.staff.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        charter.staff.create_user("dpo@example.org", "Dana Diaz", "privacy_officer", PASSWORD)
        charter.staff.create_user("audit@example.org", "Avi Auditor", "auditor", PASSWORD)
        charter.staff.create_user("agent@example.org", "Sam Support", "support", PASSWORD)
        yield TestClient(create_app(settings, charter=charter), follow_redirects=False), charter


def log_in(client: TestClient, who: str) -> None:
    client.cookies.clear()
    page = client.get("/admin/login")
    answer = client.post(
        "/admin/login", data={"email": who, "password": PASSWORD, "csrf_token": csrf(page.text)}
    )
    assert answer.status_code == 303


def test_the_console_lists_shows_and_moves_a_court_order(
    console: tuple[TestClient, Charter],
) -> None:
    client, charter = console
    court = charter.disclosures.record(
        NewDisclosure(
            kind="court_order",
            recipient="authorities",
            authority="District Court of Springfield",
            categories=["user.name", "user.contact"],
            identities={"email": ANN},
            note="Served by post.",
            documents=[DocumentInput("order.pdf", ORDER_PDF, content_type="application/pdf")],
        ),
        "staff:test",
    )
    charter.disclosures.record(
        NewDisclosure(
            kind="processor_share",
            recipient="shop_host",
            categories=["user.name"],
            purposes=["order_fulfilment"],
        ),
        "token:test",
    )
    log_in(client, "audit@example.org")
    ledger = client.get("/admin/disclosures")
    assert ledger.status_code == 200
    assert "District Court of Springfield" in ledger.text and "Shop hosting provider" in ledger.text
    filtered = client.get("/admin/disclosures", params={"kind": "court_order"})
    assert "District Court" in filtered.text and "Shop hosting provider</td>" not in filtered.text
    assert client.get("/admin/disclosures", params={"kind": "nope"}).status_code == 422
    page = client.get(f"/admin/disclosures/{court.id}")
    assert page.status_code == 200 and "order.pdf" in page.text
    assert "/steps" not in page.text and "/documents/" not in page.text  # reads, acts not
    assert client.get(f"/admin/disclosures/{court.id}/documents/x").status_code == 403
    log_in(client, "agent@example.org")
    assert client.get("/admin/disclosures").status_code == 403

    log_in(client, "dpo@example.org")
    page = client.get(f"/admin/disclosures/{court.id}")
    assert '<option value="legal_review">' in page.text
    link = re.search(r'href="(/admin/disclosures/[^"]+/documents/[^"]+)"', page.text)
    assert link is not None and client.get(link.group(1)).content == ORDER_PDF
    token = csrf(page.text)
    moved = client.post(
        f"/admin/disclosures/{court.id}/steps",
        data={"csrf_token": token, "to": "legal_review", "note": "Legal checks it."},
        files={"document": ("memo.txt", b"memo", "text/plain")},
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/admin/disclosures/{court.id}?done=step"
    page = client.get(moved.headers["location"])
    assert "Step recorded." in page.text and "memo.txt" in page.text
    assert charter.disclosures.view(court.id).status == "legal_review"
    # a refusal without reasons is refused on the page, nothing changes
    refused = client.post(
        f"/admin/disclosures/{court.id}/steps",
        data={"csrf_token": token, "to": "refused", "note": "No."},
    )
    assert refused.status_code == 422 and "Reasons: a refusal states why" in refused.text
    assert charter.disclosures.view(court.id).status == "legal_review"
    # the scope, ticked from what was asked
    decided = client.post(
        f"/admin/disclosures/{court.id}/steps",
        data={
            "csrf_token": token,
            "to": "scope_decided",
            "note": "Only the name.",
            "legal_reference": "Order 12/2026",
            "scope": ["user.name"],
            "confidential": "yes",
        },
    )
    assert decided.status_code == 303, decided.text
    view = charter.disclosures.view(court.id)
    assert (view.status, view.scope, view.confidential) == ("scope_decided", ["user.name"], True)
    # without the CSRF token, nothing
    forged = client.post(
        f"/admin/disclosures/{court.id}/steps", data={"to": "disclosed", "note": "x"}
    )
    assert forged.status_code == 403
    assert charter.disclosures.view(court.id).status == "scope_decided"
    missing = client.get("/admin/disclosures/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


# -- the console's form for a request or an order received ---------------------------------------

NEW = "/admin/disclosures/new"


def court_order_form(token: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": token,
        "kind": "court_order",
        "authority": "District Court of Springfield",
        "note": "Served by post; asks for the account holder's name and contact details.",
        "legal_reference": "Order 12/2026",
        "brand": "acme",
        "email": ANN,
        "phone": "",
        "account_id": "",
        "categories": ["user.name", "user.contact"],
        "recipient": "authorities",
        "occurred_at": "2026-03-02T09:00",
        "confidential": "yes",
        "confidential_until": "2026-09-01",
    }
    return data | changes


def stored(charter: Charter) -> int:
    with charter.store.read() as connection:
        return int(connection.scalar(select(func.count()).select_from(disclosures)) or 0)


def test_the_console_form_records_a_court_order(console: tuple[TestClient, Charter]) -> None:
    client, charter = console
    log_in(client, "dpo@example.org")
    assert f'href="{NEW}"' in client.get("/admin/disclosures").text
    page = client.get(NEW)
    assert page.status_code == 200
    fields = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page.text)
    assert {"authority", "note", "email", "phone", "account_id", "document"} <= set(fields)
    for field in fields:
        assert f'<label for="{field}">' in page.text, field
    legends = re.findall(r"<legend>([^<]+)</legend>", page.text)
    assert len(legends) == page.text.count("<fieldset>") == 5
    # every checkbox and radio button sits in its label, inside a fieldset
    assert page.text.count('type="checkbox"') == page.text.count('<label><input type="checkbox"')
    assert page.text.count('type="radio"') == page.text.count('<label><input type="radio"')
    assert "style=" not in page.text and "<script" not in page.text
    assert '<option value="authorities">' in page.text
    assert '<option value="shop_host">' not in page.text  # authorities only
    assert 'value="user.contact"' in page.text and 'value="user.name"' in page.text
    assert re.search(
        r'id="occurred_at" name="occurred_at" value="\d{4}-\d\d-\d\dT\d\d:\d\d"', page.text
    )

    answer = client.post(
        NEW,
        data=court_order_form(csrf(page.text)),
        files={"document": ("order-12-2026.pdf", ORDER_PDF, "application/pdf")},
    )
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(
        r"/admin/disclosures/([0-9a-f-]{36})\?done=recorded", answer.headers["location"]
    )
    assert found is not None
    view = charter.disclosures.view(found.group(1))
    assert (view.kind, view.status, view.recipient, view.brand) == (
        "court_order",
        "received",
        "authorities",
        "acme",
    )
    assert (view.recipient_name, view.legal_reference) == (
        "District Court of Springfield",
        "Order 12/2026",
    )
    assert view.categories == ["user.name", "user.contact"] and view.about_a_person
    assert view.received_at.isoformat() == "2026-03-02T09:00:00+00:00"
    assert view.confidential and view.confidential_until is not None
    assert view.confidential_until.isoformat() == "2026-09-01T00:00:00+00:00"
    assert view.created_by.startswith("staff:")
    assert [(d.name, d.size) for d in view.documents] == [("order-12-2026.pdf", len(ORDER_PDF))]
    shown = client.get(answer.headers["location"])
    assert shown.status_code == 200
    assert "Recorded: the request starts as received." in shown.text
    assert "<dt>Status</dt><dd>received</dd>" in shown.text
    assert "order-12-2026.pdf" in shown.text and '<option value="legal_review">' in shown.text
    ledger = client.get("/admin/disclosures", params={"kind": "court_order"})
    assert "District Court of Springfield" in ledger.text
    assert "received (confidential)" in ledger.text
    # the person is known by the keyed hash of the address only
    with charter.store.read() as connection:
        lookups = connection.scalars(select(disclosure_identities.c.lookup)).all()
    assert [x.split(":")[0] for x in lookups] == ["email"] and ANN not in str(lookups)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"email": ""}, "Give at least one identity."),
        (
            {"categories": ["user.name", "user.nonsense"]},
            "Categories: 'user.nonsense' is not a data category of the manifest.",
        ),
        ({"authority": "  "}, "Authority: name the authority or court that asks."),
        ({"kind": "processor_share"}, "Kind: an authority's request or a court order."),
        ({"recipient": "shop_host"}, "Recipient: 'shop_host' is a processor recipient"),
        ({"occurred_at": "2099-01-01T00:00"}, "Occurred_at: lies in the future."),
        ({"confidential": ""}, "Confidential_until: goes with confidential: true."),
    ],
)
def test_a_refused_record_shows_the_form_again_with_the_reason(
    console: tuple[TestClient, Charter], changes: dict[str, Any], reason: str
) -> None:
    client, charter = console
    log_in(client, "dpo@example.org")
    token = csrf(client.get(NEW).text)
    answer = client.post(
        NEW,
        data=court_order_form(token, note="Served by fax.", **changes),
        files={"document": ("order.pdf", ORDER_PDF, "application/pdf")},
    )
    assert answer.status_code == 422
    text = html.unescape(answer.text)
    assert '<div class="error" role="alert">' in answer.text and reason in text
    # what was typed comes back
    assert ">Served by fax.</textarea>" in text and 'name="legal_reference"' in text
    assert 'value="Order 12/2026"' in text and "<form" in text
    assert stored(charter) == 0


def test_only_the_privacy_team_sees_and_posts_the_form(
    console: tuple[TestClient, Charter],
) -> None:
    client, charter = console
    for who in ("audit@example.org", "agent@example.org"):
        log_in(client, who)
        token = csrf(client.get("/admin").text)
        assert client.get(NEW).status_code == 403
        assert client.post(NEW, data=court_order_form(token)).status_code == 403
    log_in(client, "audit@example.org")
    assert f'href="{NEW}"' not in client.get("/admin/disclosures").text
    client.cookies.clear()
    assert client.get(NEW).headers["location"] == "/admin/login"
    # the privacy team, without the form's CSRF token: refused too
    log_in(client, "dpo@example.org")
    forged = client.post(
        NEW, data={k: v for k, v in court_order_form("").items() if k != "csrf_token"}
    )
    assert forged.status_code == 403
    assert client.post(NEW, data=court_order_form("not-the-token")).status_code == 403
    assert stored(charter) == 0
