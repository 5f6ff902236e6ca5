"""Universal services: children of compulsory school age with no current school, and children with no
current GP registration, by local authority. ContactPoint's purpose includes showing whether a child
gets the universal services of education and primary health care; this is that view for a data team.

A child's local authority is the LA of its current school; failing that, the LA code a Connexions or ICS
record carries; failing that, the LA most of the children schooled in its postcode district attend.
Compulsory school age is taken as 5 to 15 years old on the report date (the statutory span runs from the
term after the fifth birthday to the last Friday of June of the school year in which the child turns 16).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path

from sqlalchemy import Connection

from schemas.local_authorities import LOCAL_AUTHORITIES
from warehouse.console_reads import rows as read_rows

# LA code → name: the DfE local authority codes, one reference table (``schemas/local_authorities.py``, which
# the generator reads too; the codes and names are the real ones).
LA_NAMES: dict[str, str] = {code: name for code, name, *_ in LOCAL_AUTHORITIES}
UNKNOWN_LA = "unknown"


@dataclass(frozen=True)
class UniversalServicesRow:
    """One local authority's counts, and the rates they give."""

    la: str
    children: int
    school_age: int
    no_school: int
    no_gp: int

    @property
    def name(self) -> str:
        """The LA's name ("LA not known" for children no record places)."""
        if self.la == UNKNOWN_LA:
            return "LA not known"
        return LA_NAMES.get(self.la, f"LA {self.la}")

    @property
    def no_school_rate(self) -> float | None:
        """Share of the children of compulsory school age with no current school (None: no such children)."""
        return self.no_school / self.school_age if self.school_age else None

    @property
    def no_gp_rate(self) -> float | None:
        """Share of all children with no current GP registration."""
        return self.no_gp / self.children if self.children else None


def universal_services(conn: Connection, as_of: date, *, session: str | None = None) -> list[UniversalServicesRow]:
    """Counts per local authority as of a date: the highest share without a school first, children no
    record places in any LA last (never as an empty row). The counting is the database's
    (``console.universal_service_rows``); with ``session`` the console's user, whose role it checks."""
    return ordered([UniversalServicesRow(**r) for r in read_rows(
        conn, session, "universal_services(:session, :as_of)", "universal_service_rows(:as_of)", {"as_of": as_of})])


def ordered(rows: list[UniversalServicesRow]) -> list[UniversalServicesRow]:
    """Highest share without a school first (then without a GP), LA not known last; no empty row: an LA with
    no children, or children no record places in an LA when none of them lacks a school or a GP."""
    return sorted((r for r in rows if r.children and (r.la != UNKNOWN_LA or r.no_school or r.no_gp)),
                  key=lambda r: (r.la == UNKNOWN_LA, -(r.no_school_rate or 0.0), -(r.no_gp_rate or 0.0), r.la))


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f}%"


def write_report(rows: list[UniversalServicesRow], out_dir: Path, as_of: date) -> tuple[Path, Path]:
    """``universal_services.csv`` and ``universal_services.html`` (a chart of rates and the table) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out_dir / "universal_services.csv", out_dir / "universal_services.html"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["local_authority", "local_authority_name", "children", "compulsory_school_age",
                         "school_age_without_school", "school_age_without_school_rate", "without_gp",
                         "without_gp_rate"])
        writer.writerows([r.la, r.name, r.children, r.school_age, r.no_school,
                          "" if r.no_school_rate is None else f"{r.no_school_rate:.4f}", r.no_gp,
                          "" if r.no_gp_rate is None else f"{r.no_gp_rate:.4f}"] for r in rows)
    html_path.write_text(report_page(rows, as_of))
    return csv_path, html_path


def rates_chart_svg(rows: list[UniversalServicesRow]) -> str:
    """The rates per LA as a horizontal bar chart in SVG (matplotlib, Agg: no display, no network)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r.name for r in rows][::-1]  # matplotlib draws the first bar at the bottom
    school = [100 * (r.no_school_rate or 0.0) for r in rows][::-1]
    gp = [100 * (r.no_gp_rate or 0.0) for r in rows][::-1]
    height = 0.38
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.6 * max(len(rows), 1)))
    try:
        positions = range(len(rows))
        ax.barh([p + height / 2 for p in positions], school, height, color="#b3541e",
                label="school age with no current school (% of children of school age)")
        ax.barh([p - height / 2 for p in positions], gp, height, color="#1f5f8b",
                label="no current GP registration (% of all children)")
        for values, offset in ((school, height / 2), (gp, -height / 2)):
            for p, value in zip(positions, values, strict=True):
                ax.text(value + 0.2, p + offset, f"{value:.1f}%", va="center", fontsize=8)
        ax.set_yticks(list(positions), labels)
        ax.set_xlabel("children without the service (%)")
        ax.set_xlim(0, max([*school, *gp, 1.0]) * 1.2)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})  # no timestamp: the same data, the same file
    finally:
        plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def report_page(rows: list[UniversalServicesRow], as_of: date) -> str:
    """A self-contained HTML page: the chart and the figures behind it (no script, nothing loaded from elsewhere)."""
    table = "".join(
        f"<tr><th scope='row'>{escape(r.name)}</th><td>{escape(r.la)}</td><td class='n'>{r.children:,}</td>"
        f"<td class='n'>{r.no_school:,} of {r.school_age:,}</td><td class='n'>{_pct(r.no_school_rate)}</td>"
        f"<td class='n'>{r.no_gp:,} of {r.children:,}</td><td class='n'>{_pct(r.no_gp_rate)}</td></tr>"
        for r in rows)
    return ("<!doctype html><html lang='en'><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Universal services, {as_of}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td.n{text-align:right}"
            "table{border-collapse:collapse}th,td{padding:.3em .8em;border-bottom:1px solid #ccc}</style>"
            f"<h1>Universal services on {as_of}</h1>"
            "<p>Children of compulsory school age (5 to 15) with no current school, and children with no current "
            "GP registration, by local authority; the highest share without a school first.</p>"
            f"<figure role='img' aria-label='Share of children without a school or a GP, by local authority'>"
            f"{rates_chart_svg(rows) if rows else '<p>No children in the directory.</p>'}</figure>"
            "<table><thead><tr><th scope='col'>Local authority</th><th scope='col'>Code</th>"
            "<th scope='col'>Children</th><th scope='col'>School age without a school</th><th scope='col'>Rate</th>"
            "<th scope='col'>Without a GP</th><th scope='col'>Rate</th></tr></thead>"
            f"<tbody>{table}</tbody></table></html>")
