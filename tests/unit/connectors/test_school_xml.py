"""The CTF reader: spec fields only, case data skipped by name, hostile XML rejected unread."""

from __future__ import annotations

import io

import pytest

from connectors.parsers import FileRejected
from connectors.parsers.school_xml import read_ctf
from tests.factories import ctf, pupil
from tests.unit.connectors.parser_contract import peak_memory_reading

pytestmark = pytest.mark.unit

CASE_DATA = (
    "<StageAssessments><StageAssessment><Stage>KS2</Stage><Result>CANARY105</Result></StageAssessment>"
    "</StageAssessments><SENhistory><SEN><Provision>K</Provision></SEN></SENhistory>"
    "<FSMhistory><FSMinstance><FSMstartDate>2020-01-01</FSMstartDate></FSMinstance></FSMhistory>"
    "<Attendance><YearData><SessionsPossible>300</SessionsPossible></YearData></Attendance>"
    "<MedicalFlag>true</MedicalFlag><Unknown>x</Unknown>"
)


def rows_of(content: bytes) -> list:
    return list(read_ctf(io.BytesIO(content)).rows)


def test_a_pupil_is_read_with_its_spec_fields_and_case_data_is_named_not_kept() -> None:
    rows = rows_of(ctf([pupil(Forename="Zoë", extra_xml=CASE_DATA)]))
    assert len(rows) == 1
    row = rows[0]
    assert row.values["Forename"] == "Zoë" and row.values["Address"]["PostCode"] == "S60 1AA"
    assert row.values["Contacts"]["Contact"][0]["Phones"]["Phone"][0]["PhoneNo"] == "01709 123456"
    assert set(row.dropped) == {"StageAssessments", "SENhistory", "FSMhistory", "Attendance", "MedicalFlag",
                                "Unknown"}
    assert "CANARY105" not in repr(row.values)


def test_the_header_identifies_the_school() -> None:
    header = read_ctf(io.BytesIO(ctf([pupil()], lea="201", estab="3456"))).header
    assert header["SourceSchool/LEA"] == "201" and header["SourceSchool/Estab"] == "3456"


@pytest.mark.parametrize(("prologue", "why"), [
    ('<!DOCTYPE CTfile [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "external entity"),
    ('<!DOCTYPE CTfile [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
     '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>', "entity bomb"),
    ('<!DOCTYPE CTfile SYSTEM "http://127.0.0.1:9/ctf.dtd">', "external DTD"),
])
def test_a_file_with_a_doctype_is_rejected_before_any_entity_is_used(prologue: str, why: str) -> None:
    content = ctf([pupil(Surname="&x;" if why == "external entity" else "Smith")], prologue=prologue)
    content = content.replace(b"&amp;x;", b"&x;").replace(b"<Surname>Smith", b"<Surname>&d;Smith")
    with pytest.raises(FileRejected, match="DOCTYPE"):
        rows_of(content)


@pytest.mark.parametrize(("content", "reason"), [
    (b"<CTfile><Header>", "not well-formed"),
    (b"", "not well-formed"),
    (b"\x00\xff\xfe garbage", "not well-formed"),
    (b"<Other/>", "root element"),
    (b"<CTfile><CTFpupilData><Pupil/></CTFpupilData></CTfile>", "before the Header"),
    (b"<CTfile><Header><DateTime>2026-01-01T00:00:00</DateTime></Header></CTfile>", "Header lacks"),
])
def test_broken_files_are_rejected_with_a_reason(content: bytes, reason: str) -> None:
    with pytest.raises(FileRejected, match=reason):
        rows_of(content)


def test_xml_broken_after_some_pupils_is_rejected_when_reached() -> None:
    content = ctf([pupil(), pupil()]).replace(b"</CTFpupilData></CTfile>", b"<Pupil><UPN>")
    ctf_file = read_ctf(io.BytesIO(content))
    with pytest.raises(FileRejected, match="not well-formed"):
        list(ctf_file.rows)


def test_memory_stays_flat_as_the_roll_grows() -> None:
    def peak(pupils: int) -> int:
        content = ctf([pupil(extra_xml=CASE_DATA) for _ in range(pupils)])
        return peak_memory_reading(lambda: read_ctf(io.BytesIO(content)).rows)

    small, large = peak(200), peak(4_000)
    assert large < small * 3, (small, large)


def test_an_undefined_entity_is_named_as_the_reason_not_a_misleading_parser_message() -> None:
    content = ctf([pupil(Surname="Smith")]).replace(b"<Surname>Smith", b"<Surname>&nbsp;Smith")
    with pytest.raises(FileRejected, match=r"line \d+ uses an entity that is not defined") as caught:
        rows_of(content)
    assert "Start tag expected" not in str(caught.value) and "no element found" not in str(caught.value)
