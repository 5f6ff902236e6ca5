"""A steward opens the review queue: twins known to two feeds are one question (are Amelia and Isla one
child?), not one per record pair; answering it answers every record pair behind it, on the command line and
in the console; counts are per question."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient

from cli.main import main
from contactpoint.settings import get_settings
from directory_api.main import create_app
from matching import stewardship
from tests.integration.stewardship_story import twins
from warehouse import users
from warehouse.db import transaction

pytestmark = pytest.mark.postgres
PASSWORD, PIN = "correct horse battery staple", "4711"


def _queues() -> tuple[stewardship.QueuePage, stewardship.EntryPage]:
    with transaction() as conn:
        return stewardship.review_queue(conn), stewardship.review_entries(conn)


def test_twins_on_two_feeds_are_one_question_and_keeping_them_apart_answers_every_pair(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twins(store)
    pairs, entries = _queues()
    assert pairs.total >= 2, "school and GP each pair the twins"
    assert entries.total == 1 and entries.record_pairs == pairs.total
    [entry] = entries.entries
    assert {p.pair_id for p in entry.pairs} == {p.pair_id for p in pairs.entries}
    assert {frozenset((p.cp_a, p.cp_b)) for p in entry.pairs} == {frozenset((entry.cp_a, entry.cp_b))}
    assert entry.feeds == ["gp", "school"] and entries.by_feed == {"gp": 1, "school": 1}
    with transaction() as conn:
        users.add_user(conn, username="stella", display_name="Stella", role="steward", password=PASSWORD, pin=PIN)

    assert main(["review", "decide", str(entry.pair_id), "--keep-apart", "--reason", "twins: two pupils",
                 "--steward", "stella"]) == 0
    assert f"for {len(entry.pairs)} record pair(s)" in capsys.readouterr().out
    pairs, entries = _queues()
    assert (pairs.total, entries.total) == (0, 0)


def test_the_console_lists_one_entry_per_pair_of_children_and_its_keep_apart_answers_them_all(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    twins(store)
    _, entries = _queues()
    [entry] = entries.entries
    monkeypatch.setenv("CONTACTPOINT_CONSOLE_SECURE_COOKIE", "false")
    get_settings.cache_clear()
    with transaction() as conn:
        secret = users.add_user(conn, username="stella", display_name="Stella", role="steward", password=PASSWORD,
                                pin=PIN)
    with TestClient(create_app()) as client:
        form = client.get("/console/sign-in")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None
        client.post("/console/sign-in", data={"username": "stella", "password": PASSWORD, "pin": PIN,
                                              "one_time_code": pyotp.TOTP(secret).now(), "csrf_token": csrf.group(1)})
        page = client.get("/console/review").text
        assert "1 open question" in page and f"({len(entry.pairs)} record pairs behind them)" in page
        assert re.findall(r'href="/console/review/(\d+)">Entry', page) == [str(entry.pair_id)]
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/console/review/{entry.pair_id}").text)
        assert token is not None
        done = client.post(f"/console/review/{entry.pair_id}/keep-apart",
                           data={"reason": "twins: two pupils", "csrf_token": token.group(1)})
        assert done.status_code == 200 and "No open questions" in done.text
    pairs, entries = _queues()
    assert (pairs.total, entries.total) == (0, 0)


def _console(username: str, role: str) -> TestClient:
    with transaction() as conn:
        secret = users.add_user(conn, username=username, display_name=username.title(), role=role,
                                password=PASSWORD, pin=PIN)
    client = TestClient(create_app())
    form = client.get("/console/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    client.post("/console/sign-in", data={"username": username, "password": PASSWORD, "pin": PIN,
                                          "one_time_code": pyotp.TOTP(secret).now(), "csrf_token": csrf.group(1)})
    return client


def test_the_console_home_shows_the_day_at_a_glance_to_those_who_run_the_hub(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    twins(store)  # a school file and a GP file, two rows each; the twins are one open question
    monkeypatch.setenv("CONTACTPOINT_CONSOLE_SECURE_COOKIE", "false")
    get_settings.cache_clear()

    steward_home = _console("stella", "steward").get("/console/").text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", steward_home))
    assert "1 open review question" in text and "2 files received in the last 24 hours" in text
    assert "0 refused whole" in text and "Last link: 20" in text and "last publish to the directory: 20" in text
    assert re.search(r"gp 1 0 2 2 0 0 school 1 0 2 2 0 0", text), text

    team = _console("dana", "data_team")
    team_home = team.get("/console/").text
    assert "2 files received" in re.sub(r"<[^>]+>", "", team_home) and "review question" not in team_home
    # The universal services report in the console: names, counts with their denominators, rates, a chart.
    report = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", team.get("/console/ops/report").text))
    assert re.search(r"Rotherham 372 2 0 of 2 0\.0% 0 of 2 0\.0%", report), report
    chart = team.get("/console/ops/report/chart.svg")
    assert chart.headers["content-type"].startswith("image/svg+xml") and chart.text.startswith("<svg")
    reader_home = _console("rita", "reader").get("/console/").text
    assert "day at a glance" not in reader_home and "files received" not in reader_home
