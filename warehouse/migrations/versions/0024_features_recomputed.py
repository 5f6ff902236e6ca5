"""Standardisation changed (issue 15): every kept feature row is recomputed.

``matching.standardise`` now spells out letters Unicode does not decompose (Polish ł, Danish ø, German ß: "Michał"
was kept as "micha", "Małgorzata" as "ma gorzata") and maps spellings of one name beyond English to one form
(Ayesha → aisha, Kasia → katarzyna). Features kept before would disagree with a new
record's for the same child, so a night's delta would miss her. ``identity.record_features`` is the linker's
cache of what it computes from ``staging.source_record`` (``warehouse.record_features.records_without_features``
finds what is missing): emptying it makes the next run recompute every record's features, once.

Revision ID: 0024
Revises: 0023
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("TRUNCATE identity.record_features")


def downgrade() -> None:
    op.execute("TRUNCATE identity.record_features")  # the older code recomputes them its way
