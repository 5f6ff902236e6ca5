"""An LA's Connexions snapshot resent on a next night."""

from __future__ import annotations

import csv

from tools.synthetic.nextnight_files import (
    FAMILY_NAME,
    GIVEN,
    LaPlan,
    Night,
    fault_after_change,
    night_one_file,
    sender_file,
)

# Connexions columns this module edits.
C_FAMILY, C_GIVEN, C_ADDRESS_1, C_ADDRESS_2, C_TOWN, C_POSTCODE = 3, 4, 7, 8, 9, 10


class ConnexionsSnapshot:
    """An LA's Connexions snapshot resent: unchanged rows as they were, changed rows edited, leavers gone."""

    def __init__(self, night: Night, old_name: str) -> None:
        self.night = night
        self.old_name = old_name
        sender, sequence = sender_file("connexions", old_name)
        self._in = open(night_one_file(night.first, "connexions", old_name), encoding="utf-8", newline="")
        self._rows = csv.reader(self._in)
        self.out = night.open("connexions", sender, sequence + 1, "csv")
        self.writer = csv.writer(self.out.handle)
        self.writer.writerow(next(self._rows))
        self._number = 0

    def row(self, number: int, key: str, child_id: str, fault: str, plan: LaPlan, by_id: dict[str, list[str]]) -> None:
        values = next(self._rows, None)
        self._number += 1
        if values is None or number != self._number:
            raise ValueError(f"{self.old_name}: ground truth row {number} does not match the file")
        change = plan.changes.get(child_id)
        if change is not None:
            if change.leaves in ("left_england", "death"):
                return
            truth = by_id[child_id]
            if change.moved_to is not None:
                address = change.moved_to
                compact = " " not in values[C_POSTCODE].strip()
                values[C_ADDRESS_1], values[C_ADDRESS_2], values[C_TOWN] = address.line1, address.locality, address.town
                values[C_POSTCODE] = address.postcode.replace(" ", "") if compact else address.postcode
            if change.renamed_from:
                upper = values[C_FAMILY].isupper()
                values[C_FAMILY] = truth[FAMILY_NAME].upper() if upper else truth[FAMILY_NAME]
            fault = fault_after_change(fault, change, values[C_GIVEN], truth[GIVEN])
        self.writer.writerow(values)
        self.out.record(key, child_id, fault)

    def close(self) -> None:
        if next(self._rows, None) is not None:
            raise ValueError(f"{self.old_name}: the file has more rows than the ground truth names")
        self._in.close()
        self.out.close()
