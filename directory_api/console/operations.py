"""Operations pages for the data team: what every feed sent, what was refused and why, and daily volumes.

Open to stewards only. Readers never see them, and neither do archivists or auditors: a receipt and a
quarantine listing say which rows of which school or practice failed, operational detail about children's
records that only the people who work on the records need. The store has no data-team role of its own
(``access.app_user.role`` is reader, steward, archivist or auditor), so a data team signs in as stewards;
a separate role would be a migration. No page shows a quarantined row's values: file, row, field and
reason are what a data team needs to ask the sender for a fix.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from connectors.feeds import FEEDS
from contactpoint.settings import get_settings
from directory_api.console.ops_charts import volume_chart
from directory_api.console.session import ConsoleUser, NavLink, OperationsDep, add_nav_link, render
from directory_api.deps import ConsoleConnDep
from warehouse import operations, operations_days

router = APIRouter(prefix="/ops")
QUARANTINE_COUNT_LIMIT = 10_000
"""The quarantine page counts reasons up to here ("more than 10,000"): an exact count of hundreds of
thousands would cost more than the page itself."""

add_nav_link(NavLink("feeds", "Feeds", "/console/ops/feeds", operations=True))
add_nav_link(NavLink("quarantine", "Quarantine", "/console/ops/quarantine", operations=True))

# A data-quality report is the loader's own self-contained page (inline style, no script): served in a
# sandbox so even a report that somehow held a script could not run it or reach the console's cookies.
DATA_DOCS_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _known_feed(feed: str | None) -> str | None:
    if feed in (None, ""):
        return None
    if feed not in FEEDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no feed {feed!r}")
    return feed


@router.get("/feeds")
def feeds(request: Request, conn: ConsoleConnDep, user: OperationsDep, feed: str | None = None,
          page: Annotated[int, Query(ge=1)] = 1) -> Response:
    """Each feed's daily volumes chart, and per sender the totals over its files and its newest file."""
    chosen = _known_feed(feed)
    senders = operations.sender_summaries(conn, feed=chosen, page=page, session=user.session_token)
    volumes = {name: series for name, series in operations_days.daily_volumes(conn, session=user.session_token).items()
               if chosen in (None, name)}
    return render(request, "ops/feeds.html", {
        "user": user, "nav": "feeds", "feeds": sorted(FEEDS), "feed": chosen, "senders": senders,
        "charts": {name: volume_chart(name, series) for name, series in volumes.items()}, "volumes": volumes})


@router.get("/files")
def sender_files(request: Request, conn: ConsoleConnDep, user: OperationsDep, feed: str, sender: str = "",
                 page: Annotated[int, Query(ge=1)] = 1) -> Response:
    """One sender's files, newest first, with status, counts and a link to each data-quality report."""
    chosen = _known_feed(feed)
    if chosen is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "name a feed")
    files, total = operations.sender_files(conn, chosen, sender or None, page=page, session=user.session_token)
    data_dir = get_settings().data_dir
    return render(request, "ops/sender.html", {
        "user": user, "nav": "feeds", "feed": chosen, "sender": sender, "files": files, "total": total,
        "page": page, "pages": max(1, -(-total // 50)),
        "with_docs": {f.file_id for f in files if operations.data_docs_path(data_dir, f) is not None}})


def _file(conn: ConsoleConnDep, user: ConsoleUser, file_id: int) -> operations.FileSummary:
    summary = operations.file_summary(conn, file_id, session=user.session_token)
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no file {file_id}")
    return summary


@router.get("/files/{file_id}")
def file_page(request: Request, conn: ConsoleConnDep, user: OperationsDep, file_id: int) -> Response:
    """One file: counts, the receipt as the sender saw it, and its data-quality report."""
    summary = _file(conn, user, file_id)
    receipt = operations.receipt(conn, file_id, session=user.session_token)
    return render(request, "ops/file.html", {
        "user": user, "nav": "feeds", "file": summary,
        "receipt": json.dumps(receipt, indent=2, ensure_ascii=False) if receipt is not None else None,
        "has_docs": operations.data_docs_path(get_settings().data_dir, summary) is not None,
        "quarantine": operations.quarantined_rows(conn, file_id=file_id, include_released=True, page_size=10,
                                                  session=user.session_token)})


@router.get("/files/{file_id}/data-docs")
def data_docs(conn: ConsoleConnDep, user: OperationsDep, file_id: int) -> Response:
    """The file's data-quality report (Great Expectations results), as the loader wrote it."""
    path = operations.data_docs_path(get_settings().data_dir, _file(conn, user, file_id))
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no data-quality report for this file (it was rejected "
                                                       "before its rows were checked)")
    return HTMLResponse(path.read_text(encoding="utf-8"), headers=DATA_DOCS_HEADERS)


@router.get("/files/{file_id}/receipt.json")
def receipt_json(conn: ConsoleConnDep, user: OperationsDep, file_id: int) -> Response:
    """The receipt exactly as it was written for the sender."""
    receipt = operations.receipt(conn, _file(conn, user, file_id).file_id, session=user.session_token)
    if receipt is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this file has no receipt yet")
    return Response(json.dumps(receipt, indent=2, ensure_ascii=False), media_type="application/json",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@router.get("/quarantine")
def quarantine(request: Request, conn: ConsoleConnDep, user: OperationsDep, feed: str | None = None,
               file_id: Annotated[int | None, Query()] = None, page: Annotated[int, Query(ge=1)] = 1,
               released: bool = False) -> Response:
    """Quarantined rows by file, row, field and reason, a page at a time."""
    chosen = _known_feed(feed)
    listing = operations.quarantined_rows(conn, feed=chosen, file_id=file_id, include_released=released, page=page,
                                          count_limit=QUARANTINE_COUNT_LIMIT, session=user.session_token)
    return render(request, "ops/quarantine.html", {
        "user": user, "nav": "quarantine", "feeds": sorted(FEEDS), "feed": chosen, "file_id": file_id,
        "released": released, "listing": listing})


add_nav_link(NavLink("report", "Universal services", "/console/ops/report", operations=True))


@router.get("/report")
def universal_services_report(request: Request, conn: ConsoleConnDep, user: OperationsDep) -> Response:
    """Children without a current school or GP by local authority: counts, denominators, rates, a chart."""
    from contactpoint import clock
    from warehouse.reports import universal_services

    rows = universal_services(conn, clock.today(), session=user.session_token)
    return render(request, "ops/report.html", {"user": user, "nav": "report", "rows": rows, "as_of": clock.today()})


@router.get("/report/chart.svg")
def universal_services_chart(conn: ConsoleConnDep, user: OperationsDep) -> Response:
    """The report's chart (matplotlib's SVG, shown as an image: its own styles stay inside it)."""
    from contactpoint import clock
    from warehouse.reports import rates_chart_svg, universal_services

    rows = universal_services(conn, clock.today(), session=user.session_token)
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no children in the directory")
    return Response(rates_chart_svg(rows), media_type="image/svg+xml",
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
