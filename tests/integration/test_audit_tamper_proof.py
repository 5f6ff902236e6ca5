"""An audit the hub itself cannot rewrite unnoticed (issue 13, finding 4).

The setting that once let a TRUNCATE through is gone; the audit schema belongs to a role nobody logs in
as, so the hub's roles cannot switch its triggers off; and ``audit verify`` says how many entries stand
after the newest anchor, failing when more than the allowed number have no anchor outside the database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cli.main import main
from tests.integration.test_audit import anchor, log, tampering, verify  # noqa: F401  (log: the fixture)
from warehouse import audit
from warehouse.db import transaction

pytestmark = pytest.mark.postgres
HUB_ROLES = ("cp_loader", "cp_reader", "cp_steward", "cp_archivist", "cp_auditor", "cp_service")


def count() -> int:
    with transaction() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit.entry")).scalar_one())


@pytest.mark.usefixtures("log")
def test_no_setting_lets_a_truncate_through() -> None:
    before = count()
    for setting in ("SET LOCAL contactpoint.allow_audit_truncate = 'on'", "SELECT 1"):
        with pytest.raises(DBAPIError, match="append-only"), transaction() as conn:
            conn.execute(text(setting))
            conn.execute(text("TRUNCATE audit.entry"))
    assert count() == before > 0


@pytest.mark.usefixtures("log")
def test_the_audit_belongs_to_a_role_nobody_logs_in_as_and_no_hub_role_can_switch_its_triggers_off() -> None:
    with transaction() as conn:
        owner = conn.execute(text("SELECT tableowner FROM pg_tables WHERE schemaname = 'audit' "
                                  "AND tablename = 'entry'")).scalar_one()
        login = conn.execute(text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :o"), {"o": owner}).scalar_one()
        members = conn.execute(text("SELECT r FROM unnest(CAST(:r AS text[])) AS r "
                                    "WHERE pg_has_role(r, 'cp_audit_owner', 'MEMBER')"),
                               {"r": list(HUB_ROLES)}).scalars().all()
        function_owners = set(conn.execute(text("""
            SELECT pg_get_userbyid(p.proowner) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'audit' AND p.proname <> 'record_steward_decision'""")).scalars())
    assert (owner, login, members, function_owners) == ("cp_audit_owner", False, [], {"cp_audit_owner"})
    for role in HUB_ROLES:
        with pytest.raises(DBAPIError, match="must be owner|permission denied"), transaction() as conn:
            conn.execute(text(f"SET LOCAL ROLE {role}"))
            conn.execute(text("ALTER TABLE audit.entry DISABLE TRIGGER entry_is_append_only"))


@pytest.mark.usefixtures("log")
def test_verify_counts_the_entries_after_the_newest_anchor_and_fails_above_the_threshold(
        store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    anchors = store.parent / "anchors" / "anchors.log"
    total = count()
    with transaction() as conn:
        unanchored = audit.verify_chain(conn, anchors, max_unanchored=total - 1)
    assert not unanchored.ok and unanchored.after_newest_anchor == total
    assert "no anchor vouches" in unanchored.reason

    anchor(anchors)
    with transaction() as conn:
        for _ in range(4):
            audit.append(conn, username="r_plain", role="reader", action="sign_in")
    # Deleting what came after the newest anchor leaves a chain that still links up: only the
    # count after the anchor and its threshold can say that nothing outside vouches for it.
    with tampering() as conn:
        conn.execute(text("DELETE FROM audit.entry WHERE entry_id > :n"), {"n": total + 2})
    assert verify(anchors).ok and verify(anchors).after_newest_anchor == 2
    with transaction() as conn:
        assert not audit.verify_chain(conn, anchors, max_unanchored=1).ok
        assert audit.verify_chain(conn, anchors, max_unanchored=2).ok

    monkeypatch.setenv("CONTACTPOINT_AUDIT_UNANCHORED_MAX", "1")
    from contactpoint.settings import get_settings

    get_settings.cache_clear()
    assert main(["audit", "verify", "--anchors", str(anchors)]) == 1
    captured = capsys.readouterr()
    assert "2 entries stand after the newest anchor" in captured.out and "more than the 1 allowed" in captured.err
