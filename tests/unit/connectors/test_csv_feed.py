"""The CSV reader: spec columns only, other columns named not kept, broken files rejected with a reason."""

from __future__ import annotations

import io

import pytest

from connectors.parsers import FileRejected, ParsedRow
from connectors.parsers.csv_feed import MAX_ROW_CHARS, read_csv
from schemas.gp import GP_COLUMNS
from tests.factories import csv_file, gp_row
from tests.unit.connectors.parser_contract import peak_memory_reading

pytestmark = pytest.mark.unit

COLUMNS = ("family_name", "given_name", "postcode")


def rows_of(content: bytes, columns: tuple[str, ...] = COLUMNS) -> list[ParsedRow]:
    return list(read_csv(io.BytesIO(content), columns))


def test_a_row_keeps_its_spec_columns_and_names_the_others_without_their_values() -> None:
    content = b"family_name,notes,given_name,postcode,diagnosis\nSmith,CANARY-NOTE,Zo\xc3\xab,S60 1AA,CANARY-DX\n"
    [row] = rows_of(content)
    assert row.row_number == 1
    assert row.values == {"family_name": "Smith", "given_name": "Zoë", "postcode": "S60 1AA"}
    assert row.dropped == ["notes", "diagnosis"]
    assert "CANARY" not in repr(row)


def test_header_names_match_whatever_their_case_and_spacing_and_a_byte_order_mark_is_allowed() -> None:
    [row] = rows_of("\ufeff Family_Name ,GIVEN_NAME,postcode\nSmith,Alfie,S60 1AA\n".encode())
    assert row.values["family_name"] == "Smith" and row.dropped == []


def test_quoted_fields_keep_their_commas_quotes_and_line_breaks() -> None:
    content = b'family_name,given_name,postcode\n"O\'Brien, Jr","Ann ""Annie""\nMarie",S60 1AA\r\nLee,Bo,S1 1AA\r\n'
    rows = rows_of(content)
    assert rows[0].values["family_name"] == "O'Brien, Jr" and rows[0].values["given_name"] == 'Ann "Annie"\nMarie'
    assert [r.row_number for r in rows] == [1, 2]


def test_row_numbers_count_data_rows_and_blank_lines_are_skipped() -> None:
    rows = rows_of(b"\nfamily_name,given_name,postcode\n\nA,B,S1 1AA\n\n,,\nC,D,S1 1AA\n")
    assert [(r.row_number, r.values["family_name"]) for r in rows] == [(1, "A"), (2, "C")]


def test_an_unnamed_or_very_long_extra_column_is_labelled_not_echoed_in_full() -> None:
    [row] = rows_of(b"family_name,given_name,postcode,," + b"x" * 500 + b"\nA,B,S1 1AA,1,2\n")
    assert row.dropped[0] == "(column 4)" and len(row.dropped[1]) == 64


def test_a_spec_file_from_the_factory_reads_every_gp_column() -> None:
    [row] = rows_of(csv_file([gp_row()]), GP_COLUMNS)
    assert set(row.values) == set(GP_COLUMNS)


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "no header row"),
    (b"\n\n", "no header row"),
    (b"family_name,postcode\nA,S1 1AA\n", "lacks required column.*given_name"),
    (b"Smith,Alfie,S60 1AA\n", "lacks required column.*family_name, given_name, postcode"),
    (b"family_name,given_name,postcode,Family_Name\nA,B,C,D\n", "names column family_name twice"),
    (b"family_name,given_name,postcode\nA,B,S1 1AA\nC,D,S1 1AA,extra\n", "data row 2 has 4 fields; the header has 3"),
    (b"family_name,given_name,postcode\nA,B\n", "data row 1 has 2 fields; the header has 3"),
    (b"family_name,given_name,postcode\nM\xfcller,B,S1 1AA\n", "not UTF-8"),
    ("family_name,given_name,postcode\n".encode("utf-16"), "not UTF-8|NUL"),
    (b"family_name,given_name,postcode\nA\x00,B,S1 1AA\n", "data row 1 holds a NUL byte"),
    (b'family_name,given_name,postcode\n"A"x,B,S1 1AA\n', "data row 1 is not valid CSV"),
    (b"family_name,given_name,postcode\nA,B," + b"9" * MAX_ROW_CHARS + b"\n", "data row 1 is longer than"),
    (b'family_name,given_name,postcode\n"A,B,C\n' + b"more\n" * 20_000, "data row 1 is longer than"),
    (b"family_name,given_name," + b"p" * MAX_ROW_CHARS + b"\n", "the header row is longer than"),
])
def test_a_broken_file_is_rejected_with_a_reason(content: bytes, reason: str) -> None:
    with pytest.raises(FileRejected, match=reason):
        rows_of(content)


def test_a_fault_after_good_rows_rejects_the_file_when_it_is_reached() -> None:
    rows = read_csv(io.BytesIO(b"family_name,given_name,postcode\nA,B,S1 1AA\nC,D,S1 1AA,x\n"), COLUMNS)
    assert next(rows).values["family_name"] == "A"
    with pytest.raises(FileRejected, match="data row 2"):
        next(rows)


def test_the_callers_stream_is_left_open() -> None:
    stream = io.BytesIO(b"family_name,given_name,postcode\nA,B,S1 1AA\n")
    list(read_csv(stream, COLUMNS))
    assert not stream.closed


def test_memory_stays_flat_as_the_file_grows() -> None:
    def peak(rows: int) -> int:
        content = csv_file([gp_row(notes="case note " * 20) for _ in range(rows)])
        return peak_memory_reading(lambda: read_csv(io.BytesIO(content), GP_COLUMNS))

    small, large = peak(200), peak(5_000)
    assert large < small * 3, (small, large)
