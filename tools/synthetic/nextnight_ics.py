"""An LA's social care events on a next night: open involvements that close, and a few new ones."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from random import Random

from tools.synthetic import names
from tools.synthetic.csvfeeds import ICS_COLUMNS, ICS_SERVICE_MIN_AGE, ICS_SERVICES, SENSITIVE_SERVICES
from tools.synthetic.dropzone import FeedFile, RowWriter
from tools.synthetic.idgen import below, choose
from tools.synthetic.nextnight_files import (
    CARE_LEAVER,
    DOB,
    FAMILY_NAME,
    GIVEN,
    ID,
    LINE1,
    POSTCODE,
    TOWN,
    Change,
    LaPlan,
    Night,
    NightOneCsv,
    closing_tonight,
    fault_after_change,
    opening_tonight,
    row_person,
)
from tools.synthetic.places import LocalAuthority
from tools.synthetic.population import age_on

_ICS_EVENT, _ICS_DATE, _ICS_NHS, _ICS_UPN, _ICS_FAMILY, _ICS_GIVEN = 1, 2, 4, 5, 6, 7
_ICS_ADDRESS, _ICS_TOWN, _ICS_POSTCODE, _ICS_TEAM, _ICS_SERVICE = 10, 11, 12, 14, 17


def ics_events(
    night: Night, la: LocalAuthority, rows: list[list[str]], plan: LaPlan, ics: IcsReader, rng: Random,
) -> None:
    """Tonight's social care events: some open involvements close, a few new ones open."""
    out: FeedFile | None = None
    writer: RowWriter | None = None
    faults = night.faults("ics", la.code)
    serial = 0
    by_id = {row[ID]: row for row in rows}
    events: list[tuple[list[str], str, str]] = []  # (row, child_id, fault)
    for child_id, values, fault, change in closing_tonight(ics.still_open(), plan, rng):
        closed = list(values)
        closed[_ICS_EVENT], closed[_ICS_DATE] = "close", night.yesterday.isoformat()
        if change is not None:
            fault = _edit_event_row(closed, by_id[child_id], change, fault)
        events.append((closed, child_id, fault))
    for row in opening_tonight(rows, plan, rng):
        age = age_on(date.fromisoformat(row[DOB]), night.as_of)
        if row[CARE_LEAVER] == "Y":
            service, team = "social_care", names.LEAVING_CARE_TEAM
        elif age < 18:
            service = ICS_SERVICES.pick(rng)
            if age < ICS_SERVICE_MIN_AGE.get(service, 0):
                service = "social_care"
            team = choose(rng, names.ICS_TEAMS[service])
        else:
            continue
        assert night.ctx is not None
        worker = night.ctx.workers[below(rng, len(night.ctx.workers))]
        person = row_person(row, nhs=rng.random() < 0.85, upn_=rng.random() < 0.5)
        fault = faults.maybe(person, date.fromisoformat(row[DOB]), row[POSTCODE])
        consent = service in SENSITIVE_SERVICES and rng.random() < 0.6
        events.append(([
            "", "open", night.yesterday.isoformat(), la.code, person.nhs, person.upn, person.family, person.given,
            person.dob, person.gender, row[LINE1], row[TOWN], person.postcode, worker.name, team, worker.phone,
            worker.email, service, "Y" if consent else "N", "Y" if rng.random() < 0.4 else "N",
            "Y" if row[CARE_LEAVER] == "Y" else "N"], row[ID], fault))
    for values, child_id, fault in events:
        if out is None:
            out = night.open("ics", la.code, ics.sequence + 1, "csv")
            writer = csv.writer(out.handle)
            writer.writerow(ICS_COLUMNS)
        assert writer is not None
        serial += 1
        values[0] = f"ICS{la.code}-N{night.as_of:%m%d}{serial:04d}"
        writer.writerow(values)
        out.record(values[0], child_id, fault)
    if out is not None:
        out.close()


def _edit_event_row(values: list[str], truth: list[str], change: Change, fault: str) -> str:
    """An ICS row of a child who moved or changed name, as the LA's system now holds the child."""
    if change.moved_to is not None:
        compact = " " not in values[_ICS_POSTCODE].strip()
        values[_ICS_ADDRESS], values[_ICS_TOWN] = change.moved_to.line1, change.moved_to.town
        code = change.moved_to.postcode
        values[_ICS_POSTCODE] = code.replace(" ", "") if compact else code
    if change.renamed_from:
        upper = values[_ICS_FAMILY].isupper()
        values[_ICS_FAMILY] = truth[FAMILY_NAME].upper() if upper else truth[FAMILY_NAME]
    return fault_after_change(fault, change, values[_ICS_GIVEN], truth[GIVEN])


class IcsReader(NightOneCsv):
    """Night one's ICS file of an LA: the last event of each involvement (child, service, team)."""

    def __init__(self, first: Path) -> None:
        super().__init__(first, "ics")
        self.last: dict[tuple[str, str, str], tuple[list[str], str, str]] = {}

    def row(self, name: str, number: int, child_id: str, fault: str) -> None:
        values = self.next_row(name)
        if values is None:
            raise ValueError(f"{name}: ground truth row {number} does not match the file")
        if len(values) >= len(ICS_COLUMNS):
            key = (child_id, values[_ICS_SERVICE], values[_ICS_TEAM])
            self.last.pop(key, None)  # keep the order of the last events
            self.last[key] = (values[: len(ICS_COLUMNS)], child_id, fault)

    def still_open(self) -> Iterator[tuple[str, tuple[list[str], str]]]:
        """(child_id, (the open event's row, its fault)) for every involvement not closed yet."""
        for values, child_id, fault in self.last.values():
            if values[_ICS_EVENT] == "open":
                yield child_id, (values, fault)
