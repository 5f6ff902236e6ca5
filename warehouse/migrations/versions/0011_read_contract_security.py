"""The read contract holds against its own users (issue 13).

- The change feed never names a held child (one that might be a shielded child), nor an ID merged into
  one: held means shielded.

Revision ID: 0011
Revises: 0009
"""

from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE OR REPLACE FUNCTION directory.changes_after(p_after bigint, p_limit integer)
RETURNS TABLE (change_id bigint, kind text, cp_id text, other_cp_id text, recorded_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.change_id, c.kind, c.cp_id, c.other_cp_id, c.recorded_at FROM directory.change c
    WHERE c.change_id > coalesce(p_after, 0)
      AND NOT EXISTS (SELECT 1 FROM identity.child h
                      WHERE h.cp_id IN (c.cp_id, c.other_cp_id)
                        AND (h.status = 'held' OR h.superseded_by IN (SELECT cp_id FROM identity.child
                                                                      WHERE status = 'held')))
    ORDER BY c.change_id
    LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
$$;
"""

DOWNGRADE = """
CREATE OR REPLACE FUNCTION directory.changes_after(p_after bigint, p_limit integer)
RETURNS TABLE (change_id bigint, kind text, cp_id text, other_cp_id text, recorded_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.change_id, c.kind, c.cp_id, c.other_cp_id, c.recorded_at FROM directory.change c
    WHERE c.change_id > coalesce(p_after, 0)
    ORDER BY c.change_id
    LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
$$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
