"""What a front-end developer, a steward and a data team see first, in a real browser that may reach nothing
but the hub: /docs renders Swagger UI from the hub's own files, the console home gives the day's figures,
and the universal services report is a chart with its table. Screenshots go to ``docs/screenshots/``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from contactpoint.settings import PROJECT_ROOT
from pipeline.steps import link, publish
from tests.browser.conftest import SCREENSHOTS, Console
from tests.integration.stewardship_story import twins
from warehouse.db import transaction
from warehouse.reports import universal_services, write_report

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
DOCS_SHOTS = PROJECT_ROOT / "docs" / "screenshots"


def _offline(page: Any, base: str) -> list[str]:
    """Refuse every request that is not to the hub; returns the refused URLs (a government network)."""
    refused: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(base) or url.startswith("data:"):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    page.route("**/*", route)
    return refused


def _shot(page: Any, name: str) -> None:
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / f"{name}.png"), full_page=False)


def test_api_docs_render_with_no_network_and_the_home_page_and_report_show_figures(
        store: Path, console: Console, chromium: Any) -> None:
    # A context that honours the pages' Content-Security-Policy (the console fixture's bypasses it for axe).
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        refused = _offline(page, console.base)
        page.goto(console.base + "/")
        page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
        assert page.url.endswith("/docs")
        assert page.locator(".opblock-summary-path", has_text="/session").count() >= 1
        _shot(page, "api-docs")
        page.goto(console.base + "/redoc")
        page.wait_for_selector("h1:has-text('ContactPoint directory')", timeout=20_000)
        assert page.locator(".operation-type.post").count() >= 1  # ReDoc rendered the operations
        assert refused == [], refused
    finally:
        context.close()

    twins(store)
    link("browser")
    publish()
    console.add_user("sofia")
    console.sign_in("sofia")
    console.goto("/console/")
    assert "1 open review question" in console.text() and "files received in the last 24 hours" in console.text()
    console.check("home")
    _shot(console.page, "console-home")
    console.goto("/console/ops/report")
    assert "Rotherham" in console.text() and "0 of 2" in console.text()
    assert console.page.locator("img.chart").evaluate("img => img.naturalWidth") > 0  # the chart loaded
    console.check("console-report")

    with transaction() as conn:
        rows = universal_services(conn, date(2026, 11, 25))
    _, page = write_report(rows, store.parent / "report", date(2026, 11, 25))
    console.page.goto(page.as_uri())
    assert console.page.locator("svg").count() >= 1 and "Rotherham" in console.page.inner_text("body")
    console.page.screenshot(path=str(SCREENSHOTS / "front-pages-report.png"), full_page=True)
