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
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path

from sqlalchemy import Connection, text

REPORT = """
WITH current AS (
    SELECT c.cp_id, c.date_of_birth, split_part(c.postcode, ' ', 1) AS district,
           bool_or(i.kind = 'education' AND (i.ended_on IS NULL OR i.ended_on > :as_of)) AS has_school,
           bool_or(i.kind = 'primary_care' AND (i.ended_on IS NULL OR i.ended_on > :as_of)) AS has_gp,
           min(left(i.organisation_code, 3)) FILTER (
               WHERE i.kind = 'education' AND (i.ended_on IS NULL OR i.ended_on > :as_of)) AS school_la,
           min(i.organisation_code) FILTER (WHERE i.kind IN ('connexions', 'social_care', 'other')
                                            AND i.organisation_code ~ '^[0-9]{3}$') AS service_la
    FROM directory.child c LEFT JOIN directory.involvement i ON i.cp_id = c.cp_id
    GROUP BY c.cp_id, c.date_of_birth, c.postcode
), district_la AS (
    SELECT DISTINCT ON (district) district, school_la AS la
    FROM current WHERE school_la IS NOT NULL
    GROUP BY district, school_la ORDER BY district, count(*) DESC, school_la
)
SELECT COALESCE(c.school_la, c.service_la, d.la, 'unknown') AS la,
       count(*) AS children,
       count(*) FILTER (WHERE age(:as_of, c.date_of_birth) >= interval '5 years'
                          AND age(:as_of, c.date_of_birth) < interval '16 years') AS school_age,
       count(*) FILTER (WHERE age(:as_of, c.date_of_birth) >= interval '5 years'
                          AND age(:as_of, c.date_of_birth) < interval '16 years' AND NOT c.has_school) AS no_school,
       count(*) FILTER (WHERE NOT c.has_gp) AS no_gp
FROM current c LEFT JOIN district_la d ON d.district = c.district
GROUP BY 1 ORDER BY 1
"""


@dataclass(frozen=True)
class UniversalServicesRow:
    """One local authority's counts."""

    la: str
    children: int
    school_age: int
    no_school: int
    no_gp: int


def universal_services(conn: Connection, as_of: date) -> list[UniversalServicesRow]:
    """Counts per local authority as of a date."""
    return [UniversalServicesRow(r.la, r.children, r.school_age, r.no_school, r.no_gp)
            for r in conn.execute(text(REPORT), {"as_of": as_of})]


def write_report(rows: list[UniversalServicesRow], out_dir: Path, as_of: date) -> tuple[Path, Path]:
    """``universal_services.csv`` and ``universal_services.html`` (a bar chart per LA) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out_dir / "universal_services.csv", out_dir / "universal_services.html"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["local_authority", "children", "compulsory_school_age", "school_age_without_school",
                         "without_gp"])
        writer.writerows([r.la, r.children, r.school_age, r.no_school, r.no_gp] for r in rows)
    html_path.write_text(_chart(rows, as_of))
    return csv_path, html_path


def _chart(rows: list[UniversalServicesRow], as_of: date) -> str:
    """A self-contained HTML page with one SVG bar pair per LA (no script, nothing loaded from elsewhere)."""
    width, bar, gap = 640, 14, 10
    top = max([r.no_school for r in rows] + [r.no_gp for r in rows] + [1])
    height = len(rows) * (2 * bar + gap) + 40
    parts = []
    for i, r in enumerate(rows):
        y = 30 + i * (2 * bar + gap)
        for j, (value, colour, label) in enumerate(((r.no_school, "#b3541e", "no school"),
                                                    (r.no_gp, "#1f5f8b", "no GP"))):
            length = int((width - 220) * value / top)
            parts.append(f'<rect x="120" y="{y + j * bar}" width="{length}" height="{bar - 2}" fill="{colour}">'
                         f"<title>{escape(r.la)}: {value} {label}</title></rect>"
                         f'<text x="{126 + length}" y="{y + j * bar + bar - 4}" font-size="11">{value}</text>')
        parts.append(f'<text x="10" y="{y + bar + 2}" font-size="12">LA {escape(r.la)}</text>')
    legend = ('<text x="120" y="16" font-size="12" fill="#b3541e">school age, no current school</text>'
              '<text x="360" y="16" font-size="12" fill="#1f5f8b">no current GP registration</text>')
    return ("<!doctype html><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Universal services, {as_of}</title><h1>Universal services on {as_of}</h1>"
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
            f"aria-label='Children without a current school or GP, by local authority'>{legend}{''.join(parts)}</svg>")
