"""The misuse review finds the reader who trawls (issue 13, finding 2).

A practitioner searches for the child she works with and reads her record. Another reader types IDs
from a list, never searching, and runs into the hourly budget. ``contactpoint audit misuse --since``
flags the second and not the first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cli.main import main
from tests.integration.read_contract import MERGED, NORMAL, SENSITIVE, SHIELDED, record, search
from warehouse.db import transaction
from warehouse.misuse import MISUSE_RULES, MisuseRule, misuse_report

pytestmark = pytest.mark.postgres


def test_a_reader_typing_ids_from_a_list_is_flagged_and_a_practitioner_searching_is_not(
        directory: None, capsys: pytest.CaptureFixture[str]) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    found = search("cp_reader", "r_plain", family_name="Smith-Jones", date_of_birth=date(2016, 3, 4))
    assert [f["cp_id"] for f in found] == [NORMAL]
    record("cp_reader", "r_plain", NORMAL)

    with transaction() as conn:
        conn.execute(text("UPDATE access.app_user SET reads_per_hour = 3 WHERE username = 'r_both'"))
    for cp_id in (NORMAL, SHIELDED, SENSITIVE):
        record("cp_reader", "r_both", cp_id)
    with pytest.raises(DBAPIError, match="read budget"):
        record("cp_reader", "r_both", MERGED)
    with transaction() as conn:  # what the API writes after the refusal's rollback
        conn.execute(text("SELECT audit.append('r_both', 'reader', 'read_refused', :c, 'x', "
                          "'{\"reason\": \"read_budget\"}'::jsonb)"), {"c": MERGED})

    with transaction() as conn:
        strict = (*MISUSE_RULES, MisuseRule("unsearched_test", "unsearched", 2, "test threshold"))
        patterns = {p.username: p for p in misuse_report(conn, since, strict)}
    assert patterns["r_plain"].broken == () and patterns["r_plain"].unsearched == 0
    trawler = patterns["r_both"]
    assert (trawler.reads, trawler.children, trawler.unsearched, trawler.budget_refusals) == (3, 3, 3, 1)
    assert set(trawler.broken) == {"budget", "unsearched_test"}

    assert main(["audit", "misuse", "--since", since.isoformat()]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert next(line for line in lines if line.startswith("r_both\t")).endswith("\tbudget")
    assert next(line for line in lines if line.startswith("r_plain\t")).endswith("\t-")
    assert main(["audit", "misuse", "--since", (datetime.now(UTC) + timedelta(minutes=1)).isoformat()]) == 0
