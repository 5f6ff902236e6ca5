"""The linkage model's versions in the store (``identity.model``), and what judging a version reads.

The linker reads the promoted model (:func:`promoted_model`). The model's lifecycle (``matching.lifecycle``)
reads through the database's functions (``warehouse/sql/functions/13_console_model.sql``): with ``session``
(the console) through the steward's session, which the database checks; without it (the hub's own tools,
as the store's owner) the statement directly. Promotion itself is ``warehouse.steward_actions.promote_model``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, text

from warehouse.console_reads import rows as read_rows
from warehouse.console_reads import value as read_value


def promoted_model(conn: Connection) -> dict[str, Any] | None:
    """The model document promoted last, the one the linker runs (None: none promoted, the bundled one)."""
    stored = conn.execute(text("""SELECT model FROM identity.model WHERE promoted_at IS NOT NULL
                                  ORDER BY promoted_at DESC LIMIT 1""")).scalar()
    return dict(stored) if stored else None


def version_rows(conn: Connection, session: str | None) -> Sequence[RowMapping]:
    """Every stored version (``version``, ``trained_at``, ``promoted_at``, ``promotions``), newest trained first."""
    return read_rows(conn, session, "model_versions(:session)", "model_version_rows()", {})


def current_row(conn: Connection, session: str | None) -> RowMapping | None:
    """The promoted version (``version``, ``model``), or None when none is."""
    found = read_rows(conn, session, "current_model(:session)", "current_model_rows()", {})
    return found[0] if found else None


def model_document(conn: Connection, version: str, session: str | None) -> dict[str, Any] | None:
    """A stored version's model document (None: no such stored version)."""
    stored = read_value(conn, session, "model(:session, :v)", "model_document(:v)", {"v": version})
    return dict(stored) if stored is not None else None


def label_rows(conn: Connection, session: str | None) -> Sequence[RowMapping]:
    """Each pair's newest steward decision that was not undone (``record_a``, ``record_b``, ``decision``)."""
    return read_rows(conn, session, "labels(:session)", "label_rows()", {})


def canonical_rows(conn: Connection, record_ids: list[int] | None, session: str | None) -> Sequence[RowMapping]:
    """Records in canonical columns with their child (None: every staged record)."""
    return read_rows(conn, session, "canonical_records(:session, :ids)", "canonical_rows(:ids)", {"ids": record_ids})


def review_pair_keys(conn: Connection, session: str | None) -> Sequence[RowMapping]:
    """Every review pair ever opened (``pair_id``, ``record_a``, ``record_b``)."""
    return read_rows(conn, session, "review_pair_index(:session)", "review_pair_keys()", {})


def record_children(conn: Connection, record_ids: list[int], session: str | None) -> Sequence[RowMapping]:
    """Each linked record's child (``record_id``, ``cp_id``); through a session, only children it may see."""
    return read_rows(conn, session, "children_of(:session, :r)", "record_children(:r, true)", {"r": record_ids})


def record_fingerprint(conn: Connection, session: str | None) -> RowMapping:
    """How many records are staged (``records``) and when the newest changed (``changed``)."""
    return read_rows(conn, session, "store_fingerprint(:session)", "record_fingerprint()", {})[0]
