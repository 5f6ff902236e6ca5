"""Every read a console page makes is a definer function that takes the session (issue 13).

The functions live in ``warehouse/sql/functions/1*.sql`` (applied in name order, each
``CREATE OR REPLACE``, so a later migration re-applies a changed file) in a schema of their own, ``console``.
Each read has two halves: the statement itself (``console.<read>_rows`` and the like, the owner's alone,
which the hub's own tools and tests call directly) and the console's entry to it, which takes the
session's token, finds the live user behind it, checks the role (steward pages: steward; operations pages:
steward or data team) and passes the shielded entitlement on, so a held or shielded child is masked for a
steward not entitled to it, whoever calls. ``cp_console`` may execute only the entries; it owns and reads
no table. The console logs in as ``cp_console_login`` (``19_console_grants.sql``): a member of nothing that may
execute exactly what ``cp_console`` may, so a console request cannot reach a table, nor step back to the owner
(``directory_api.deps.get_console_conn``). The role is the cluster's: a downgrade revokes, never drops it.

The archivist's read takes the session too (``archive.read_child_in_session``, ``15_session_archive.sql``):
``cp_archivist`` can no longer name the archivist it reads as.

Revision ID: 0017
Revises: 0016
"""

from pathlib import Path

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FUNCTIONS = Path(__file__).resolve().parents[2] / "sql" / "functions"

UPGRADE = """
CREATE SCHEMA IF NOT EXISTS console;
REVOKE ALL ON SCHEMA console FROM PUBLIC;
GRANT USAGE ON SCHEMA console TO cp_console;
"""

DOWNGRADE = """
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             WHERE EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a
                           WHERE a.grantee = 'cp_console_login'::regrole) LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM cp_console_login', f);
    END LOOP;
END $$;
REVOKE USAGE ON SCHEMA access, identity FROM cp_console_login;
DROP SCHEMA console CASCADE;
DROP FUNCTION archive.read_child_in_session(text, text, text);
GRANT EXECUTE ON FUNCTION archive.read_child(text, text, text) TO cp_archivist;
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    for path in sorted(FUNCTIONS.glob("1*.sql")):
        op.execute(path.read_text())


def downgrade() -> None:
    op.execute(DOWNGRADE)
