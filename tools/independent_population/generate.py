"""Write an independent population as ``link-files`` reads it, with its ground truth.

    python -m tools.independent_population.generate --children 10000 --seed 11 --out DIR

writes ``DIR/records.csv`` (the canonical columns), ``DIR/truth.csv`` (record_id, child_id, source,
faults) and ``DIR/children.csv`` (child_id, household_id, tradition, twin_of).
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path
from random import Random

from tools.independent_population.population import population
from tools.independent_population.records import Record, copy_twin_identifiers, inject_faults, records_of

CANONICAL = ("record_id", "given_name", "middle_names", "family_name", "date_of_birth", "gender", "postcode",
             "address_line_1", "nhs_number", "upn")


@dataclass(frozen=True)
class Written:
    """What was written."""

    records: Path
    truth: Path
    children: Path
    record_count: int
    child_count: int


def generate(out: Path, *, children: int, seed: int, fault_rate: float = 0.05,
             twin_identifier_share: float = 0.2) -> Written:
    """Draw the population and its records, inject faults, shuffle, and write the three files."""
    rng = Random(f"independent/{seed}")
    kids = population(children, seed)
    records: list[Record] = [r for child in kids for r in records_of(rng, child)]
    inject_faults(rng, records, fault_rate)
    copy_twin_identifiers(rng, records, twin_identifier_share)
    rng.shuffle(records)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / "records.csv", out / "truth.csv", out / "children.csv")
    with paths[0].open("w", newline="", encoding="utf-8") as rows, \
            paths[1].open("w", newline="", encoding="utf-8") as truth:
        row_writer = csv.DictWriter(rows, fieldnames=CANONICAL)
        row_writer.writeheader()
        truth_writer = csv.writer(truth)
        truth_writer.writerow(["record_id", "child_id", "source", "faults"])
        for n, record in enumerate(records, start=1):
            record_id = f"r{n:08d}"
            row_writer.writerow(record.row(record_id))
            truth_writer.writerow([record_id, record.child.child_id, record.source, ";".join(record.faults)])
    with paths[2].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["child_id", "household_id", "tradition", "twin_of"])
        for child in kids:
            writer.writerow([child.child_id, child.household_id, child.tradition, child.twin_of or ""])
    return Written(*paths, record_count=len(records), child_count=len(kids))


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    written = generate(args.out, children=args.children, seed=args.seed, fault_rate=args.fault_rate)
    print(f"{written.child_count:,} children, {written.record_count:,} records in {args.out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
