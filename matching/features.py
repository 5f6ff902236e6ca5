"""The linker's view of a record: standardised comparison columns, one row per source record.

Built from the canonical columns (``staging.source_record`` or a ``link-files`` CSV) by the pure
functions of ``matching.standardise``, so the pipeline and the dry run compare exactly the same values.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from matching.standardise import (
    clean_name,
    forename_key,
    given_name_parts,
    house_number,
    identifier_key,
    postcode_parts,
    street_key,
    surname_key,
    surname_parts,
    transposed,
)
from schemas.identifiers import normalise_nhs_number, normalise_postcode, normalise_upn
from warehouse.record_features import FEATURE_COLUMNS, LIST_FEATURES

# The columns are the store's (``identity.record_features`` keeps them): defined there, computed here.
KNOWN_GENDERS = frozenset({"M", "F"})
FEATURE_SCHEMA = pa.schema([
    (c, pa.list_(pa.string()) if c in LIST_FEATURES else pa.int64() if c == "birth_year" else pa.string())
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
        for formal in given_name_parts(name):
            if formal not in given:
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
        "town": clean_name(record.get("town")),
        "other_identifier": identifier_key(record.get("other_identifier")),
    }


# An identifier without a check digit that more records carry than one child ever has is a form's default
# ("UNKNOWN", "0000000"), not evidence: it would join strangers and make one block of them all.
MOST_RECORDS_PER_IDENTIFIER = 20


def without_placeholders(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``features`` with every ``other_identifier`` carried by more than ``MOST_RECORDS_PER_IDENTIFIER`` records
    taken for missing (NHS numbers and UPNs need no such care: a placeholder fails their check)."""
    carried = Counter(f["other_identifier"] for f in features if f["other_identifier"])
    shared = {value for value, records in carried.items() if records > MOST_RECORDS_PER_IDENTIFIER}
    if shared:
        for f in features:
            if f["other_identifier"] in shared:
                f["other_identifier"] = None
    return features


Frame: TypeAlias = Any  # pandas.DataFrame (a CSV's records) or pyarrow.Table (the store's: compact)


def column(frame: Frame, name: str) -> list[Any]:
    """One column of either kind of frame as a list."""
    return frame.column(name).to_pylist() if isinstance(frame, pa.Table) else frame[name].tolist()


def column_names(frame: Frame) -> list[str]:
    """The columns of either kind of frame."""
    return list(frame.column_names) if isinstance(frame, pa.Table) else list(frame.columns)


def features_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of comparison columns, ready to register with Splink."""
    return as_frame(without_placeholders([record_features(r) for r in records]))


def as_frame(features: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Feature rows (computed now, or kept in ``identity.record_features``) as a Splink-ready DataFrame."""
    frame = pd.DataFrame([{c: f.get(c) for c in FEATURE_COLUMNS} for f in features], columns=list(FEATURE_COLUMNS))
    frame["unique_id"] = frame["unique_id"].astype(str)
    # Splink needs real nulls and stable dtypes even when a column is entirely empty.
    return frame.astype({"birth_year": "Int64"}).astype(object).where(frame.notna(), None)


KEPT_SCHEMA = pa.schema([*FEATURE_SCHEMA, pa.field("cp_id", pa.string())])  # features and the record's child
CSV_BLOCK = 32 << 20  # bytes of CSV parsed at a time: the transient text stays small at any scale


def features_from_copy(chunks: Iterable[Any]) -> pa.Table:
    """``features_from_csv`` over the chunks of a ``COPY ... TO STDOUT (FORMAT csv)``, parsed a block at a
    time (PostgreSQL sends each row in a message of its own, so a block always ends with a whole row)."""
    tables, block, size = [], io.BytesIO(), 0
    for chunk in chunks:
        size += block.write(chunk)
        if size >= CSV_BLOCK:
            tables.append(features_from_csv(io.BytesIO(block.getbuffer())))
            block, size = io.BytesIO(), 0
    if size:
        tables.append(features_from_csv(io.BytesIO(block.getbuffer())))
    return pa.concat_tables(tables) if tables else KEPT_SCHEMA.empty_table()


def features_from_csv(stream: Any) -> pa.Table:
    """Feature rows as CSV (``FEATURE_COLUMNS`` in order, the record id first, lists joined with ``|``,
    then the record's ``cp_id``) as one Arrow table: a column store in native buffers, a fraction of the
    memory of Python objects per record, that Splink's DuckDB reads in place."""
    names = [*FEATURE_COLUMNS, "cp_id"]
    types = {c: pa.int64() if c in ("unique_id", "birth_year") else pa.string() for c in names}
    table = pacsv.read_csv(
        stream,
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 22),
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                             quoted_strings_can_be_null=False))
    columns = {c: table.column(c) for c in names}
    columns["unique_id"] = pc.cast(columns["unique_id"], pa.string())
    for c in LIST_FEATURES:
        columns[c] = pc.split_pattern(columns[c], "|")
    return pa.Table.from_arrays([columns[c] for c in names], schema=KEPT_SCHEMA)
