"""Deterministic, streaming synthetic children and the five feeds' files about them.

``generate`` writes a drop zone (``inbound/<feed>/NAME``) that follows ``docs/feeds.md``,
with controlled faults and a ground truth naming the true child behind every data row. From a
shell: ``python -m tools.synthetic OUT_DIR --children 100000``. ``next_night`` writes the
files the feeds send the day after, about the same children (``--next-night-of DIR``).
"""

from tools.synthetic.dropzone import FEEDS, GROUND_TRUTH_COLUMNS, file_name
from tools.synthetic.faults import FAULT_KINDS, IDENTIFIER_FAULTS, LINKAGE_FAULTS, ROW_FAULTS
from tools.synthetic.generator import (
    CHILDREN_COLUMNS,
    GenerationSummary,
    generate,
    plan_local_authorities,
)
from tools.synthetic.nextnight import NextNightSummary, next_night

__all__ = [
    "CHILDREN_COLUMNS",
    "FAULT_KINDS",
    "FEEDS",
    "GROUND_TRUTH_COLUMNS",
    "IDENTIFIER_FAULTS",
    "LINKAGE_FAULTS",
    "ROW_FAULTS",
    "GenerationSummary",
    "NextNightSummary",
    "file_name",
    "generate",
    "next_night",
    "plan_local_authorities",
]
