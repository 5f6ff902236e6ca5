"""ContactPoint IDs: stable, never reused, with a check character.

Format ``CP`` + nine digits + a check letter. New IDs are nine random digits (``warehouse.identity.new_cp_ids``,
minted by ``identity.new_children`` in the database, unique by its primary key): an ID reveals nothing about
the directory's size and cannot be computed from another. IDs made before migration 0011 were a
sequence number scrambled by a bijection (``cp_id_for``, which anyone could invert); they stay valid.
The check letter catches any single mistyped digit and any swap of two adjacent digits.
"""

from __future__ import annotations

import re

CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # the UPN alphabet: no I, O, S to confuse with digits
_MODULUS = 10**9
_MULTIPLIER = 738_219_497  # odd and not a multiple of 5: a bijection on 0..10^9-1
_OFFSET = 104_729
CP_ID = re.compile(r"^CP(\d{9})([A-Z])$")


def _check_letter(digits: str) -> str:
    # Position weights 1..9 (a prime modulus 23 > 9 makes every weight invertible).
    return CHECK_LETTERS[sum(int(d) * w for d, w in zip(digits, range(1, 10), strict=True)) % 23]


def cp_id_for(number: int) -> str:
    """The ContactPoint ID of the ``number``-th child ever created (1-based)."""
    if not 0 < number < _MODULUS:
        raise ValueError("child number out of range")
    digits = f"{(number * _MULTIPLIER + _OFFSET) % _MODULUS:09d}"
    return f"CP{digits}{_check_letter(digits)}"


def is_valid_cp_id(value: str) -> bool:
    """True for a well-formed ID whose check letter holds."""
    match = CP_ID.match(value)
    return bool(match) and _check_letter(match.group(1)) == match.group(2)  # type: ignore[union-attr]

