"""A file's validation result as one self-contained HTML page a data team can open anywhere.

Great Expectations' own data docs need a site builder over stored results, and their pages load
scripts and styles from public CDNs: a browser opening a report about children's records should
fetch nothing from third parties, so this page carries its own styles and forbids every other load.
It holds counts and settings only, never a row's values.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.expectations.common import ExpectationConfig, FileVerdict

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:75rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;
vertical-align:top}th{background:#f0f0f0}code{font-size:.85rem}
.passed{color:#0b6b2b;font-weight:bold}.failed{color:#a4161a;font-weight:bold}.skipped{color:#666}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:bold}
pre{background:#f7f7f7;padding:1rem;overflow:auto;font-size:.8rem}
"""


def safe_label(file_label: str, feed: str) -> str:
    """A file name stem from the label: letters, digits, ``.``, ``_``, ``-`` only; never a path."""
    label = re.sub(r"[^A-Za-z0-9._-]", "_", file_label).lstrip(".")[:150]
    return label or feed


def write_docs(docs_dir: Path, *, feed: str, file_label: str, verdict: FileVerdict,
               configs: tuple[ExpectationConfig, ...], validation: dict[str, Any], previous_rows: int | None,
               gx_version: str, file_name: str | None = None) -> Path:
    """Write ``docs_dir/<file_label>.html`` (atomically: a reader never sees half a page); returns its path."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    path = docs_dir / f"{safe_label(file_label, feed)}.html"
    page = render(feed=feed, file_label=file_name or file_label or feed, verdict=verdict, configs=configs,
                  validation=validation, previous_rows=previous_rows, gx_version=gx_version)
    fd, tmp = tempfile.mkstemp(dir=docs_dir, prefix=".", suffix=".html.part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def render(*, feed: str, file_label: str, verdict: FileVerdict, configs: tuple[ExpectationConfig, ...],
           validation: dict[str, Any], previous_rows: int | None, gx_version: str) -> str:
    """The HTML page: verdict, reasons, one table row per expectation, and the raw result as JSON."""
    e = html.escape
    by_check = {r["expectation_config"]["meta"].get("check"): r for r in validation.get("results", [])}
    status = "passed" if verdict.passed else "failed"
    rows_read = verdict.results.get("row_count", {}).get("observed")
    table = "".join(_row(config, by_check.get(config["meta"]["check"], {}), verdict.results)
                    for config in configs)
    # An accepted file has nothing to explain: the heading appears only when there is a reason.
    reasons = (f"<h2>Why the file was rejected</h2><ul>{''.join(f'<li>{e(r)}</li>' for r in verdict.reasons)}</ul>"
               if verdict.reasons else "<p>Every check passed.</p>")
    facts = {"Feed": feed, "File": file_label, "Rows read": rows_read,
             "Rows in the previous file": "none on record" if previous_rows is None else previous_rows,
             "Checked at (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
             "Great Expectations": gx_version}
    listing = "".join(f"<dt>{e(k)}</dt><dd>{e(str(v))}</dd>" for k, v in facts.items())
    verdict_word = "accepted" if verdict.passed else "rejected"
    raw = json.dumps(validation, indent=2, default=str, sort_keys=True)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{e(file_label)}: data-quality checks {status}</title><style>{_STYLE}</style></head>
<body>
<h1>Data-quality checks of {e(file_label)}: <span class="{status}">{verdict_word}</span></h1>
<dl>{listing}</dl>
{reasons}
<h2>Expectations ({e(feed)} suite)</h2>
<table><tr><th>Check</th><th>Expectation</th><th>What it checks</th><th>Column and rows</th><th>Bound</th>
<th>Observed</th><th>Result</th></tr>{table}</table>
<h2>Validation result, in Great Expectations' result format</h2>
<details><summary>JSON</summary><pre>{e(raw)}</pre></details>
</body></html>
"""


def _row(config: ExpectationConfig, result: dict[str, Any], summary: dict[str, Any]) -> str:
    e = html.escape
    meta = config["meta"]
    kwargs = (result.get("expectation_config") or {}).get("kwargs") or config["kwargs"]
    scope = kwargs.get("column", "whole file")
    condition = kwargs.get("row_condition")
    if isinstance(condition, dict) and condition.get("column"):
        scope += f" (rows where {condition['column'].get('name')} is {' or '.join(condition.get('parameter', []))})"
    bound = ", ".join(f"{name} {_bound(kwargs[name])}" for name in ("min_value", "max_value", "mostly")
                      if kwargs.get(name) is not None) or "none"
    checked = summary.get(meta["check"], {})
    if not checked.get("judged", True):
        verdict = '<span class="skipped">not judged: too few rows to judge a rate</span>'
    elif checked.get("success"):
        verdict = '<span class="passed">passed</span>'
    else:
        verdict = '<span class="failed">failed</span>'
    observed = checked.get("observed")
    if isinstance(observed, dict):
        observed = f"{observed['unexpected']} of {observed['of']} unexpected ({observed['percent']}%)"
    elif isinstance(observed, list):
        observed = ", ".join(str(item) for item in observed)
    return (f"<tr><td>{e(meta['check'])}</td><td><code>{e(config['type'])}</code></td>"
            f"<td>{e(meta.get('describe', ''))}</td><td>{e(scope)}</td><td>{e(bound)}</td>"
            f"<td>{e(str(observed))}</td><td>{verdict}</td></tr>")


def _bound(value: Any) -> str:
    if isinstance(value, dict) and "$PARAMETER" in value:  # never substituted: shown by name
        return f"parameter {value['$PARAMETER']}"
    return f"{value:g}" if isinstance(value, float) else str(value)
