"""A background of independent children for linking a handful of records written in a test."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from matching.files import CANONICAL_COLUMNS, link_files
from tools.independent_population.generate import generate

Link = Callable[[Path, list[dict[str, str]]], dict[str, str]]


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("independent"), children=1_500, seed=7).records.parent


@pytest.fixture()
def beside_population(population: Path) -> Callable[[Path, list[dict[str, str]]], Path]:
    """Write the rows beside 600 of the population's records as one canonical CSV file at ``path``."""
    with (population / "records.csv").open() as handle:
        background = list(csv.DictReader(handle))[:600]

    def write(path: Path, rows: list[dict[str, str]]) -> Path:
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CANONICAL_COLUMNS)
            writer.writeheader()
            for row in background + rows:
                writer.writerow({c: row.get(c, "") for c in CANONICAL_COLUMNS})
        return path

    return write


@pytest.fixture()
def link_beside_population(beside_population: Callable[[Path, list[dict[str, str]]], Path]) -> Link:
    """Link the rows beside 600 of the population's records with ``link-files`` (a model estimated on them all):
    each record's group."""

    def link(path: Path, rows: list[dict[str, str]]) -> dict[str, str]:
        return link_files([beside_population(path, rows)]).clustering.group_of

    return link
