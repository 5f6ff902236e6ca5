"""ContactPoint IDs carry no sequence (issue 13, finding 2): nothing reverses an ID to a count of
children, the next ID cannot be computed from the last, and a clash is impossible by constraint."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from matching.ids import _MODULUS, _MULTIPLIER, _OFFSET, cp_id_for, is_valid_cp_id
from warehouse.db import transaction
from warehouse.identity import new_cp_ids

pytestmark = pytest.mark.postgres


def sequence_number(cp_id: str) -> int:
    """What the old scheme let anyone compute from an ID: the child's sequence number."""
    return (int(cp_id[2:11]) - _OFFSET) * pow(_MULTIPLIER, -1, _MODULUS) % _MODULUS


def test_new_ids_are_valid_unique_and_reveal_no_sequence(store: Path) -> None:
    with transaction() as conn:
        ids = new_cp_ids(conn, 2_000)
    assert len(set(ids)) == 2_000 and all(is_valid_cp_id(i) for i in ids)
    numbers = [sequence_number(i) for i in ids]
    # Under the old scheme these would be 1..2000; random digits land anywhere in 10^9.
    assert sum(1 for n in numbers if n <= 10_000) < 5
    assert sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b == a + 1) == 0
    with transaction() as conn:
        seqs = conn.execute(text("SELECT seq FROM identity.child WHERE cp_id = ANY(:c)"), {"c": ids}).scalars().all()
    assert len(set(seqs)) == 2_000, "which child is older is kept apart from the ID"


def test_an_existing_id_stays_valid_and_a_duplicate_is_refused(store: Path) -> None:
    old = cp_id_for(7)
    with transaction() as conn:
        conn.execute(text("INSERT INTO identity.child (cp_id) VALUES (:c)"), {"c": old})
    assert is_valid_cp_id(old)
    with pytest.raises(IntegrityError), transaction() as conn:
        conn.execute(text("INSERT INTO identity.child (cp_id) VALUES (:c)"), {"c": old})


def test_the_database_check_letter_is_the_one_the_hub_checks(store: Path) -> None:
    with transaction() as conn:
        letters = conn.execute(text("SELECT d, identity.check_letter(d) FROM unnest(CAST(:d AS text[])) AS d"),
                               {"d": [cp_id_for(n)[2:11] for n in range(1, 500)]}).all()
    assert all(is_valid_cp_id(f"CP{d}{letter}") for d, letter in letters)
