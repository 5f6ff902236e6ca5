"""The read contract's users: slow hashes and a TOTP secret, entitlements, one-time codes used once even
under a race, sign-in locks that spare a live session, sessions that expire, and the ``users`` command.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.integration.read_contract import NORMAL, SHIELDED, record
from warehouse import users
from warehouse.db import get_engine, transaction

pytestmark = pytest.mark.postgres


def test_a_user_is_added_with_slow_hashes_and_a_totp_secret(store: Path) -> None:
    with transaction() as conn:
        secret = users.add_user(conn, username="alice", display_name="Alice Practitioner", role="reader",
                                password="correct horse battery", pin="4711", may_see_sensitive=True)
        creds = users.get_credentials(conn, "alice")
    assert creds is not None and creds["totp_secret"] == secret
    assert creds["password_hash"].startswith("$2a$") and "correct horse" not in creds["password_hash"]
    assert users.verify_secret(creds["password_hash"], "correct horse battery")
    assert users.verify_secret(creds["pin_hash"], "4711") and not users.verify_secret(creds["pin_hash"], "4712")
    assert (creds["may_see_shielded"], creds["may_see_sensitive"], creds["locked"]) == (False, True, False)
    assert users.provisioning_uri("alice", secret).startswith("otpauth://totp/ContactPoint%20Hub:alice?secret=")
    with pytest.raises(ValueError), transaction() as conn:
        users.add_user(conn, username="bob", display_name="Bob", role="admin", password="p", pin="1")


def test_entitlements_change_what_a_user_sees_and_a_disabled_user_reads_nothing(directory: None) -> None:
    assert record("cp_reader", "r_plain", SHIELDED).keys() == {"cp_id", "shielded", "contact"}
    with transaction() as conn:
        users.set_entitlements(conn, "r_plain", may_see_shielded=True, may_see_sensitive=False)
    assert record("cp_reader", "r_plain", SHIELDED)["given_name"] == "Shieldina"
    with transaction() as conn:
        users.disable_user(conn, "r_plain")
    with pytest.raises(DBAPIError, match="not allowed"):
        record("cp_reader", "r_plain", SHIELDED)
    with pytest.raises(LookupError), transaction() as conn:
        users.set_entitlements(conn, "nobody", may_see_shielded=True, may_see_sensitive=True)


def test_a_one_time_code_step_is_accepted_once(directory: None) -> None:
    with transaction() as conn:
        assert users.accept_totp_step(conn, "r_plain", 58_000_000)
        assert not users.accept_totp_step(conn, "r_plain", 58_000_000)
        assert not users.accept_totp_step(conn, "r_plain", 57_999_999)  # an older code, even unused
        assert users.accept_totp_step(conn, "r_plain", 58_000_001)
        assert not users.accept_totp_step(conn, "nobody", 58_000_002)


def test_of_two_requests_racing_with_one_code_exactly_one_wins(directory: None) -> None:
    step = 58_100_000
    results: list[bool] = []
    # The first request holds its row lock; the second must wait for it and then see the step taken.
    with get_engine().connect() as first:
        first.begin()
        assert users.accept_totp_step(first, "r_plain", step)

        def second() -> None:
            with transaction() as conn:
                results.append(users.accept_totp_step(conn, "r_plain", step))

        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive(), "the second request should be waiting for the first one's row lock"
        first.commit()
        racer.join(timeout=10)
    assert results == [False]


def test_of_many_threads_racing_with_one_code_exactly_one_wins(directory: None) -> None:
    step, threads = 58_200_000, 8
    barrier = threading.Barrier(threads)
    results: list[bool] = []

    def attempt() -> None:
        with transaction() as conn:
            barrier.wait()
            results.append(users.accept_totp_step(conn, "r_plain", step))

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert sorted(results) == [False] * (threads - 1) + [True]


def test_five_failures_lock_sign_in_but_never_end_the_users_live_session(directory: None) -> None:
    with transaction() as conn:
        counts = [users.record_failed_attempt(conn, "r_plain") for _ in range(4)]
        creds = users.get_credentials(conn, "r_plain")
        assert creds is not None and not creds["locked"]
    assert counts == [1, 2, 3, 4]
    assert record("cp_reader", "r_plain", NORMAL)["cp_id"] == NORMAL
    with transaction() as conn:
        assert users.record_failed_attempt(conn, "r_plain") == 5
        creds = users.get_credentials(conn, "r_plain")
        assert creds is not None and creds["locked"] and creds["locked_until"] is not None
        assert users.record_failed_attempt(conn, "nobody") == 0
    # Strangers' failures lock the sign-in, not the real user's session (issue 13, finding 7).
    assert record("cp_reader", "r_plain", NORMAL)["cp_id"] == NORMAL
    with transaction() as conn:
        users.reset_failed_attempts(conn, "r_plain")
    assert record("cp_reader", "r_plain", NORMAL)["cp_id"] == NORMAL


def test_a_session_is_live_until_it_expires_or_is_revoked(directory: None) -> None:
    with transaction() as conn:
        users.create_session(conn, "r_plain", "a" * 64, 30)
        users.create_session(conn, "r_plain", "b" * 64, 30)
        users.create_session(conn, "r_both", "c" * 64, 30)
        live = users.session_user(conn, "a" * 64)
        assert live is not None and (live["username"], live["role"], live["may_see_shielded"]) == \
            ("r_plain", "reader", False)
        users.revoke_session(conn, "a" * 64)
        assert users.session_user(conn, "a" * 64) is None
        assert users.session_user(conn, "unknown") is None
        conn.execute(text("UPDATE access.session SET created_at = now() - interval '2 hours', "
                          "expires_at = now() - interval '1 hour' WHERE token_hash = :t"), {"t": "b" * 64})
        assert users.session_user(conn, "b" * 64) is None
        assert users.session_user(conn, "c" * 64) is not None
        users.disable_user(conn, "r_both")
        assert users.session_user(conn, "c" * 64) is None


def test_the_cli_adds_a_user_shows_the_token_once_and_lists_users_without_secrets(
        store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    monkeypatch.setenv("NEW_PASSWORD", "a long enough passphrase")
    monkeypatch.setenv("NEW_PIN", "246810")
    assert main(["users", "add", "carol.p", "--role", "reader", "--display-name", "Carol Practitioner",
                 "--shielded", "--password-env", "NEW_PASSWORD", "--pin-env", "NEW_PIN"]) == 0
    out = capsys.readouterr().out
    assert "otpauth://totp/ContactPoint%20Hub:carol.p?secret=" in out
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "carol.p" in listing and "reader" in listing and "shielded" in listing and "sensitive" not in listing
    with transaction() as conn:
        creds = users.get_credentials(conn, "carol.p")
    assert creds is not None and creds["totp_secret"] not in listing
    monkeypatch.setenv("NEW_PIN", "12")
    with pytest.raises(SystemExit, match="PIN"):
        main(["users", "add", "dave", "--role", "auditor", "--display-name", "Dave",
              "--password-env", "NEW_PASSWORD", "--pin-env", "NEW_PIN"])
