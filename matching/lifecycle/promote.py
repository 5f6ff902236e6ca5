"""Promoting a model version: the linker's model changes, the promotion is audited, and every record is
re-linked (IDs carry over), in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from matching.assign import LinkSummary
from matching.lifecycle.versions import current_version, model_of
from matching.link import relink_all
from matching.settings import MODEL_VERSION
from warehouse import audit, steward_actions


@dataclass(frozen=True)
class Promotion:
    """A promotion done: which version replaced which, the re-link that followed, and its audit entry."""

    version: str
    previous: str
    relink: LinkSummary
    audit_entry_id: int


def promote(conn: Connection, version: str, *, reason: str, run_id: str, steward: str | None = None,
            session: str | None = None, backend: str = "duckdb") -> Promotion:
    """Make ``version`` the linker's model, audit it, and re-link every record (IDs carry over).

    The promotion itself is the database's (``identity.steward_promote``: the session's steward, checked
    there, is who promoted it); ``steward`` names one instead for the hub's own tools. One transaction: a
    failed re-link leaves the old model current. The reason is kept with the model (``identity.model``), not
    in the audit entry: it is free text, and the audit holds codes and counts only.
    """
    if not reason or not reason.strip():
        raise ValueError("a promotion needs a reason")
    if version == current_version(conn, session=session):
        raise ValueError(f"{version} is already the current model")
    model = model_of(conn, version, session=session)  # KeyError for an unknown version, before anything is written
    try:
        who = steward_actions.promote_model(conn, version, model, reason=reason, run_id=run_id,
                                            bundled=MODEL_VERSION, session=session, steward=steward)
    except steward_actions.NotEntitled as refused:
        raise PermissionError(f"{refused}: only stewards promote a model") from None
    except steward_actions.StewardshipError as refused:
        raise ValueError(str(refused)) from None
    summary = relink_all(conn, run_id, backend=backend)
    entry = audit.append(conn, username=who["username"], role=who["role"], action="model_promoted", detail={
        "version": version, "previous": who["previous"], "relink_run": run_id, "records": summary.records,
        "records_moved": summary.records_moved, "children_merged": summary.children_merged,
        "new_children": summary.new_children})
    return Promotion(version, who["previous"], summary, entry)
