"""GP registration files (a delta): the batch contract (thresholds and why, inline)."""

from __future__ import annotations

from schemas.expectations import common

EXPECTATIONS: tuple[common.ExpectationConfig, ...] = (
    common.profile_columns(),
    # A delta may be any size, even one registration: only an empty file is refused.
    common.row_count(),
    # Only "most rows unusable": a delta's rows are independent events, so below that the good ones
    # load and the bad ones wait in quarantine, instead of all of them waiting for a resend.
    common.quarantined_share(0.5),
    # GP systems hold NHS numbers traced against the national demographics service: failures are rare.
    common.identifier_valid("nhs_number_valid", "NHS number", at_least=0.95),
    # The row rule already refuses a birth over 25 years ago; this catches a change of rule or clock.
    common.age_between(0, 25),
)

