"""The per-row profile the loader collects while a file streams: a few bytes a row, never the row itself.

A 1,000,000-row file costs about 19 bytes a row here (row number, outcome, two validity codes, age)
plus a reference to the source key, which the loader already holds to spot duplicates. A withheld
row is profiled by its number and outcome only: nothing about it may be kept.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from schemas.child import RowIssue, SourceRecord
from schemas.expectations.common import OUTCOMES, PROFILE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

_OUTCOME_CODES = {outcome: code for code, outcome in enumerate(OUTCOMES)}
_NOT_SENT, _VALID, _INVALID = 0, 1, 2
# The last part of a warning's field name, lower case, without "_": "UPN", "upn", "Child/UPN" -> "upn".
_IDENTIFIER_FIELDS = {"nhsnumber": "nhs_number", "upn": "upn"}


def age_in_years(born: date, today: date) -> float:
    """Age in years, with the part-year since the last birthday as a fraction (exactly 25.0 on the day)."""
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    last, following = _birthday(born, born.year + years), _birthday(born, born.year + years + 1)
    return years + (today - last).days / (following - last).days


def _birthday(born: date, year: int) -> date:
    # Born on 29 February: the birthday falls on 1 March in other years (as English law counts age).
    if (born.month, born.day) == (2, 29) and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return date(year, 3, 1)
    return born.replace(year=year)


class ProfileCollector:
    """Collects one file's profile row by row; ``frame()`` gives the DataFrame ``check_file`` reads."""

    def __init__(self, today: date) -> None:
        """``today`` is the hub's clock for this load (the same day the row rules judged ages by)."""
        self.today = today
        self._row_numbers = array("q")
        self._outcomes = bytearray()
        self._nhs_number = bytearray()
        self._upn = bytearray()
        self._ages = array("d")
        self._keys: list[str | None] = []

    def __len__(self) -> int:
        """Rows collected so far."""
        return len(self._outcomes)

    def add(self, row_number: int, outcome: str, record: SourceRecord | None = None,
            warnings: Sequence[RowIssue] = ()) -> None:
        """Profile one row: ``outcome`` as the loader decided it, and the record and warnings it staged.

        An identifier counts as valid when the staged record carries it, invalid when a warning says
        it failed its check, and not sent otherwise (quarantined and withheld rows: not judged).
        """
        self._row_numbers.append(row_number)
        self._outcomes.append(_OUTCOME_CODES[outcome])
        failed = {_IDENTIFIER_FIELDS.get(w.field.rsplit("/", 1)[-1].replace("_", "").lower()) for w in warnings}
        kept = record if outcome in ("loaded", "warned") else None
        for name, codes in (("nhs_number", self._nhs_number), ("upn", self._upn)):
            if name in failed:
                codes.append(_INVALID)
            else:
                codes.append(_VALID if kept is not None and getattr(kept, name) else _NOT_SENT)
        self._ages.append(age_in_years(kept.date_of_birth, self.today) if kept is not None else float("nan"))
        # A duplicate's key is kept (it is a hash, and shows which child repeats); a withheld row's never.
        self._keys.append(record.source_key if record is not None and outcome != "withheld" else None)

    def frame(self) -> pd.DataFrame:
        """The profile as a DataFrame with ``PROFILE_COLUMNS`` (imports pandas and numpy)."""
        import numpy as np
        import pandas as pd

        validity = np.array([None, True, False], dtype=object)
        columns = {
            # Copies: a view would pin the arrays, which then refuse to grow if the collector goes on.
            "row_number": np.frombuffer(self._row_numbers.tobytes(), dtype=np.int64).copy(),
            "outcome": pd.Categorical.from_codes(np.frombuffer(bytes(self._outcomes), dtype=np.uint8),
                                                 dtype=pd.CategoricalDtype(list(OUTCOMES))),
            "nhs_number_valid": validity[np.frombuffer(bytes(self._nhs_number), dtype=np.uint8)],
            "upn_valid": validity[np.frombuffer(bytes(self._upn), dtype=np.uint8)],
            "age_years": np.frombuffer(self._ages.tobytes(), dtype=np.float64).copy(),
            # Object, not pandas 3's arrow-backed str: converting a million keys would cost more than checking them.
            "source_key": pd.Series(self._keys, dtype=object),
        }
        return pd.DataFrame({name: columns[name] for name in PROFILE_COLUMNS})
