"""Steward actions as the database takes them: definer functions that take a session (issue 13).

``warehouse/sql/functions/0[1-4]_steward_*.sql`` (migration 0014) do the work: each resolves the steward
from the session token, checks role and the shielded entitlement (held means shielded) and changes
``identity`` as ``matching.stewardship`` describes. Whoever calls them can act only as the session's user.
The console passes its user's session and runs the call as ``cp_console``, a role that reads no table; the
hub's own tools (the command line, scripts, tests), which run as the store's owner, name the steward and
get a five-minute session for them (``access.tool_session``, the owner's alone).

A refusal rolls back only the action (a savepoint), so the caller's transaction goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from warehouse.db import acting_as

CONSOLE_ROLE = "cp_console"
"""The console's database role: it runs the steward actions and reads no table."""

_FUNCTIONS = {
    "link": "identity.steward_link(:s, :a, :r)",
    "keep_apart": "identity.steward_keep_apart(:s, :a, :r)",
    "split": "identity.steward_split(:s, :a, :r)",
    "merge": "identity.steward_merge(:s, :a, :b, :r)",
    "undo": "identity.steward_undo(:s, :a, :r)",
    "entry": "identity.steward_decide_entry(:s, :a, :b, :r, :t)",
}


class StewardshipError(ValueError):
    """An action that cannot be taken as asked; the message says why, in the steward's words."""


class NotEntitled(StewardshipError):
    """The action needs what the steward lacks: a live steward's session, or (for a shielded or held
    child) the entitlement to shielded children."""


@dataclass(frozen=True)
class ActionOutcome:
    """What an action did: its id, the decisions it wrote, and the IDs it kept, retired or created."""

    action_id: int
    kind: str
    decision_ids: list[int] = field(default_factory=list)
    kept_cp_id: str | None = None
    retired_cp_id: str | None = None
    new_cp_id: str | None = None


def _outcome(value: dict[str, Any]) -> ActionOutcome:
    return ActionOutcome(int(value["action_id"]), str(value["kind"]),
                         [int(d) for d in value.get("decision_ids") or []], value.get("kept_cp_id"),
                         value.get("retired_cp_id"), value.get("new_cp_id"))


def tool_session(conn: Connection, steward: str) -> str:
    """A short session for ``steward``, for the hub's own tools (the store's owner only)."""
    try:
        with conn.begin_nested():
            return str(conn.execute(text("SELECT access.tool_session(:u)"), {"u": steward}).scalar_one())
    except DBAPIError as refused:
        raise _refusal(refused) from None


def _session(conn: Connection, session: str | None, steward: str | None, missing: str) -> str:
    """The session to act under: the caller's own, or for the hub's tools a short one for ``steward``."""
    if session is not None:
        return session
    if steward is None:
        raise NotEntitled(missing)
    return tool_session(conn, steward)


def _refusal(error: DBAPIError) -> Exception:
    sqlstate = getattr(error.orig, "sqlstate", None)
    diag = getattr(error.orig, "diag", None)
    message = getattr(diag, "message_primary", None) or str(error.orig)
    if sqlstate == "42501":
        return NotEntitled(message)
    if sqlstate == "P0001":
        return StewardshipError(message)
    return error


def act(conn: Connection, kind: str, *, session: str | None, steward: str | None, role: str | None = None,
        **args: Any) -> Any:
    """Run the steward action ``kind`` for the session (or, for the hub's tools, the named steward).

    ``role``: drop to this database role for the call (the console's ``cp_console``).
    """
    session = _session(conn, session, steward, "a steward's action needs the steward's session")
    try:
        with acting_as(conn, role):
            value = conn.execute(text(f"SELECT {_FUNCTIONS[kind]}"), {"s": session, **args}).scalar_one()
    except DBAPIError as refused:
        raise _refusal(refused) from None
    value = json.loads(value) if isinstance(value, str) else value
    return [_outcome(v) for v in value] if isinstance(value, list) else _outcome(value)


def promote_model(conn: Connection, version: str, model: dict[str, Any], *, reason: str, run_id: str,
                  bundled: str, session: str | None, steward: str | None) -> dict[str, Any]:
    """Make ``version`` current for the session's steward (``identity.steward_promote``); returns who promoted
    it (``username``, ``role``) and the ``previous`` version. Refusals: :class:`NotEntitled`, :class:`StewardshipError`.
    """
    session = _session(conn, session, steward, "a promotion needs the steward's session")
    try:
        with conn.begin_nested():
            answer = conn.execute(text("SELECT identity.steward_promote(:s, :v, CAST(:m AS jsonb), :r, :run, :b)"), {
                "s": session, "v": version, "m": json.dumps(model), "r": reason, "run": run_id, "b": bundled,
            }).scalar_one()
    except DBAPIError as refused:
        raise _refusal(refused) from None
    return dict(answer)
