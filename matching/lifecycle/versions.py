"""The model versions the lifecycle judges: the bundled one and those kept in ``identity.model``, which is
current, and the stewards' decisions that stand as labels.

Every read is the store's (``warehouse.model_versions``): with ``session`` (the console) through the steward's
session, which the database checks; without it (the hub's own tools, as the store's owner) directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping

from matching.decide import APART, LINK, REVIEW
from matching.model import load_model
from matching.settings import MODEL_VERSION
from warehouse import model_versions as store

MATCH, NON_MATCH = "match", "non_match"
LABEL_OF = {"must_link": MATCH, "cannot_link": NON_MATCH}
DECISIONS = (LINK, REVIEW, APART)
PROMOTIONS_KEY = "contactpoint_promotions"  # ours, in the stored model document; Splink never reads it
Pair = tuple[int, int]


@dataclass(frozen=True)
class ModelVersion:
    """A model the linker can run: the bundled one, or one trained and kept in ``identity.model``."""

    version: str
    trained_at: Any
    promoted_at: Any
    current: bool
    stored: bool
    promotions: tuple[dict[str, Any], ...] = ()  # who promoted it, when, over which version, and why


def model_versions(conn: Connection, *, session: str | None = None) -> list[ModelVersion]:
    """Every version, newest trained first, the bundled model last; exactly one is current."""
    rows = store.version_rows(conn, session)
    current = current_version(conn, session=session)
    versions = [ModelVersion(r["version"], r["trained_at"], r["promoted_at"], r["version"] == current, True,
                             tuple(r["promotions"] or ())) for r in rows]
    if not any(v.version == MODEL_VERSION for v in versions):
        versions.append(ModelVersion(MODEL_VERSION, None, None, current == MODEL_VERSION, False))
    return versions


def _current(conn: Connection, session: str | None) -> RowMapping | None:
    return store.current_row(conn, session)


def current_version(conn: Connection, *, session: str | None = None) -> str:
    """The version the linker runs (``matching.model.current_model``): the latest promoted, else the bundled."""
    promoted = _current(conn, session)
    return str(promoted["version"]) if promoted else MODEL_VERSION


def current_model_of(conn: Connection, session: str | None = None) -> dict[str, Any]:
    """The model the linker runs (``matching.model.current_model``), read through ``session`` when given."""
    promoted = _current(conn, session)
    return dict(promoted["model"]) if promoted else load_model()


def model_of(conn: Connection, version: str, *, session: str | None = None) -> dict[str, Any]:
    """A version's trained model; KeyError when there is no such version."""
    stored = store.model_document(conn, version, session)
    if stored is not None:
        return stored
    if version == MODEL_VERSION:
        return load_model()
    raise KeyError(f"no model version {version!r}")


@dataclass(frozen=True)
class LabelledPair:
    """Two records a steward decided about, and what the decision says they are."""

    record_a: int
    record_b: int
    label: str


def labelled_pairs(conn: Connection, *, session: str | None = None) -> list[LabelledPair]:
    """The decisions that stand as labels: each pair's newest decision that was not undone."""
    rows = store.label_rows(conn, session)
    return [LabelledPair(int(r["record_a"]), int(r["record_b"]), LABEL_OF[r["decision"]]) for r in rows]


def canonical_records(conn: Connection, record_ids: list[int] | None, *, session: str | None = None
                      ) -> list[dict[str, Any]]:
    """Records in canonical columns (None: every staged record), as the models score them."""
    return [dict(r) for r in store.canonical_rows(conn, record_ids, session)]


def children_of(conn: Connection, record_ids: Iterable[int], *, session: str | None = None) -> dict[int, str]:
    """The ContactPoint ID each record is linked to now (records not yet linked are left out). Through a
    steward's ``session``, a held or shielded child is left out unless the steward is entitled to it."""
    return {int(r["record_id"]): str(r["cp_id"])
            for r in store.record_children(conn, sorted(set(record_ids)), session)}
