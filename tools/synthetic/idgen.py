"""Identifiers for synthetic children: valid ones, and the broken variants the faults need.

The check arithmetic lives in ``schemas.identifiers``; this module only decides which numbers
to hand out, so the generator and the hub can never disagree about what "valid" means.
"""

from __future__ import annotations

from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate
from random import Random
from typing import TypeVar

from schemas.identifiers import (
    UPN_CHECK_LETTERS,
    is_pseudo_postcode,
    nhs_check_digit,
    normalise_postcode,
    uln_is_valid,
    upn_check_letter,
)

NHS_SYNTHETIC_BASE = 999_000_000  # first nine digits of 999 000 0000, the never-issued range
NHS_BODIES = 1_000_000
# A prime stride walks every body exactly once in a seeded order, so numbers look scattered but
# are unique without remembering which were handed out.
_STRIDE = 7919
ULN_PREFIXES = 90_000_000
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters BS7666 allows in an inward code
T = TypeVar("T")


# Random.choice/randint/randrange cost about a microsecond each in pure Python; these use one
# C-level random() call and are the generator's hot path. Same stream for the same seed.
def choose(rng: Random, items: Sequence[T]) -> T:
    """One item, uniformly."""
    return items[int(rng.random() * len(items))]


def between(rng: Random, low: int, high: int) -> int:
    """An integer from ``low`` to ``high`` inclusive, uniformly."""
    return low + int(rng.random() * (high - low + 1))


def below(rng: Random, limit: int) -> int:
    """An integer from 0 to ``limit - 1``, uniformly."""
    return int(rng.random() * limit)


class Weighted:
    """A frequency-weighted list that picks with one random draw (no per-call cumulative sums)."""

    __slots__ = ("items", "_cum", "_total")

    def __init__(self, items: Sequence[str], weights: Sequence[float]) -> None:
        self.items = tuple(items)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]

    @classmethod
    def by_rank(cls, items: Sequence[str], exponent: float) -> Weighted:
        """Zipf-like weights: the r-th item weighs 1 / r**exponent."""
        return cls(items, [1.0 / (rank**exponent) for rank in range(1, len(items) + 1)])

    def pick(self, rng: Random) -> str:
        """One item, chosen with probability proportional to its weight."""
        return self.items[bisect(self._cum, rng.random() * self._total)]


class NhsAllocator:
    """Hands out unique NHS numbers from the synthetic range in a seeded order.

    The range holds about 909,000 valid numbers. A larger population would run out near its end,
    so there a random share of children (spread over every LA) gets none; never a duplicate,
    because a shared NHS number would make two children one for the linker.
    """

    VALID_IN_RANGE = 909_091  # bodies in the range whose check digit is not 10

    def __init__(self, seed: int, population: int) -> None:
        self._offset = Random(f"{seed}/nhs").randrange(NHS_BODIES)
        self._cursor = 0
        self.share = min(1.0, self.VALID_IN_RANGE * 0.99 / max(population, 1))

    def next(self, rng: Random) -> str:
        """The next unused valid NHS number ("" for the unlucky share, or once the range is exhausted)."""
        if self.share < 1.0 and rng.random() >= self.share:
            return ""
        while self._cursor < NHS_BODIES:
            body = NHS_SYNTHETIC_BASE + (self._cursor * _STRIDE + self._offset) % NHS_BODIES
            self._cursor += 1
            check = nhs_check_digit(str(body))
            if check is not None:
                return f"{body}{check}"
        return ""


class UlnAllocator:
    """Valid ULNs, unique per child index: a bijection picks an 8-digit prefix, two digits complete it."""

    def __init__(self, seed: int) -> None:
        self._offset = Random(f"{seed}/uln").randrange(ULN_PREFIXES)

    def for_index(self, index: int) -> str:
        """The ULN of the child with this global index."""
        prefix = 10_000_000 + (index * _STRIDE + self._offset) % ULN_PREFIXES
        # Weights 2 and 1 on the last two digits reach every residue, so some pair always validates.
        for ninth in range(10):
            for tenth in range(10):
                candidate = f"{prefix}{ninth}{tenth}"
                if uln_is_valid(candidate):
                    return candidate
        raise AssertionError("unreachable: every ULN prefix has a valid completion")


def upn(la_code: str, estab: int, year: int, serial: int) -> str:
    """A permanent UPN allocated by school ``estab`` in the year ending ``year`` (two digits kept)."""
    body = f"{la_code}{estab:04d}{year % 100:02d}{serial % 1000:03d}"
    return _with_check(body)


def temporary_upn(la_code: str, estab: int, year: int, serial: int) -> str:
    """A temporary UPN: the last character is a letter, as schools issue while awaiting a real one."""
    letter = UPN_CHECK_LETTERS[serial % len(UPN_CHECK_LETTERS)]
    body = f"{la_code}{estab:04d}{year % 100:02d}{serial // 23 % 100:02d}{letter}"
    return _with_check(body)


def _with_check(body: str) -> str:
    check = upn_check_letter(body)
    if check is None:
        raise ValueError(f"malformed UPN body {body!r}")
    return check + body


def postcode(outward: str, rng: Random) -> str:
    """A well-formed postcode in the district ``outward`` (official spacing, upper case)."""
    letters = INWARD_LETTERS
    return f"{outward} {below(rng, 10)}{letters[below(rng, 20)]}{letters[below(rng, 20)]}"


def odd_postcode(code: str, rng: Random) -> str:
    """The same postcode as a careless typist writes it: odd case and spacing."""
    compact = code.replace(" ", "")
    variants = (
        compact.lower(),
        code.lower(),
        f"{compact[:-3]}  {compact[-3:]}",
        f" {code.lower()} ",
        compact[:-3].lower() + " " + compact[-3:],
        code[:-2] + code[-2:].lower(),
    )
    return variants[below(rng, len(variants))]


def broken_postcode(code: str, rng: Random) -> str:
    """Something in a postcode field that cannot be a postcode (and is not a pseudo-postcode)."""
    compact = code.replace(" ", "")
    candidates = (
        "Q" + code[1:],
        f"{compact[:-3]} {compact[-3]}CI",
        code[:-1],
        compact[:-3] + " " + compact[-3:-1] + "K",
        code.replace(" ", "  ")[:-1] + "0",
    )
    start = below(rng, len(candidates))
    for step in range(len(candidates)):
        candidate = candidates[(start + step) % len(candidates)]
        if normalise_postcode(candidate) is None and not is_pseudo_postcode(candidate):
            return candidate
    return "UNKNOWN"


def wrong_check_nhs(nhs: str, rng: Random) -> str:
    """The NHS number with a different last digit: the check digit is unique, so any other fails."""
    digit = (int(nhs[-1]) + between(rng, 1, 9)) % 10
    return f"{nhs[:-1]}{digit}"


def wrong_check_upn(value: str, rng: Random) -> str:
    """The UPN with a different check letter."""
    others = UPN_CHECK_LETTERS.replace(value[0], "")
    return others[below(rng, len(others))] + value[1:]


def wrong_check_uln(uln: str, rng: Random) -> str:
    """The ULN with a different last digit (a change of 1..9 is never a multiple of 11)."""
    digit = (int(uln[-1]) + between(rng, 1, 9)) % 10
    return f"{uln[:-1]}{digit}"
