"""``generate``: a synthetic population of children written as the five feeds' drop-zone files.

The population is split into local authorities (about one per 5,000 children) and each LA into
neighbourhoods of at most 2,000 children. A neighbourhood is built, written to every feed and
dropped before the next one, so memory does not grow with the number of children; per-LA files
(gp, connexions, ecaf, ics) stay open while their LA's neighbourhoods stream through them.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from random import Random

from tools.synthetic.csvfeeds import ConnexionsFeed, GpFeed, IcsFeed
from tools.synthetic.ctf import write_schools
from tools.synthetic.dropzone import FEEDS, DropZone, RowWriter
from tools.synthetic.ecaf import EcafFeed
from tools.synthetic.idgen import NhsAllocator
from tools.synthetic.places import LaContext, LocalAuthority, all_local_authorities
from tools.synthetic.population import Neighbourhood, build_neighbourhood
from tools.synthetic.rows import LaFeed, Options

CHILDREN_PER_LA = 5000
NEIGHBOURHOOD_SIZE = 2000
CHILDREN_COLUMNS = (
    "child_id", "given_name", "middle_names", "family_name", "former_family_name", "date_of_birth",
    "gender", "address_line_1", "town", "postcode", "old_postcode", "nhs_number", "upn", "uln",
    "household_id", "twin_of", "la_code", "school", "practice_code", "gp_registered", "care_leaver",
    "restricted",
)
_LA_FEEDS: tuple[tuple[str, type[LaFeed]], ...] = (
    ("gp", GpFeed), ("connexions", ConnexionsFeed), ("ecaf", EcafFeed), ("ics", IcsFeed),
)


@dataclass(frozen=True)
class GenerationSummary:
    """What one ``generate`` call wrote."""

    children: int
    files: dict[str, int]  # feed -> number of files written
    rows: dict[str, int]  # feed -> data rows written (pupils / CSV rows / notifications)
    faulty_rows: dict[str, int]  # feed -> rows with an injected fault
    out_dir: Path


def plan_local_authorities(children: int, seed: int, count: int | None = None) -> list[tuple[LocalAuthority, int]]:
    """Which LAs the population lives in and how many children each holds (in LA-code order).

    ``count`` LAs if given (a small demo spread over several LAs), else one per ``CHILDREN_PER_LA`` children.
    """
    authorities = all_local_authorities()
    wanted = count if count is not None else round(children / CHILDREN_PER_LA)
    count = max(1, min(len(authorities), children, wanted))
    chosen = sorted(Random(f"{seed}/las").sample(authorities, count), key=lambda la: la.code)
    base, extra = divmod(children, count)
    return [(la, base + (1 if i < extra else 0)) for i, la in enumerate(chosen)]


def generate(
    out_dir: Path,
    *,
    children: int,
    seed: int = 1,
    fault_rate: float = 0.05,
    feeds: Collection[str] = FEEDS,
    as_of: date = date(2026, 11, 1),
    case_fields: bool = True,
    case_note_columns: bool = False,
    population_file: bool = True,
    checksums: bool = False,
    progress: Callable[[int], None] | None = None,
    local_authorities: int | None = None,
) -> GenerationSummary:
    """Write a drop zone of synthetic feed files, ``ground_truth.csv`` and ``children.csv``.

    Same arguments give byte-identical files. ``fault_rate`` is the share of data rows given
    exactly one fault (named in the ground truth). ``case_fields`` adds to school CTFs the
    containers ContactPoint must not store; ``case_note_columns`` adds case-note columns to the
    CSV feeds and elements to eCAF. ``checksums`` writes ``NAME.sha256`` beside each file.
    ``progress`` is called with the number of children generated so far. ``local_authorities`` spreads
    the children over that many LAs (default: one per 5,000 children).
    """
    unknown = set(feeds) - set(FEEDS)
    if unknown:
        raise ValueError(f"unknown feeds: {sorted(unknown)}")
    if children < 1:
        raise ValueError("children must be at least 1")
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError("fault_rate must be between 0 and 1")
    out_dir = Path(out_dir)
    inbound = out_dir / "inbound"
    if (out_dir / "ground_truth.csv").exists() or (inbound.exists() and any(inbound.rglob("*"))):
        raise FileExistsError(f"{out_dir} already holds generated files; use an empty directory")
    options = Options(seed, as_of, fault_rate, case_fields, case_note_columns)
    zone = DropZone(out_dir, seed, as_of, checksums)
    nhs = NhsAllocator(seed, children)
    done = 0
    people = open(out_dir / "children.csv", "w", encoding="utf-8", newline="") if population_file else None
    try:
        people_csv = csv.writer(people, lineterminator="\n") if people else None
        if people_csv:
            people_csv.writerow(CHILDREN_COLUMNS)
        for la, size in plan_local_authorities(children, seed, local_authorities):
            ctx = LaContext(la, seed)
            writers = [cls(zone, ctx, options) for feed, cls in _LA_FEEDS if feed in feeds]
            parts = math.ceil(size / NEIGHBOURHOOD_SIZE)
            base, extra = divmod(size, parts)
            for index in range(parts):
                nb = build_neighbourhood(ctx, index, base + (1 if index < extra else 0), done, nhs, as_of)
                if people_csv:
                    _write_children(people_csv, nb)
                for writer in writers:
                    writer.add(nb)
                if "school" in feeds:
                    write_schools(zone, nb, options)
                done += len(nb.children)
                del nb  # else the old neighbourhood lives on while the next one is built: twice the peak
                if progress is not None:
                    progress(done)
            for writer in writers:
                writer.close()
    finally:
        if people:
            people.close()
        zone.close()
    wanted = [feed for feed in FEEDS if feed in feeds]
    return GenerationSummary(
        children=done,
        files={feed: zone.files[feed] for feed in wanted},
        rows={feed: zone.rows[feed] for feed in wanted},
        faulty_rows={feed: zone.faulty[feed] for feed in wanted},
        out_dir=out_dir,
    )


def _write_children(writer: RowWriter, nb: Neighbourhood) -> None:
    la_code = nb.ctx.la.code
    for child in nb.children:
        household = child.household
        address = household.address
        old = household.old_address
        writer.writerow((
            child.child_id, child.given, child.middle, child.family, child.former_family,
            child.dob.isoformat(), child.gender, address.line1, address.town, address.postcode,
            old.postcode if old else "", child.nhs, child.upn, child.uln, household.household_id,
            child.twin_of, la_code, child.school.sender_id if child.school else "",
            household.practice.code if child.gp_registered else "",
            "Y" if child.gp_registered else "N", "Y" if child.care_leaver else "N",
            "Y" if household.restricted else "N",
        ))
