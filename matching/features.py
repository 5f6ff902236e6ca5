"""The linker's view of a record: standardised comparison columns, one row per source record.

Built from the canonical columns (``staging.source_record`` or a ``link-files`` CSV) by the pure
functions of ``matching.standardise``, so the pipeline and the dry run compare exactly the same values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa

from matching.standardise import (
    clean_name,
    forename_key,
    house_number,
    postcode_parts,
    street_key,
    surname_key,
    surname_parts,
    transposed,
)
from schemas.identifiers import normalise_nhs_number, normalise_postcode, normalise_upn

FEATURE_COLUMNS = (
    "unique_id", "forename", "forename_formal", "given_names", "surname", "surname_parts", "dob",
    "dob_transposed", "birth_year", "gender", "postcode", "postcode_sector", "postcode_district",
    "house_number", "street", "nhs_number", "upn",
)
KNOWN_GENDERS = frozenset({"M", "F"})
_LISTS = frozenset({"given_names", "surname_parts"})
FEATURE_SCHEMA = pa.schema([
    (c, pa.list_(pa.string()) if c in _LISTS else pa.int64() if c == "birth_year" else pa.string())
    for c in FEATURE_COLUMNS])


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def record_features(record: Mapping[str, Any]) -> dict[str, Any]:
    """Comparison columns of one record in canonical columns (any of them may be missing)."""
    born = _as_date(record.get("date_of_birth"))
    swapped = transposed(born)
    forenames = [record.get("given_name"), record.get("preferred_given_name")]
    given = []
    for name in (*forenames, record.get("middle_names")):
        cleaned = clean_name(name)
        for part in cleaned.split(" ") if cleaned else []:
            formal = forename_key(part)
            if formal and formal not in given:
                given.append(formal)
    postcode = normalise_postcode(record.get("postcode"))
    parts = postcode_parts(postcode)
    first_forename = clean_name(record.get("given_name"))
    gender = (record.get("gender") or "").strip().upper()
    return {
        "unique_id": str(record["record_id"]),
        "forename": first_forename.split(" ")[0] if first_forename else None,
        "forename_formal": forename_key(record.get("given_name")),
        "given_names": given or None,
        "surname": surname_key(record.get("family_name")),
        "surname_parts": list(surname_parts(record.get("family_name"), record.get("former_family_name"),
                                            record.get("preferred_family_name"))) or None,
        "dob": born.isoformat() if born else None,
        "dob_transposed": swapped.isoformat() if swapped else None,
        "birth_year": born.year if born else None,
        "gender": gender if gender in KNOWN_GENDERS else None,
        "postcode": parts.full,
        "postcode_sector": parts.sector,
        "postcode_district": parts.district,
        "house_number": house_number(record.get("address_line_1")),
        "street": street_key(record.get("address_line_1")),
        "nhs_number": normalise_nhs_number(record.get("nhs_number")),
        "upn": normalise_upn(record.get("upn")),
    }


def features_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of comparison columns, ready to register with Splink."""
    return as_frame([record_features(r) for r in records])


def as_frame(features: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Feature rows (computed now, or kept in ``identity.record_features``) as a Splink-ready DataFrame."""
    frame = pd.DataFrame([{c: f.get(c) for c in FEATURE_COLUMNS} for f in features], columns=list(FEATURE_COLUMNS))
    frame["unique_id"] = frame["unique_id"].astype(str)
    # Splink needs real nulls and stable dtypes even when a column is entirely empty.
    return frame.astype({"birth_year": "Int64"}).astype(object).where(frame.notna(), None)


def features_arrow(chunks: Iterable[Sequence[Sequence[Any]]]) -> pa.Table:
    """Feature rows read from the store (tuples in ``FEATURE_COLUMNS`` order, the record id an integer), a
    chunk at a time, as one Arrow table: a column store in native buffers, a fraction of the memory of
    Python objects per record, that Splink's DuckDB reads in place."""
    batches = []
    for rows in chunks:
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(FEATURE_COLUMNS)
        arrays = [pa.array([str(v) for v in columns[0]], pa.string())]
        arrays += [pa.array(columns[i], FEATURE_SCHEMA.field(i).type) for i in range(1, len(FEATURE_COLUMNS))]
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=FEATURE_SCHEMA))
    return pa.Table.from_batches(batches, schema=FEATURE_SCHEMA)


def features_table(columns: Iterable[str], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Feature rows read from the store as tuples (no dict per record) as the same frame ``as_frame``
    gives; extra columns (e.g. ``cp_id``) are kept after the feature columns."""
    names = list(columns)
    frame = pd.DataFrame.from_records(list(rows), columns=names, coerce_float=False)  # type: ignore[arg-type]
    extra = [c for c in names if c not in FEATURE_COLUMNS]
    frame = frame[[*FEATURE_COLUMNS, *extra]]
    frame["unique_id"] = frame["unique_id"].astype(str)
    return frame.astype({"birth_year": "Int64"}).astype(object).where(frame.notna(), None)
