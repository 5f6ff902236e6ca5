"""Probabilistic linking: the review queue, steward decisions, trained models, held children.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = """
-- 'held': a child made from a record that might be a shielded child; unpublished until a steward decides.
ALTER TABLE identity.child DROP CONSTRAINT child_status_check;
ALTER TABLE identity.child ADD CONSTRAINT child_status_check
    CHECK (status IN ('active', 'held', 'merged', 'archived'));

-- The blocking keys a nightly delta looks up existing records by.
CREATE INDEX ON staging.source_record (date_of_birth);
CREATE INDEX ON staging.source_record (lower(family_name), date_of_birth);

CREATE TABLE identity.review_pair (
    pair_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_a     bigint NOT NULL REFERENCES staging.source_record ON DELETE CASCADE,
    record_b     bigint NOT NULL REFERENCES staging.source_record ON DELETE CASCADE,
    match_weight double precision NOT NULL,
    reason       text NOT NULL,
    explanation  jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'decided')),
    run_id       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (record_a < record_b),
    UNIQUE (record_a, record_b)
);
CREATE INDEX ON identity.review_pair (status, match_weight);

-- What a steward decided about two records; the newest decision for a pair wins, on every later run.
CREATE TABLE identity.steward_decision (
    decision_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_a    bigint NOT NULL,
    record_b    bigint NOT NULL,
    decision    text NOT NULL CHECK (decision IN ('must_link', 'cannot_link')),
    steward     text NOT NULL,
    reason      text NOT NULL CHECK (length(trim(reason)) > 0),
    decided_at  timestamptz NOT NULL DEFAULT now(),
    undone_at   timestamptz,
    CHECK (record_a < record_b)
);
CREATE INDEX ON identity.steward_decision (record_a, record_b);

CREATE TABLE identity.model (
    version     text PRIMARY KEY,
    trained_at  timestamptz NOT NULL DEFAULT now(),
    promoted_at timestamptz,
    model       jsonb NOT NULL
);
"""

DOWNGRADE = """
DROP TABLE identity.model;
DROP TABLE identity.steward_decision;
DROP TABLE identity.review_pair;
ALTER TABLE identity.child DROP CONSTRAINT child_status_check;
ALTER TABLE identity.child ADD CONSTRAINT child_status_check
    CHECK (status IN ('active', 'merged', 'archived'));
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
