"""Who a person is to the hub: the one list of roles, as ``access.app_user.role`` holds them.

The database decides what each role may do (definer functions check the session's role); this enum lets
the Python name them once instead of repeating the strings (issue 16, item 6).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A person's role (``access.app_user``'s check lists the same six)."""

    READER = "reader"
    """Searches the directory and reads children's records (a practitioner)."""
    STEWARD = "steward"
    """Resolves match conflicts: link, keep apart, split, merge, undo, promote a model."""
    ARCHIVIST = "archivist"
    """Reads the restricted archive of children who left the directory."""
    AUDITOR = "auditor"
    """Reviews the audit trail and its misuse report; reads no child."""
    DATA_TEAM = "data_team"
    """Runs the loads: feeds, files, quarantine release and replay."""
    SERVICE = "service"
    """A front-end system's account: the change feed and re-reads of the children it names."""


ROLES: tuple[str, ...] = tuple(role.value for role in Role)
"""Every role's name, in the enum's order."""
