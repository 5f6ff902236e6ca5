"""Reading what the synthetic generator wrote, independently of how it wrote it (and running a generation
in fresh interpreters under two string hash seeds).

Constants here are copied from the feed spec (docs/feeds.md), not from the generator,
so that a drift on either side fails the tests.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lxml import etree

AS_OF = date(2026, 11, 1)
NAME = re.compile(r"^(school|gp|connexions|ecaf|ics)_([A-Za-z0-9]+)_(\d{8}T\d{6})_(\d+)\.(xml|csv)$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SPEC_COLUMNS = {
    "gp": "nhs_number, family_name, given_name, other_given_names, date_of_birth, gender, address_line_1, "
    "address_line_2, address_line_3, address_line_4, postcode, practice_code, practice_name, practice_phone, "
    "registration_date, deregistration_date, deregistration_reason, restricted, record_action",
    "connexions": "client_id, upn, uln, family_name, given_name, date_of_birth, gender, address_line_1, "
    "address_line_2, town, postcode, la_code, adviser_name, adviser_phone, adviser_email, involvement_start, "
    "involvement_end, consent_extend_to_19",
    "ics": "event_id, event, event_date, la_code, nhs_number, upn, family_name, given_name, date_of_birth, "
    "gender, address_line_1, town, postcode, worker_name, team_name, worker_phone, worker_email, "
    "service_type, consent_sensitive, lead_professional, extend_to_25",
}
HEADER_ELEMENTS = [
    "DocumentName", "CTFversion", "DateTime", "DocumentQualifier", "SupplierID", "SourceSchool",
]
SOURCE_SCHOOL = ["LEA", "Estab", "URN", "SchoolName", "AcademicYear"]
CASE_ELEMENTS = (
    "StageAssessments", "SENhistory", "FSMhistory", "Attendance", "LookedAfter", "BasicDetails/Ethnicity",
    "BasicDetails/MedicalFlag", "BasicDetails/Languages",
)


@dataclass
class Row:
    """One data row of any feed, reduced to the fields the checks need."""

    feed: str
    file: str
    number: int
    nhs: str
    upn: str
    uln: str
    family: str
    given: str
    dob: str
    gender: str
    postcode: str


def xml_parser() -> etree.XMLParser:
    """A parser that resolves no entities, loads no DTD and touches no network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def text_of(element: etree._Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "") if found is not None else ""


def data_files(out: Path) -> list[Path]:
    return sorted(p for p in (out / "inbound").rglob("*") if p.is_file())


def read_rows(out: Path) -> Iterator[Row]:
    """Every data row of every file, numbered as the ground truth numbers them."""
    for path in data_files(out):
        feed = path.parent.name
        if path.suffix == ".csv":
            with open(path, encoding="utf-8", newline="") as handle:
                for number, r in enumerate(csv.DictReader(handle), start=1):
                    yield Row(feed, path.name, number, r.get("nhs_number", ""), r.get("upn", ""),
                              r.get("uln", ""), r["family_name"], r["given_name"], r["date_of_birth"],
                              r["gender"], r["postcode"])
        elif feed == "school":
            root = etree.parse(str(path), xml_parser()).getroot()
            for number, p in enumerate(root.iter("Pupil"), start=1):
                gender = text_of(p, "Sex") or text_of(p, "Gender")
                yield Row(feed, path.name, number, "", text_of(p, "UPN"), text_of(p, "UniqueLearnerNumber"),
                          text_of(p, "Surname"), text_of(p, "Forename"), text_of(p, "DOB"), gender,
                          text_of(p, "Address/PostCode"))
        else:
            root = etree.parse(str(path), xml_parser()).getroot()
            for number, n in enumerate(root.iter("Notification"), start=1):
                yield Row(feed, path.name, number, text_of(n, "Child/NHSNumber"), text_of(n, "Child/UPN"), "",
                          text_of(n, "Child/FamilyName"), text_of(n, "Child/GivenName"),
                          text_of(n, "Child/DateOfBirth"), text_of(n, "Child/Gender"),
                          text_of(n, "Child/Postcode"))


def read_truth(out: Path) -> list[dict[str, str]]:
    with open(out / "ground_truth.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_children(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "children.csv", encoding="utf-8", newline="") as handle:
        return {r["child_id"]: r for r in csv.DictReader(handle)}


def fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def dob_state(value: str) -> str:
    if not ISO_DATE.match(value):
        return "bad_date_format"
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return "impossible_date"
    return "future_dob" if parsed > AS_OF else "ok"


def pupils_by_child(folder: Path) -> dict[tuple[str, str], bytes]:
    """Each Pupil element of every school file, as bytes, by (school sender id, true child)."""
    child_of = {(t["file_name"], int(t["row_number"])): t["child_id"] for t in read_truth(folder)}
    pupils = {}
    for path in sorted((folder / "inbound" / "school").glob("*.xml")):
        sender = NAME.match(path.name).group(2)  # type: ignore[union-attr]
        root = etree.parse(str(path), xml_parser()).getroot()
        for number, pupil in enumerate(root.iter("Pupil"), start=1):
            pupils[sender, child_of[path.name, number]] = etree.tostring(pupil, with_tail=False)
    return pupils


def roll_members(folder: Path) -> dict[str, set[str]]:
    """The true children on each school's roll (by sender id), as the ground truth names its pupils."""
    members: dict[str, set[str]] = {}
    for t in read_truth(folder):
        if t["feed"] == "school":
            sender = NAME.match(t["file_name"]).group(2)  # type: ignore[union-attr]
            members.setdefault(sender, set()).add(t["child_id"])
    return members


def ics_rows(folder: Path) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(ground truth row, ICS row) for every ICS event of a night."""
    truth = {(t["file_name"], int(t["row_number"])): t for t in read_truth(folder)}
    out = []
    for path in sorted((folder / "inbound" / "ics").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for number, r in enumerate(csv.DictReader(handle), start=1):
                out.append((truth[path.name, number], r))
    return out


def open_involvements(folder: Path) -> set[tuple[str, str, str]]:
    """(child, service, team) of each involvement whose last event is an open."""
    last = {}
    for t, r in ics_rows(folder):
        last[t["child_id"], r["service_type"], r["team_name"]] = r["event"]
    return {key for key, event in last.items() if event == "open"}


def files_of(folder: Path, feed: str) -> dict[str, Path]:
    """A feed's files by sender id."""
    return {NAME.match(p.name).group(2): p for p in sorted((folder / "inbound" / feed).glob("*"))}  # type: ignore[union-attr]


_DIGEST_OF_A_RUN = """
import hashlib, sys
from pathlib import Path
from tools.synthetic import generate, next_night
out = Path(sys.argv[1])
{write}
digest = hashlib.sha256()
for path in sorted(p for p in ({written}).rglob("*") if p.is_file()):
    digest.update(str(path.relative_to(out)).encode() + path.read_bytes())
print(digest.hexdigest())
"""


def digests_under_hash_seeds(write: str, written: str, out: Path) -> set[str]:
    """The digests of the files below ``written`` (an expression of ``out``) after the statements ``write``
    ran in a fresh interpreter under each of two string hash seeds, each run in its own folder below ``out``."""
    script = _DIGEST_OF_A_RUN.format(write=write, written=written)
    root = Path(__file__).resolve().parents[3]
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        done = subprocess.run([sys.executable, "-c", script, str(out / hash_seed)], env=env, cwd=root,
                              capture_output=True, text=True, check=True)
        digests.add(done.stdout.strip())
    return digests
