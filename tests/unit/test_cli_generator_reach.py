"""``contactpoint generate`` and ``demo`` use the synthetic generator, a repository tool the wheel does not ship.

An editable install maps only the shipped packages, so its console script does not see ``tools/``: run
from a checkout, the command still reaches the generator; where no checkout stands beside ``cli/`` (a
wheel), it says so in one line and exits 2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_AND_NEEDED = ("cli", "contactpoint", "connectors", "schemas", "matching", "warehouse", "pipeline")
GENERATE = "from cli.main import main; raise SystemExit(main(['generate', '--children', '5', '--feeds', 'gp', " \
           "'--out', 'out']))"


def _run(path_entry: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command as a console script runs it: the given folder on the path, not the repository."""
    env = {**os.environ, "PYTHONPATH": str(path_entry)}
    return subprocess.run([sys.executable, "-c", GENERATE], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_run_from_a_checkout_without_tools_on_the_path_generate_still_writes_the_files(tmp_path: Path) -> None:
    mapped = tmp_path / "mapped"
    mapped.mkdir()
    for package in SHIPPED_AND_NEEDED:
        if (ROOT / package).is_dir():
            (mapped / package).symlink_to(ROOT / package, target_is_directory=True)
    done = _run(mapped, tmp_path)
    assert done.returncode == 0, done.stderr
    assert any((tmp_path / "out" / "inbound" / "gp").iterdir())


def test_without_a_checkout_beside_cli_generate_says_the_generator_is_not_installed(tmp_path: Path) -> None:
    wheel = tmp_path / "wheel"
    wheel.mkdir()
    for package in SHIPPED_AND_NEEDED:
        if (ROOT / package).is_dir():
            shutil.copytree(ROOT / package, wheel / package, ignore=shutil.ignore_patterns("__pycache__"))
    done = _run(wheel, tmp_path)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["contactpoint generate: the synthetic generator (tools/synthetic) is not installed with the hub: "
                     "run generate and demo from a checkout of the repository"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))
