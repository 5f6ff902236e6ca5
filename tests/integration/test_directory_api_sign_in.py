"""The directory API's four-factor sign-in against a real store: a reader's whole visit, each refused factor,
one-time codes used once even under a race, lock-outs, expired sessions, and guesses that never reach the
audit trail or check more secrets than the lock-out allows.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from directory_api import auth
from tests.integration.api_story import PASSWORD, PIN, PURPOSE, Api, audit_entries, failed_attempts
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


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
