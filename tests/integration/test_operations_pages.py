"""The data team's operations pages in the console, against the real store: every feed's files with their counts,
receipts and data-quality reports, quarantined rows by file, row, field and reason, and daily volumes as a chart."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from directory_api.console import ops_charts
from directory_api.console.ops_charts import volume_chart
from directory_api.main import create_app
from pipeline.steps import run_feed
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name
from warehouse import operations, users
from warehouse.db import transaction
from warehouse.operations_days import DailyVolume

PASSWORD, PIN = "correct horse battery staple", "4711"


@dataclass
class Console:
    client: TestClient
    secrets: dict[str, str]

    def add_user(self, username: str, role: str) -> None:
        with transaction() as conn:
            self.secrets[username] = users.add_user(conn, username=username, display_name=username.title(),
                                                    role=role, password=PASSWORD, pin=PIN)

    def sign_in(self, username: str) -> None:
        self.client.cookies.clear()
        form = self.client.get("/console/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, form.text
        response = self.client.post("/console/sign-in", data={
            "username": username, "password": PASSWORD, "pin": PIN, "csrf_token": token.group(1),
            "one_time_code": pyotp.TOTP(self.secrets[username]).now(), "next": "/console/"}, follow_redirects=False)
        assert response.status_code == 303, response.text

    def get(self, path: str, **params: str) -> Response:
        return self.client.get(path, params=params, follow_redirects=False)


@pytest.fixture
def console(store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:
    monkeypatch.setenv("CONTACTPOINT_CONSOLE_SECURE_COOKIE", "false")  # the test client speaks plain http
    from contactpoint.settings import get_settings

    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield Console(client, {})


def deliver_files(dropzone: Path) -> dict[str, int]:
    """Two GP files from one practice (the second with rows that cannot be identified), a school's roll, and a
    school file that is not XML at all; returns file ids by name."""
    first_gp = feed_file_name("gp", "C84001", "20261101T100000", 1)
    second_gp = feed_file_name("gp", "C84001", "20261108T100000", 2)
    drop(dropzone, "gp", first_gp, csv_file([gp_row() for _ in range(8)]))
    drop(dropzone, "gp", second_gp, csv_file([gp_row() for _ in range(8)]
                                             + [gp_row(date_of_birth=""), gp_row(family_name="", nhs_number="")]))
    run_feed("gp", "gp-run")
    roll = school_file_name(stamp="20261101T100000")
    broken = school_file_name(stamp="20261102T100000")
    drop(dropzone, "school", roll, ctf([pupil(), pupil(Forename="Maisie", Sex="F"), pupil(Forename="Noah")]))
    drop(dropzone, "school", broken, b"<CTfile><Header>")
    run_feed("school", "school-run")
    with transaction() as conn:
        return {f.file_name: f.file_id for s in operations.files_by_sender(conn) for f in s.files}


@pytest.mark.postgres
def test_a_steward_sees_every_feed_and_sender_with_counts_receipts_reports_and_a_volume_chart(
        console: Console, store: Path) -> None:
    files = deliver_files(store)
    console.add_user("stella", "steward")
    console.sign_in("stella")

    page = console.get("/console/ops/feeds")
    assert page.status_code == 200
    assert "script" not in page.headers["content-security-policy"] and "<script" not in page.text
    # Each feed and sender with the totals over its files, and its newest file.
    def numbers(html_text: str, marker: str) -> list[str]:
        row = re.search(rf"{re.escape(marker)}.*?</tr>", html_text, re.S)
        assert row is not None, marker
        return re.findall(r'<td class="num">(?:<a [^>]+>)?([\d,]+)', row.group(0))

    second_gp = feed_file_name("gp", "C84001", "20261108T100000", 2)
    broken = school_file_name(stamp="20261102T100000")
    # files, read, loaded, quarantined, withheld, rejected rows, files refused whole
    assert numbers(page.text, ">C84001<") == ["2", "18", "16", "2", "0", "0", "0"]
    assert numbers(page.text, ">3722001<") == ["2", "3", "3", "0", "0", "0", "1"]
    assert f">{second_gp}</a>" in page.text  # the practice's newest file

    # A sender's files, newest first, each with its status and counts.
    practice = console.get("/console/ops/files", feed="gp", sender="C84001")
    assert practice.status_code == 200 and "2 file(s)" in practice.text
    assert practice.text.index(second_gp) < practice.text.index(feed_file_name("gp", "C84001", "20261101T100000", 1))
    assert numbers(practice.text, f"{second_gp}</a>") == ["10", "8", "2", "0", "0"]  # read … rejected
    school = console.get("/console/ops/files", feed="school", sender="3722001").text
    assert re.search(rf"{re.escape(broken)}</a>.*?rejected.*?whole file", school, re.S)
    # Daily volumes and quarantine rates as inline SVG, one chart per feed, with a text alternative.
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2
    assert "Daily volumes and quarantine rate of the gp feed" in page.text
    assert re.search(r"gp: 18 rows read over 30 days, 2 quarantined \(11\.1%\)", page.text)

    only_gp = console.get("/console/ops/feeds", feed="gp")
    assert ">3722001<" not in only_gp.text and only_gp.text.count("<svg") == 1
    assert console.get("/console/ops/feeds", feed="nonsense").status_code == 404

    # The file's page: the receipt exactly as the sender saw it, and its data-quality report.
    file_page = console.get(f"/console/ops/files/{files[second_gp]}")
    assert file_page.status_code == 200
    shown = html.unescape(file_page.text)
    assert f'"file_name": "{second_gp}"' in shown and '"quarantined": 2' in shown
    receipt = console.get(f"/console/ops/files/{files[second_gp]}/receipt.json").json()
    assert {k: receipt["rows"][k] for k in ("read", "loaded", "quarantined", "withheld")} == {
        "read": 10, "loaded": 8, "quarantined": 2, "withheld": 0}
    report = console.get(f"/console/ops/files/{files[second_gp]}/data-docs")
    assert report.status_code == 200 and f"<title>{second_gp}: data-quality checks passed" in report.text
    assert f"Data-quality checks of {second_gp}" in report.text and "Why the file was rejected" not in report.text
    assert "sandbox" in report.headers["content-security-policy"]
    # A file refused before its rows were checked has no report, and says so.
    assert "refused before its rows were checked" in console.get(f"/console/ops/files/{files[broken]}").text
    assert console.get(f"/console/ops/files/{files[broken]}/data-docs").status_code == 404
    assert console.get("/console/ops/files/999999").status_code == 404


@pytest.mark.postgres
def test_quarantined_rows_are_browsable_by_file_row_field_and_reason_a_page_at_a_time(
        console: Console, store: Path) -> None:
    files = deliver_files(store)
    second_gp = feed_file_name("gp", "C84001", "20261108T100000", 2)
    console.add_user("stella", "steward")
    console.sign_in("stella")

    page = console.get("/console/ops/quarantine", feed="gp")
    assert page.status_code == 200
    listed = re.findall(r'<td class="num">(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>', page.text)
    assert [(row, field) for row, field, _ in listed] == [("9", "date_of_birth"), ("10", "family_name")]
    assert all(reason.strip() for _, _, reason in listed)
    assert second_gp in page.text and "page 1 of 1" in page.text
    # Nothing of the rows' values is shown: only where and why.
    assert "Smith-Jones" not in page.text and "Oak Road" not in page.text
    assert "0 reason(s) in the school feed" in console.get("/console/ops/quarantine", feed="school").text

    with transaction() as conn:
        first = operations.quarantined_rows(conn, file_id=files[second_gp], page=1, page_size=1)
        second = operations.quarantined_rows(conn, file_id=files[second_gp], page=2, page_size=1)
        beyond = operations.quarantined_rows(conn, file_id=files[second_gp], page=3, page_size=1)
        counted_to_one = operations.quarantined_rows(conn, feed="gp", page_size=1, count_limit=1)
    assert (first.total, first.pages) == (2, 2)
    assert [(i.row_number, i.field) for i in first.issues + second.issues] == [(9, "date_of_birth"),
                                                                                (10, "family_name")]
    assert beyond.issues == [] and not beyond.has_next and first.has_next
    # Counting can stop early (the console stops at 10,000): the page then says "more than" and goes on.
    assert (counted_to_one.total, counted_to_one.capped, counted_to_one.has_next) == (1, True, True)


@pytest.mark.postgres
def test_operations_pages_are_for_stewards_never_for_readers(console: Console, store: Path) -> None:
    files = deliver_files(store)
    any_file = next(iter(files.values()))
    pages = ["/console/ops/feeds", "/console/ops/quarantine", f"/console/ops/files/{any_file}",
             "/console/ops/files?feed=gp&sender=C84001",
             f"/console/ops/files/{any_file}/data-docs", f"/console/ops/files/{any_file}/receipt.json",
             "/console/model/", "/console/model/weights"]
    for path in pages:
        response = console.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/sign-in")
    for role in ("reader", "auditor", "archivist"):
        console.add_user(f"someone-{role}", role)
        console.sign_in(f"someone-{role}")
        assert [console.get(path).status_code for path in pages] == [403] * len(pages)


@pytest.mark.postgres
def test_a_data_team_member_runs_the_operations_pages_but_decides_nothing_and_reads_no_child(
        console: Console, store: Path) -> None:
    files = deliver_files(store)
    any_file = next(iter(files.values()))
    console.add_user("dana", "data_team")
    console.sign_in("dana")
    home = console.get("/console/")
    assert "Feeds" in home.text and "Quarantine" in home.text and "Review queue" not in home.text
    for path in ("/console/ops/feeds", "/console/ops/quarantine", f"/console/ops/files/{any_file}",
                 f"/console/ops/files/{any_file}/receipt.json"):
        assert console.get(path).status_code == 200, path
    for path in ("/console/review", "/console/model/", "/console/model/weights", "/console/identity/CP000000001A"):
        assert console.get(path).status_code == 403, path
    with transaction() as conn:  # the read contract refuses the role outright
        with pytest.raises(DBAPIError, match="does not read the directory"):
            conn.execute(text("SELECT directory.child_record('dana', 'safeguarding', 'CP000000001A')"))


@pytest.mark.unit
def test_the_volume_chart_shows_each_days_rows_and_rate_and_breaks_the_rate_line_on_quiet_days() -> None:
    days = [DailyVolume("gp", date(2026, 11, d), files, read, quarantined, 0) for d, files, read, quarantined in
            ((1, 1, 10, 1), (2, 0, 0, 0), (3, 1, 20, 0), (4, 2, 30, 15), (5, 0, 0, 0))]
    svg = str(volume_chart("gp", days))

    assert svg.count("<rect") == 3 and svg.count("<circle") == 3
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert [len(points.split()) for points in lines] == [2]  # 3 and 4 joined; 1 stands alone
    top, bottom = ops_charts.TOP, ops_charts.HEIGHT - ops_charts.BOTTOM
    rates = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert rates == pytest.approx([bottom - 0.1 * (bottom - top), bottom, bottom - 0.5 * (bottom - top)], abs=0.1)
    assert "<title id=\"volumes-gp-title\">" in svg and "60 rows read over 5 days, 16 quarantined (26.7%)" in svg
    assert "<script" not in svg and "style=" not in svg
