"""The linker's kept features (``identity.record_features``, migration 0005): one row of standardised
comparison columns per staged record, so a nightly delta finds its candidates by index.

``matching.features`` computes the columns (pure); this module reads records in canonical columns, keeps
their features, and copies kept features out for the linker. A *selector* is a condition over ``f`` (kept
features) and ``l`` (the record's link) naming which records a run reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text

from warehouse.db import copy_cursor

FEATURE_COLUMNS = (
    "unique_id", "forename", "forename_formal", "given_names", "surname", "surname_parts", "dob",
    "dob_transposed", "birth_year", "gender", "postcode", "postcode_sector", "postcode_district",
    "house_number", "street", "nhs_number", "upn", "town", "other_identifier",
)
"""The comparison columns, in the order Splink reads them (``unique_id`` is kept as ``record_id``)."""
LIST_FEATURES = ("given_names", "surname_parts")
"""Columns kept as text arrays (copied out joined with ``|``)."""
KEPT_COLUMNS = ["record_id", *(c for c in FEATURE_COLUMNS if c != "unique_id")]

CANONICAL = """
    SELECT s.record_id, s.given_name, s.middle_names, s.family_name, s.preferred_given_name,
           s.preferred_family_name, s.former_family_name, s.date_of_birth, s.gender, s.postcode,
           s.address_line_1, s.nhs_number, s.upn, l.cp_id
    FROM staging.source_record s LEFT JOIN identity.link l ON l.record_id = s.record_id
"""
"""Every staged record in the canonical columns features are computed from, with its child (if any)."""

# A record without a child is always waiting to be published (publish takes only linked records off the
# queue): found through the narrow queue, so a night reads its own records, not the whole store.
AWAITING_PUBLISH = "SELECT q.record_id FROM staging.publish_queue q"
MISSING_FEATURES = "NOT EXISTS (SELECT 1 FROM identity.record_features f WHERE f.record_id = s.record_id)"

EVERY_RECORD = "true"
ARRIVED = f"f.record_id IN ({AWAITING_PUBLISH})"
"""Selector: every record waiting to be published (a first load links all of them)."""
UNLINKED = f"l.cp_id IS NULL AND f.record_id IN ({AWAITING_PUBLISH})"
"""Selector: the records a delta links, those without a child."""
# An archived child is frozen: a full re-link leaves its records and ID alone. They stay in staging only to
# recognise a late record (the delta still scores against them); re-clustering them could merge the child
# back into the directory, or move a listed child's records under an archived ID.
NOT_ARCHIVED = "NOT EXISTS (SELECT 1 FROM identity.child c WHERE c.cp_id = l.cp_id AND c.status = 'archived')"
"""Selector: every record but an archived child's (a full re-link)."""


def records_without_features(conn: Connection) -> list[int]:
    """Staged records with no features kept (new, or changed since: a trigger drops a changed record's)."""
    return [int(r) for r in conn.execute(text(
        f"SELECT s.record_id FROM staging.source_record s WHERE {MISSING_FEATURES} ORDER BY 1")).scalars()]


def canonical_records(conn: Connection, record_ids: Sequence[int] | None = None) -> Iterator[dict[str, Any]]:
    """Records in canonical columns (None: every staged record)."""
    if record_ids is None:
        rows = conn.execute(text(CANONICAL))
    else:
        rows = conn.execute(text(f"{CANONICAL} WHERE s.record_id = ANY(:ids)"), {"ids": list(record_ids)})
    return (dict(r._mapping) for r in rows)


def replace_features(conn: Connection, record_ids: Sequence[int], features: Iterable[Mapping[str, Any]]) -> None:
    """Keep ``features`` (``matching.features.record_features`` rows) for ``record_ids``, replacing any kept."""
    conn.execute(text("DELETE FROM identity.record_features WHERE record_id = ANY(:ids)"), {"ids": list(record_ids)})
    with copy_cursor(conn).copy(f"COPY identity.record_features ({', '.join(KEPT_COLUMNS)}) FROM STDIN") as copy:
        for row in features:
            copy.write_row([int(row["unique_id"]), *(row[c] for c in KEPT_COLUMNS[1:])])


def analyse_features(conn: Connection) -> None:
    """Refresh the planner's statistics after many features changed (candidate lookups pick their index)."""
    conn.execute(text("ANALYZE identity.record_features"))


@contextmanager
def kept_features_csv(conn: Connection, selector: str) -> Iterator[Iterable[Any]]:
    """The selected records' kept features and current child as CSV chunks (``FEATURE_COLUMNS`` in order,
    lists joined with ``|``, then ``cp_id``): copied out, so no Python object is made per record."""
    columns = [f"array_to_string(f.{c}, '|')" if c in LIST_FEATURES else f"f.{c}" for c in FEATURE_COLUMNS[1:]]
    query = f"""COPY (SELECT f.record_id, {", ".join(columns)}, l.cp_id FROM identity.record_features f
                      LEFT JOIN identity.link l ON l.record_id = f.record_id WHERE {selector})
                TO STDOUT (FORMAT csv)"""
    with copy_cursor(conn).copy(query) as copy:
        yield copy


def stage_new_features(conn: Connection) -> None:
    """The features of the records a delta links, as the temporary ``new_features`` table (dropped at
    commit) that :func:`for_a_delta` joins on."""
    conn.execute(text(f"""CREATE TEMP TABLE new_features ON COMMIT DROP AS
                          SELECT f.* FROM identity.record_features f WHERE f.record_id IN ({AWAITING_PUBLISH})
                            AND NOT EXISTS (SELECT 1 FROM identity.link l WHERE l.record_id = f.record_id)"""))
    conn.execute(text("ANALYZE new_features"))


def _sharing_a_blocking_key(blocking_keys: Iterable[Iterable[str]]) -> str:
    # Linked or not: the selector keeps linked records only.
    return " UNION ".join(
        "SELECT o.record_id FROM identity.record_features o JOIN new_features n ON "
        + " AND ".join(f"o.{k} = n.{k}" for k in keys)
        for keys in blocking_keys)


# A home is a postcode and a house number (``matching.moves``): the number may be missing, the postcode not.
OF_CHILDREN_AT_A_NEW_HOME = """
    SELECT k.record_id FROM identity.link k WHERE k.cp_id IN (
      SELECT h.cp_id FROM identity.record_features o
        JOIN new_features n ON o.postcode = n.postcode AND o.house_number IS NOT DISTINCT FROM n.house_number
        JOIN identity.link h ON h.record_id = o.record_id)
"""


def for_a_delta(blocking_keys: Iterable[Iterable[str]]) -> str:
    """Selector: the linked records a nightly delta reads besides its new ones. Those sharing a blocking key with
    a record of ``new_features``, one index lookup per blocking rule (``blocking_keys``: the feature columns each
    rule compares); and every record of a child with a record at a new record's home: a brother's records at the
    old and the new home are the family's move, which lets his sister's record at the new home join hers at the
    old one (``matching.moves.moves_of_children``), yet he shares no blocking key with her. Both follow the
    night's records, not the directory (the home's index: migration 0025)."""
    return (f"f.record_id IN ({_sharing_a_blocking_key(blocking_keys)} UNION {OF_CHILDREN_AT_A_NEW_HOME}) "
            "AND l.cp_id IS NOT NULL")
