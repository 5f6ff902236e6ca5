"""The feed files against the spec (docs/feeds.md): names, headers, XML structure, and a
ground truth that names every data row and every fault, with faults exactly where it says."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from schemas.identifiers import nhs_check_digit, normalise_postcode, uln_is_valid, upn_check_letter
from tests.unit.synthetic.feedfiles import (
    AS_OF,
    CASE_ELEMENTS,
    HEADER_ELEMENTS,
    NAME,
    SOURCE_SCHOOL,
    SPEC_COLUMNS,
    data_files,
    dob_state,
    fold,
    read_children,
    read_rows,
    read_truth,
    text_of,
    xml_parser,
)
from tools.synthetic import CHILDREN_COLUMNS, FAULT_KINDS, GROUND_TRUTH_COLUMNS, GenerationSummary, generate
from tools.synthetic.names import NICKNAMES


@pytest.mark.unit
def test_file_names_follow_the_spec(run: tuple[Path, GenerationSummary]) -> None:
    out, summary = run
    files = data_files(out)
    assert files and len({p.name for p in files}) == len(files)
    for path in files:
        match = NAME.match(path.name)
        assert match, path.name
        feed, sender, stamp, _, ext = match.groups()
        assert path.parent.name == feed and path.parent.parent.name == "inbound"
        assert ext == ("xml" if feed in ("school", "ecaf") else "csv")
        assert "_" not in sender
        assert stamp.startswith(AS_OF.strftime("%Y%m%d"))
        if feed == "school":
            assert re.fullmatch(r"\d{7}", sender)
    assert summary.files["gp"] == summary.files["ics"] == 2  # one file per LA
    assert sum(summary.files.values()) == len(files)
    assert Counter(p.parent.name for p in files) == Counter(summary.files)


@pytest.mark.unit
def test_csv_headers_are_the_spec_columns(run: tuple[Path, GenerationSummary], tmp_path: Path) -> None:
    out, _ = run
    for feed, spec in SPEC_COLUMNS.items():
        for path in (out / "inbound" / feed).iterdir():
            with open(path, encoding="utf-8", newline="") as handle:
                assert next(csv.reader(handle)) == spec.split(", ")
    generate(tmp_path, children=300, seed=2, case_note_columns=True, feeds=("gp", "ecaf"))
    [gp] = (tmp_path / "inbound/gp").iterdir()
    with open(gp, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == SPEC_COLUMNS["gp"].split(", ") + ["notes", "assessment_text", "diagnosis"]
    [ecaf] = (tmp_path / "inbound/ecaf").iterdir()
    root = etree.parse(str(ecaf), xml_parser()).getroot()
    assert root.find("Notification/Notes") is not None
    assert root.find("Notification/AssessmentText") is not None


@pytest.mark.unit
def test_school_files_have_the_ctf_structure(run: tuple[Path, GenerationSummary]) -> None:
    out, _ = run
    versions = set()
    for path in (out / "inbound/school").iterdir():
        assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        tree = etree.parse(str(path), xml_parser())
        assert tree.docinfo.doctype == ""
        root = tree.getroot()
        assert root.tag == "CTfile" and [c.tag for c in root] == ["Header", "CTFpupilData"]
        header = root.find("Header")
        assert [c.tag for c in header] == HEADER_ELEMENTS
        assert [c.tag for c in header.find("SourceSchool")] == SOURCE_SCHOOL
        assert text_of(header, "DocumentName") == "Common Transfer File"
        version = text_of(header, "CTFversion")
        versions.add(version)
        lea, estab = text_of(header, "SourceSchool/LEA"), text_of(header, "SourceSchool/Estab")
        assert path.name.split("_")[1] == lea + estab
        assert re.fullmatch(r"\d{6}", text_of(header, "SourceSchool/URN"))
        pupils = root.findall("CTFpupilData/Pupil")
        assert pupils
        for pupil in pupils:
            tags = [c.tag for c in pupil]
            assert tags[0] == "UPN"
            assert {"Surname", "Forename", "DOB", "Address", "SchoolHistory"} <= set(tags)
            assert ("Gender" if float(version) < 21 else "Sex") in tags
            address = pupil.find("Address")
            assert (address.find("BS7666Address") is None) != (address.find("AddressLines") is None)
            assert address[-1].tag == "PostCode"
            for contact in pupil.iterfind("Contacts/Contact"):
                assert [c.tag for c in contact][:2] == ["Order", "Title"]
                assert text_of(contact, "Relationship") in ("PAR", "CAR", "OTH")
                assert text_of(contact, "Responsibility") in ("true", "false")
                assert contact.find("Phones/Phone/PhoneNo") is not None
            for school in pupil.iterfind("SchoolHistory/School"):
                assert [c.tag for c in school][:4] == ["LEA", "Estab", "SchoolName", "EntryDate"]
            for path_ in CASE_ELEMENTS[:2]:
                for found in pupil.iterfind(path_):
                    assert len(found)  # case containers carry content, not empty shells
    assert "25.0" in versions and len(versions) > 1  # schools run different CTF versions


@pytest.mark.unit
def test_case_fields_only_when_asked(run: tuple[Path, GenerationSummary], tmp_path: Path) -> None:
    out, _ = run
    seen: Counter[str] = Counter()
    for path in (out / "inbound/school").iterdir():
        root = etree.parse(str(path), xml_parser()).getroot()
        for element in CASE_ELEMENTS:
            seen[element] += len(root.findall(f"CTFpupilData/Pupil/{element}"))
        assert text_of(root, "Header/DocumentQualifier") == "full"
    assert all(seen[element] for element in CASE_ELEMENTS), seen
    generate(tmp_path, children=400, seed=7, case_fields=False, feeds=("school",))
    for path in (tmp_path / "inbound/school").iterdir():
        text = path.read_text(encoding="utf-8")
        assert not any(f"<{element.split('/')[-1]}>" in text for element in CASE_ELEMENTS)
        assert "<DocumentQualifier>partial</DocumentQualifier>" in text


@pytest.mark.unit
def test_ecaf_files_have_the_spec_structure(run: tuple[Path, GenerationSummary]) -> None:
    out, _ = run
    for path in (out / "inbound/ecaf").iterdir():
        tree = etree.parse(str(path), xml_parser())
        assert tree.docinfo.doctype == "" and tree.getroot().tag == "CAFNotifications"
        for note in tree.getroot():
            assert [c.tag for c in note][:4] == ["NotificationId", "Event", "EventDate", "Child"]
            assert text_of(note, "Event") in ("completed", "updated", "closed")
            child = [c.tag for c in note.find("Child")]
            assert child[-6:] == ["FamilyName", "GivenName", "DateOfBirth", "Gender", "Address", "Postcode"]
            practitioner = note.find("Practitioner")
            assert [c.tag for c in practitioner] == ["Name", "Role", "Organisation", "Phone", "Email",
                                                     "LeadProfessional"]
            assert text_of(practitioner, "LeadProfessional") in ("true", "false")


@pytest.mark.unit
def test_ground_truth_has_one_line_per_data_row(run: tuple[Path, GenerationSummary]) -> None:
    out, summary = run
    truth = read_truth(out)
    with open(out / "ground_truth.csv", encoding="utf-8", newline="") as handle:
        assert tuple(next(csv.reader(handle))) == GROUND_TRUTH_COLUMNS
    rows = list(read_rows(out))
    assert [(r.feed, r.file, r.number) for r in rows] == sorted(
        (t["feed"], t["file_name"], int(t["row_number"])) for t in truth
    )
    assert Counter(t["feed"] for t in truth) == Counter(summary.rows)
    assert Counter(t["feed"] for t in truth if t["fault"]) == Counter(
        {feed: n for feed, n in summary.faulty_rows.items() if n}
    )
    children = read_children(out)
    assert len(children) == summary.children == 8000
    assert list(next(iter(children.values()))) == list(CHILDREN_COLUMNS)
    assert all(t["child_id"] in children for t in truth)
    assert {t["fault"] for t in truth} <= set(FAULT_KINDS) | {""}
    by_key = {(t["file_name"], t["row_number"]): t for t in truth}
    for row in rows:  # the source key is the file's own key for the row
        if row.feed == "school":
            assert by_key[(row.file, str(row.number))]["source_key"] == row.upn
        if row.feed == "gp":
            assert by_key[(row.file, str(row.number))]["source_key"] == row.nhs


@pytest.mark.unit
def test_identifiers_and_fields_are_valid_except_where_a_fault_says(
    run: tuple[Path, GenerationSummary],
) -> None:
    out, _ = run
    faults = {(t["file_name"], int(t["row_number"])): t["fault"] for t in read_truth(out)}
    for row in read_rows(out):
        fault = faults[(row.file, row.number)]
        invalid = []
        if row.nhs:
            assert row.nhs.startswith("999") and len(row.nhs) == 10
            if nhs_check_digit(row.nhs[:9]) != int(row.nhs[9]):
                invalid.append("nhs")
        if row.upn:
            assert len(row.upn) == 13
            if upn_check_letter(row.upn[1:]) != row.upn[0]:
                invalid.append("upn")
        if row.uln and not uln_is_valid(row.uln):
            invalid.append("uln")
        assert len(invalid) == (1 if fault == "bad_check_digit" else 0), (row, fault)
        assert (normalise_postcode(row.postcode) is None) == (fault == "bad_postcode"), (row, fault)
        expected_dob = fault if fault in ("bad_date_format", "impossible_date", "future_dob") else "ok"
        assert dob_state(row.dob) == expected_dob, (row, fault)
        assert (row.gender not in ("M", "F", "U", "I")) == (fault == "bad_gender"), (row, fault)
        assert (not row.family or not row.given) == (fault == "empty_name"), (row, fault)


@pytest.mark.unit
def test_rows_agree_with_the_true_child_except_for_linkage_faults(
    run: tuple[Path, GenerationSummary],
) -> None:
    out, _ = run
    truth = {(t["file_name"], int(t["row_number"])): t for t in read_truth(out)}
    children = read_children(out)
    familiar = set(NICKNAMES.values()) | set(NICKNAMES)
    for row in read_rows(out):
        t = truth[(row.file, row.number)]
        child, fault = children[t["child_id"]], t["fault"]
        same_given = fold(row.given) == fold(child["given_name"])
        same_family = fold(row.family) == fold(child["family_name"])
        if fault == "typo":
            assert same_given != same_family
        elif fault == "nickname":
            assert not same_given and row.given in familiar and same_family
        elif fault == "surname_change":
            assert not same_family and same_given
        elif fault == "dob_swap":
            d = date.fromisoformat(child["date_of_birth"])
            assert row.dob == date(d.year, d.day, d.month).isoformat()
        elif fault not in ("empty_name",):
            assert same_given and same_family, (row, child)
        if not fault or fault in ("typo", "nickname", "surname_change", "missing_id", "postcode_case"):
            assert row.dob == child["date_of_birth"]
        if row.upn and not fault and row.feed == "school":
            assert row.upn == child["upn"]
        if row.nhs and not fault:
            assert row.nhs == child["nhs_number"]
        if normalise_postcode(row.postcode) and fault != "postcode_case":
            assert normalise_postcode(row.postcode) in (child["postcode"], child["old_postcode"])
