"""The eCAF reader: one notification a row, assessment content named not kept, hostile XML rejected."""

from __future__ import annotations

import io

import pytest

from connectors.parsers import FileRejected, ParsedRow
from connectors.parsers.ecaf_xml import read_ecaf
from tests.factories import ecaf_file, notification
from tests.unit.connectors.parser_contract import peak_memory_reading

pytestmark = pytest.mark.unit

CONTENT = ("<AssessmentText>CANARY-ASSESSMENT</AssessmentText><Notes>CANARY-NOTES</Notes>"
           "<Needs><Need>CANARY-NEED</Need></Needs>")


def rows_of(content: bytes) -> list[ParsedRow]:
    return list(read_ecaf(io.BytesIO(content)).rows)


def test_a_notification_is_read_with_its_spec_fields_and_assessment_content_is_named_not_kept() -> None:
    [row] = rows_of(ecaf_file([notification(extra_xml=CONTENT, child_extra_xml="<Diagnosis>CANARY-DX</Diagnosis>")]))
    assert row.row_number == 1
    assert row.values["Event"] == "completed" and row.values["Child"]["FamilyName"] == "Begum"
    assert row.values["Child"]["Address"]["AddressLine1"] == "5 Park View"
    assert row.values["Practitioner"]["LeadProfessional"] == "true"
    assert set(row.dropped) == {"AssessmentText", "Notes", "Needs", "Child/Diagnosis"}
    assert "CANARY" not in repr(row.values)


def test_rows_are_numbered_and_root_level_strangers_are_named_for_the_file() -> None:
    ecaf = read_ecaf(io.BytesIO(ecaf_file([notification(), notification()],
                                          root_extra_xml="<Summary>CANARY-SUMMARY</Summary>")))
    rows = list(ecaf.rows)
    assert [r.row_number for r in rows] == [1, 2]
    assert ecaf.dropped == ["Summary"] and "CANARY" not in repr(rows)


@pytest.mark.parametrize("prologue", [
    '<!DOCTYPE CAFNotifications [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE CAFNotifications [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE CAFNotifications SYSTEM "http://127.0.0.1:9/ecaf.dtd">',
])
def test_a_file_with_a_doctype_is_rejected_before_any_entity_is_used(prologue: str) -> None:
    content = ecaf_file([notification(FamilyName="X")], prologue=prologue).replace(b">X<", b">&x;&b;<")
    with pytest.raises(FileRejected, match="DOCTYPE"):
        read_ecaf(io.BytesIO(content))


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "not well-formed"),
    (b"<CAFNotifications><Notification>", "not well-formed"),
    (b"\xff\xfe garbage", "not well-formed"),
    (b"<CTfile/>", "root element is 'CTfile'"),
])
def test_broken_files_are_rejected_with_a_reason(content: bytes, reason: str) -> None:
    with pytest.raises(FileRejected, match=reason):
        rows_of(content)


def test_xml_broken_after_some_notifications_is_rejected_when_reached() -> None:
    content = ecaf_file([notification()]).replace(b"</CAFNotifications>", b"<Notification><Event>")
    rows = read_ecaf(io.BytesIO(content)).rows
    assert next(rows).row_number == 1
    with pytest.raises(FileRejected, match="not well-formed"):
        next(rows)


def test_memory_stays_flat_as_the_file_grows() -> None:
    def peak(count: int) -> int:
        content = ecaf_file([notification(extra_xml=CONTENT) for _ in range(count)])
        return peak_memory_reading(lambda: read_ecaf(io.BytesIO(content)).rows)

    small, large = peak(200), peak(4_000)
    assert large < small * 3, (small, large)


def test_an_undefined_entity_is_named_as_the_reason_not_a_misleading_parser_message() -> None:
    content = ecaf_file([notification(FamilyName="X")]).replace(b">X<", b">&eacute;<")
    with pytest.raises(FileRejected, match=r"line \d+ uses an entity that is not defined") as caught:
        rows_of(content)
    assert "Start tag expected" not in str(caught.value) and "no element found" not in str(caught.value)


def test_root_level_strangers_before_between_and_after_notifications_are_all_named() -> None:
    content = ecaf_file([notification(), notification()], root_extra_xml="<Summary>CANARY</Summary>")
    content = content.replace(b"<Notification>", b"<Batch>1</Batch><Notification>", 1)
    content = content.replace(b"</Notification>", b"</Notification><Note>n<Notification/></Note>", 1)
    ecaf = read_ecaf(io.BytesIO(content))
    assert [row.row_number for row in ecaf.rows] == [1, 2]  # the one nested in Note is not a row
    assert sorted(ecaf.dropped) == ["Batch", "Note", "Summary"]
