"""The linker's kept features gain the town and an identifier without a check digit (issue 15).

Model structure v4 compares them (``matching.settings``): ``link-files`` reads them from its CSV columns
``town`` and ``other_identifier``. The feeds' records do not carry them into the store yet, so every kept row
has them empty and a model scores the store's records as it did; the columns exist so that features keep one
shape wherever they are computed and a v4 model can score kept features.

Revision ID: 0023
Revises: 0022
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE identity.record_features ADD COLUMN town text, ADD COLUMN other_identifier text")


def downgrade() -> None:
    op.execute("ALTER TABLE identity.record_features DROP COLUMN other_identifier, DROP COLUMN town")
