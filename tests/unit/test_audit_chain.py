"""The audit chain's pure functions: canonical text, hashes, and what the checker calls a break."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from warehouse.audit import GENESIS_HASH, Anchor, canonical_text, check_chain, entry_hash, jsonb_text, read_anchors

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 25, 9, 30, 0, 123400, tzinfo=UTC)


def entry(entry_id: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "entry_id": entry_id, "occurred_at": T0 + timedelta(seconds=entry_id), "username": "alice",
        "user_role": "reader", "action": "read_child", "cp_id": f"CP00000000{entry_id % 10}A", "purpose": "referral",
        "detail": {"outcome": "record", "involvements": 2},
    }
    values.update(overrides)
    return values


def chain(n: int) -> list[dict[str, Any]]:
    """n entries linked as audit.append links them."""
    rows, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        row = entry(i)
        row["prev_hash"], row["entry_hash"] = prev, entry_hash(prev, row)
        prev = row["entry_hash"]
        rows.append(row)
    return rows


def relink(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a forger able to write the table does after tampering: recompute every link."""
    prev = GENESIS_HASH
    for row in rows:
        row["prev_hash"], row["entry_hash"] = prev, entry_hash(prev, row)
        prev = row["entry_hash"]
    return rows


def test_the_canonical_text_is_the_documented_one() -> None:
    text = canonical_text(entry(7, detail={"result_count": 2, "criteria": ["family_name", "date_of_birth"]},
                                cp_id=None, purpose="a|b\\c"))
    assert text == ("7|2026-11-25T09:30:07.123400Z|alice|reader|read_child|\\N|a\\|b\\\\c|"
                    '{"criteria": ["family_name", "date_of_birth"], "result_count": 2}')


def test_times_are_written_in_utc_whatever_zone_they_come_in() -> None:
    local = T0.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert canonical_text(entry(1, occurred_at=local)) == canonical_text(entry(1, occurred_at=T0))
    with pytest.raises(ValueError):
        canonical_text(entry(1, occurred_at=T0.replace(tzinfo=None)))


@pytest.mark.parametrize(("left", "right"), [
    ({"username": "a|reader", "user_role": "x"}, {"username": "a", "user_role": "reader|x"}),
    ({"cp_id": None}, {"cp_id": "\\N"}),
    ({"purpose": None}, {"purpose": ""}),
    ({"purpose": "x\\"}, {"purpose": "x\\\\"}),
])
def test_different_entries_never_share_a_canonical_text(left: dict[str, Any], right: dict[str, Any]) -> None:
    assert canonical_text(entry(1, **left)) != canonical_text(entry(1, **right))


@pytest.mark.parametrize(("value", "expected"), [
    ({}, "{}"),
    ({"b": 1, "aa": [1, 2], "a": "x"}, '{"a": "x", "b": 1, "aa": [1, 2]}'),     # shorter keys first
    ({"é": True, "z": None, "ab": False}, '{"z": null, "ab": false, "é": true}'),  # é is two bytes
    ({"s": 'quote " back \\ tab \t nl \n ctl \x01'}, '{"s": "quote \\" back \\\\ tab \\t nl \\n ctl \\u0001"}'),
    ({"n": [{"k": 0}, [], -3]}, '{"n": [{"k": 0}, [], -3]}'),
])
def test_detail_is_written_as_postgresql_writes_jsonb(value: dict[str, Any], expected: str) -> None:
    assert jsonb_text(value) == expected


def test_detail_refuses_floats_whose_text_postgresql_would_write_differently() -> None:
    with pytest.raises(TypeError):
        jsonb_text({"ratio": 0.5})


def test_a_detail_read_as_jsonb_text_hashes_like_the_same_detail_as_a_dict() -> None:
    as_dict = entry(3, detail={"result_count": 1, "criteria": ["family_name"]})
    as_text = entry(3, detail='{"criteria": ["family_name"], "result_count": 1}')
    assert entry_hash(GENESIS_HASH, as_dict) == entry_hash(GENESIS_HASH, as_text)


def test_each_hash_depends_on_the_one_before() -> None:
    assert entry_hash(GENESIS_HASH, entry(1)) != entry_hash("f" * 64, entry(1))
    assert len(entry_hash(GENESIS_HASH, entry(1))) == 64


def test_an_untouched_chain_passes_and_so_does_an_empty_one() -> None:
    rows = chain(5)
    assert check_chain(rows, [Anchor(3, rows[2]["entry_hash"], "t"), Anchor(5, rows[4]["entry_hash"], "t")]) \
        .__dict__ == {"ok": True, "entries": 5, "first_break": None, "reason": "chain intact", "anchors_checked": 2,
                        "after_newest_anchor": 0}
    assert check_chain([]).ok


def test_an_edited_entry_is_named() -> None:
    rows = chain(5)
    rows[2]["purpose"] = "curiosity"
    result = check_chain(rows)
    assert (result.ok, result.first_break, result.entries) == (False, 3, 5)
    assert "changed" in result.reason


def test_an_edited_entry_with_its_own_hash_recomputed_breaks_at_the_next() -> None:
    rows = chain(5)
    rows[2]["purpose"] = "curiosity"
    rows[2]["entry_hash"] = entry_hash(rows[2]["prev_hash"], rows[2])
    assert check_chain(rows).first_break == 4


def test_a_deleted_entry_is_a_gap() -> None:
    rows = chain(5)
    del rows[1]
    result = check_chain(rows)
    assert (result.ok, result.first_break) == (False, 3) and "2..2 are missing" in result.reason


def test_a_deleted_first_entry_is_seen() -> None:
    assert check_chain(chain(3)[1:]).first_break == 2


def test_two_swapped_entries_are_seen() -> None:
    rows = chain(5)
    rows[1], rows[2] = rows[2], rows[1]
    rows[1]["entry_id"], rows[2]["entry_id"] = 2, 3
    assert check_chain(rows).first_break == 2


def test_an_inserted_entry_with_a_valid_hash_still_breaks_the_chain_after_it() -> None:
    rows = chain(4)
    forged = entry(3, username="mallory", cp_id=None)
    forged["prev_hash"], forged["entry_hash"] = rows[1]["entry_hash"], entry_hash(rows[1]["entry_hash"], forged)
    for row in rows[2:]:
        row["entry_id"] += 1
    rows.insert(2, forged)
    assert check_chain(rows).first_break == 4


def test_a_consistent_rewrite_is_caught_only_by_an_anchor() -> None:
    rows = chain(5)
    anchors = [Anchor(4, rows[3]["entry_hash"], "2026-11-25T10:00:00+00:00")]
    rows[1]["purpose"] = "curiosity"
    relink(rows)
    assert check_chain(rows).ok
    result = check_chain(rows, anchors)
    assert (result.ok, result.first_break) == (False, 4) and "rewritten" in result.reason


def test_entries_cut_off_after_an_anchor_are_missed() -> None:
    rows = chain(5)
    anchors = [Anchor(5, rows[4]["entry_hash"], "t")]
    result = check_chain(rows[:3], anchors)
    assert (result.ok, result.first_break) == (False, 5) and "no longer in the chain" in result.reason


def test_the_anchors_file_is_read_line_by_line(tmp_path: Any) -> None:
    path = tmp_path / "anchors.log"
    assert read_anchors(path) == []
    path.write_text(f"3,{'a' * 64},2026-11-25T10:00:00+00:00\n\n7,{'b' * 64},2026-11-25T11:00:00+00:00\n")
    assert [a.entry_id for a in read_anchors(path)] == [3, 7]
    path.write_text("garbage\n")
    with pytest.raises(ValueError):
        read_anchors(path)
