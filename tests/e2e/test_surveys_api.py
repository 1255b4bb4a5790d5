"""Surveys over HTTP (issue 9 item 4): "we will not attribute any particular response to you
without your permission". Answers are refused outside the declared choices; a published result
counts each person once, lists every choice with noise and suppresses the rare ones; a quote
appears only for a person who gave ``survey_attribution``, signed with the name they gave, and
disappears from every read once they withdraw it or are erased; the budget holds; only staff
with ``release_statistics`` publish. The manifest is the example's (its ``survey`` touchpoint)."""

from __future__ import annotations

import email
import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from charter.facade import Charter
from charter.storage.tables import (
    audit_events,
    disclosures,
    personal_values,
    stat_releases,
    submissions,
    survey_quotes,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
BRAND = "aether_music_tech"
SURVEY_NOTICE = "Take part in this survey."
ATTRIBUTION_NOTICE = "You may publish my comment with the name I gave."
ANN = "ann.survey@example.org"
BOB = "bob.survey@example.org"


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    path = tmp_path / "charter.yaml"
    shutil.copy(EXAMPLE, path)
    return path


def staff(charter: Charter, role: str = "privacy_officer") -> dict[str, str]:
    return {"Authorization": f"Bearer {charter.create_token(role).token}"}


def answer(
    charter: Charter,
    who: str,
    *,
    brand: str = BRAND,
    attribution: bool = False,
    **data: Any,
) -> str:
    """One survey response, stored through the Python facade (cheap seeding)."""
    consents = [{"purpose": "surveys", "notice": SURVEY_NOTICE}]
    if attribution:
        consents.append({"purpose": "survey_attribution", "notice": ATTRIBUTION_NOTICE})
    receipt = charter.submit(
        "survey", brand=brand, identities={"email": who}, data=data, consents=consents
    )
    return receipt.subject_id  # type: ignore[union-attr]


def seed_crowd(charter: Charter, satisfaction: dict[str, int], prefix: str = "p") -> None:
    n = 0
    for choice, count in satisfaction.items():
        for _ in range(count):
            n += 1
            answer(charter, f"{prefix}{n}@example.org", satisfaction=choice, recommend="yes")


def publish(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        "/v1/surveys/survey/results", json={"title": "Spring survey", **body}, headers=headers
    )


def counts(result: dict[str, Any], field: str) -> dict[str, int | None]:
    found = next(f for f in result["fields"] if f["field"] == field)
    return {c["choice"]: c["count"] for c in found["choices"]}


def rows(charter: Charter, table: Any, *where: Any) -> int:
    with charter.store.read() as connection:
        return int(connection.scalar(select(func.count()).select_from(table).where(*where)) or 0)


# -- collection: the choices ------------------------------------------------------------------


def test_an_answer_outside_the_choices_is_refused_naming_the_field_and_the_choices(
    client: TestClient, charter: Charter, service_headers: dict[str, str]
) -> None:
    def submit(data: dict[str, Any]) -> Any:
        return client.post(
            "/v1/touchpoints/survey/submissions",
            json={"brand": BRAND, "identities": {"email": ANN}, "data": data},
            headers=service_headers,
        )

    long_value = "thrilled beyond words " * 4
    refused = submit({"satisfaction": long_value, "comment": "Great"})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_value"
    assert "data.satisfaction" in error["message"]
    assert "very_satisfied, satisfied, neutral, dissatisfied, very_dissatisfied" in error["message"]
    assert "thrilled" not in refused.text
    assert rows(charter, submissions) == 0  # nothing stored, the comment neither

    wrong = submit({"recommend": "maybe"})
    assert wrong.status_code == 422 and "yes, no, not_sure" in wrong.json()["error"]["message"]
    assert submit({"recommend": 1}).json()["error"]["code"] == "invalid_value"

    kept = submit({"satisfaction": "very_satisfied", "recommend": "not_sure"})
    assert kept.status_code == 201, kept.text


# -- a published result: every choice, noise, suppression, once per person, the budget ----------


def test_a_result_lists_every_choice_with_noise_suppresses_the_rare_and_counts_people_once(
    client: TestClient, charter: Charter
) -> None:
    seed_crowd(charter, {"satisfied": 30, "neutral": 14, "very_dissatisfied": 2})
    # Twelve of the satisfied answered "dissatisfied" before: only their latest answer counts.
    for n in range(1, 13):
        answer(charter, f"p{n}@example.org", satisfaction="dissatisfied")
        answer(charter, f"p{n}@example.org", satisfaction="satisfied", recommend="yes")
    headers = staff(charter)

    made = publish(client, headers, epsilon=8)
    assert made.status_code == 201, made.text
    result = made.json()
    assert result["k"] == 10 and result["epsilon"] == 8
    assert result["noise_scale"] == pytest.approx(0.25)  # 2 fields: 4 each, sensitivity 1
    satisfaction = counts(result, "satisfaction")
    # Every declared choice, in the manifest's order, answered or not.
    assert list(satisfaction) == [
        "very_satisfied",
        "satisfied",
        "neutral",
        "dissatisfied",
        "very_dissatisfied",
    ]
    assert list(counts(result, "recommend")) == ["yes", "no", "not_sure"]
    assert abs(satisfaction["satisfied"] - 30) <= 3  # type: ignore[operator]
    assert abs(satisfaction["neutral"] - 14) <= 3  # type: ignore[operator]
    # 2 people, 0 and the 12 superseded answers: below k, suppressed.
    assert satisfaction["very_dissatisfied"] is None
    assert satisfaction["very_satisfied"] is None
    assert satisfaction["dissatisfied"] is None
    assert counts(result, "recommend")["no"] is None
    assert abs(counts(result, "recommend")["yes"] - 46) <= 3  # type: ignore[operator]
    assert result["suppressed"] == 5
    # Nothing to subtract the released cells from: no total, no margin.
    assert "total" not in made.text and "margins" not in made.text
    assert result["quotes"] == []
    assert result["spent"] == 8 and result["budget"] == 10

    # Anyone reads it, without a token; the staff list names it.
    public = client.get(f"/v1/surveys/results/{result['id']}")
    assert public.status_code == 200
    assert public.headers["cache-control"] == "no-store"
    assert public.json()["fields"] == result["fields"]
    page = client.get(f"/surveys/results/{result['id']}")
    assert page.status_code == 200 and "Spring survey" in page.text
    assert "fewer than 10" in page.text and "very dissatisfied" in page.text
    listed = client.get("/v1/surveys/results?touchpoint=survey", headers=headers).json()
    assert [r["id"] for r in listed] == [result["id"]]
    assert listed[0]["published_by"].startswith("token:")

    # Recorded: the ledger row, an aggregate disclosure to the public, the audit entry.
    assert rows(charter, stat_releases, stat_releases.c.dataset == "survey:survey") == 1
    assert rows(charter, disclosures, disclosures.c.id == result["disclosure_id"]) == 1
    with charter.store.read() as connection:
        disclosed = connection.execute(
            select(disclosures).where(disclosures.c.id == result["disclosure_id"])
        ).one()
        audited = connection.execute(
            select(audit_events.c.action).where(audit_events.c.target == result["id"])
        ).all()
    assert (disclosed.kind, disclosed.recipient, disclosed.subject_id) == (
        "aggregate",
        "public",
        None,
    )
    assert [a.action for a in audited] == ["survey.results_published"]

    # The budget: 8 of 10 spent; 3 more is refused and records nothing; 2 fits.
    refused = publish(client, headers, epsilon=3)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "budget_exhausted"
    assert "2 of the dataset's budget of 10 left" in refused.json()["error"]["message"]
    assert rows(charter, stat_releases) == 1
    assert publish(client, headers, epsilon=2).status_code == 201
    assert publish(client, headers, epsilon=0.5).json()["error"]["code"] == "budget_exhausted"


def test_a_result_of_one_brand_and_period_counts_only_those_answers(
    client: TestClient, charter: Charter
) -> None:
    seed_crowd(charter, {"neutral": 12})
    for n in range(12):
        answer(charter, f"q{n}@example.org", brand="akkord_pro", satisfaction="satisfied")
    headers = staff(charter)
    # Epsilons chosen so the noise cannot plausibly flip a test: 6 then 4 of the budget of 10
    # gives a cell scale of 1/3 then 1/2, and a noisy empty cell reaching k=10 is ~e^-20.
    made = publish(client, headers, brand="akkord_pro", epsilon=6).json()
    assert made["brand"] == "akkord_pro"
    page = client.get(f"/surveys/results/{made['id']}").text
    assert charter.manifest.brands["akkord_pro"].name in page  # the brand by name, not by key
    assert counts(made, "satisfaction")["neutral"] is None
    assert abs(counts(made, "satisfaction")["satisfied"] - 12) <= 3  # type: ignore[operator]
    later = publish(client, headers, since="2999-01-01T00:00:00Z", epsilon=4).json()
    assert set(counts(later, "satisfaction").values()) == {None}


# -- quotes: only with the permission, signed, re-checked at every read ---------------------------


def quoted_crowd(charter: Charter) -> tuple[str, str]:
    """Ann allows attribution and signs; Bob does not; Cleo allows it but gave no name."""
    ann = answer(
        charter,
        ANN,
        attribution=True,
        satisfaction="satisfied",
        comment="The filter section sings.",
        display_name="Ann E.",
    )
    bob = answer(
        charter,
        BOB,
        satisfaction="dissatisfied",
        comment="Bob's private gripe about shipping to Tromsø.",
        display_name="Bob Unnamed",
    )
    answer(
        charter,
        "cleo.survey@example.org",
        attribution=True,
        satisfaction="neutral",
        comment="Cleo's unsigned words.",
    )
    return ann, bob


def test_only_a_person_who_allowed_it_is_quoted_and_signed_with_their_name(
    client: TestClient, charter: Charter
) -> None:
    ann, bob = quoted_crowd(charter)
    headers = staff(charter)
    made = publish(client, headers, quotes=True, epsilon=1)
    assert made.status_code == 201, made.text
    result = made.json()
    assert result["quotes"] == [{"text": "The filter section sings.", "name": "Ann E."}]
    for read in (
        made.text,
        client.get(f"/v1/surveys/results/{result['id']}").text,
        client.get(f"/surveys/results/{result['id']}").text,
    ):
        assert "The filter section sings." in read and "Ann E." in read
        # Never by name, never by text (an unsigned verbatim comment can identify its author).
        assert "Bob" not in read and "Tromsø" not in read and "Cleo" not in read

    # The quote is a disclosure about Ann to the public: her access report lists it.
    with charter.store.read() as connection:
        about = connection.execute(
            select(disclosures).where(disclosures.c.subject_id.in_([ann, bob]))
        ).all()
    assert [(d.subject_id, d.kind, d.recipient, d.purposes) for d in about] == [
        (ann, "public_posting", "public", ["survey_attribution"])
    ]
    assert set(about[0].categories) == {"user.name", "user.content.survey_response"}

    # A survey result without quotes asked shows none; a result asked of a non-survey refuses.
    assert publish(client, headers, epsilon=1).json()["quotes"] == []


def test_a_withdrawn_permission_removes_the_quote_from_every_read_and_the_counts_stay(
    client: TestClient, charter: Charter, service_headers: dict[str, str]
) -> None:
    quoted_crowd(charter)
    result = publish(client, staff(charter), quotes=True, epsilon=1).json()
    assert len(result["quotes"]) == 1

    withdrawn = client.post(
        "/v1/consents",
        json={
            "brand": BRAND,
            "identities": {"email": ANN},
            "purpose": "survey_attribution",
            "action": "withdraw",
        },
        headers=service_headers,
    )
    assert withdrawn.status_code == 201, withdrawn.text
    after = client.get(f"/v1/surveys/results/{result['id']}").json()
    assert after["quotes"] == []
    assert after["fields"] == result["fields"]  # anonymous counts stay as published
    page = client.get(f"/surveys/results/{result['id']}").text
    assert "sings" not in page and "Ann E." not in page
    # A new result does not quote her either.
    assert publish(client, staff(charter), quotes=True, epsilon=1).json()["quotes"] == []


def test_an_objection_hides_the_quote(client: TestClient, charter: Charter) -> None:
    ann, _ = quoted_crowd(charter)
    result = publish(client, staff(charter), quotes=True, epsilon=1).json()
    # An objection to direct marketing (the attribution purpose's data use is marketing).
    charter.object(subject_id=ann)
    assert client.get(f"/v1/surveys/results/{result['id']}").json()["quotes"] == []


def code_for(outbox: Path, request_id: str) -> str:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
        found = re.search(r"^\s+(\d{6})$", body, re.M)
        if request_id in body and found:
            return found.group(1)
    raise AssertionError(f"no code for {request_id}")


def run_request(
    client: TestClient, charter: Charter, outbox: Path, kind: str, who: str
) -> tuple[str, str]:
    """File and verify a request over HTTP; staff approve it if it waits for that and do its
    manual steps (the example's systems are not connected here). Its id and access token."""
    filed = client.post(
        "/v1/requests", json={"type": kind, "brand": BRAND, "identities": {"email": who}}
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    verified = client.post(
        f"/v1/requests/{request_id}/verify", json={"code": code_for(outbox, request_id)}
    )
    assert verified.status_code == 200, verified.text
    if charter.requests.view(request_id).status == "awaiting_approval":
        charter.requests.approve(request_id, "staff:test")
    status = charter.rights.run(request_id)
    while status != "completed":
        steps = charter.requests.view(request_id).steps
        step = next(s for s in steps if s.status == "awaiting_staff")
        status = charter.rights.confirm_manual_step(request_id, step.seq, "staff:test", "done")
    return request_id, verified.json()["access_token"]


def test_the_quoted_persons_access_report_names_the_publication(
    client: TestClient, charter: Charter, tmp_path: Path
) -> None:
    quoted_crowd(charter)
    publish(client, staff(charter), quotes=True, epsilon=1)
    request_id, token = run_request(client, charter, tmp_path / "outbox", "access", ANN)
    package = client.get(
        f"/v1/requests/{request_id}/package", headers={"Authorization": f"Bearer {token}"}
    )
    assert package.status_code == 200, package.text
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        data = json.loads(archive.read("data.json"))
    postings = [d for d in data["disclosures"] if d["kind"] == "public_posting"]
    assert len(postings) == 1
    assert postings[0]["recipient"] == "public"
    assert "Naming you with a published survey comment" in postings[0]["reason"]


def test_an_erasure_removes_the_quote(client: TestClient, charter: Charter, tmp_path: Path) -> None:
    ann, _ = quoted_crowd(charter)
    result = publish(client, staff(charter), quotes=True, epsilon=1).json()
    assert rows(charter, survey_quotes) == 1

    run_request(client, charter, tmp_path / "outbox", "erasure", ANN)

    after = client.get(f"/v1/surveys/results/{result['id']}")
    assert after.status_code == 200 and after.json()["quotes"] == []
    assert "sings" not in client.get(f"/surveys/results/{result['id']}").text
    # The values and the quote row went with the person; the disclosure stays as evidence,
    # naming no one.
    assert rows(charter, personal_values, personal_values.c.subject_id == ann) == 0
    assert rows(charter, survey_quotes) == 0
    with charter.store.read() as connection:
        postings = connection.execute(
            select(disclosures.c.subject_id).where(disclosures.c.kind == "public_posting")
        ).all()
    assert [p.subject_id for p in postings] == [None]


# -- refusals -------------------------------------------------------------------------------------


def test_only_staff_with_release_statistics_publish_or_list(
    client: TestClient, charter: Charter, service_headers: dict[str, str]
) -> None:
    assert publish(client, {}).status_code == 401
    for headers in (service_headers, staff(charter, "support"), staff(charter, "auditor")):
        refused = publish(client, headers)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert client.get("/v1/surveys/results", headers=headers).status_code == 403
    assert client.get("/v1/surveys/results").status_code == 401
    assert publish(client, staff(charter, "admin")).status_code == 201
    assert rows(charter, stat_releases) == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "says"),
    [
        ("/v1/surveys/nothing/results", {}, 404, "unknown_touchpoint", "nothing"),
        ("/v1/surveys/support/results", {}, 422, "not_a_survey", "survey"),
        ("/v1/surveys/survey/results", {"brand": "nobody"}, 422, "unknown_brand", "nobody"),
        (
            "/v1/surveys/survey/results",
            {"since": "2026-01-01T00:00:00"},
            422,
            "invalid_value",
            "since",
        ),
        (
            "/v1/surveys/survey/results",
            {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            422,
            "invalid_value",
            "since",
        ),
        ("/v1/surveys/survey/results", {"epsilon": 0}, 422, "invalid_request", "epsilon"),
        ("/v1/surveys/survey/results", {"title": " "}, 422, "invalid_value", "title"),
        ("/v1/surveys/survey/results", {"extra": 1}, 422, "invalid_request", "extra"),
    ],
)
def test_bad_requests_are_refused_by_name_and_record_nothing(
    client: TestClient,
    charter: Charter,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
    says: str,
) -> None:
    refused = client.post(path, json={"title": "T", **body}, headers=staff(charter))
    assert refused.status_code == status, refused.text
    assert refused.json()["error"]["code"] == code
    assert says in refused.json()["error"]["message"]
    assert rows(charter, stat_releases) == 0 and rows(charter, disclosures) == 0


def test_an_unknown_result_is_404_on_the_api_and_the_page(client: TestClient) -> None:
    missing = client.get("/v1/surveys/results/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_survey_result"
    page = client.get("/surveys/results/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 404 and "No survey result" in page.text
