"""The directory API against a real store: four-factor sign-in, sessions, search and records, all audited.

The directory is built with plain SQL; users with ``warehouse.users.add_user``. The API's clock is
injected (``deps.get_clock``) so one-time codes, lock-outs and session expiry are computed at known times.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from contactpoint.settings import get_settings
from directory_api import auth
from directory_api.deps import get_clock
from directory_api.main import create_app
from warehouse import users
from warehouse.audit import verify_chain
from warehouse.db import transaction

pytestmark = pytest.mark.postgres

PASSWORD, PIN = "correct horse battery staple", "4711"
PURPOSE = "missing_education"


@dataclass
class Clock:
    """The API's "now", moved on by the tests."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Api:
    client: TestClient
    clock: Clock
    secrets: dict[str, str]

    def add_user(self, username: str, role: str = "reader", **entitlements: bool) -> None:
        """A user with the shared password and PIN (argon2 makes each about a second: add only what a test needs)."""
        with transaction() as conn:
            self.secrets[username] = users.add_user(conn, username=username, display_name=username.title(), role=role,
                                                    password=PASSWORD, pin=PIN, **entitlements)

    def code(self, username: str = "reader", *, at: datetime | None = None) -> str:
        return pyotp.TOTP(self.secrets[username]).at(at or self.clock.now)

    def sign_in(self, username: str = "reader", *, password: str = PASSWORD, pin: str = PIN,
                code: str | None = None) -> Any:
        return self.client.post("/session", json={"username": username, "password": password, "pin": pin,
                                                  "one_time_code": code or self.code(username)})

    def token(self, username: str = "reader") -> str:
        response = self.sign_in(username)
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def get(self, path: str, token: str, **params: str) -> Any:
        return self.client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def audit_entries(action: str | None = None) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [dict(r) for r in conn.execute(text("""
            SELECT username, user_role, action, cp_id, purpose, detail FROM audit.entry
            WHERE CAST(:action AS text) IS NULL OR action = :action ORDER BY entry_id"""),
            {"action": action}).mappings()]


def failed_attempts(username: str) -> int:
    with transaction() as conn:
        creds = users.get_credentials(conn, username)
    assert creds is not None
    return int(creds["failed_attempts"])


def add_child(conn: Any, cp_id: str, given: str, family: str, born: str, *, gender: str = "F",
              postcode: str = "S60 1AA", shielded: bool = False) -> None:
    conn.execute(text("INSERT INTO identity.child (cp_id) VALUES (:cp_id)"), {"cp_id": cp_id})
    conn.execute(text("""
        INSERT INTO directory.child (cp_id, given_name, family_name, date_of_birth, gender, address_line_1,
                                     postcode, shielded)
        VALUES (:cp_id, :given, :family, :born, :gender, '12 Oak Road', :postcode, :shielded)"""),
        {"cp_id": cp_id, "given": given, "family": family, "born": date.fromisoformat(born), "gender": gender,
         "postcode": postcode, "shielded": shielded})


def add_involvements(conn: Any, cp_id: str, given: str, family: str, born: str) -> None:
    """A school and a sensitive service working with the child, and a parent (each needs a source record)."""
    file_id = conn.execute(text("""
        INSERT INTO intake.file (feed, file_name, sha256, size_bytes)
        VALUES ('school', :name, md5(:name) || md5(:name), 1) RETURNING file_id"""), {"name": cp_id}).scalar_one()
    record_id = conn.execute(text("""
        INSERT INTO staging.source_record (feed, sender, source_key, file_id, row_number, extract_time, given_name,
                                           family_name, date_of_birth, gender, content_hash)
        VALUES ('school', '372', :cp_id, :file_id, 1, now(), :given, :family, :born, 'F', 'x')
        RETURNING record_id"""),
        {"cp_id": cp_id, "file_id": file_id, "given": given, "family": family,
         "born": date.fromisoformat(born)}).scalar_one()
    conn.execute(text("""
        INSERT INTO directory.involvement (cp_id, source_record_id, kind, organisation_code, organisation_name,
                                           practitioner_name, phone, lead_professional, service_type, sensitive)
        VALUES (:cp_id, :r, 'education', '3722001', 'Oak Primary', 'Ms Head', '01709 000001', true, NULL, false),
               (:cp_id, :r, 'other', 'CLINIC1', 'Riverside Sexual Health', 'Dr Lee', '01709 000002', false,
                'sexual_health', true)"""), {"cp_id": cp_id, "r": record_id})
    conn.execute(text("""
        INSERT INTO directory.carer (cp_id, source_record_id, contact_order, given_name, family_name, relationship,
                                     parental_responsibility, phone)
        VALUES (:cp_id, :r, 1, 'Jane', :family, 'PAR', true, '01709 123456')"""),
        {"cp_id": cp_id, "r": record_id, "family": family})


@pytest.fixture
def api(store: Path) -> Iterator[Api]:
    """A small directory, a reader, and the API on a clock the test moves."""
    with transaction() as conn:
        add_child(conn, "CP000000001A", "Alfie", "Smith-Jones", "2016-03-04", gender="M")
        add_involvements(conn, "CP000000001A", "Alfie", "Smith-Jones", "2016-03-04")
        add_child(conn, "CP000000002B", "Ava", "Stone", "2015-01-10", postcode="S60 2AB", shielded=True)
        add_involvements(conn, "CP000000002B", "Ava", "Stone", "2015-01-10")
        add_child(conn, "CP000000003C", "Ava", "Stone", "2015-01-10", postcode="S60 2AB")
        conn.execute(text("INSERT INTO identity.child (cp_id, status, superseded_by) "
                          "VALUES ('CP000000009Z', 'merged', 'CP000000001A')"))
    app = create_app()
    clock = Clock()
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app) as client:
        api = Api(client, clock, {})
        api.add_user("reader")
        yield api
    with transaction() as conn:
        assert verify_chain(conn, store.parent / "anchors.log").ok


def test_a_reader_signs_in_searches_reads_a_child_and_signs_out_and_every_step_is_audited(api: Api) -> None:
    signed_in = api.sign_in()
    assert signed_in.status_code == 201, signed_in.text
    body = signed_in.json()
    assert body["token_type"] == "bearer" and body["role"] == "reader"
    lifetime = datetime.fromisoformat(body["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=auth.SESSION_MINUTES - 1) < lifetime <= timedelta(minutes=auth.SESSION_MINUTES)
    token = body["token"]
    with transaction() as conn:  # only the token's sha256 is stored
        stored = conn.execute(text("SELECT token_hash FROM access.session")).scalars().all()
    assert stored == [auth.token_hash(token)] and token not in stored

    found = api.get("/children", token, family_name="smith jones", date_of_birth="2016-03-04", purpose=PURPOSE)
    assert found.status_code == 200, found.text
    assert found.json()["count"] == 1
    assert found.json()["data"][0] == {"cp_id": "CP000000001A", "shielded": False, "given_name": "Alfie",
                                       "family_name": "Smith-Jones", "date_of_birth": "2016-03-04", "gender": "M",
                                       "postcode": "S60 1AA"}

    record = api.get("/children/CP000000001A", token, purpose=PURPOSE)
    assert record.status_code == 200, record.text
    child = record.json()
    assert (child["given_name"], child["family_name"], child["date_of_birth"]) == ("Alfie", "Smith-Jones",
                                                                                   "2016-03-04")
    assert [c["given_name"] for c in child["carers"]] == ["Jane"]
    school, service = child["involvements"]
    assert (school["kind"], school["organisation_name"], school["lead_professional"]) == ("education",
                                                                                          "Oak Primary", True)
    # Not entitled to sensitive services: the service is not named, its practitioner can be called.
    assert (service["kind"], service["service"], service["organisation_name"]) == ("other",
                                                                                   "an unspecified service", None)
    assert service["phone"] == "01709 000002" and "Sexual" not in record.text

    assert api.client.delete("/session", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    after = api.get("/children/CP000000001A", token, purpose=PURPOSE)
    assert (after.status_code, after.json()["detail"]) == (401, "session expired: sign in again")

    trail = [(e["action"], e["username"], e["cp_id"], e["purpose"]) for e in audit_entries()]
    assert trail == [("sign_in", "reader", None, None), ("search", "reader", "CP000000001A", PURPOSE),
                     ("read_child", "reader", "CP000000001A", PURPOSE), ("sign_out", "reader", None, None),
                     ("session_expired", "reader", None, None)]
    assert audit_entries("session_expired")[0]["detail"] == {"reason": "revoked"}


@pytest.mark.parametrize(("case", "reason", "message"), [
    ("wrong_password", "password", auth.REFUSED),
    ("unknown_user", "password", auth.REFUSED),
    ("wrong_pin", "pin", auth.REFUSED),
    ("stale_code", "one_time_code", auth.REFUSED),
    ("wrong_code", "one_time_code", auth.REFUSED),
    ("malformed_code", "one_time_code", auth.REFUSED),
])
def test_each_failing_factor_is_refused_with_a_clear_error_counted_and_audited(
        api: Api, case: str, reason: str, message: str) -> None:
    attempt = {
        "wrong_password": {"password": "Tr0ub4dor&3"},
        "unknown_user": {"username": "nobody", "code": api.code()},
        "wrong_pin": {"pin": "1234"},
        "stale_code": {"code": api.code(at=api.clock.now - timedelta(minutes=2))},
        "wrong_code": {"code": f"{(int(api.code()) + 1) % 1_000_000:06d}"},
        "malformed_code": {"code": "12 34 56 78"},
    }[case]
    response = api.sign_in(**attempt)
    assert (response.status_code, response.json()) == (401, {"detail": message})
    assert response.headers["www-authenticate"] == "Bearer"
    (entry,) = audit_entries()
    assert (entry["action"], entry["detail"]["reason"]) == ("sign_in_failed", reason)
    if case == "unknown_user":
        assert (entry["username"], entry["user_role"], entry["detail"]["known_user"]) == ("(unknown)", "unknown",
                                                                                          False)
    else:
        assert (entry["username"], entry["user_role"]) == ("reader", "reader")
        assert failed_attempts("reader") == entry["detail"]["failed_attempts"] == 1
    # A refusal leaves no session behind, and the next correct sign-in works and clears the count.
    assert api.sign_in().status_code == 201
    assert failed_attempts("reader") == 0


def test_a_one_time_code_signs_in_once_and_an_older_one_never_after_a_newer(api: Api) -> None:
    code = api.code()
    assert api.sign_in(code=code).status_code == 201
    again = api.sign_in(code=code)
    assert (again.status_code, again.json()["detail"]) == (401, auth.REFUSED)
    # The previous step's code is inside pyotp's window, but not newer than the step accepted.
    older = api.sign_in(code=api.code(at=api.clock.now - timedelta(seconds=30)))
    assert (older.status_code, older.json()["detail"]) == (401, auth.REFUSED)
    api.clock.advance(seconds=30)
    assert api.sign_in().status_code == 201
    assert [(e["action"], e["detail"].get("reason")) for e in audit_entries()] == [
        ("sign_in", None), ("sign_in_failed", "replayed_code"), ("sign_in_failed", "replayed_code"),
        ("sign_in", None)]


def test_one_code_raced_by_parallel_requests_signs_in_exactly_once(api: Api) -> None:
    code, racers = api.code(), auth.LOCK_AFTER  # four refused: not yet a lock-out
    start = threading.Barrier(racers)
    outcomes: list[tuple[int, str]] = []

    def race() -> None:
        start.wait()
        response = api.sign_in(code=code)
        outcomes.append((response.status_code, response.json().get("detail", "")))

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == [(201, "")] + [(401, auth.REFUSED)] * (racers - 1)
    assert len(audit_entries("sign_in")) == 1
    assert len(audit_entries("sign_in_failed")) == racers - 1
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM access.session")).scalar_one() == 1


def test_five_failures_lock_the_account_for_fifteen_minutes(api: Api) -> None:
    for attempt in range(1, auth.LOCK_AFTER + 1):
        api.clock.advance(seconds=30)
        response = api.sign_in(pin=f"000{attempt}")
        assert response.status_code == 401
    assert response.json()["detail"] == auth.REFUSED

    locked = api.sign_in()  # every factor right, but locked: nothing is checked, and the answer is the same
    assert (locked.status_code, locked.json()["detail"]) == (401, auth.REFUSED)
    assert audit_entries()[-1]["detail"] == {"reason": "locked"}
    assert failed_attempts("reader") == auth.LOCK_AFTER  # attempts while locked do not extend the lock

    api.clock.advance(minutes=auth.LOCK_MINUTES + 1)
    assert api.sign_in().status_code == 201
    assert failed_attempts("reader") == 0


def test_an_expired_session_is_refused_and_audited(api: Api) -> None:
    token = api.token()
    assert api.get("/children/CP000000001A", token, purpose=PURPOSE).status_code == 200
    with transaction() as conn:  # the database judges expiry by its own clock: the session's time runs out
        conn.execute(text("""UPDATE access.session SET created_at = now() - interval '16 minutes',
                                                       expires_at = now() - interval '1 minute'"""))
    expired = api.get("/children/CP000000001A", token, purpose=PURPOSE)
    assert (expired.status_code, expired.json()["detail"]) == (401, "session expired: sign in again")
    assert [e["action"] for e in audit_entries()] == ["sign_in", "read_child", "session_expired"]

    unknown = api.get("/children/CP000000001A", "not-a-token", purpose=PURPOSE)
    assert (unknown.status_code, unknown.json()["detail"]) == (401, "unknown session token: sign in again")
    missing = api.client.get("/children/CP000000001A", params={"purpose": PURPOSE})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"


def test_a_request_without_a_purpose_is_refused(api: Api) -> None:
    token = api.token()
    for path, params in [("/children", {"family_name": "Stone", "date_of_birth": "2015-01-10"}),
                         ("/children/CP000000001A", {})]:
        for purpose in ({}, {"purpose": "   "}):
            response = api.get(path, token, **params, **purpose)
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["loc"] == ["query", "purpose"]
    assert [e["action"] for e in audit_entries()] == ["sign_in"]


def test_search_rules_entitlements_unknown_and_merged_ids(api: Api) -> None:
    token = api.token()
    too_broad = api.get("/children", token, family_name="Stone", purpose=PURPOSE)
    assert too_broad.status_code == 400
    assert too_broad.json()["detail"].startswith("search not allowed: give family name and date of birth")
    assert api.get("/children", token, family_name="Stone", date_of_birth="2015-01-10", surname="x",
                   purpose=PURPOSE).status_code == 422  # an unknown criterion is not silently ignored

    missing = api.get("/children/CP000000404N", token, purpose=PURPOSE)
    assert (missing.status_code, missing.json()["detail"]) == (404, "no such child")
    merged = api.get("/children/CP000000009Z", token, purpose=PURPOSE)
    assert (merged.status_code, merged.json()) == (200, {"cp_id": "CP000000009Z", "superseded_by": "CP000000001A"})

    api.add_user("auditor", role="auditor")
    auditor = api.token("auditor")
    refused = api.get("/children/CP000000001A", auditor, purpose=PURPOSE)
    assert (refused.status_code, refused.json()["detail"]) == (
        403, "not allowed: role auditor does not read the directory")

    assert [(e["action"], e["username"], e["cp_id"], e["detail"].get("reason")) for e in audit_entries()
            if e["action"].endswith("_refused")] == [
        ("search_refused", "reader", None, "search_rules"), ("read_refused", "reader", "CP000000404N",
                                                             "no_such_child"),
        ("read_refused", "auditor", "CP000000001A", "not_allowed")]


def test_a_shielded_child_is_masked_for_a_reader_and_shown_to_an_entitled_one(api: Api) -> None:
    api.add_user("lead", may_see_shielded=True, may_see_sensitive=True)
    reader, lead = api.token(), api.token("lead")
    by_name = api.get("/children", reader, family_name="Stone", date_of_birth="2015-01-10", purpose=PURPOSE).json()
    assert by_name["data"] == [
        {"cp_id": "CP000000003C", "shielded": False, "given_name": "Ava", "family_name": "Stone",
         "date_of_birth": "2015-01-10", "gender": "F", "postcode": "S60 2AB"},
        {"cp_id": "CP000000002B", "shielded": True, "given_name": None, "family_name": None, "date_of_birth": None,
         "gender": None, "postcode": None}]
    by_postcode = api.get("/children", reader, given_name="Ava", date_of_birth="2015-01-10", gender="F",
                          postcode="s60 2ab", purpose=PURPOSE).json()
    assert [c["cp_id"] for c in by_postcode["data"]] == ["CP000000003C"]

    masked = api.get("/children/CP000000002B", reader, purpose=PURPOSE)
    assert masked.json() == {"cp_id": "CP000000002B", "shielded": True,
                             "contact": {"name": "ContactPoint team", "phone": None,
                                         "organisation": "the local authority's designated ContactPoint team"}}
    full = api.get("/children/CP000000002B", lead, purpose=PURPOSE).json()
    assert full["given_name"] == "Ava" and full["postcode"] == "S60 2AB"
    assert {i["organisation_name"] for i in full["involvements"]} == {"Oak Primary", "Riverside Sexual Health"}


def test_the_openapi_document_describes_bearer_auth_and_the_purpose(api: Api) -> None:
    assert api.client.get("/docs").status_code == 200
    spec = api.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    parameters = {p["name"]: p for p in spec["paths"]["/children/{cp_id}"]["get"]["parameters"]}
    assert parameters["purpose"]["required"] and parameters["purpose"]["description"]


def test_the_access_log_keeps_no_search_terms() -> None:
    create_app()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    access_log = logging.getLogger("uvicorn.access")
    access_log.addHandler(handler)
    old_level, access_log.level = access_log.level, logging.INFO
    try:  # the call uvicorn makes for each request
        access_log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET",
                        "/children?family_name=Stone&date_of_birth=2015-01-10&purpose=x", "1.1", 200)
    finally:
        access_log.removeHandler(handler)
        access_log.level = old_level
    assert [r.getMessage() for r in records] == ['127.0.0.1:50000 - "GET /children HTTP/1.1" 200']


def test_twenty_parallel_guesses_check_at_most_five_secrets_and_all_answer_alike(api: Api) -> None:
    """Issue 13, finding 5: the lock-out held against parallel requests, and no answer confirms a password."""
    guesses = [f"guess-{n}" for n in range(19)] + [PASSWORD]  # the right password, with a wrong PIN
    start = threading.Barrier(len(guesses))
    outcomes: list[tuple[int, str]] = []

    def guess(password: str) -> None:
        start.wait()
        response = api.sign_in(password=password, pin="0000")
        outcomes.append((response.status_code, response.json().get("detail", "")))

    threads = [threading.Thread(target=guess, args=(g,)) for g in guesses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == [(401, auth.REFUSED)] * len(guesses)
    checked = [e for e in audit_entries("sign_in_failed") if e["detail"]["reason"] != "locked"]
    assert len(checked) <= auth.LOCK_AFTER, "secrets checked beyond the lock-out"
    assert failed_attempts("reader") == auth.LOCK_AFTER


def test_a_lock_out_by_strangers_does_not_end_the_real_users_live_session(api: Api) -> None:
    token = api.token()
    for attempt in range(auth.LOCK_AFTER + 2):
        assert api.sign_in(pin=f"99{attempt:02d}").status_code == 401
    assert api.get("/children/CP000000001A", token, purpose=PURPOSE).status_code == 200


@pytest.mark.parametrize("typed", ["Jane Smith DOB 2015-01-01", "x" * 200_000, "nobody"])
def test_a_user_name_that_is_no_account_never_reaches_the_audit_trail(api: Api, typed: str) -> None:
    response = api.client.post("/session", json={"username": typed, "password": PASSWORD, "pin": PIN,
                                                 "one_time_code": "123456"})
    assert response.status_code in (401, 422)
    if response.status_code == 401:
        assert response.json()["detail"] == auth.REFUSED
    logged = json.dumps(audit_entries(), default=str)
    assert typed not in logged and "Jane" not in logged


def test_a_record_read_answers_the_same_through_the_fast_lane_as_through_the_router(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """``RecordReadLane`` hands GET /children/{cp_id} straight to the route's handler: every answer (a record,
    a superseded ID, no such child, a missing or unlawful purpose, a malformed ID, no token) is the one the
    router gives, and CORS still applies to it."""
    from fastapi import FastAPI

    from directory_api.routes import children

    routed = TestClient(FastAPI(routes=children.router.routes))  # the route alone: no lane
    token = api.token()
    cases: list[tuple[str, dict[str, str], dict[str, str]]] = [
        ("/children/CP000000001A", {"purpose": PURPOSE}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000009Z", {"purpose": PURPOSE, "case_reference": "SC/2026/7"},
         {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000404N", {"purpose": PURPOSE}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000001A", {}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000001A", {"purpose": "curious"}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000001A", {"purpose": PURPOSE, "case_reference": "Jane Smith"},
         {"Authorization": f"Bearer {token}"}),
        ("/children/cp1", {"purpose": PURPOSE}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000001A", {"purpose": PURPOSE}, {"Authorization": f"Basic {token}"}),
        ("/children/CP000000001A", {"purpose": PURPOSE}, {}),
    ]
    for path, params, headers in cases:
        lane, router = (client.get(path, params=params, headers=headers) for client in (api.client, routed))
        assert (lane.status_code, lane.json(), lane.headers.get("www-authenticate")) == (
            router.status_code, router.json(), router.headers.get("www-authenticate")), (path, params)
    assert [e["action"] for e in audit_entries()].count("read_child") == 4  # two records, two superseded
    slash = {"params": {"purpose": PURPOSE}, "follow_redirects": False}  # not the lane's: the router redirects it
    assert api.client.get("/children/CP000000001A/", **slash).status_code == routed.get(
        "/children/CP000000001A/", **slash).status_code == 307

    monkeypatch.setenv("CONTACTPOINT_CORS_ORIGINS", "https://cp.example.gov.uk")
    get_settings.cache_clear()
    try:
        browser = TestClient(create_app())
        read = browser.get("/children/CP000000001A", params={"purpose": PURPOSE},
                           headers={"Authorization": f"Bearer {token}", "Origin": "https://cp.example.gov.uk"})
        assert read.status_code == 200 and read.headers["access-control-allow-origin"] == "https://cp.example.gov.uk"
    finally:
        get_settings.cache_clear()


def test_a_read_survives_the_store_dropping_the_apis_connections(api: Api) -> None:
    """The server ends every ``cp_api`` connection (a restart, a failover): the next read is answered on a
    new connection, once, and audited once; a statement that fails for itself is not sent twice."""
    token = api.token()
    assert api.get("/children/CP000000001A", token, purpose=PURPOSE).status_code == 200
    with transaction() as conn:
        ended = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE usename = 'cp_api' AND datname = current_database()")).scalar_one()
    assert ended >= 1
    again = api.get("/children/CP000000001A", token, purpose=PURPOSE)
    assert again.status_code == 200 and again.json()["cp_id"] == "CP000000001A"
    assert [e["action"] for e in audit_entries()].count("read_child") == 2
