"""A data team member mistypes a command: one line says what is wrong (naming the known feeds, the missing
file, the folder that cannot be written), the exit status is 2, and nothing was started."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from connectors.feeds import FEEDS


def _wrong(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    assert status == 2, (argv, out, err)
    lines = [line for line in err.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1, (argv, err)
    assert "Traceback" not in err and out == ""
    return lines[0]


@pytest.mark.parametrize("argv", [["review", "list", "--feed", "xyz"], ["quarantine", "list", "--feed", "xyz"],
                                  ["generate", "--feeds", "school,xyz", "--out", "/tmp/never-written"]])
@pytest.mark.unit
def test_an_unknown_feed_is_named_with_the_known_ones(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    line = _wrong(argv, capsys)
    assert "'xyz'" in line and all(feed in line for feed in FEEDS)


@pytest.mark.parametrize(("argv", "said"), [
    (["generate", "--children", "-5", "--out", "/tmp/never-written"], "must be at least 1, not -5"),
    (["demo", "--children", "0"], "must be at least 1, not 0"),
    (["demo", "--fault-rate", "1.5"], "must be between 0 and 1"),
    (["review", "list", "--per-page", "-1"], "must be at least 1"),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
])
@pytest.mark.unit
def test_negative_sizes_and_unknown_commands_are_one_line(argv: list[str], said: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert said in _wrong(argv, capsys)


@pytest.mark.unit
def test_link_files_names_the_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "records.csv"
    line = _wrong(["link-files", str(missing), "--out", str(tmp_path / "clusters.csv")], capsys)
    assert line == f"contactpoint link-files: no such file: {missing}"


@pytest.mark.unit
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    line = _wrong(["report", "--out", str(a_file / "report")], capsys)
    assert line.startswith(f"contactpoint report: cannot write to {a_file / 'report'}")
    line = _wrong(["generate", "--out", str(a_file / "feeds")], capsys)
    assert line.startswith("contactpoint generate: cannot write to")


@pytest.mark.unit
def test_help_names_every_command_and_says_the_demo_sends_all_five_feeds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    from cli.main import COMMANDS

    described = top.split("positional arguments")[0]
    assert all(command in described for command in COMMANDS), described
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    demo = capsys.readouterr().out
    assert "all five feeds" in demo and "school files" not in demo
    assert demo.count("help") >= 1 and "population size" in demo and "injected fault" in demo


@pytest.mark.postgres
def test_an_unknown_model_version_is_named_with_the_known_ones(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _wrong(["model", "compare", "v99"], capsys)
    assert line.startswith("contactpoint model: unknown model version 'v99'; the versions are ")
    from matching.lifecycle import model_versions
    from warehouse.db import transaction

    with transaction() as conn:
        known = [v.version for v in model_versions(conn)]
    assert known and line.endswith(", ".join(known))
