"""The next night as a program: its command lines and clear errors, memory that stays flat as the population
grows, new NHS numbers that are valid and unused, and output that does not depend on the string hash seed.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from cli.main import main as cli_main
from tests.unit.synthetic.feedfiles import digests_under_hash_seeds
from tools.synthetic import generate
from tools.synthetic.__main__ import main as synthetic_main
from tools.synthetic.idgen import NHS_BODIES, NHS_SYNTHETIC_BASE
from tools.synthetic.nextnight import NhsNumbers, next_night


@pytest.mark.unit
def test_command_line_and_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "n1"
    generate(first, children=300, seed=5)
    assert synthetic_main([str(tmp_path / "n2"), "--next-night-of", str(first), "--seed", "6"]) == 0
    assert "new children" in capsys.readouterr().err
    assert (tmp_path / "n2" / "ground_truth.csv").is_file()
    assert cli_main(["generate", "--next-night-of", str(first), "--out", str(tmp_path / "n2b"), "--seed", "6"]) == 0
    assert "left England" in capsys.readouterr().out
    assert (tmp_path / "n2b" / "ground_truth.csv").read_bytes() == (tmp_path / "n2" / "ground_truth.csv").read_bytes()
    with pytest.raises(FileExistsError, match="already holds"):
        next_night(first, tmp_path / "n2", seed=6)
    (first / "children.csv").unlink()
    with pytest.raises(FileNotFoundError, match="children.csv"):
        next_night(first, tmp_path / "n3", seed=6)
    with pytest.raises(ValueError, match="new_share"):
        next_night(first, tmp_path / "n4", seed=6, new_share=2.0)


def _peak(first: Path, out: Path) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        next_night(first, out, seed=2)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.unit
def test_memory_stays_flat_as_the_population_grows(tmp_path: Path) -> None:
    # Two LAs of 5,000 children against eight of them: the night is written one LA at a time.
    generate(tmp_path / "small1", children=10_000, seed=1)
    generate(tmp_path / "large1", children=40_000, seed=1)
    small = _peak(tmp_path / "small1", tmp_path / "small2")
    large = _peak(tmp_path / "large1", tmp_path / "large2")
    print(f"next night peak traced memory: 10k children {small / 1e6:.1f} MB, 40k {large / 1e6:.1f} MB")  # noqa: T201
    assert large < 1.25 * small


@pytest.mark.unit
def test_new_nhs_numbers_are_valid_and_unused_until_the_synthetic_range_runs_out() -> None:
    numbers = NhsNumbers(seed=3)
    free = {"9990000018", "9995000024", "9999999999"}  # valid numbers nobody holds yet
    numbers.used[:] = b"\x01" * NHS_BODIES  # night one holds every other number ...
    for number in free | {"9990000026"}:
        numbers.used[int(number[:9]) - NHS_SYNTHETIC_BASE] = 0
    numbers.mark("9990000026")  # ... and this one, read from its children.csv
    handed_out = {numbers.next() for _ in range(3)}
    assert handed_out == free
    assert numbers.next() == ""  # an arrival without a number yet, never a duplicate


_NEXT_NIGHT = """
generate(out / "1", children=600, seed=21)
next_night(out / "1", out / "2", seed=22, new_share=0.05, change_share=0.1)
"""


@pytest.mark.unit
def test_next_night_does_not_depend_on_the_string_hash_seed(tmp_path: Path) -> None:
    digests = digests_under_hash_seeds(_NEXT_NIGHT, 'out / "2"', tmp_path)
    assert len(digests) == 1
