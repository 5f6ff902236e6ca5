"""Identifier checks, table-driven, against the spec's rules."""

from __future__ import annotations

import pytest

from schemas.identifiers import (
    is_ods_practice_code,
    is_pseudo_postcode,
    normalise_nhs_number,
    normalise_postcode,
    normalise_uln,
    normalise_upn,
    upn_check_letter,
)
from tests.factories import valid_nhs_number, valid_upn

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("raw", "expected"), [
    ("943 476 5919", "9434765919"),        # a published example, spaces allowed
    ("9434765918", None),                  # wrong check digit
    ("94347659", None),                    # too short
    ("94347659 1a", None),                 # not digits
    (None, None),
])
def test_nhs_number_modulus_11(raw: str | None, expected: str | None) -> None:
    assert normalise_nhs_number(raw) == expected


def test_nhs_number_whose_check_would_be_10_is_never_valid() -> None:
    # 999000001: weights 10..2 give a remainder of 1, so the check would be 10 (invalid).
    body = next(f"{n:09d}" for n in range(999_000_000, 999_001_000)
                if sum(int(d) * w for d, w in zip(f"{n:09d}", range(10, 1, -1), strict=True)) % 11 == 1)
    assert all(normalise_nhs_number(body + str(d)) is None for d in range(10))


def test_synthetic_nhs_numbers_are_valid() -> None:
    assert normalise_nhs_number(valid_nhs_number()) is not None


def test_upn_check_letter_holds_and_any_single_change_breaks_it() -> None:
    upn = valid_upn(serial=7)
    assert normalise_upn(upn) == upn
    assert normalise_upn(upn.lower()) == upn
    for position in range(1, 13):
        digit = upn[position]
        changed = upn[:position] + str((int(digit) + 1) % 10) + upn[position + 1:]
        assert normalise_upn(changed) is None, changed


def test_temporary_upn_with_a_letter_last() -> None:
    body = "3722001250" + "1" + "B"
    letter = upn_check_letter(body)
    assert letter is not None and normalise_upn(letter + body) == letter + body
    assert upn_check_letter("3722001250B1") is None  # a letter anywhere else is not a UPN


@pytest.mark.parametrize(("raw", "expected"), [
    ("sw1a1aa", "SW1A 1AA"), ("EC1A 1BB", "EC1A 1BB"), ("m1  1ae", "M1 1AE"), ("B33 8TH", "B33 8TH"),
    ("CR2 6XH", "CR2 6XH"), ("DN55 1PT", "DN55 1PT"), ("W1A 0AX", "W1A 0AX"), ("GIR0AA", "GIR 0AA"),
    ("QA1 1AA", None),      # Q is never a first letter
    ("S60 1AC", None),      # C is never in the inward code's letters
    ("S60", None), ("", None), ("BFPO 123", None), ("ZZ99 3VZ", None), (None, None),
])
def test_postcode_official_form(raw: str | None, expected: str | None) -> None:
    assert normalise_postcode(raw) == expected


def test_pseudo_postcodes_mean_no_fixed_postcode() -> None:
    assert is_pseudo_postcode("bfpo 123") and is_pseudo_postcode("ZZ993VZ")
    assert not is_pseudo_postcode("S60 1AA")


def test_uln_and_ods_code() -> None:
    # 1000000004: 10*1 + 1*4 = 14 ≡ 3; find a valid one by the rule rather than trusting a literal.
    valid = next(f"{n:010d}" for n in range(1_000_000_000, 1_000_001_000)
                 if sum(int(d) * w for d, w in zip(f"{n:010d}", range(10, 0, -1), strict=True)) % 11 == 10)
    assert normalise_uln(valid) == valid
    assert normalise_uln("0" + valid[1:]) is None
    assert normalise_uln(valid[:-1] + str((int(valid[-1]) + 1) % 10)) is None
    assert is_ods_practice_code("P84012") and not is_ods_practice_code("84012P")


def _reference_upn_check_letter(body: str) -> str | None:
    """The check letter as first written (character by character), the contract the faster one keeps."""
    if len(body) != 12:
        return None
    total = 0
    for position, char in enumerate(body, start=2):
        if char.isascii() and char.isdigit():
            value = int(char)
        elif position == 13 and char in "ABCDEFGHJKLMNPQRTUVWXYZ":
            value = "ABCDEFGHJKLMNPQRTUVWXYZ".index(char)
        else:
            return None
        total += value * position
    return "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23]


def _reference_nhs_check_digit(first_nine: str) -> int | None:
    check = 11 - sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True)) % 11
    return 0 if check == 11 else None if check == 10 else check


def test_the_fast_identifier_checks_agree_with_the_character_by_character_ones() -> None:
    import random

    from schemas.identifiers import nhs_check_digit, upn_check_letter

    rng = random.Random(5)
    alphabet = "0123456789" * 6 + "ABCDEHIOQZ²٣ -"
    bodies = ["".join(rng.choice(alphabet) for _ in range(rng.choice([11, 12, 12, 12, 13]))) for _ in range(20_000)]
    bodies += [valid_upn(serial=n)[1:] for n in range(500)]
    assert [upn_check_letter(b) for b in bodies] == [_reference_upn_check_letter(b) for b in bodies]
    assert sum(upn_check_letter(b) is not None for b in bodies) > 1_000  # many bodies were well formed
    nines = [f"{rng.randrange(10**9):09d}" for _ in range(20_000)]
    assert [nhs_check_digit(n) for n in nines] == [_reference_nhs_check_digit(n) for n in nines]
    with pytest.raises(ValueError):
        nhs_check_digit("12345678")
