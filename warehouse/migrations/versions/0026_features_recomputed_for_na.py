"""Standardisation changed again (issue 15, D33 and D34): every kept feature row is recomputed.

"Na" written as a name ("Na", not the codes "NA", "N/A", "na") is a forename since D33, but the given-names list
still read it word by word as a code and left it out, so "Na Araba" kept only araba: a copy of her NHS number on
her twin's "Aa Akosua" then read as one girl's, the further names not seen to differ (independent 100k, seed 53).
``matching.standardise.given_name_parts`` now reads each word as written. Features kept before would disagree with
a new record's for the same child; emptying ``identity.record_features`` makes the next run recompute every
record's features, once (as 0024 did).

Revision ID: 0026
Revises: 0025
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("TRUNCATE identity.record_features")


def downgrade() -> None:
    op.execute("TRUNCATE identity.record_features")  # the older code recomputes them its way
