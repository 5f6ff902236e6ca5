"""The hub's one clock, so tests, demos and backfills can run "as of" any date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from contactpoint.settings import get_settings


def today() -> date:
    """Today's date for the hub's rules (``CONTACTPOINT_AS_OF`` freezes it)."""
    frozen = get_settings().as_of
    return frozen if frozen is not None else datetime.now(UTC).date()


def now() -> datetime:
    """The current UTC time (wall clock; only dates are frozen by ``CONTACTPOINT_AS_OF``)."""
    return datetime.now(UTC)
