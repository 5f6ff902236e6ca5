"""An LA's GP delta on a next night: adds, updates and deregistrations, read against night one's file."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from tools.synthetic.csvfeeds import GP_COLUMNS
from tools.synthetic.dropzone import FeedFile, RowWriter
from tools.synthetic.faults import FaultInjector
from tools.synthetic.nextnight_files import (
    DOB,
    FAMILY_NAME,
    GIVEN,
    GP_REGISTERED,
    ID,
    LINE1,
    NHS,
    POSTCODE,
    PRACTICE,
    RESTRICTED,
    TOWN,
    Change,
    LaPlan,
    Night,
    NightOneCsv,
    fault_after_change,
    row_person,
)
from tools.synthetic.places import Address, LocalAuthority

# GP columns (GP_COLUMNS).
G_NHS, G_FAMILY, G_GIVEN, G_OTHER, G_DOB, G_GENDER, G_A1, G_A2, G_A3, G_A4, G_POSTCODE = range(11)
G_PRACTICE, G_PRACTICE_NAME, G_PRACTICE_PHONE, G_REGISTERED, G_DEREG_DATE, G_DEREG_REASON = range(11, 17)
G_RESTRICTED, G_ACTION = 17, 18


def gp_delta(
    night: Night, la: LocalAuthority, rows: list[list[str]], plan: LaPlan, gp: GpReader,
) -> None:
    """Tonight's GP registrations for the LA: changes in child order, then the new children."""
    sender = la.ccg_code
    out: FeedFile | None = None
    writer: RowWriter | None = None
    faults = night.faults("gp", sender)
    for row in rows + plan.new_rows:
        change = plan.changes.get(row[ID])
        new = row[ID] in plan.new_kind
        if change is None and not new:
            continue
        for gp_row, fault in _gp_rows(night, row, change, plan, gp, faults):
            if out is None:
                out = night.open("gp", sender, gp.sequence + 1, "csv")
                writer = csv.writer(out.handle)
                writer.writerow(GP_COLUMNS)
            assert writer is not None
            writer.writerow(gp_row)
            out.record(gp_row[G_NHS], row[ID], fault)
    if out is not None:
        out.close()

def _gp_rows(
    night: Night, row: list[str], change: Change | None, plan: LaPlan, gp: GpReader, faults: FaultInjector,
) -> Iterator[tuple[list[str], str]]:
    yesterday = night.yesterday.isoformat()
    old = gp.held.get(row[ID])
    if change is None:  # a new child: an add at the practice, built from the truth
        if row[GP_REGISTERED] != "Y" or not row[NHS]:
            return
        gp_row, fault = _fresh_gp_row(row, plan.addresses.get(row[ID]), faults)
        registered = max(date.fromisoformat(row[DOB]) + timedelta(days=7), night.yesterday - timedelta(days=5))
        gp_row[G_REGISTERED] = min(registered, night.yesterday).isoformat()
        yield _at_practice(gp_row, row[PRACTICE], gp), fault
        return
    if old is None or old[0][G_ACTION] == "deregister":
        return  # the practice does not hold the child (never registered, or left before tonight)
    held, held_fault = old
    if change.leaves in ("left_england", "death"):
        gone = list(held)
        gone[G_DEREG_DATE], gone[G_DEREG_REASON], gone[G_ACTION] = yesterday, change.leaves, "deregister"
        yield gone, held_fault
        return
    if not (change.moved_to is not None or change.practice_to or change.renamed_from):
        return
    current = list(held)
    if change.moved_to is not None:
        _gp_address(current, change.moved_to)
    if change.renamed_from:
        current[G_FAMILY] = row[FAMILY_NAME].upper() if held[G_FAMILY].isupper() else row[FAMILY_NAME]
    fault = fault_after_change(held_fault, change, current[G_GIVEN], row[GIVEN])
    if change.practice_to:
        gone = list(held)
        gone[G_DEREG_DATE], gone[G_DEREG_REASON], gone[G_ACTION] = yesterday, "other", "deregister"
        yield gone, held_fault
        current = _at_practice(current, change.practice_to, gp)
        current[G_REGISTERED], current[G_ACTION] = yesterday, "add"
    else:
        current[G_ACTION] = "update"
    current[G_DEREG_DATE] = current[G_DEREG_REASON] = ""
    yield current, fault

def _fresh_gp_row(row: list[str], address: Address | None, faults: FaultInjector) -> tuple[list[str], str]:
    person = row_person(row, nhs=True)
    fault = faults.maybe(person, date.fromisoformat(row[DOB]), row[POSTCODE])
    gp_row = [""] * len(GP_COLUMNS)
    gp_row[G_NHS], gp_row[G_FAMILY], gp_row[G_GIVEN], gp_row[G_OTHER] = (
        person.nhs, person.family, person.given, person.middle)
    gp_row[G_DOB], gp_row[G_GENDER], gp_row[G_POSTCODE] = person.dob, person.gender, person.postcode
    if address is not None:
        _gp_address(gp_row, address)
        gp_row[G_POSTCODE] = person.postcode
    else:
        gp_row[G_A1], gp_row[G_A2] = row[LINE1], row[TOWN]
    gp_row[G_RESTRICTED], gp_row[G_ACTION] = row[RESTRICTED] or "N", "add"
    return gp_row, fault

def _at_practice(gp_row: list[str], code: str, gp: GpReader) -> list[str]:
    name, phone = gp.practices.get(code, ("", ""))
    gp_row[G_PRACTICE], gp_row[G_PRACTICE_NAME], gp_row[G_PRACTICE_PHONE] = code, name, phone
    return gp_row


def _gp_address(gp_row: list[str], address: Address) -> None:
    lines = [line for line in (address.line1, address.locality, address.town, address.county) if line]
    lines += [""] * (4 - len(lines))
    compact = bool(gp_row[G_POSTCODE]) and " " not in gp_row[G_POSTCODE].strip()
    gp_row[G_A1], gp_row[G_A2], gp_row[G_A3], gp_row[G_A4] = lines
    gp_row[G_POSTCODE] = address.postcode.replace(" ", "") if compact else address.postcode


class GpReader(NightOneCsv):
    """Night one's GP file of an LA, read alongside its ground truth: practices, and changed children's rows."""

    def __init__(self, first: Path) -> None:
        super().__init__(first, "gp")
        self.practices: dict[str, tuple[str, str]] = {}
        self.held: dict[str, tuple[list[str], str]] = {}  # child_id -> (night one's row, its fault)

    def row(self, name: str, number: int, child_id: str, fault: str, plan: LaPlan) -> None:
        gp_row = self.next_row(name)
        if gp_row is None or number != self.number:
            raise ValueError(f"{name}: ground truth row {number} does not match the file")
        if len(gp_row) >= len(GP_COLUMNS):
            self.practices.setdefault(gp_row[G_PRACTICE], (gp_row[G_PRACTICE_NAME], gp_row[G_PRACTICE_PHONE]))
            if child_id in plan.changes:
                self.held[child_id] = (gp_row[: len(GP_COLUMNS)], fault)
