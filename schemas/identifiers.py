"""Identifier checks shared by every feed, the linker and the synthetic generator.

Each check follows ``docs/feeds.md`` ("Common field rules"). The functions are pure: they
take the raw string a feed sent and answer with a normalised value or ``None`` when the value cannot
be trusted. A value that fails its check is never used to identify a child.
"""

from __future__ import annotations

import re
from operator import mul

UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"

# BS7666 PostCodeType, written out without the character-class subtraction XML Schema allows.
_A1 = "[A-PR-UWYZ]"  # first letter: not Q, V, X
_A2 = "[A-HK-Y]"  # second letter: not I, J, Z
_A3 = "[A-HJKSTUW]"
_A4 = "[ABEHMNPRVWXY]"
_INWARD = "[0-9][ABD-HJLNP-UW-Z]{2}"  # not C, I, K, M, O, V
POSTCODE_PATTERN = re.compile(
    rf"^(GIR 0AA|(({_A1}[0-9][0-9]?)|({_A1}{_A2}[0-9][0-9]?)|({_A1}[0-9]{_A3})|({_A1}{_A2}[0-9]{_A4})) {_INWARD})$"
)
PSEUDO_POSTCODE = re.compile(r"^(BFPO\s*\d{1,4}|ZZ99\s*\w{3})$")
ODS_PRACTICE_CODE = re.compile(r"^[A-Z][0-9]{5}$")
LA_CODE = re.compile(r"^[0-9]{3}$")


_NHS_WEIGHTS = range(10, 1, -1)
_UPN_WEIGHTS = range(2, 13)  # positions 2-12; the last character (position 13) may be a letter


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus-11 check digit for the first nine digits of an NHS number (None: no valid digit)."""
    if len(first_nine) != 9:
        raise ValueError("an NHS number's check digit needs its first nine digits")
    # map/mul rather than a generator: this runs for every row of every feed.
    total = sum(map(mul, map(int, first_nine), _NHS_WEIGHTS))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def normalise_nhs_number(raw: str | None) -> str | None:
    """The ten digits of a valid NHS number, or None when absent or failing modulus 11."""
    if raw is None:
        return None
    digits = raw.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return None
    return digits if nhs_check_digit(digits[:9]) == int(digits[9]) else None


def upn_check_letter(body: str) -> str | None:
    """Check letter for the twelve characters after it (positions 2–13), or None if malformed."""
    if len(body) != 12:
        return None
    digits, last = body[:11], body[11]
    if not (digits.isascii() and digits.isdigit()):
        return None
    if last.isascii() and last.isdigit():
        value = int(last)
    elif last in UPN_CHECK_LETTERS:  # only a temporary UPN carries a letter, and only in its last position
        value = UPN_CHECK_LETTERS.index(last)
    else:
        return None
    total = sum(map(mul, map(int, digits), _UPN_WEIGHTS)) + value * 13
    return UPN_CHECK_LETTERS[total % 23]


def normalise_upn(raw: str | None) -> str | None:
    """The 13-character UPN in upper case when its check letter holds, else None."""
    if raw is None:
        return None
    upn = raw.strip().upper()
    if len(upn) != 13:
        return None
    return upn if upn_check_letter(upn[1:]) == upn[0] else None


def uln_is_valid(digits: str) -> bool:
    """A ULN: ten digits, first non-zero, weighted sum (10..1) congruent to 10 modulo 11."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit() or digits[0] == "0":
        return False
    return sum(int(d) * w for d, w in zip(digits, range(10, 0, -1), strict=True)) % 11 == 10


def normalise_uln(raw: str | None) -> str | None:
    """The ULN when valid, else None."""
    if raw is None:
        return None
    digits = raw.strip()
    return digits if uln_is_valid(digits) else None


def normalise_postcode(raw: str | None) -> str | None:
    """The official ``A9 9AA`` form of a real postcode; None for pseudo-postcodes and anything else."""
    if raw is None:
        return None
    compact = "".join(raw.upper().split())
    if len(compact) < 5 or len(compact) > 7 or PSEUDO_POSTCODE.match(compact):
        return None
    candidate = f"{compact[:-3]} {compact[-3:]}"
    return candidate if POSTCODE_PATTERN.match(candidate) else None


def is_pseudo_postcode(raw: str | None) -> bool:
    """BFPO and ZZ99 codes are not addresses: the child has no fixed postcode."""
    return raw is not None and bool(PSEUDO_POSTCODE.match(" ".join(raw.upper().split())))


def is_ods_practice_code(raw: str | None) -> bool:
    """An ODS GP practice code: one letter and five digits."""
    return raw is not None and bool(ODS_PRACTICE_CODE.match(raw.strip().upper()))
