"""The staff console over HTTP (forms, no JavaScript): login, the queue, one request, the
privacy team's decisions, CSRF and roles."""

from __future__ import annotations

import datetime as dt
import email
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.services.breaches import NewBreach
from charter.services.consents import ConsentRequest
from charter.services.requests import NewRequest

PASSWORD = "correct horse battery"
OFFICER = "dpo@example.org"
SUPPORT = "agent@example.org"


class Console:
    def __init__(self, app: object, charter: Charter, outbox: Path) -> None:
        self.app = app
        self.charter = charter
        self.outbox = outbox

    def browser(self, base_url: str = "http://testserver") -> TestClient:
        return TestClient(self.app, base_url=base_url, follow_redirects=False)  # type: ignore[arg-type]

    def login(self, client: TestClient, who: str, password: str = PASSWORD) -> Response:
        page = client.get("/admin/login")
        return client.post(
            "/admin/login",
            data={"email": who, "password": password, "csrf_token": csrf(page.text)},
        )

    def logged_in(self, who: str) -> TestClient:
        client = self.browser()
        assert self.login(client, who).status_code == 303
        return client

    def at(self, moment: dt.datetime) -> None:
        """Move the requests' clock (sessions keep the real one)."""
        self.charter.requests.clock = self.charter.outbox.clock = lambda: moment

    def file(self, kind: str, person: str, jurisdiction: str | None = None) -> str:
        received = self.charter.requests.submit(
            NewRequest(kind, "acme", {"email": person}, jurisdiction=jurisdiction)
        )
        return received.id

    def file_and_verify(self, kind: str, person: str) -> str:
        request_id = self.file(kind, person)
        self.charter.requests.verify(request_id, self.code_for(request_id))
        return request_id

    def code_for(self, request_id: str) -> str:
        for path in sorted(self.outbox.glob("*.eml"), reverse=True):
            body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
            found = re.search(r"^\s+(\d{6})$", body, re.M)
            if request_id in body and found:
                return found.group(1)
        raise AssertionError(f"no code for {request_id}")

    def last_mail(self) -> str:
        newest = sorted(self.outbox.glob("*.eml"))[-1]
        return str(email.message_from_bytes(newest.read_bytes()).get_payload(decode=True).decode())  # type: ignore[union-attr]


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


@pytest.fixture
def console(settings: Settings, manifest_path: Path) -> Iterator[Console]:
    # One system with no connector, so that a request has a step for staff to confirm.
    text = manifest_path.read_text()
    manifest_path.write_text(
        text[: text.index("systems:")]
        + "systems:\n  archive: {name: Paper archive, connector: manual}\n"
    )
    initialise(settings)
    with Charter.open(settings) as charter:
        charter.staff.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        charter.staff.create_user(OFFICER, "Dana Diaz", "privacy_officer", PASSWORD)
        charter.staff.create_user(SUPPORT, "Sam Support", "support", PASSWORD)
        charter.staff.create_user("shop@example.org", "Web shop", "service", PASSWORD)
        yield Console(create_app(settings, charter=charter), charter, settings.outbox_dir)


def test_the_login_page_is_labelled_self_contained_and_never_cached(console: Console) -> None:
    page = console.browser().get("/admin/login")
    assert page.status_code == 200
    assert '<label for="email">' in page.text and '<label for="password">' in page.text
    assert '<html lang="en">' in page.text and 'href="#main"' in page.text
    assert "<script" not in page.text and "http" not in page.text  # nothing from elsewhere
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["content-security-policy"] == (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    assert "<style" not in page.text and "style=" not in page.text  # the CSP would block them


def test_a_wrong_password_and_an_unknown_email_get_the_same_message(console: Console) -> None:
    client = console.browser()
    wrong = console.login(client, OFFICER, "not the password")
    unknown = console.login(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "The e-mail or password is wrong"
    assert message in wrong.text and message in unknown.text
    assert 'role="alert"' in wrong.text
    assert "charter_staff=" not in wrong.headers.get("set-cookie", "")
    assert "not the password" not in wrong.text  # the password never comes back
    assert f'value="{OFFICER}"' in wrong.text  # the e-mail does, to correct it


def test_login_sets_a_strict_http_only_cookie_for_admin_only(console: Console) -> None:
    client = console.browser()
    answer = console.login(client, OFFICER)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("charter_staff=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # plain http (a developer's machine)
    secure = console.browser("https://testserver")
    over_https = console.login(secure, OFFICER)
    cookie = next(
        c for c in over_https.headers.get_list("set-cookie") if c.startswith("charter_staff=")
    )
    assert "Secure" in cookie
    assert client.get("/admin/login").headers["location"] == "/admin"  # already logged in


def test_the_login_form_needs_the_token_its_page_set(console: Console) -> None:
    client = console.browser()
    forged = client.post(
        "/admin/login", data={"email": OFFICER, "password": PASSWORD, "csrf_token": "x"}
    )
    assert forged.status_code == 403
    assert "charter_staff=" not in forged.headers.get("set-cookie", "")


def test_anonymous_pages_send_to_the_login(console: Console) -> None:
    request_id = console.file("access", "ann@example.org")
    client = console.browser()
    for path in ("/admin", f"/admin/requests/{request_id}"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/login"
    assert client.post(f"/admin/requests/{request_id}/approve", data={}).status_code == 403


def test_the_queue_lists_overdue_requests_first(console: Console) -> None:
    start = dt.datetime.now(dt.UTC)
    console.at(start)
    extended = console.file("access", "early@example.org")
    console.charter.requests.extend(extended, "staff:test", "Several archives to search.")
    console.at(start + dt.timedelta(days=1))
    late = console.file("access", "late@example.org")  # filed later, due first
    now = start + dt.timedelta(days=32)
    console.at(now)
    client = console.logged_in(OFFICER)
    page = client.get("/admin/requests")
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert page.text.index(late) < page.text.index(extended)
    rows = re.findall(r"<tr>(.*?)</tr>", page.text, re.S)
    late_row = next(r for r in rows if late in r)
    extended_row = next(r for r in rows if extended in r)
    assert "overdue" in late_row and "overdue" not in extended_row
    due = console.charter.requests.view(extended).due_at
    assert f"<td>{(due - now).days}</td>" in extended_row
    assert f'href="/admin/requests/{late}"' in late_row
    assert "access" in late_row and "acme" in late_row and "awaiting verification" in late_row
    assert "Dana Diaz" in page.text


def test_approve_from_the_request_page(console: Console) -> None:
    request_id = console.file_and_verify("erasure", "ann@example.org")
    client = console.logged_in(OFFICER)
    page = client.get(f"/admin/requests/{request_id}")
    assert page.status_code == 200
    assert "awaiting approval" in page.text and f"{request_id}/approve" in page.text
    assert "Answer due" in page.text and "History" in page.text
    token = csrf(page.text)
    missing = client.post(f"/admin/requests/{request_id}/approve", data={})
    wrong = client.post(f"/admin/requests/{request_id}/approve", data={"csrf_token": "x" * 43})
    assert missing.status_code == wrong.status_code == 403
    assert console.charter.requests.view(request_id).status == "awaiting_approval"
    approved = client.post(f"/admin/requests/{request_id}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    assert approved.headers["location"] == f"/admin/requests/{request_id}?done=approved"
    view = console.charter.requests.view(request_id)
    assert view.status == "in_progress"
    user_id = console.charter.staff.login(OFFICER, PASSWORD).user.id
    assert (view.history[-1].kind, view.history[-1].actor) == ("approved", f"staff:{user_id}")
    after = client.get(approved.headers["location"])
    assert "Approved: the request is being carried out." in after.text
    assert f"{request_id}/approve" not in after.text  # nothing left to approve


def test_extend_and_refuse_from_the_request_page(console: Console) -> None:
    request_id = console.file_and_verify("access", "ann@example.org")
    before = console.charter.requests.view(request_id).due_at
    client = console.logged_in(OFFICER)
    page = client.get(f"/admin/requests/{request_id}")
    assert f"{request_id}/approve" not in page.text  # access needs no approval
    token = csrf(page.text)
    extended = client.post(
        f"/admin/requests/{request_id}/extend",
        data={"csrf_token": token, "reasons": "Your data sits in several archives."},
    )
    assert extended.status_code == 303
    assert console.charter.requests.view(request_id).due_at > before
    assert "several archives" in console.last_mail()
    page = client.get(extended.headers["location"])
    assert f"{request_id}/extend" not in page.text  # once only
    no_reasons = client.post(
        f"/admin/requests/{request_id}/reject", data={"csrf_token": token, "reasons": " "}
    )
    assert no_reasons.status_code == 422 and 'role="alert"' in no_reasons.text
    refused = client.post(
        f"/admin/requests/{request_id}/reject",
        data={"csrf_token": token, "reasons": "We could not confirm that it comes from you."},
    )
    assert refused.status_code == 303
    assert console.charter.requests.view(request_id).status == "rejected"
    assert "complain" in console.last_mail()
    closed = client.get(refused.headers["location"])
    assert "Refused" in closed.text and f"{request_id}/reject" not in closed.text
    again = client.post(f"/admin/requests/{request_id}/approve", data={"csrf_token": token})
    assert again.status_code == 422 and "cannot approve" in again.text


def test_a_step_done_by_hand_is_confirmed_from_the_request_page(console: Console) -> None:
    request_id = console.file_and_verify("access", "ann@example.org")
    assert console.charter.rights.run(request_id) == "in_progress"
    client = console.logged_in(OFFICER)
    page = client.get(f"/admin/requests/{request_id}")
    seq = next(
        s.seq for s in console.charter.requests.view(request_id).steps if s.action == "manual"
    )
    assert f"/steps/{seq}/confirm" in page.text and "awaiting staff" in page.text
    empty = client.post(
        f"/admin/requests/{request_id}/steps/{seq}/confirm",
        data={"csrf_token": csrf(page.text), "note": ""},
    )
    assert empty.status_code == 422
    done = client.post(
        f"/admin/requests/{request_id}/steps/{seq}/confirm",
        data={"csrf_token": csrf(page.text), "note": "No paper file for this person."},
    )
    assert done.status_code == 303
    assert console.charter.requests.view(request_id).status == "completed"


def test_support_sees_requests_but_cannot_decide(console: Console) -> None:
    request_id = console.file_and_verify("erasure", "ann@example.org")
    client = console.logged_in(SUPPORT)
    assert client.get("/admin").status_code == 200
    page = client.get(f"/admin/requests/{request_id}")
    assert page.status_code == 200 and "awaiting approval" in page.text
    assert "/approve" not in page.text and "/reject" not in page.text
    token = csrf(page.text)  # the logout form's
    for action, data in (
        ("approve", {}),
        ("reject", {"reasons": "no"}),
        ("extend", {"reasons": "x"}),
    ):
        refused = client.post(
            f"/admin/requests/{request_id}/{action}", data={"csrf_token": token, **data}
        )
        assert refused.status_code == 403, action
    assert console.charter.requests.view(request_id).status == "awaiting_approval"
    service = console.logged_in("shop@example.org")
    assert service.get("/admin").status_code == 403


def test_logout_ends_the_session(console: Console) -> None:
    client = console.logged_in(OFFICER)
    page = client.get("/admin")
    stolen = client.cookies["charter_staff"]
    forged = client.post("/admin/logout", data={"csrf_token": "x"})
    assert forged.status_code == 403
    out = client.post("/admin/logout", data={"csrf_token": csrf(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/admin/login"
    assert client.get("/admin").status_code == 303
    replay = console.browser()
    replay.cookies.set("charter_staff", stolen, path="/admin")
    assert replay.get("/admin").status_code == 303  # the old cookie opens nothing


def test_the_manifest_says_which_types_wait_for_approval(
    settings: Settings, manifest_path: Path
) -> None:
    text = manifest_path.read_text()
    manifest_path.write_text(
        text.replace("  child_age: 18\n", "  child_age: 18\n  approval_required: [access]\n")
    )
    initialise(settings)
    with Charter.open(settings) as charter:
        console = Console(None, charter, settings.outbox_dir)
        assert (
            console.charter.requests.view(
                console.file_and_verify("access", "ann@example.org")
            ).status
            == "awaiting_approval"
        )
        erasure = console.file_and_verify("erasure", "bob@example.org")
        assert console.charter.requests.view(erasure).status == "verified"


def test_the_privacy_team_cancels_an_improper_child_registration(console: Console) -> None:
    kid = "kid@example.org"
    console.charter.submit(
        "support", brand="acme", identities={"email": kid}, data={"date_of_birth": "1990-01-01"}
    )
    support = console.logged_in(SUPPORT)
    assert support.get("/admin/children").status_code == 403
    client = console.logged_in(OFFICER)
    page = client.get("/admin/children")
    assert page.status_code == 200
    assert "Improper child registration" in page.text and '<label for="note">' in page.text
    form = {"csrf_token": csrf(page.text), "brand": "acme", "kind": "email", "value": kid}
    note = {"note": "A parent phoned: the child is 12."}
    unsure = client.post("/admin/children/cancellations", data={**form, **note})
    assert unsure.status_code == 422 and "tick the box" in unsure.text.lower()
    nobody = {**form, **note, "value": "nobody@example.org", "sure": "yes"}
    assert client.post("/admin/children/cancellations", data=nobody).status_code == 404
    forged = {**form, **note, "sure": "yes", "csrf_token": "x"}
    assert client.post("/admin/children/cancellations", data=forged).status_code == 403
    done = client.post("/admin/children/cancellations", data={**form, **note, "sure": "yes"})
    assert done.status_code == 303
    request_page = client.get(done.headers["location"])
    assert "account is cancelled" in request_page.text
    assert "staff action" in request_page.text and "A parent phoned" in request_page.text
    # The paper archive is done by hand; Charter's own erasure follows its confirmation.
    request_id = done.headers["location"].split("/")[-1].split("?")[0]
    seq = next(
        s.seq for s in console.charter.requests.view(request_id).steps if s.action == "manual"
    )
    client.post(
        f"/admin/requests/{request_id}/steps/{seq}/confirm",
        data={"csrf_token": csrf(request_page.text), "note": "No paper file."},
    )
    assert console.charter.requests.view(request_id).status == "completed"
    decided = console.charter.decide("support", brand="acme", identities={"email": kid})
    assert decided.reason == "unknown_subject"


def test_the_dashboard_shows_days_left_consent_rates_and_the_last_sweep(
    console: Console,
) -> None:
    client = console.logged_in(OFFICER)
    empty = client.get("/admin")
    assert empty.status_code == 200
    assert "Nobody has answered a consent request yet." in empty.text
    assert "No retention sweep has run yet" in empty.text

    start = dt.datetime.now(dt.UTC)
    console.at(start - dt.timedelta(days=40))
    console.file("access", "late@example.org")  # overdue by now
    console.at(start)
    console.file("access", "new@example.org")  # 30 days left
    notice = "Send me news and offers by email. You can unsubscribe at any time."
    for person, action in (("a", "give"), ("b", "give"), ("c", "give"), ("d", "withdraw")):
        console.charter.submit(
            "marketing_signup",
            brand="acme",
            identities={"email": f"{person}@example.org"},
            consents=[{"purpose": "marketing_email", "notice": notice}],
        )
        if action == "withdraw":
            console.charter.record_consent(
                ConsentRequest(
                    brand="acme",
                    identities={"email": f"{person}@example.org"},
                    purpose="marketing_email",
                    action="withdraw",
                    notice=notice,
                )
            )
    console.charter.retention.sweep()

    page = client.get("/admin")
    bands = dict(
        re.findall(
            r"<tr><td>(?:<span[^>]*>)?([^<]+)(?:</span>)?</td><td>(\d+)</td></tr>", page.text
        )
    )
    assert bands == {
        "overdue": "1",
        "0-3 days": "0",
        "4-7 days": "0",
        "8-14 days": "0",
        "15+ days": "1",
    }
    assert '<span class="overdue">overdue</span>' in page.text
    assert "<td>marketing_email</td><td>acme</td><td>3</td><td>4</td><td>75%</td>" in page.text
    assert "75% of 4" in page.text  # the chart's label for the bar
    assert (
        "Last sweep" in page.text
        and "<caption>The last sweep, per retention rule</caption>" in page.text
    )
    assert "<svg" in page.text and "style=" not in page.text
    assert '<a href="/admin/requests">' in page.text


def test_the_dashboard_lists_open_breaches_by_hours_left(console: Console) -> None:
    client = console.logged_in(OFFICER)
    assert "No open breach." in client.get("/admin").text
    now = dt.datetime.now(dt.UTC)
    for title, hours_ago, risk in (
        ("Laptop stolen", 60, "risk"),
        ("Mail sent to the wrong list", 5, "high_risk"),
    ):
        console.charter.breaches.record(
            NewBreach(
                title=title,
                description="What happened, for the register.",
                aware_at=now - dt.timedelta(hours=hours_ago),
                systems=["charter"],
                categories=["user.contact.email"],
                risk=risk,
                risk_reasons="Addresses exposed.",
                consequences="Unwanted mail.",
                measures="Access revoked.",
            ),
            "staff:test",
        )
    page = client.get("/admin").text
    rows = re.findall(
        r"<tr><td><a href=\"/admin/breaches/[^\"]+\">([^<]+)</a></td>(.*?)</tr>", page, re.S
    )
    assert [title for title, _ in rows] == [
        "Laptop stolen",
        "Mail sent to the wrong list",
    ]  # due first
    # 12 and 67 hours after recording, less the moments since: whole hours, rounded down
    assert '<span class="overdue">11 h left</span>' in rows[0][1]  # a day or less: marked
    assert "<td>66 h left</td>" in rows[1][1]


def test_the_records_of_processing_page(console: Console) -> None:
    support = console.logged_in(SUPPORT)
    assert support.get("/admin/ropa").status_code == 403
    page = console.logged_in(OFFICER).get("/admin/ropa")
    assert page.status_code == 200
    assert "Records of processing activities (5)" in page.text  # one per purpose of the manifest
    assert "Marketing emails" in page.text and "Shop hosting provider" in page.text
    assert "Security measures (Art. 32)" in page.text
