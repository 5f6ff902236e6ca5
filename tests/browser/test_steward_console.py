"""Stewards at work in a real browser: sign in with four factors, review the top pair, decide, merge, undo.

Each story saves a screenshot of every page it visits (``tests/artifacts/screenshots/``) and checks each
with axe-core. What the browser did is then checked in the store: the next full re-link honours the
decision, the audit trail shows it, and IDs end as they began after an undo.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from directory_api.console.session import require_operations, require_steward
from directory_api.main import create_app
from pipeline.steps import publish, relink
from tests.browser.conftest import Console
from tests.integration.stewardship_story import children_by_record, girl_with_two_surnames, twins
from tests.integration.test_held_is_shielded import held_beside_shielded_twin
from warehouse.db import transaction

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def rows(sql: str, **params: object) -> list[Any]:
    with transaction() as conn:
        return list(conn.execute(text(sql), params).fetchall())


def test_a_steward_keeps_the_top_pair_apart_and_the_next_full_relink_and_the_audit_show_it(
        store: Path, console: Console) -> None:
    twins(store)
    before = children_by_record()
    console.add_user("sofia")
    console.sign_in("sofia")
    console.check("home")

    console.goto("/console/review")
    console.check("review-queue")
    # The record pairs between the twins' school and GP records are one question: are these two children one?
    [(record_pairs,)] = rows("SELECT count(*) FROM identity.review_pair WHERE status = 'open'")
    assert record_pairs >= 2 and f"1 open question ({record_pairs} record pairs behind them)" in console.text()
    top = console.page.locator("main table").last.locator("tbody tr").first
    pair_link = top.get_by_role("link").first
    pair_id = int(re.sub(r"\D", "", pair_link.inner_text()))
    pair_link.click()
    console.page.wait_for_load_state()
    assert console.page.url.endswith(f"/console/review/{pair_id}")
    waterfall = console.page.locator("svg.waterfall")
    assert waterfall.is_visible()
    assert waterfall.locator("rect").count() >= 8  # prior, seven comparisons, total
    assert "Match-weight waterfall" in (waterfall.locator("title").first.text_content() or "")
    console.check("pair")

    console.page.get_by_label("Reason for keeping them apart").fill("Twins: the school confirmed two pupils.")
    console.page.get_by_role("button", name="Keep apart").click()
    console.page.wait_for_load_state()
    assert "/console/review" in console.page.url and "recorded" in console.text()
    assert "No open questions" in console.text()  # keeping the twins apart answered every record pair
    console.check("after-keep-apart")

    relink("full-after-the-steward")
    assert children_by_record() == before
    # One answer, one cannot-link per record pair behind the entry.
    decisions = rows("SELECT decision, steward, reason, action_id FROM identity.steward_decision ORDER BY decision_id")
    assert [(d.decision, d.steward) for d in decisions] == [("cannot_link", "sofia")] * record_pairs
    trail = [(r.username, r.action) for r in rows("SELECT username, action FROM audit.entry ORDER BY entry_id")]
    assert ("sofia", "sign_in") in trail
    assert trail.index(("sofia", "steward_decision")) < trail.index(("sofia", "steward_keep_apart"))
    kept_apart, *_ = rows("SELECT cp_id, detail FROM audit.entry WHERE action = 'steward_keep_apart' ORDER BY entry_id")
    assert kept_apart.detail["pair_id"] == pair_id and kept_apart.detail["action_id"] == decisions[0].action_id
    assert all("Twins" not in str(r.detail) for r in rows("SELECT detail FROM audit.entry"))

    console.goto(f"/console/identity/{kept_apart.cp_id}")
    console.check("identity")
    assert "keep_apart" in console.text() and "sofia" in console.text()


def test_a_steward_merges_two_children_then_undoes_it_and_the_ids_end_as_they_began(
        store: Path, console: Console) -> None:
    ids = girl_with_two_surnames(store)
    publish()
    before = children_by_record()
    console.add_user("sofia")
    console.sign_in("sofia")

    console.goto(f"/console/identity/{ids['gp']}")
    console.check("identity-before")
    console.page.get_by_label("The other child's ContactPoint ID").fill(ids["school"])
    console.page.get_by_label("Reason for merging").fill("Adopted: the GP confirmed the surname change.")
    console.page.get_by_role("button", name="Merge (the older ID is kept)").click()
    console.page.wait_for_load_state()
    kept = re.search(r"/console/identity/(CP[0-9]{9}[A-Z])", console.page.url)
    assert kept is not None
    retired = ({ids["gp"], ids["school"]} - {kept.group(1)}).pop()
    assert "recorded" in console.text() and retired in console.text()
    assert set(children_by_record().values()) == {kept.group(1)}
    console.check("identity-merged")

    console.goto(f"/console/identity/{retired}")
    assert "merged" in console.text() and kept.group(1) in console.text()
    console.check("identity-retired")

    console.goto(f"/console/identity/{kept.group(1)}")
    console.page.get_by_label(re.compile(r"Reason for undoing action \d+")).fill("Wrong girl: two different children.")
    console.page.get_by_role("button", name="Undo").click()
    console.page.wait_for_load_state()
    assert "recorded" in console.text() and "undone" in console.text()
    console.check("identity-undone")

    assert children_by_record() == before
    assert {r.cp_id: r.status for r in rows("SELECT cp_id, status FROM identity.child")} == {
        ids["school"]: "active", ids["gp"]: "active"}
    relink("full-after-undo")
    assert children_by_record() == before
    kinds = [r.kind for r in rows("SELECT kind FROM directory.change WHERE kind <> 'child_changed' ORDER BY change_id")]
    assert kinds == ["ids_merged", "merge_undone"]


def _steward_routes(*guards: Any) -> list[tuple[str, str]]:
    """Every console route that needs a steward (or one of ``guards``), with sample path values (method, path)."""
    wanted = (require_steward, *guards)

    def needs_steward(dependant: Any) -> bool:
        return any(d.call in wanted or needs_steward(d) for d in dependant.dependencies)

    found = []
    for route in create_app().routes:
        if isinstance(route, APIRoute) and route.path.startswith("/console") and needs_steward(route.dependant):
            path = re.sub(r"\{cp_id\}", "CP000000000A", route.path)
            path = re.sub(r"\{[a-z_]+\}", "1", path)
            found += [(method, path) for method in sorted(route.methods)]
    return found


def test_a_reader_signs_in_but_cannot_open_any_steward_page(store: Path, console: Console) -> None:
    console.add_user("rhys", role="reader")
    console.sign_in("rhys")
    console.check("reader-home")
    assert "No console pages are open to the reader role" in console.text()
    assert console.page.get_by_role("link", name="Review queue").count() == 0

    routes = _steward_routes(require_operations)
    assert ("GET", "/console/review") in routes and ("POST", "/console/actions/1/undo") in routes
    assert ("GET", "/console/ops/feeds") in routes
    for method, path in routes:
        if method == "GET":
            status = console.goto(path).status
        else:
            status = console.page.request.post(console.base + path, form={"reason": "x", "csrf_token": "x"}).status
        assert status == 403, (method, path, status)


def _tab_to(console: Console, describe: str, limit: int = 80) -> None:
    """Press Tab until the focused element's accessible text (or label) contains ``describe``."""
    for _ in range(limit):
        console.page.keyboard.press("Tab")
        focused = console.page.evaluate("""() => {
            const e = document.activeElement;
            const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
            return (e.innerText || e.value || '') + ' ' + label; }""")
        if describe in focused:
            return
    raise AssertionError(f"Tab never reached {describe!r}")


def _enter(console: Console) -> None:
    """Press Enter on the focused link or button and wait for the page it opens."""
    with console.page.expect_navigation():
        console.page.keyboard.press("Enter")


def test_a_steward_signs_in_and_keeps_a_pair_apart_with_the_keyboard_alone(store: Path, console: Console) -> None:
    twins(store)
    console.add_user("kai")
    console.goto("/console/sign-in")
    keyboard = console.page.keyboard
    # The user name field has the focus when the page opens (autofocus lands just after load).
    console.page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    keyboard.type("kai")
    keyboard.press("Tab")
    keyboard.type("correct horse battery staple")
    keyboard.press("Tab")
    keyboard.type("4711")
    keyboard.press("Tab")
    keyboard.type(console.code("kai"))
    _enter(console)
    assert "Welcome, Kai" in console.text()

    _tab_to(console, "Review queue")
    _enter(console)
    _tab_to(console, "Entry ")
    _enter(console)
    assert re.search(r"/console/review/\d+$", console.page.url)
    _tab_to(console, "Reason for keeping them apart")
    keyboard.type("Different children: two UPNs at one school.")
    keyboard.press("Tab")
    _enter(console)
    assert "recorded" in console.text()
    console.check("keyboard-after-keep-apart")
    assert {r.steward for r in rows("SELECT steward FROM identity.steward_decision")} == {"kai"}


def test_a_steward_without_the_shielded_entitlement_sees_only_that_a_pair_needs_an_entitled_steward(
        store: Path, console: Console) -> None:
    ids = held_beside_shielded_twin(store)
    console.add_user("sam")
    console.sign_in("sam")
    console.goto("/console/review")
    console.check("queue-not-entitled")
    assert "Needs a steward entitled to see shielded children" in console.text()
    pair = console.page.locator("main table").last.get_by_role("link").first
    pair.click()
    console.page.wait_for_load_state()
    console.check("pair-shielded")
    assert "needs a steward entitled" in console.text() and "Amelia" not in console.text()
    shielded_child = rows("""SELECT DISTINCT l.cp_id FROM identity.link l JOIN staging.source_record s
                             USING (record_id) WHERE s.restricted""")[0].cp_id
    assert console.goto(f"/console/identity/{shielded_child}").status == 403
    console.check("identity-shielded")
    # The twin held beside her is shielded too (issue 13): it might be her.
    assert console.goto(f"/console/identity/{ids['held']}").status == 403

    other = ids["older"]  # an unrelated child, neither shielded nor held
    console.goto(f"/console/identity/{other}")
    console.page.get_by_label("The other child's ContactPoint ID").fill("CP000000000A")
    console.page.get_by_label("Reason for merging").fill("checking")
    console.page.get_by_role("button", name="Merge (the older ID is kept)").click()
    console.page.wait_for_load_state()
    assert "there is no child CP000000000A" in console.text()
    console.check("refused")
