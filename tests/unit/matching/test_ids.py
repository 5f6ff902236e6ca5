"""ContactPoint IDs: unique, stable in format, and their check letter catches typing errors."""

from __future__ import annotations

import pytest

from matching.ids import cp_id_for, is_valid_cp_id

pytestmark = pytest.mark.unit


def test_ids_are_unique_valid_and_not_consecutive() -> None:
    ids = [cp_id_for(n) for n in range(1, 50_001)]
    assert len(set(ids)) == len(ids)
    assert all(is_valid_cp_id(i) for i in ids)
    assert abs(int(ids[1][2:11]) - int(ids[0][2:11])) > 1


def test_check_letter_catches_a_mistyped_digit_and_a_swap() -> None:
    cp_id = cp_id_for(12_345)
    digits = cp_id[2:11]
    for position in range(9):
        for replacement in "0123456789":
            if replacement != digits[position]:
                typo = digits[:position] + replacement + digits[position + 1:]
                assert not is_valid_cp_id(f"CP{typo}{cp_id[-1]}")
    for position in range(8):
        if digits[position] != digits[position + 1]:
            swapped = digits[:position] + digits[position + 1] + digits[position] + digits[position + 2:]
            assert not is_valid_cp_id(f"CP{swapped}{cp_id[-1]}")
