"""The batch contract: Great Expectations suites over a compact per-row profile of each file.

Row rules (names, dates of birth, gender codes, identifier checks) live in the pydantic models; these
suites judge a file as a whole (most rows quarantined, identifier validity rates, ages, duplicate
children in a full snapshot, a roll that shrank) from a profile the loader collects while streaming:
``PROFILE_COLUMNS``, one row per data row. One suite per feed, declared as data in ``<feed>.py``.
Files are checked by vectorised pandas measures of the suites (``measure``); Great Expectations runs
them itself with ``check_file(..., engine="gx")``, the reference a differential test holds the measures
to. Importing this package is cheap: pandas is imported on the first check, Great Expectations only
when it runs a suite.
"""

from __future__ import annotations

from schemas.expectations.common import (
    KEPT_OUTCOMES,
    MIN_SAMPLE,
    OUTCOMES,
    PROFILE_COLUMNS,
    BatchCheckError,
    FileVerdict,
)
from schemas.expectations.profile import ProfileCollector, age_in_years
from schemas.expectations.runner import SUITES, check_file, expectations, suite_for

__all__ = [
    "KEPT_OUTCOMES",
    "MIN_SAMPLE",
    "OUTCOMES",
    "PROFILE_COLUMNS",
    "SUITES",
    "BatchCheckError",
    "FileVerdict",
    "ProfileCollector",
    "age_in_years",
    "check_file",
    "expectations",
    "suite_for",
]
