"""Identifiers as ``docs/feeds.md`` defines them, implemented here from the spec alone."""

from __future__ import annotations

from random import Random

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def nhs_number(rng: Random) -> str:
    """A valid NHS number in the never-issued range 999 000 0000 - 999 999 9999."""
    while True:
        first_nine = "999" + "".join(rng.choice("0123456789") for _ in range(6))
        remainder = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True)) % 11
        check = 11 - remainder
        if check == 11:
            check = 0
        if check != 10:
            return first_nine + str(check)


def _character_value(character: str) -> int:
    # "A=0, B=1, ..." read over the check letters themselves (no I, O or S), as the DfE's UPN guide counts them;
    # read over the whole alphabet the two readings part from J on.
    return int(character) if character.isdigit() else UPN_LETTERS.index(character.upper())


def upn_check_letter(body: str) -> str:
    """The check letter of the 12 characters after it (positions 2-13, weighted by position)."""
    total = sum(_character_value(c) * position for position, c in enumerate(body, start=2))
    return UPN_LETTERS[total % 23]


def upn(rng: Random, la_code: str) -> str:
    """A permanent UPN: check letter, LA code, then nine digits."""
    body = la_code + "".join(rng.choice("0123456789") for _ in range(9))
    return upn_check_letter(body) + body


def temporary_upn(rng: Random, la_code: str) -> str:
    """A temporary UPN: check letter, LA code, eight digits and a final letter."""
    body = la_code + "".join(rng.choice("0123456789") for _ in range(8)) + rng.choice("ABCDEFGHJKLMNPQRTUVWXYZ")
    return upn_check_letter(body) + body


def mistype(rng: Random, value: str) -> str:
    """One digit of an identifier changed (almost always breaks its check)."""
    positions = [i for i, c in enumerate(value) if c.isdigit()]
    i = rng.choice(positions)
    digit = rng.choice([d for d in "0123456789" if d != value[i]])
    return value[:i] + digit + value[i + 1:]
