"""A data team's own role: the console's operations pages (what every feed sent, what was refused and
why) without a steward's power over identities, and no read of any child's record.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE access.app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE access.app_user ADD CONSTRAINT app_user_role_check
    CHECK (role IN ('reader', 'steward', 'archivist', 'auditor', 'data_team'));
"""

DOWNGRADE = """
ALTER TABLE access.app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE access.app_user ADD CONSTRAINT app_user_role_check
    CHECK (role IN ('reader', 'steward', 'archivist', 'auditor'));
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
