"""Shared fixture: one mid-sized generation run that the read-only checks inspect."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.synthetic import GenerationSummary, generate


@pytest.fixture(scope="package")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    """8,000 children (two LAs, two neighbourhoods each) with a high fault rate."""
    out = tmp_path_factory.mktemp("synthetic") / "zone"
    return out, generate(out, children=8000, seed=7, fault_rate=0.1)
