"""Identity bound in the database, and no trawling (issue 13, findings 6 and 2).

The read functions a reader's role may call take the session, not a user name: a reader cannot read as
an entitled colleague by naming her. Each person has a read budget per hour; a read past it is refused
and the refusal is in the audit trail, where the misuse review finds it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from directory_api.auth import token_hash
from directory_api.main import create_app
from tests.integration.read_contract import NORMAL, SHIELDED, SHIELDED_SECRETS, as_role, record, session_of, sqlstate
from tests.integration.test_change_feed import sign_in
from warehouse import contract, users
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("db_role", ["cp_reader", "cp_steward"])
def test_a_reader_cannot_read_as_an_entitled_colleague_by_naming_her(directory: None, db_role: str) -> None:
    for call in (lambda c: contract.child_record(c, username="r_shielded", purpose="safeguarding", cp_id=SHIELDED),
                 lambda c: contract.search_children(c, username="r_shielded", purpose="safeguarding",
                                                    family_name="Hiddenworth", date_of_birth=date(2015, 5, 5))):
        with pytest.raises(DBAPIError, match="permission denied") as error, as_role(db_role) as conn:
            call(conn)
        assert sqlstate(error) == "42501"
    with pytest.raises(DBAPIError, match="no live session"), as_role(db_role) as conn:
        contract.session_child_record(conn, session_token="r_shielded", purpose="safeguarding", cp_id=SHIELDED)
    with as_role(db_role) as conn:
        conn.execute(text("SET LOCAL contactpoint.session = 'r_shielded'"))  # a setting names no one either
        masked = contract.session_child_record(conn, session_token=session_of("r_plain"), purpose="safeguarding",
                                               cp_id=SHIELDED)
    assert set(masked) == {"cp_id", "shielded", "contact"}
    assert not any(secret in str(masked) for secret in SHIELDED_SECRETS)
    with transaction() as conn:
        who = conn.execute(text("SELECT username FROM audit.entry WHERE action = 'read_child'")).scalars().all()
    assert who == ["r_plain"], "audited under the session's own user"


def test_a_revoked_or_expired_session_reads_nothing(directory: None) -> None:
    token = session_of("r_shielded")
    with transaction() as conn:
        users.revoke_session(conn, token_hash(token))
    with pytest.raises(DBAPIError, match="no live session"), as_role("cp_reader") as conn:
        contract.session_child_record(conn, session_token=token, purpose="safeguarding", cp_id=NORMAL)
    expired = session_of("r_shielded")
    with transaction() as conn:
        conn.execute(text("UPDATE access.session SET created_at = now() - interval '1 hour', "
                          "expires_at = now() - interval '1 minute' WHERE NOT revoked"))
    with pytest.raises(DBAPIError, match="no live session"), as_role("cp_reader") as conn:
        contract.session_child_record(conn, session_token=expired, purpose="safeguarding", cp_id=NORMAL)


def test_reads_past_the_hourly_budget_are_refused(directory: None) -> None:
    with transaction() as conn:
        conn.execute(text("UPDATE access.app_user SET reads_per_hour = 3 WHERE username = 'r_plain'"))
    for _ in range(3):
        assert record("cp_reader", "r_plain", NORMAL)["cp_id"] == NORMAL
    with pytest.raises(DBAPIError, match="read budget spent") as error:
        record("cp_reader", "r_plain", NORMAL)
    assert sqlstate(error) == "53400"
    assert record("cp_reader", "r_shielded", NORMAL)["cp_id"] == NORMAL  # a colleague's budget is her own


def test_the_api_answers_429_past_the_budget_and_audits_the_refusal(store: Path) -> None:
    with TestClient(create_app()) as client:
        token = sign_in(client, "trawler", "reader")
        with transaction() as conn:
            conn.execute(text("UPDATE access.app_user SET reads_per_hour = 2 WHERE username = 'trawler'"))
            conn.execute(text("INSERT INTO identity.child (cp_id) VALUES ('CP000000001A')"))
            conn.execute(text("""INSERT INTO directory.child (cp_id, given_name, family_name, date_of_birth, gender)
                                 VALUES ('CP000000001A', 'Ann', 'Lee', DATE '2015-01-01', 'F')"""))
        answers = [client.get("/children/CP000000001A", params={"purpose": "child_protection_enquiry"},
                              headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(4)]
    assert answers == [200, 200, 429, 429]
    with transaction() as conn:
        flagged = conn.execute(text("""SELECT detail->>'reason' FROM audit.entry
                                       WHERE username = 'trawler' AND action = 'read_refused'""")).scalars().all()
    assert flagged == ["read_budget", "read_budget"]


def test_a_shielded_childs_contact_is_her_authoritys_contactpoint_team_never_who_places_her(
        directory: None) -> None:
    """Issue 13, finding 3: naming her school or GP told where she is."""
    with transaction() as conn:
        conn.execute(text("""INSERT INTO directory.contactpoint_team (la_code, team_name, organisation, phone)
                             VALUES ('383', 'Leeds ContactPoint team', 'Leeds City Council', '0113 000 0383')"""))
        record_id = conn.execute(text("""
            INSERT INTO staging.source_record (feed, sender, source_key, file_id, row_number, extract_time,
                                               given_name, family_name, date_of_birth, gender, content_hash)
            VALUES ('ics', '383', 'ics-1', (SELECT max(file_id) FROM intake.file), 1, now(), 'Shieldina',
                    'Hiddenworth', DATE '2015-05-05', 'F', 'x') RETURNING record_id""")).scalar_one()
        conn.execute(text("INSERT INTO identity.link (record_id, cp_id, method, run_id) "
                          "VALUES (:r, :c, 'rule', 'test')"), {"r": record_id, "c": SHIELDED})
    masked = record("cp_reader", "r_plain", SHIELDED)
    assert masked == {"cp_id": SHIELDED, "shielded": True, "contact": {
        "name": "Leeds ContactPoint team", "organisation": "Leeds City Council", "phone": "0113 000 0383"}}
    assert not any(secret in str(masked) for secret in SHIELDED_SECRETS)
