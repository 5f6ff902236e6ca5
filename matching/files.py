"""``contactpoint link-files``: a dry run for data teams, linking CSV files without touching the store.

The same features, model, decisions and clustering as the pipeline's full re-link.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from matching.features import features_frame
from matching.linkage import Linkage, link_frames
from matching.model import ESTIMATION_KEY, load_model, train

CANONICAL_COLUMNS = ("record_id", "given_name", "middle_names", "family_name", "date_of_birth", "gender", "postcode",
                     "address_line_1", "town", "nhs_number", "upn", "other_identifier")


def read_canonical(paths: Sequence[Path]) -> Iterator[dict[str, Any]]:
    """Rows of CSV files in the canonical columns; any column but ``record_id`` may be absent or empty."""
    seen: set[str] = set()
    for path in paths:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "record_id" not in (reader.fieldnames or []):
                raise ValueError(f"{path}: no record_id column")
            for line, row in enumerate(reader, start=2):
                record_id = (row.get("record_id") or "").strip()
                if not record_id:
                    raise ValueError(f"{path}, line {line}: record_id is empty")
                if record_id in seen:
                    raise ValueError(f"{path}, line {line}: record_id {record_id!r} appears twice")
                seen.add(record_id)
                yield {c: (row.get(c) or "").strip() or None for c in CANONICAL_COLUMNS}


def link_files(paths: Sequence[Path], model_path: Path | None = None) -> Linkage:
    """Link the records of the files among themselves: with the model ``model_path`` names, else with one
    estimated on these records (``Linkage.estimated`` says what was estimated and what had too little evidence)."""
    frame = features_frame(list(read_canonical(paths)))
    if model_path is not None:
        return link_frames(frame, load_model(model_path))
    model = train(frame)
    linkage = link_frames(frame, model)
    linkage.estimated = {**model[ESTIMATION_KEY], "prior": model["probability_two_random_records_match"]}
    return linkage


def write_clusters(linkage: Linkage, out: Path) -> int:
    """Write ``record_id,cluster_id`` (cluster ids are the smallest record id of each cluster)."""
    groups = linkage.clustering.groups()
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "cluster_id"])
        for members in sorted(groups.values()):
            for record in members:
                writer.writerow([record, members[0]])
    return len(groups)
