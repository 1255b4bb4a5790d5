"""Policy versions: publishing (CLI and API), the diff, the public pages, and the notices a
material change owes to the people it concerns, with the consent link they carry."""

from __future__ import annotations

import datetime as dt
import email
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from charter.cli import app
from charter.config import Settings
from charter.facade import Charter
from charter.services import policy_versions as service
from charter.storage.tables import consent_events, outbox, policy_versions

FIXTURES = Path(__file__).parent.parent / "fixtures"
EXAMPLE = Path(__file__).parents[2] / "examples" / "musicgroup" / "charter.yaml"
V1 = (FIXTURES / "minimal.yaml").read_text()
runner = CliRunner()


def edited(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


V2 = edited(
    V1,
    ('version: "2026.1"', 'version: "2026.2"'),
    ("    email: privacy@example.org\n", "    email: dpo@example.org\n"),
    # a new purpose resting on consent, used at the shop's checkout
    (
        "  site_analytics:\n",
        "  surveys:\n"
        "    name: Customer surveys\n"
        "    description: Ask buyers what they think of their purchase.\n"
        "    data_use: marketing.communications.email\n"
        "    legal_basis: consent\n"
        "    categories: [user.contact.email, user.contact.address]\n"
        "    notice: Ask me by e-mail what I think of what I bought.\n"
        "  site_analytics:\n",
    ),
    (
        "    purposes: [order_fulfilment, marketing_email]\n",
        "    purposes: [order_fulfilment, marketing_email, surveys]\n",
    ),
    # support messages kept longer, and shared with a help desk abroad
    ("      period: P2Y\n", "      period: P3Y\n"),
    (
        "  public:\n",
        "  help_desk:\n"
        "    name: Help desk provider\n"
        "    kind: processor\n"
        "    description: Hosts the support tickets.\n"
        "    purposes: [support]\n"
        "    categories: [user.content.private]\n"
        "    country: US\n"
        "    transfer: {mechanism: standard_contractual_clauses, module: 2}\n"
        "  public:\n",
    ),
)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def mails(folder: Path) -> dict[str, str]:
    """Each delivered message's body by its recipient."""
    found = {}
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        body = message.get_payload(decode=True)
        assert isinstance(body, bytes)
        found[str(message["To"])] = body.decode()
    return found


# -- the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def example(workdir: Path) -> Path:
    shutil.copy(EXAMPLE, workdir / "charter.yaml")
    assert runner.invoke(app, ["init"]).exit_code == 0
    return workdir / "charter.yaml"


def test_publishing_the_example_once_then_a_reworded_version(example: Path) -> None:
    first = runner.invoke(app, ["policy", "publish"])
    assert first.exit_code == 0, first.output
    assert "published 2026.1, effective 2026-05-24 (the first version)" in first.stdout
    again = runner.invoke(app, ["policy", "publish"])
    assert again.exit_code == 0, again.output
    assert "2026.1 is already published with this content" in again.stdout

    text = example.read_text()
    example.write_text(edited(text, ("Resonance Music Group Privacy Policy", "Our Policy")))
    clash = runner.invoke(app, ["policy", "publish"])
    assert clash.exit_code == 1
    assert "version 2026.1 is already published with different content" in clash.stderr

    example.write_text(
        edited(
            text,
            ("Resonance Music Group Privacy Policy", "Our Policy"),
            ('version: "2026.1"', 'version: "2026.2"'),
        )
    )
    second = runner.invoke(app, ["policy", "publish"])
    assert second.exit_code == 0, second.output
    assert "published 2026.2, effective 2026-05-24 from 2026.1" in second.stdout
    assert "not material  Title: Resonance Music Group Privacy Policy -> Our Policy" in (
        second.stdout
    )
    diff = runner.invoke(app, ["policy", "diff", "2026.1", "2026.2"])
    assert diff.exit_code == 0, diff.output
    assert diff.stdout.splitlines() == [
        "2026.1 -> 2026.2: 1 change(s), 0 material",
        "  not material  Title: Resonance Music Group Privacy Policy -> Our Policy",
    ]


def test_diff_of_files_and_versions_and_its_bad_usage(example: Path, workdir: Path) -> None:
    assert runner.invoke(app, ["policy", "publish"]).exit_code == 0
    changed = workdir / "next.yaml"
    changed.write_text(
        edited(
            example.read_text(),
            ('version: "2026.1"', 'version: "2026.2"'),
            ("      period: P1Y\n", "      period: P2Y\n"),  # the first P1Y: IP addresses
        )
    )
    for old in ("charter.yaml", "2026.1"):
        answer = runner.invoke(app, ["policy", "diff", old, "next.yaml"])
        assert answer.exit_code == 0, answer.output
        assert answer.stdout.splitlines() == [
            "2026.1 -> 2026.2: 1 change(s), 1 material",
            "  material      Retention of ip addresses: 1 year from collection -> 2 years from "
            "collection",
        ]
    same = runner.invoke(app, ["policy", "diff", "2026.1", "charter.yaml"])
    assert same.exit_code == 0
    assert "no change to what the policy says" in same.stdout

    broken = workdir / "broken.yaml"
    broken.write_text("charter: 1\npolicy: [\n")
    bad_file = runner.invoke(app, ["policy", "diff", "broken.yaml", "charter.yaml"])
    assert bad_file.exit_code == 1
    assert "broken.yaml:" in bad_file.stderr and "not a valid manifest" in bad_file.stderr
    missing = runner.invoke(app, ["policy", "diff", "nosuch.yaml", "charter.yaml"])
    assert missing.exit_code == 2
    assert "OLD: no such file: nosuch.yaml" in missing.stderr
    unknown = runner.invoke(app, ["policy", "diff", "2026.1", "2031.9"])
    assert unknown.exit_code == 2
    assert "NEW: '2031.9' is neither a file nor a published version" in unknown.stderr
    assert runner.invoke(app, ["policy", "diff", "2026.1"]).exit_code == 2


def test_a_material_change_needs_notice_days_of_notice(workdir: Path) -> None:
    manifest = workdir / "charter.yaml"
    manifest.write_text(V1)
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["policy", "publish"]).exit_code == 0
    manifest.write_text(V2)
    too_soon = runner.invoke(
        app, ["policy", "publish", "--effective", str(today() + dt.timedelta(days=29))]
    )
    assert too_soon.exit_code == 1
    assert "version 2026.2 has 3 material change(s)" in too_soon.stderr
    assert f"on {today() + dt.timedelta(days=30)} at the earliest" in too_soon.stderr
    by_default = runner.invoke(app, ["policy", "publish"])  # policy.effective_date: long past
    assert by_default.exit_code == 1
    assert "notice_days" in by_default.stderr
    # nothing was recorded
    assert runner.invoke(app, ["policy", "diff", "2026.1", "2026.2"]).exit_code == 2

    bad_date = runner.invoke(app, ["policy", "publish", "--effective", "soon"])
    assert bad_date.exit_code == 2
    assert "--effective" in bad_date.output

    on_time = runner.invoke(
        app, ["policy", "publish", "--effective", str(today() + dt.timedelta(days=30))]
    )
    assert on_time.exit_code == 0, on_time.output
    assert "material      New purpose: Customer surveys (consent)" in on_time.stdout
    assert "notices: 0 people told, 0 consent(s) asked" in on_time.stdout  # nobody yet


def test_an_unsound_manifest_is_not_published(workdir: Path) -> None:
    manifest = workdir / "charter.yaml"
    manifest.write_text(V1)
    assert runner.invoke(app, ["init"]).exit_code == 0
    other = workdir / "unsound.yaml"
    other.write_text(
        edited(V1, ("    transfer: {mechanism: standard_contractual_clauses, module: 2}\n", ""))
    )
    answer = runner.invoke(app, ["policy", "publish", "--file", str(other)])
    assert answer.exit_code == 1
    assert "[transfer_mechanism]" in answer.stderr and "not publishing it" in answer.stderr


# -- notices to the people concerned -----------------------------------------------------------


@dataclass
class People:
    ann: str  # bought something: the new survey purpose concerns her e-mail and address
    bob: str  # wrote to support: longer retention, a new recipient of his messages
    eve: str  # signed up for the newsletter: nothing material concerns her
    carl: str  # wrote to support by phone only: concerned, but no address to tell him at


@pytest.fixture
def running_v2(manifest_path: Path) -> str:
    """The server runs version 2026.2 (written before the Charter is opened)."""
    manifest_path.write_text(V2)
    return V2


@pytest.fixture
def people(running_v2: str, charter: Charter) -> People:
    assert charter.policy_versions.publish(V1, actor="test").created
    submit = charter.submit
    return People(
        submit(
            "purchase",
            brand="acme",
            identities={"email": "ann@example.org"},
            data={"name": "Ann", "shipping_address": "1 Example Road"},
        ).subject_id,  # type: ignore[union-attr]
        submit(
            "support",
            brand="acme",
            identities={"email": "bob@example.org"},
            data={"message": "My speaker hums."},
        ).subject_id,  # type: ignore[union-attr]
        submit(
            "marketing_signup",
            brand="zeta",
            identities={"email": "eve@example.org"},
            data={"name": "Eve"},
        ).subject_id,  # type: ignore[union-attr]
        submit(
            "support",
            brand="acme",
            identities={"phone": "+1 401 555 0100"},
            data={"message": "Please call me back."},
        ).subject_id,  # type: ignore[union-attr]
    )


@pytest.fixture
def admin(charter: Charter) -> dict[str, str]:
    return {"Authorization": f"Bearer {charter.create_token('admin').token}"}


def in_30_days() -> str:
    return str(today() + dt.timedelta(days=30))


def consent_link(body: str) -> str:
    found = re.search(r"http://\S+(/policy/consent\?token=\S+)", body)
    assert found, body
    return found.group(1)


def test_the_notice_is_in_each_person_s_language(
    people: People, charter: Charter, client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    service_token = {"Authorization": f"Bearer {charter.create_token('service').token}"}
    gave = client.post(
        "/v1/consents",
        json={
            "brand": "acme",
            "identities": {"email": "bob@example.org"},
            "purpose": "marketing_email",
            "action": "give",
            "notice": "Send me news and offers by email.",
            "language": "fr",
        },
        headers=service_token,
    )
    assert gave.status_code == 201, gave.text
    answer = client.post("/v1/policy/versions", json={"effective": in_30_days()}, headers=admin)
    assert answer.status_code == 201, answer.text
    charter.outbox.deliver()
    sent = mails(settings.outbox_dir)
    effective = today() + dt.timedelta(days=30)
    french = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"]
    french += ["septembre", "octobre", "novembre", "décembre"]
    bob = sent["bob@example.org"]  # his latest consent was given in French
    assert bob.startswith("Bonjour,\n\nnous modifions notre politique de confidentialité.")
    when = f"{effective.day} {french[effective.month - 1]} {effective.year}"
    assert f"entre en vigueur le {when}." in bob
    assert "- Retention of support messages: 2 years from collection -> 3 years from" in bob
    assert "/policy/versions/2026.2" in bob and "Toutes les modifications : " in bob
    assert "Vous pouvez à tout moment vous opposer" in bob
    assert sent["ann@example.org"].startswith("Hello,\n\nwe are changing our privacy policy.")


def test_the_notice_goes_to_the_people_concerned_only(
    people: People, charter: Charter, client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    answer = client.post("/v1/policy/versions", json={"effective": in_30_days()}, headers=admin)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["created"] and body["version"] == "2026.2" and body["previous"] == "2026.1"
    assert body["notices"] == {"people": 2, "consent_asks": 1, "unreachable": 1}
    assert [c["text"] for c in body["changes"] if not c["material"]] == [
        "Contact details of the controller: now Example Group, Inc., 1 Example Road, "
        "Springfield, US, dpo@example.org"
    ]
    charter.outbox.deliver()
    sent = mails(settings.outbox_dir)
    assert sorted(sent) == ["ann@example.org", "bob@example.org"]
    ann, bob = sent["ann@example.org"], sent["bob@example.org"]
    effective = (today() + dt.timedelta(days=30)).strftime("%d %B %Y")
    assert f"takes effect on {effective}" in ann
    assert "- New purpose: Customer surveys (consent), using Email address, Postal address" in ann
    assert "Retention" not in ann and "Help desk" not in ann
    assert "/policy/versions/2026.2" in ann and "/policy/diff?from=2026.1&to=2026.2" in ann
    assert "Customer surveys needs your consent" in ann and consent_link(ann)
    assert "- Retention of support messages: 2 years from collection -> 3 years from" in bob
    assert "- New recipient: Help desk provider (processor) in US (standard contractual " in bob
    assert "/policy/consent" not in bob and "surveys" not in bob

    (event,) = [row for row in charter.audit.rows() if row.entry.action == "policy.published"][-1:]
    assert event.entry.target == "2026.2"
    assert event.entry.details == {"people": 2, "consent_asks": 1, "unreachable": 1}
    again = client.post("/v1/policy/versions", json={}, headers=admin)
    assert again.status_code == 200 and again.json()["created"] is False
    charter.outbox.deliver()
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 2  # nobody told twice


def test_the_consent_link_shows_then_records_the_consent(
    people: People, charter: Charter, client: TestClient, settings: Settings
) -> None:
    charter.policy_versions.publish(V2, effective=today() + dt.timedelta(days=30), actor="test")
    charter.outbox.deliver()
    link = consent_link(mails(settings.outbox_dir)["ann@example.org"])

    def consents() -> int:
        with charter.store.read() as connection:
            return int(
                connection.scalar(select(func.count()).where(consent_events.c.purpose == "surveys"))
                or 0
            )

    page = client.get(link)
    assert page.status_code == 200
    assert "Ask me by e-mail what I think of what I bought." in page.text
    assert "for Acme Audio" in page.text and "I agree" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert consents() == 0  # a GET changes nothing
    before = charter.decide("surveys", ["user.contact.email"], brand="acme", subject_id=people.ann)
    assert before.reason == "no_consent"

    token = link.split("token=")[1]
    done = client.post("/policy/consent", data={"token": token})
    assert done.status_code == 200, done.text
    assert "your consent is recorded" in done.text
    with charter.store.read() as connection:
        (row,) = connection.execute(
            select(consent_events).where(consent_events.c.purpose == "surveys")
        ).all()
    assert (row.subject_id, row.brand, row.action, row.method) == (
        people.ann,
        "acme",
        "given",
        "email_link",
    )
    after = charter.decide("surveys", ["user.contact.email"], brand="acme", subject_id=people.ann)
    assert after.allowed


def test_a_wrong_consent_link_is_404_and_records_nothing(
    people: People, charter: Charter, client: TestClient
) -> None:
    charter.policy_versions.publish(V2, effective=today() + dt.timedelta(days=30), actor="test")
    forged = charter.store.vault.sign("policy_consent", "2026.2", people.eve, "surveys", "zeta")
    tampered = forged[:-2] + ("AA" if not forged.endswith("AA") else "BB")
    foreign = charter.preferences.unsubscribe_token(people.eve, "zeta", "email")
    for token in (tampered, foreign, "", "nonsense"):
        assert client.get("/policy/consent", params={"token": token}).status_code == 404
        answer = client.post("/policy/consent", data={"token": token})
        assert answer.status_code == 404
        assert "this consent link is not valid" in answer.text
    with charter.store.read() as connection:
        assert connection.scalar(select(func.count()).select_from(consent_events)) == 0


def test_a_material_change_too_soon_is_refused_and_changes_nothing(
    people: People, charter: Charter, client: TestClient, admin: dict[str, str]
) -> None:
    soon = str(today() + dt.timedelta(days=29))
    answer = client.post("/v1/policy/versions", json={"effective": soon}, headers=admin)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "notice_too_short"
    with charter.store.read() as connection:
        assert connection.scalar(select(func.count()).select_from(policy_versions)) == 1
        assert connection.scalar(select(func.count()).select_from(outbox)) == 0
    assert [
        row.entry.target for row in charter.audit.rows() if row.entry.action == "policy.published"
    ] == ["2026.1"]
    assert (
        client.post(
            "/v1/policy/versions", json={"effective": "2026-13-01"}, headers=admin
        ).status_code
        == 422
    )


def test_the_api_publishes_only_what_the_server_enforces(
    running_v2: str,
    charter: Charter,
    client: TestClient,
    admin: dict[str, str],
    manifest_path: Path,
) -> None:
    charter.policy_versions.publish(
        edited(V2, ("Ask buyers", "Ask customers")),
        effective=today() + dt.timedelta(days=40),
        actor="test",
    )
    clash = client.post("/v1/policy/versions", json={"effective": in_30_days()}, headers=admin)
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "version_exists"
    manifest_path.write_text(edited(V2, ('version: "2026.2"', 'version: "2026.3"')))
    changed = client.post("/v1/policy/versions", json={}, headers=admin)
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "manifest_changed"


def test_an_interrupted_publication_resumes_without_telling_anyone_twice(
    people: People, charter: Charter, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH", 1)
    enqueue = charter.outbox.enqueue
    calls = []

    def crash_on_the_second(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("the process died")
        enqueue(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(charter.outbox, "enqueue", crash_on_the_second)
    effective = today() + dt.timedelta(days=30)
    with pytest.raises(OSError, match="the process died"):
        charter.policy_versions.publish(V2, effective=effective, actor="test")
    assert [v.version for v in charter.policy_versions.versions()] == ["2026.1"]  # not listed
    monkeypatch.setattr(charter.outbox, "enqueue", enqueue)
    other = edited(V2, ('version: "2026.2"', 'version: "2026.3"'))
    with pytest.raises(Exception, match="publish it again to finish"):
        charter.policy_versions.publish(other, effective=effective, actor="test")
    done = charter.policy_versions.publish(V2, effective=effective, actor="test")
    assert done.created and done.notices["people"] == 2
    charter.outbox.deliver()
    assert sorted(mails(settings.outbox_dir)) == ["ann@example.org", "bob@example.org"]
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 2
    assert [v.version for v in charter.policy_versions.versions()] == ["2026.2", "2026.1"]


# -- the public pages --------------------------------------------------------------------------


def test_the_versions_page_each_version_and_the_diff(
    people: People, charter: Charter, client: TestClient
) -> None:
    effective = today() + dt.timedelta(days=30)
    charter.policy_versions.publish(V2, effective=effective, actor="test")
    listing = client.get("/policy/versions")
    assert listing.status_code == 200
    assert '<a href="/policy/versions/2026.2">2026.2</a>' in listing.text
    assert '<span class="tag">upcoming</span>' in listing.text
    assert '<span class="tag">in force</span>' in listing.text
    assert effective.strftime("%d %B %Y") in listing.text
    assert "15 January 2026" in listing.text  # 2026.1's effective date
    assert 'href="/policy/diff?from=2026.1&amp;to=2026.2">4 changes from 2026.1</a> (material)' in (
        listing.text
    )

    old, new = client.get("/policy/versions/2026.1"), client.get("/policy/versions/2026.2")
    assert old.status_code == new.status_code == 200
    assert "Customer surveys" in new.text and "Customer surveys" not in old.text
    assert "style-src 'sha256-" in new.headers["content-security-policy"]
    assert client.get("/policy/versions/2026.2", params={"brand": "zeta"}).status_code == 200
    missing = client.get("/policy/versions/1999.1")
    assert missing.status_code == 404 and "no published policy version" in missing.text
    assert client.get("/policy/versions/2026.2", params={"brand": "nope"}).status_code == 404

    diff = client.get("/policy/diff", params={"from": "2026.1", "to": "2026.2"})
    assert diff.status_code == 200
    material, _, other = diff.text.partition("<h2>Other changes</h2>")
    assert '<span class="tag">material</span> New purpose: Customer surveys (consent)' in material
    assert "Retention of support messages: 2 years from collection -&gt; 3 years" in material
    assert "Contact details of the controller" in other
    assert client.get("/policy/diff", params={"from": "2026.1", "to": "2031.1"}).status_code == 404
    assert client.get("/policy/diff").status_code == 422


def test_the_versions_page_before_any_version(client: TestClient) -> None:
    page = client.get("/policy/versions")
    assert page.status_code == 200 and "No version has been published yet" in page.text


# -- who may use the JSON routes ---------------------------------------------------------------


@pytest.fixture
def tokens(charter: Charter) -> dict[str, dict[str, str]]:
    return {
        role: {"Authorization": f"Bearer {charter.create_token(role).token}"}
        for role in ("admin", "privacy_officer", "support", "service", "auditor")
    }


def test_roles_on_the_json_routes(
    running_v2: str, client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    assert client.get("/v1/policy/versions").status_code == 401
    assert client.post("/v1/policy/versions", json={}).status_code == 401
    for role in ("support", "service"):
        assert client.get("/v1/policy/versions", headers=tokens[role]).status_code == 403
    for role in ("support", "service", "auditor"):
        assert client.post("/v1/policy/versions", json={}, headers=tokens[role]).status_code == 403
    published = client.post("/v1/policy/versions", headers=tokens["privacy_officer"])
    assert published.status_code == 201, published.text
    for role in ("admin", "privacy_officer", "auditor"):
        listing = client.get("/v1/policy/versions", headers=tokens[role])
        assert listing.status_code == 200
        (version,) = listing.json()["versions"]
        assert version["version"] == "2026.2" and version["status"] == "in force"
        assert version["published_by"].startswith("token:")
        assert version["notices"] == {"people": 0, "consent_asks": 0, "unreachable": 0}
