"""The audit log in a real PostgreSQL: its chain verifies, tampering of every kind is found and named,
anchors catch a superuser's consistent rewrite, and no entry holds what it must not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from cli.main import main
from matching.stewardship import record_decision
from tests.integration.read_contract import (
    ARCHIVED,
    HELD,
    MERGED,
    NORMAL,
    SENSITIVE,
    SHIELDED,
    as_role,
    build_directory,
    record,
    search,
)
from warehouse import audit
from warehouse.db import transaction

pytestmark = pytest.mark.postgres

CHILDREN = (NORMAL, SHIELDED, SENSITIVE, MERGED, HELD, ARCHIVED)


@pytest.fixture
def anchors(store: Path) -> Path:
    return store.parent / "anchors" / "anchors.log"


@pytest.fixture
def log(store: Path) -> None:
    """A directory and ten audit entries from ordinary reads by several users."""
    with transaction() as conn:
        build_directory(conn)
    search("cp_reader", "r_plain", family_name="Hiddenworth", date_of_birth=date(2015, 5, 5))
    search("cp_reader", "r_both", family_name="Smith-Jones", date_of_birth=date(2016, 3, 4), gender="M",
           postcode="S60 1AA")
    search("cp_steward", "s_plain", family_name="Nobody", date_of_birth=date(2001, 1, 1))
    for username, cp_id in (("r_plain", SHIELDED), ("r_sensitive", SENSITIVE), ("r_both", NORMAL),
                            ("s_both", MERGED), ("r_plain", NORMAL)):
        record("cp_reader", username, cp_id)
    with transaction() as conn:
        audit.append(conn, username="r_plain", role="reader", action="sign_in", detail={"factors": 4})
        audit.append(conn, username="stranger|x", role=None, action="sign_in_failed",
                     detail={"reason": "password", "known_user": False})


@contextmanager
def tampering() -> Iterator[Connection]:
    """What a superuser can do: switch the append-only triggers off, change rows, switch them back on."""
    with transaction() as conn:
        conn.execute(text("ALTER TABLE audit.entry DISABLE TRIGGER ALL"))
        yield conn
        conn.execute(text("ALTER TABLE audit.entry ENABLE TRIGGER ALL"))


def verify(anchors_path: Path) -> audit.VerifyResult:
    with transaction() as conn:
        return audit.verify_chain(conn, anchors_path)


def anchor(anchors_path: Path) -> audit.Anchor | None:
    with transaction() as conn:
        return audit.anchor_head(conn, anchors_path)


def entries() -> list[dict[str, Any]]:
    with transaction() as conn:
        return [dict(r) for r in conn.execute(text("SELECT * FROM audit.entry ORDER BY entry_id")).mappings()]


def test_an_untouched_chain_verifies_and_python_computes_the_databases_hashes(log: None, anchors: Path) -> None:
    rows = entries()
    assert [r["entry_id"] for r in rows] == list(range(1, len(rows) + 1)) and len(rows) == 10
    prev = audit.GENESIS_HASH
    for row in rows:  # the dict detail (as psycopg returns it) hashes like the database's jsonb text
        assert row["prev_hash"] == prev and audit.entry_hash(prev, row) == row["entry_hash"]
        prev = row["entry_hash"]
    assert rows[-1]["user_role"] == "unknown"
    assert anchor(anchors) == audit.Anchor(10, prev, anchor_time(anchors))
    assert verify(anchors) == audit.VerifyResult(True, 10, None, "chain intact", 1)


def anchor_time(anchors: Path) -> str:
    return anchors.read_text().splitlines()[-1].split(",")[2]


@pytest.mark.parametrize("value", [
    {}, {"b": 1, "aa": [1, 2], "a": "x"}, {"é": True, "z": None, "ab": False, "ä": "ü"},
    {"s": 'quote " back \\ tab \t nl \n ctl \x01 pipe |'}, {"n": [{"k": 0}, [], -3, 12345678901234]},
])
def test_python_writes_detail_exactly_as_postgresql_writes_jsonb(store: Path, value: dict[str, Any]) -> None:
    with transaction() as conn:
        as_postgres = conn.execute(text("SELECT CAST(CAST(:v AS jsonb) AS text)"), {"v": json.dumps(value)}).scalar()
    assert audit.jsonb_text(value) == as_postgres


def test_the_cli_says_ok_with_the_count_and_anchors(
        log: None, anchors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "anchor", "--anchors", str(anchors)]) == 0
    assert "anchored entry 10" in capsys.readouterr().out
    assert main(["audit", "verify", "--anchors", str(anchors)]) == 0
    assert "OK: 10 entries, 1 anchors checked" in capsys.readouterr().out


def test_an_edited_entry_is_found(log: None, anchors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with tampering() as conn:
        conn.execute(text("UPDATE audit.entry SET purpose = 'routine' WHERE entry_id = 5"))
    result = verify(anchors)
    assert (result.ok, result.first_break) == (False, 5) and "changed" in result.reason
    assert main(["audit", "verify", "--anchors", str(anchors)]) == 1
    assert "BROKEN at entry 5" in capsys.readouterr().err


def test_an_edit_with_its_hash_recomputed_is_found_at_the_next_entry(log: None, anchors: Path) -> None:
    with tampering() as conn:
        conn.execute(text("""
            UPDATE audit.entry SET username = 'r_both',
                entry_hash = audit.chain_hash(prev_hash, audit.canonical_text(entry_id, occurred_at, 'r_both',
                                              user_role, action, cp_id, purpose, detail))
            WHERE entry_id = 5"""))
    assert verify(anchors).first_break == 6


def test_a_deleted_entry_is_found(log: None, anchors: Path) -> None:
    with tampering() as conn:
        conn.execute(text("DELETE FROM audit.entry WHERE entry_id = 4"))
    result = verify(anchors)
    assert (result.ok, result.first_break) == (False, 5) and "4..4 are missing" in result.reason


def test_deleting_the_newest_entries_is_found_by_the_anchor(log: None, anchors: Path) -> None:
    anchor(anchors)
    with tampering() as conn:
        conn.execute(text("DELETE FROM audit.entry WHERE entry_id >= 9"))
    result = verify(anchors)
    assert (result.ok, result.first_break) == (False, 10) and "no longer in the chain" in result.reason


def test_a_swapped_pair_of_entries_is_found(log: None, anchors: Path) -> None:
    # entry_id is GENERATED ALWAYS (it cannot be UPDATEd), so swap everything else between entries 3 and 4.
    with tampering() as conn:
        conn.execute(text("""
            UPDATE audit.entry e SET occurred_at = o.occurred_at, username = o.username, user_role = o.user_role,
                   action = o.action, cp_id = o.cp_id, purpose = o.purpose, detail = o.detail,
                   prev_hash = o.prev_hash, entry_hash = o.entry_hash
            FROM audit.entry o WHERE (e.entry_id, o.entry_id) IN ((3, 4), (4, 3))"""))
    assert verify(anchors).first_break == 3


def test_a_forged_entry_is_found_wherever_it_is_inserted(log: None, anchors: Path) -> None:
    with tampering() as conn:  # at the end, with a made-up hash
        conn.execute(text("""
            INSERT INTO audit.entry (entry_id, occurred_at, username, user_role, action, cp_id, purpose, detail,
                                     prev_hash, entry_hash) OVERRIDING SYSTEM VALUE
            SELECT 11, now(), 'r_plain', 'reader', 'read_child', NULL, 'alibi', '{}', entry_hash, repeat('f', 64)
            FROM audit.entry WHERE entry_id = 10"""))
    assert verify(anchors).first_break == 11


def test_a_forged_entry_inserted_mid_chain_with_a_correct_hash_is_found(log: None, anchors: Path) -> None:
    # Make room after entry 5 by moving entries 6.. one place on, then insert a forgery linked to entry 5.
    with tampering() as conn:
        conn.execute(text("CREATE TEMP TABLE later ON COMMIT DROP AS SELECT * FROM audit.entry WHERE entry_id > 5"))
        conn.execute(text("DELETE FROM audit.entry WHERE entry_id > 5"))
        conn.execute(text("""
            INSERT INTO audit.entry OVERRIDING SYSTEM VALUE
            SELECT entry_id + 1, occurred_at, username, user_role, action, cp_id, purpose, detail, prev_hash,
                   entry_hash FROM later"""))
        conn.execute(text("""
            INSERT INTO audit.entry (entry_id, occurred_at, username, user_role, action, cp_id, purpose, detail,
                                     prev_hash, entry_hash) OVERRIDING SYSTEM VALUE
            SELECT 6, e.occurred_at, 'r_plain', 'reader', 'sign_in', NULL, NULL, '{}', e.entry_hash,
                   audit.chain_hash(e.entry_hash, audit.canonical_text(6, e.occurred_at, 'r_plain', 'reader',
                                                                       'sign_in', NULL, NULL, '{}'))
            FROM audit.entry e WHERE e.entry_id = 5"""))
    result = verify(anchors)
    assert (result.ok, result.first_break) == (False, 7)


def test_a_consistent_rewrite_of_the_whole_chain_is_found_by_the_anchor(
        log: None, anchors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "anchor", "--anchors", str(anchors)]) == 0
    with tampering() as conn:
        # Erase one user's reading of the shielded child and re-link every later entry, as a superuser could.
        conn.execute(text("UPDATE audit.entry SET username = 'r_both' WHERE username = 'r_plain' AND cp_id = :c"),
                     {"c": SHIELDED})
        conn.execute(text("""
            DO $$
            DECLARE r record; prev text := repeat('0', 64); h text;
            BEGIN
                FOR r IN SELECT * FROM audit.entry ORDER BY entry_id LOOP
                    h := audit.chain_hash(prev, audit.canonical_text(r.entry_id, r.occurred_at, r.username,
                            r.user_role, r.action, r.cp_id, r.purpose, r.detail));
                    UPDATE audit.entry SET prev_hash = prev, entry_hash = h WHERE entry_id = r.entry_id;
                    prev := h;
                END LOOP;
            END $$"""))
    assert verify(anchors.parent / "no-anchors.log").ok  # the chain alone cannot tell
    result = verify(anchors)
    assert (result.ok, result.first_break) == (False, 10) and "rewritten" in result.reason
    assert main(["audit", "verify", "--anchors", str(anchors)]) == 1
    assert "BROKEN at entry 10" in capsys.readouterr().err


def test_a_broken_chain_is_never_anchored(log: None, anchors: Path) -> None:
    with tampering() as conn:
        conn.execute(text("UPDATE audit.entry SET action = 'sign_in' WHERE entry_id = 2"))
    with pytest.raises(RuntimeError, match="broken at entry 2"):
        anchor(anchors)
    assert not anchors.exists()


def test_no_entry_holds_a_childs_name_birth_date_postcode_or_identifier(log: None) -> None:
    with transaction() as conn:
        children = conn.execute(text("""
            SELECT given_name, family_name, to_char(date_of_birth, 'YYYY-MM-DD') AS dob,
                   to_char(date_of_birth, 'DD/MM/YYYY') AS dob_uk, postcode, replace(postcode, ' ', '') AS pc,
                   address_line_1 FROM directory.child""")).all()
        carers = conn.execute(text("SELECT given_name, family_name, phone FROM directory.carer")).all()
        identifiers = conn.execute(text("SELECT nhs_number, upn FROM staging.source_record")).all()
    forbidden = {v for row in (*children, *carers, *identifiers) for v in row if v}
    rows = entries()
    assert rows
    for row in rows:
        # cp_id has its own column by design; anything else, detail included, must not carry child data.
        stored = json.dumps({k: v for k, v in row.items() if k != "cp_id"}, default=str, ensure_ascii=False)
        assert not [v for v in forbidden | set(CHILDREN) if v in stored], row


def test_a_steward_decision_is_audited_by_the_database_itself(log: None) -> None:
    with transaction() as conn:
        first, second = conn.execute(text("SELECT record_id FROM staging.source_record ORDER BY 1 LIMIT 2")).scalars()
    with as_role("cp_steward") as conn:
        decision = record_decision(conn, first, second, "cannot_link", steward="s_plain",
                                   reason="Different children: checked with the school")
    last = entries()[-1]
    assert (last["action"], last["username"], last["user_role"], last["cp_id"]) == \
        ("steward_decision", "s_plain", "steward", None)
    assert last["detail"] == {"decision_id": decision, "decision": "cannot_link"}


def test_the_auditor_sees_who_read_a_child_who_read_what_and_unusual_volumes(log: None) -> None:
    with as_role("cp_auditor") as conn:
        of_child = conn.execute(text("SELECT * FROM audit.reads_of_child(:c)"), {"c": SHIELDED}).mappings().all()
        by_user = conn.execute(text("SELECT * FROM audit.reads_by_user('r_plain')")).mappings().all()
    assert [(r["username"], r["action"]) for r in of_child] == [("r_plain", "search"), ("r_plain", "read_child")]
    assert [(r["action"], r["cp_id"]) for r in by_user] == [
        ("search", SHIELDED), ("read_child", SHIELDED), ("read_child", NORMAL), ("sign_in", None)]

    since = datetime.now().astimezone() - timedelta(hours=1)
    with as_role("cp_auditor") as conn:
        assert conn.execute(text("SELECT * FROM audit.unusual_volumes(:s)"), {"s": since}).all() == []
    for _ in range(12):
        record("cp_reader", "r_sensitive", NORMAL)
    with as_role("cp_auditor") as conn:
        unusual = conn.execute(text("SELECT * FROM audit.unusual_volumes(:s)"), {"s": since}).mappings().all()
        assert [(u["username"], u["reads"]) for u in unusual] == [("r_sensitive", 13)]
        assert [u["username"] for u in conn.execute(
            text("SELECT * FROM audit.unusual_volumes(:s, 20)"), {"s": since}).mappings()] == []
