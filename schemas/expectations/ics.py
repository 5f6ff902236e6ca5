"""Social care involvement notifications (a delta): the batch contract (thresholds and why, inline)."""

from __future__ import annotations

from schemas.expectations import common

EXPECTATIONS: tuple[common.ExpectationConfig, ...] = (
    common.profile_columns(),
    common.row_count(),  # any size, even one event
    # Withheld rows count as read, so a file of sensitive events without consent is not "broken".
    common.quarantined_share(0.5),
    # Case systems trace NHS numbers in batches; UPNs are copied from education records by hand.
    common.identifier_valid("nhs_number_valid", "NHS number", at_least=0.90),
    common.identifier_valid("upn_valid", "UPN", at_least=0.80),
    # Care leavers and young people with learning difficulties stay to 25.
    common.age_between(0, 25),
)

