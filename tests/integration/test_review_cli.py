"""Stewards who script: ``contactpoint review list`` shows the console's queue in the console's order, and
``contactpoint review decide`` links or keeps apart a pair through the same actions, with the same checks."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cli.main import main
from contactpoint.settings import get_settings
from directory_api.main import create_app
from matching import stewardship
from pipeline.steps import link, relink, run_feed
from tests.factories import csv_file, drop, feed_file_name, gp_row
from tests.integration.population import deliver_population
from warehouse import users
from warehouse.audit import verify_chain
from warehouse.db import transaction

pytestmark = pytest.mark.postgres
PASSWORD, PIN = "correct horse battery staple", "4711"


# Twins at one GP address each, the second of each pair registered without an NHS number: nothing but a steward
# tells whether she is her sister (family, sex, birth date, postcode, street, the twins' forenames).
TWINS = (("Liban", "F", "2015-01-10", "S60 2AB", "8 Elm Close", ("Asha", "Ruth")),
         ("Mehta", "M", "2016-02-11", "S61 1AB", "3 Mill Lane", ("Vivaan", "Arjun")),
         ("Walsh", "F", "2017-03-12", "S60 1AA", "12 Oak Road", ("Ruby", "Ivy")))


def load_population_with_twins(store: Path) -> None:
    """The lifecycle stories' population (400 children, many faults) and three pairs of twins at their GP: however
    the model weighs the population's own doubtful pairs, the queue holds at least three pairs of children."""
    deliver_population(store, children=400, seed=23, fault_rate=0.15)
    drop(store, "gp", feed_file_name("gp", sender="13R", seq=99), csv_file([
        gp_row(given_name=name, family_name=family, gender=sex, date_of_birth=born, postcode=postcode,
               address_line_1=street, other_given_names="", **({"nhs_number": ""} if second else {}))
        for family, sex, born, postcode, street, names in TWINS for second, name in enumerate(names)]))
    run_feed("gp", "run-gp-twins")
    link("first")


def add_user(name: str, role: str = "steward", *, shielded: bool = False) -> str:
    with transaction() as conn:
        return users.add_user(conn, username=name, display_name=name.title(), role=role, password=PASSWORD, pin=PIN,
                              may_see_shielded=shielded)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def queue_order() -> list[int]:
    with transaction() as conn:
        return [e.pair_id for e in stewardship.review_entries(conn, per_page=1_000).entries]


def child_of(record_id: int) -> str:
    with transaction() as conn:
        return str(conn.execute(text("SELECT cp_id FROM identity.link WHERE record_id = :r"),
                                {"r": record_id}).scalar_one())


def test_review_list_shows_the_open_pairs_in_the_consoles_order(store: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    load_population_with_twins(store)
    # One pair touches a shielded child: it comes first, in the console and on the command line.
    pairs = queue_order()
    assert len(pairs) >= 3, "the population must give the linker some doubtful pairs"
    with transaction() as conn:
        conn.execute(text("""UPDATE staging.source_record SET restricted = true WHERE record_id =
                             (SELECT record_a FROM identity.review_pair WHERE pair_id = :p)"""), {"p": pairs[-1]})
    expected = queue_order()
    with transaction() as conn:
        shielded = stewardship.review_entries(conn).shielded
    assert shielded >= 1 and pairs[-1] in expected[:shielded]

    code, out, _ = cli(capsys, "review", "list", "--per-page", "1000")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("entry\tcp_a\tcp_b\tpairs\trecord_pairs")
    assert [int(line.split("\t")[0]) for line in lines[1:-1]] == expected
    flags = [line.split("\t")[7] for line in lines[1:-1]]
    assert flags == ["yes"] * shielded + ["no"] * (len(expected) - shielded)
    assert lines[-1].startswith(f"{len(expected)} open entries (pairs of children; ")
    assert f"), {shielded} touching a shielded child" in lines[-1]
    # One line per pair of children, whichever order the record pairs name them in.
    children = [frozenset(line.split("\t")[1:3]) for line in lines[1:-1]]
    assert len(children) == len(set(children))
    # Ids and weights only: no line carries a name or a date of birth.
    assert not re.search(r"\d{4}-\d{2}-\d{2}", out)

    # The console's queue page lists the same pairs in the same order.
    monkeypatch.setenv("CONTACTPOINT_CONSOLE_SECURE_COOKIE", "false")
    get_settings.cache_clear()
    secret = add_user("stella", shielded=True)
    with TestClient(create_app()) as client:
        form = client.get("/console/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        client.post("/console/sign-in", data={"username": "stella", "password": PASSWORD, "pin": PIN,
                                              "one_time_code": pyotp.TOTP(secret).now(),
                                              "csrf_token": token.group(1)})
        page = client.get("/console/review")
    assert page.status_code == 200
    shown = [int(p) for p in re.findall(r'href="/console/review/(\d+)">Entry', page.text)]
    assert shown == expected[:len(shown)] and shown

    code, out, _ = cli(capsys, "review", "list", "--per-page", "2", "--page", "2")
    assert [int(line.split("\t")[0]) for line in out.strip().splitlines()[1:-1]] == expected[2:4]


def test_review_decide_keeps_a_pair_apart_or_links_it_as_the_console_would(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_population_with_twins(store)
    add_user("stella")
    add_user("rita", role="reader")
    first, second = queue_order()[:2]
    with transaction() as conn:
        pair = {p: conn.execute(text("SELECT record_a, record_b FROM identity.review_pair WHERE pair_id = :p"),
                                {"p": p}).one() for p in (first, second)}

    # Refused: a reader, an unknown name, an empty reason. Nothing is written.
    assert cli(capsys, "review", "decide", str(first), "--keep-apart", "--reason", "x", "--steward", "rita")[0] == 1
    code, _, err = cli(capsys, "review", "decide", str(first), "--keep-apart", "--reason", "x", "--steward", "nobody")
    assert code == 1 and "no user" in err
    code, _, err = cli(capsys, "review", "decide", str(first), "--keep-apart", "--reason", "  ", "--steward", "stella")
    assert code == 1 and "reason" in err
    with pytest.raises(SystemExit):
        cli(capsys, "review", "decide", str(first), "--link", "--keep-apart", "--reason", "x", "--steward", "stella")
    assert queue_order()[:2] == [first, second]

    code, out, _ = cli(capsys, "review", "decide", str(first), "--keep-apart", "--reason", "different mothers",
                       "--steward", "stella")
    assert code == 0 and "keep apart recorded as action" in out
    a, b = pair[first]
    assert first not in queue_order()
    # Deciding it again is refused: the pair is no longer open.
    code, _, err = cli(capsys, "review", "decide", str(first), "--link", "--reason", "x", "--steward", "stella")
    assert code == 1 and "already decided" in err

    a2, b2 = pair[second]
    with transaction() as conn:
        older = stewardship.older_first(conn, child_of(a2), child_of(b2))[0]
    code, out, _ = cli(capsys, "review", "decide", str(second), "--link", "--reason", "same child, new surname",
                       "--steward", "stella")
    assert code == 0 and f"merged into {older}" in out
    assert child_of(a2) == child_of(b2) == older

    # The next full re-link honours both decisions, and the audit trail shows who took each.
    relink("after-review")
    assert child_of(a) != child_of(b)
    assert child_of(a2) == child_of(b2) == older
    with transaction() as conn:
        actions = conn.execute(text("SELECT username, action FROM audit.entry WHERE action LIKE 'steward_%' "
                                    "ORDER BY entry_id")).fetchall()
        assert verify_chain(conn, store.parent / "anchors.log").ok
    assert ("stella", "steward_keep_apart") in actions and ("stella", "steward_link") in actions
    assert {username for username, _ in actions} == {"stella"}


def test_a_pair_touching_a_shielded_child_needs_an_entitled_steward(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_population_with_twins(store)
    add_user("stella")
    add_user("sam", shielded=True)
    pair = queue_order()[0]
    with transaction() as conn:
        conn.execute(text("""UPDATE staging.source_record SET restricted = true WHERE record_id =
                             (SELECT record_b FROM identity.review_pair WHERE pair_id = :p)"""), {"p": pair})

    code, _, err = cli(capsys, "review", "decide", str(pair), "--keep-apart", "--reason", "x", "--steward", "stella")
    assert code == 1 and "shielded" in err
    assert pair in queue_order()
    code, _, _ = cli(capsys, "review", "decide", str(pair), "--keep-apart", "--reason", "twins", "--steward", "sam")
    assert code == 0 and pair not in queue_order()
