"""Whether the population given holds twins, estimated on its records before any rule reads the twin pattern.

``matching.decide``'s twin rules rest on one premise: two records with one family name and birth date and wholly
different forenames are two children (twins, or siblings), never one child's records. Among children that is
true, and a model trained on the directory's records keeps those rules. A set whose forenames were replaced by
its keepers' errors (FEBRL: a fifth of its duplicates carry another forename) breaks it, and the rules would send
its duplicates to stewards. The records themselves tell which population they are: where two records carry an
identifier of the same kind, twins' identifiers differ, while one person's records agree on it as often whatever
the forename. So the twin pattern's identifier agreement is compared with that of records with the same forename:
nearly as high, and the pattern is one person's with a forename error; far lower, and the population holds twins.
Too few such pairs, and twins are assumed: precision first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

from matching.features import column

IDENTIFIERS = ("nhs_number", "upn", "other_identifier")
COLUMNS = ("surname", "dob", "forename_formal", "given_names", *IDENTIFIERS)  # what the estimate reads
# A family (one surname and birth date) larger than this is a common name's coincidence, not a household.
LARGEST_GROUP = 12
# Fewer pairs of either kind than this cannot tell the two populations apart.
FEWEST_PAIRS = 30
# The twin pattern agrees on identifiers at least this share as often as same-forename pairs: no twins.
ONE_PERSON_RATIO = 0.5


@dataclass(frozen=True)
class TwinEvidence:
    """Pairs of one surname and birth date with an identifier of one kind on both: how many, and how many agree."""

    same_forename: int
    same_forename_agreeing: int
    other_forename: int
    other_forename_agreeing: int

    @property
    def twins_seen(self) -> bool:
        """Whether the twin rules hold for this population (they do unless the evidence says otherwise)."""
        if self.same_forename < FEWEST_PAIRS or self.other_forename < FEWEST_PAIRS:
            return True
        same = self.same_forename_agreeing / self.same_forename
        other = self.other_forename_agreeing / self.other_forename
        return other < ONE_PERSON_RATIO * same

    def report(self) -> dict[str, Any]:
        """The counts and the verdict, for the estimation report."""
        return {**asdict(self), "twins_seen": self.twins_seen}


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (short strings: forenames)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def wholly_different(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Forenames that are no slip, initial, nickname or middle name of one another: another child's name."""
    x, y = a["forename_formal"], b["forename_formal"]
    if not x or not y or x == y or x in (b["given_names"] or ()) or y in (a["given_names"] or ()):
        return False
    # Lengths three apart are three edits apart at least: no need to count them.
    return not (x.startswith(y) or y.startswith(x)) and (abs(len(x) - len(y)) > 2 or edit_distance(x, y) > 2)


def twin_evidence(records: Sequence[dict[str, Any]]) -> TwinEvidence:
    """Count, within each surname and birth date, the pairs whose records carry an identifier of one kind."""
    return evidence_of_columns({c: [r.get(c) for r in records] for c in COLUMNS})


def evidence_of_frame(frame: Any) -> TwinEvidence:
    """``twin_evidence`` over a comparison-column frame (pandas or Arrow), read a column at a time."""
    return evidence_of_columns({c: column(frame, c) for c in COLUMNS})


def evidence_of_columns(columns: dict[str, list[Any]]) -> TwinEvidence:
    """``twin_evidence`` on columns: a record becomes a dict only in a family of two to ``LARGEST_GROUP``."""
    identified = [any(values) for values in zip(*(columns[k] for k in IDENTIFIERS), strict=True)]
    families: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row, (surname, dob) in enumerate(zip(columns["surname"], columns["dob"], strict=True)):
        if surname and dob and identified[row]:
            families[(surname, dob)].append(row)
    counts = [0, 0, 0, 0]
    for rows in families.values():
        if not 2 <= len(rows) <= LARGEST_GROUP:
            continue
        family = [{c: columns[c][row] for c in COLUMNS} for row in rows]
        for a, b in combinations(family, 2):
            kinds = [k for k in IDENTIFIERS if a[k] and b[k]]
            if not kinds:
                continue
            agree = any(a[k] == b[k] for k in kinds)
            if a["forename_formal"] and a["forename_formal"] == b["forename_formal"]:
                counts[0] += 1
                counts[1] += agree
            elif wholly_different(a, b):
                counts[2] += 1
                counts[3] += agree
    return TwinEvidence(*counts)
