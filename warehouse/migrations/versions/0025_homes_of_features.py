"""A nightly delta finds the children at a new record's home (issue 15, D26): an index on the home.

A family moves together, and a child's record at the new home joins her record at the old one once the family's
move is known (``matching.moves``): a brother whose records already give both homes. The delta reads only
existing records that share a blocking key with a new one; a brother shares none with his sister (another
forename, another birth date), so his move was invisible to it unless the whole directory was read. The delta
now also reads the records of every child with a record at a new record's home (``warehouse.record_features.
for_a_delta``): one index lookup per new record, then the children's records by ``identity.link``'s index on
``cp_id``.

Revision ID: 0025
Revises: 0024
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX record_features_home ON identity.record_features (postcode, house_number) "
               "WHERE postcode IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX identity.record_features_home")
