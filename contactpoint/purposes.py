"""Why a person may read a child's record: the purposes the law allows, and how a case reference looks.

The database holds the same list (``access.read_purposes()``, migration 0013) and checks it on every read,
whoever calls; this tuple lets the API answer 422 before the database is asked, and a test keeps the
two equal. A case reference is the caller's own case or referral number, never free text: it is written
to the audit beside the purpose.
"""

from __future__ import annotations

READ_PURPOSES = (
    "safeguarding",              # Children Act 2004 s. 11
    "child_protection_enquiry",  # Children Act 1989 s. 47
    "early_intervention",        # Children Act 2004 s. 10
    "service_coordination",      # Children Act 2004 s. 10
    "missing_education",         # Education Act 1996 s. 436A
    "record_synchronisation",    # Children Act 2004 s. 12: a front end re-reads what the change feed named
)
CASE_REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,39}$"
"""1-40 letters, digits and ``/._-`` (no spaces: a name or a date of birth does not fit in one)."""


def purpose_text(purpose: str, case_reference: str | None = None) -> str:
    """The purpose as the read functions take it and the audit records it: ``code`` or ``code case REF``."""
    return purpose if case_reference is None else f"{purpose} case {case_reference}"
