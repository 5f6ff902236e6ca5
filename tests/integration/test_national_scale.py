"""National scale: what keeps a night's cost proportional to the night, checked on a real PostgreSQL.

Speed itself is measured by ``benchmarks/end_to_end.py``; these tests pin down the properties that make
it hold: the door's check reads indexes (its cost per row does not grow with the store), files loaded
by a pool of processes end exactly as files loaded one by one, and the history keeps every change.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, text

from matching.features import record_features
from matching.link import _kept_features
from matching.settings import BLOCKING_KEYS
from pipeline import steps as pipeline
from pipeline.ingest import ingest_folder
from tests.integration.test_arrival_order import empty_store
from tools.synthetic import generate
from warehouse.db import transaction
from warehouse.record_features import CANONICAL, FEATURE_COLUMNS, for_a_delta
from warehouse.retention.door import DOOR_SQL, door_params, out_of_scope_keys

pytestmark = pytest.mark.postgres

SEEDED = 30_000  # staged records: enough that a sequential scan would be the planner's choice if it could


def seed_store(records: int) -> None:
    """``records`` staged GP records linked to children, every tenth child archived (set-based, fast)."""
    with transaction() as conn:
        file_id = conn.execute(text("""
            INSERT INTO intake.file (feed, sender, file_name, sha256, size_bytes, extract_time, sequence, status)
            VALUES ('gp', 'A81001', 'gp_A81001_20261101T020000_1.csv', repeat('a', 64), 1,
                    '2026-11-01 02:00+00', 1, 'accepted') RETURNING file_id""")).scalar_one()
        conn.execute(text("""
            INSERT INTO staging.source_record (feed, sender, source_key, file_id, row_number, extract_time,
                given_name, family_name, date_of_birth, gender, nhs_number, upn, content_hash)
            SELECT 'gp', 'A81001', 'gp:' || n, :f, n, '2026-11-01 02:00+00', 'Ada', 'Lovelace' || n,
                   date '2010-01-01' + (n % 3000), 'F', lpad(n::text, 10, '0'), 'A' || lpad(n::text, 12, '0'),
                   md5(n::text)
            FROM generate_series(1, :n) AS n"""), {"f": file_id, "n": records})
        conn.execute(text("""
            INSERT INTO identity.child (cp_id, status)
            SELECT 'CP' || lpad(n::text, 9, '0') || 'A', CASE WHEN n % 10 = 0 THEN 'archived' ELSE 'active' END
            FROM generate_series(1, :n) AS n"""), {"n": records})
        conn.execute(text("""
            INSERT INTO identity.link (record_id, cp_id, method, run_id)
            SELECT s.record_id, 'CP' || lpad(s.row_number::text, 9, '0') || 'A', 'seed', 'seed'
            FROM staging.source_record s"""))
    pipeline.analyze(("staging.source_record", "identity.child", "identity.link"))


def arriving_rows(numbers: range) -> list[dict[str, object]]:
    """Rows of a new file about seeded people: other source keys, same NHS number or UPN and birth date."""
    return [{"source_key": f"school:{n}", "nhs_number": f"{n:010d}", "upn": f"A{n:012d}",
             "date_of_birth": date.fromordinal(date(2010, 1, 1).toordinal() + n % 3000),
             "consent_extend_to_19": False, "extend_to_25": False} for n in numbers]


def test_the_door_finds_an_archived_child_s_new_record_through_indexes_never_a_scan_of_staging(store: Path) -> None:
    seed_store(SEEDED)
    rows = arriving_rows(range(1, 1_001))
    with transaction() as conn:
        plan = "\n".join(conn.execute(text(f"EXPLAIN {DOOR_SQL.text}"), door_params("school", rows)).scalars())
        found = out_of_scope_keys(conn, "school", rows, date(2026, 11, 25))
    assert "Seq Scan on source_record" not in plan, plan
    assert "source_record_nhs_number_date_of_birth_idx" in plan
    assert "source_record_upn_date_of_birth_idx" in plan
    # Every tenth seeded child is archived: its new record (same NHS number and birth date) stays out.
    assert found == {f"school:{n}" for n in range(10, 1_001, 10)}


def test_a_store_with_nothing_archived_asks_the_door_nothing_for_rows_within_their_age(store: Path) -> None:
    rows = arriving_rows(range(1, 101))
    with transaction() as conn:
        statements: list[str] = []
        @event.listens_for(conn, "before_cursor_execute")
        def seen(_c: object, _cur: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        assert out_of_scope_keys(conn, "school", rows, date(2026, 11, 25)) == set()
    assert not any("LATERAL" in s for s in statements)


def state_of_store() -> dict[str, object]:
    """What a load leaves: files with their outcomes, staged records, quarantine, by stable keys."""
    with transaction() as conn:
        files = sorted(tuple(r) for r in conn.execute(text("""
            SELECT file_name, status, rows_read, rows_loaded, rows_quarantined, rows_withheld, rows_warned,
                   rows_out_of_scope FROM intake.file""")))
        records = sorted(tuple(r) for r in conn.execute(text("""
            SELECT s.feed, s.source_key, s.content_hash, s.present, f.file_name, s.row_number
            FROM staging.source_record s JOIN intake.file f USING (file_id)""")))
        quarantined = sorted(tuple(r) for r in conn.execute(text("""
            SELECT f.file_name, q.row_number FROM intake.quarantined_row q JOIN intake.file f USING (file_id)""")))
    return {"files": files, "records": records, "quarantined": quarantined}


def test_files_loaded_by_a_pool_of_processes_end_exactly_as_files_loaded_one_by_one(
        store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "generated"
    generate(source, children=600, seed=5, fault_rate=0.1)
    outcomes = {}
    for workers in ("1", "2"):
        zone = tmp_path / f"zone-{workers}"
        for path in (source / "inbound").rglob("*"):
            if path.is_file():
                target = zone / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
        monkeypatch.setenv("CONTACTPOINT_LOAD_WORKERS", workers)
        from contactpoint.settings import get_settings

        get_settings.cache_clear()
        empty_store()
        summary = ingest_folder(zone, f"run-{workers}")
        assert summary.loaded > 1_000
        outcomes[workers] = state_of_store()
    assert outcomes["2"] == outcomes["1"]


def test_the_linker_reads_back_exactly_the_features_it_kept(store: Path, tmp_path: Path) -> None:
    generate(tmp_path / "generated", children=300, seed=8, fault_rate=0.2)
    ingest_folder(tmp_path / "generated", "run-1")
    with transaction() as conn:
        frame, children = _kept_features(conn, "true")
        canonical = [dict(r._mapping) for r in conn.execute(text(CANONICAL))]
    expected = {str(r["record_id"]): record_features(r) for r in canonical}
    kept = {row["unique_id"]: row for row in frame.to_pylist()}
    assert kept.keys() == expected.keys() and len(kept) > 300
    for record_id, features in expected.items():
        assert kept[record_id] == {c: features[c] for c in FEATURE_COLUMNS}, record_id
    assert children == {str(r["record_id"]): r["cp_id"] for r in canonical}


def test_a_delta_reads_the_children_at_its_records_homes_through_indexes_never_a_scan_of_the_kept_features(
        store: Path) -> None:
    seed_store(SEEDED)
    with transaction() as conn:
        # Three seeded children to a home (a postcode and a house number), each known by one record.
        conn.execute(text("""
            INSERT INTO identity.record_features (record_id, forename, forename_formal, surname, dob, birth_year,
                                                  postcode, postcode_sector, house_number, nhs_number)
            SELECT s.record_id, 'ada', 'ada', lower(s.family_name), s.date_of_birth::text,
                   extract(year FROM s.date_of_birth)::int, 'LS6' || (s.record_id / 3)::text || 'QT',
                   'LS6 ' || (s.record_id / 3 % 10)::text, '12', s.nhs_number
            FROM staging.source_record s"""))
    pipeline.analyze(("identity.record_features",))
    with transaction() as conn:
        # A night's ten records arrive at ten of those homes (another birth date, another name: no blocking key).
        conn.execute(text("""
            CREATE TEMP TABLE new_features ON COMMIT DROP AS
            SELECT -record_id AS record_id, 'zoe' AS forename, 'zoe' AS forename_formal, 'new' || surname AS surname,
                   '2001-01-01' AS dob, 2001 AS birth_year, postcode, postcode_sector, house_number,
                   NULL::text AS nhs_number, NULL::text AS upn
            FROM identity.record_features ORDER BY record_id LIMIT 10 OFFSET 3000"""))
        conn.execute(text("ANALYZE new_features"))
        query = f"""SELECT f.record_id FROM identity.record_features f
                    LEFT JOIN identity.link l ON l.record_id = f.record_id WHERE {for_a_delta(BLOCKING_KEYS)}"""
        plan = "\n".join(conn.execute(text(f"EXPLAIN {query}")).scalars())
        read = conn.execute(text(query)).scalars().all()
        homes = conn.execute(text("SELECT count(DISTINCT (postcode, house_number)) FROM new_features")).scalar_one()
    assert "Seq Scan on record_features" not in plan, plan
    assert "record_features_home" in plan, plan
    # Every record of every child at those homes, and nothing else: the night's cost, not the directory's.
    assert 0 < len(read) <= 3 * homes
