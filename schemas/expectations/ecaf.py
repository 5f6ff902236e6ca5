"""Common Assessment notifications (a delta): the batch contract (thresholds and why, inline)."""

from __future__ import annotations

from schemas.expectations import common

EXPECTATIONS: tuple[common.ExpectationConfig, ...] = (
    common.profile_columns(),
    common.row_count(),  # any size, even one notification
    common.quarantined_share(0.5),  # a delta keeps its good rows below "most rows unusable"
    # Practitioners type both identifiers into the form: typos are expected, a file of failures is not.
    common.identifier_valid("nhs_number_valid", "NHS number", at_least=0.80),
    common.identifier_valid("upn_valid", "UPN", at_least=0.80),
    common.age_between(0, 25),
)

