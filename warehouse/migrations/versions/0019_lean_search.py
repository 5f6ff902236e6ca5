"""The API's search in the record route's lean shape: one session read, refusals answered (issue 13, throughput).

``directory.api_search_children`` looked the session up three times (``access.api_unsigned`` for the 401
answer, ``access.session_reader`` for the budget, ``access.api_session`` again after a refusal), the user
once more by name (``access.reading_user``), and caught the search rules, too many matches and the budget
in an exception block: a subtransaction around every audit insert. ``warehouse/sql/read_contract/2*.sql``
reads the session once (``access.api_reader``), takes the role and the budget from ``access.read_refusal``,
checks the rules without raising (``directory.search_rule_broken``), counts the matches (LIMIT 51) before
anything is shown or audited, and runs one search body (``directory.search_for``) that
``directory.search_children`` (by user name: the hub's own tools, and the ``session_`` entry) calls too.
``access.session_reader`` takes its budget from ``access.read_refusal``, so the budget rule exists once.
Same signatures, answers, statuses and audit entries; one ordering is new and pinned by a test: a person
whose role does not read and whose budget is spent is refused for the role (403), as the record route does.

The downgrade puts back the definitions this replaces, read from the migrations that created them
(0004, 0011, 0013), and drops the two helpers.

Revision ID: 0019
Revises: 0018
"""

import importlib.util
import re
from pathlib import Path

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

READ_CONTRACT = Path(__file__).resolve().parents[2] / "sql" / "read_contract"
VERSIONS = Path(__file__).resolve().parent

# (migration file, function) whose definition this migration replaces and its downgrade restores.
REPLACED = [("0004_read_contract.py", "directory.search_children"),
            ("0011_read_contract_security.py", "access.session_reader"),
            ("0013_api_login_role.py", "directory.api_search_children")]

DOWNGRADE = """
DROP FUNCTION directory.search_for(text, text, boolean, text, text, text, date, text, text);
DROP FUNCTION directory.search_rule_broken(text, text, date, text, text);
"""


def created_by(migration: str, function: str) -> str:
    """The CREATE FUNCTION statement for ``function`` in ``migration``'s UPGRADE, as CREATE OR REPLACE."""
    spec = importlib.util.spec_from_file_location(f"migration_{migration[:4]}", VERSIONS / migration)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # A PL/pgSQL body ends "END $$;", a SQL one "$$;" on its own line: the first of either closes it.
    found = re.search(rf"CREATE FUNCTION {re.escape(function)}\(.*?\n(?:END )?\$\$;", module.UPGRADE, re.DOTALL)
    if found is None:
        raise RuntimeError(f"{function} is not created in {migration}: restore it by hand")
    return found.group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    for path in sorted(READ_CONTRACT.glob("2*.sql")):  # 2N_*.sql are 0019's; a later migration adds its own prefix
        op.execute(path.read_text())


def downgrade() -> None:
    for migration, function in REPLACED:
        op.execute(created_by(migration, function))
    op.execute(DOWNGRADE)
