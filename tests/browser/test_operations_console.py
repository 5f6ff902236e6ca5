"""A data team and a steward lead in a real browser: the feeds, file, quarantine and data-quality pages, the model
pages, and a model promotion done with the keyboard alone; axe-core finds no serious violation on any of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import Console
from tests.integration.model_lifecycle import SHIFTED, load_population, store_shifted_model
from tests.integration.test_operations_pages import deliver_files

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_a_data_team_reads_what_every_feed_sent_and_why_rows_were_refused(console: Console, store: Path) -> None:
    deliver_files(store)
    console.add_user("stella", "steward")
    console.sign_in("stella")
    for name, path in [("ops-feeds", "/console/ops/feeds"), ("ops-quarantine", "/console/ops/quarantine"),
                       ("ops-file", "/console/ops/files/2"),
                       ("ops-sender", "/console/ops/files?feed=gp&sender=C84001")]:
        console.goto(path)
        console.check(name)
    console.goto("/console/ops/files/2/data-docs")
    console.check("ops-data-docs")


def test_a_steward_lead_compares_a_retrained_model_and_promotes_it_with_the_keyboard(console: Console,
                                                                                     store: Path) -> None:
    load_population(store)
    store_shifted_model()
    console.add_user("stella", "steward")
    console.sign_in("stella")
    for name, path in [("model", "/console/model/"), ("model-compare", f"/console/model/compare?candidate={SHIFTED}"),
                       ("model-weights", "/console/model/weights")]:
        console.goto(path)
        console.check(name)
    console.goto(f"/console/model/compare?candidate={SHIFTED}")
    console.page.get_by_label("Reason (required)").focus()
    console.page.keyboard.type("retrained on this year's decisions")
    console.page.keyboard.press("Tab")
    with console.page.expect_navigation(timeout=120_000):
        console.page.keyboard.press("Enter")
    console.page.wait_for_load_state()
    console.check("model-promoted")
    assert "is now the linker" in console.text()
