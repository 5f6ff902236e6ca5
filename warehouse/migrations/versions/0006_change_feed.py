"""A signal-only change feed for front ends: a kind and ContactPoint IDs, never a child's data.

Front ends re-read a changed child through the read contract, so masking cannot leak through the
feed (as the NHS notification service does). A cursor is the event's number.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE directory.change (
    change_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('child_changed', 'ids_merged', 'id_split', 'merge_undone',
                                              'id_archived')),
    cp_id       text NOT NULL,
    other_cp_id text,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON directory.change TO cp_loader;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA directory TO cp_loader;
"""

DOWNGRADE = """
DROP TABLE directory.change;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
