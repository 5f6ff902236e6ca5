"""Connexions files: the batch contract of one local authority's full caseload (thresholds and why, inline)."""

from __future__ import annotations

from schemas.expectations import common

EXPECTATIONS: tuple[common.ExpectationConfig, ...] = (
    common.profile_columns(),
    # A full snapshot per LA: under half the previous caseload is a partial extract.
    common.row_count(noun="caseload"),
    common.quarantined_share(0.5),
    # As for a school roll: a young person the snapshot does not list is taken to have left the service.
    common.quarantined_share(
        0.2, check="quarantined_share_caseload", min_rows=common.MIN_SAMPLE,
        reason="{bad} of {n} young people could not be loaded ({bad_pct}; at most {allowed_pct} in a full "
               "caseload): each would be taken to have left the service"),
    # UPNs are copied from school records by hand, so typos are commoner than in a CTF; 80% still
    # catches a shifted column or local ids sent as UPNs (which fail nearly every time).
    common.identifier_valid("upn_valid", "UPN", at_least=0.80),
    # 13 to 19, to 25 with learning difficulties or disabilities, and some 12-year-olds in year 8.
    common.age_between(12, 25),
    common.unique_loaded_keys(),
)

