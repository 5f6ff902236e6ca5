"""Steward actions: one link, keep-apart, split or merge is one action, however many decisions it writes.

A split writes a cannot-link between the record and each of the child's other records; undoing the
split must withdraw all of them together, so decisions carry the action that wrote them.

``changes`` holds what the action did to ``identity`` (records moved, IDs retired or created, holds
released) as record ids and ContactPoint IDs only, so an undo restores exactly that and nothing else.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE identity.steward_action (
    action_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('link', 'keep_apart', 'split', 'merge', 'undo')),
    steward    text NOT NULL,
    reason     text NOT NULL CHECK (length(trim(reason)) > 0),
    cp_ids     text[] NOT NULL DEFAULT '{}',
    pair_id    bigint,
    undoes     bigint REFERENCES identity.steward_action,
    decided_at timestamptz NOT NULL DEFAULT now(),
    undone_at  timestamptz,
    changes    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON identity.steward_action (undoes);
ALTER TABLE identity.steward_decision ADD COLUMN action_id bigint REFERENCES identity.steward_action;
CREATE INDEX ON identity.steward_decision (action_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON identity.steward_action TO cp_loader;
GRANT SELECT, INSERT ON identity.steward_action TO cp_steward;
GRANT UPDATE (undone_at) ON identity.steward_action TO cp_steward;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA identity TO cp_loader, cp_steward;
"""

DOWNGRADE = """
ALTER TABLE identity.steward_decision DROP COLUMN action_id;
DROP TABLE identity.steward_action;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
