"""National scale: the door asks about archived children only when there are some; no statistics of
whole records.

Every row of every file passes the door (``warehouse/retention.py``); finding out that no child is
archived yet must cost an index probe, not a scan of every identity.

The loader refreshes the planner's statistics after each bulk step. Statistics sample column values, and
the history's ``old_row``/``new_row`` are whole records (names, addresses) that no plan filters on: they
get none, so a destroyed child's details cannot linger there (``ANALYZE`` of an emptied table keeps the
old sample).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX child_archived_idx ON identity.child (cp_id) WHERE status = 'archived'")
    op.execute("""ALTER TABLE directory.history ALTER COLUMN old_row SET STATISTICS 0,
                                                ALTER COLUMN new_row SET STATISTICS 0""")


def downgrade() -> None:
    op.execute("""ALTER TABLE directory.history ALTER COLUMN old_row SET STATISTICS -1,
                                                ALTER COLUMN new_row SET STATISTICS -1""")
    op.execute("DROP INDEX identity.child_archived_idx")
