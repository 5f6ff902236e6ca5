"""School CTF files: the batch contract of one school's full roll (thresholds and why, inline)."""

from __future__ import annotations

from schemas.expectations import common

EXPECTATIONS: tuple[common.ExpectationConfig, ...] = (
    common.profile_columns(),
    # A roll under half the school's previous one is a partial extract (a filter, a year group missing).
    common.row_count(noun="roll"),
    # Most rows unusable: a broken extract, whatever the feed.
    common.quarantined_share(0.5),
    # Stricter for a full roll: every pupil it does not list is taken to have left, so each quarantined
    # pupil's school involvement would end. A fifth of a roll of 20 or more is not a few typing slips.
    common.quarantined_share(
        0.2, check="quarantined_share_roll", min_rows=common.MIN_SAMPLE,
        reason="{bad} of {n} pupils could not be loaded ({bad_pct}; at most {allowed_pct} in a full roll): "
               "each would be taken to have left the school"),
    # MIS rolls carry checked UPNs; temporary and re-keyed ones slip, but far below 90% is a mapping fault.
    common.identifier_valid("upn_valid", "UPN", at_least=0.90),
    # Nursery (2) to post-16 special schools (19, some 20 by the time the file loads).
    common.age_between(2, 20),
    common.unique_loaded_keys(),
)

