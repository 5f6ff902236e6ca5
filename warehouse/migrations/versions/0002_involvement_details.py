"""What the other feeds say about a child: retention flags on the source record, service details on
involvements (service type, sensitive, CAF completed).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE staging.source_record
    ADD COLUMN consent_extend_to_19 boolean,
    ADD COLUMN extend_to_25 boolean,
    ADD COLUMN deregistered_on date,
    ADD COLUMN deregistration_reason text CHECK (deregistration_reason IN ('death', 'left_england', 'other'));

ALTER TABLE directory.involvement
    ADD COLUMN service_type text CHECK (service_type IN ('social_care', 'youth_offending', 'sexual_health',
                                                         'mental_health', 'substance_misuse', 'other')),
    ADD COLUMN sensitive boolean NOT NULL DEFAULT false,
    ADD COLUMN caf_completed boolean NOT NULL DEFAULT false,
    -- The law: a sensitive service is only ever recorded with consent, so only ever flagged sensitive.
    ADD CONSTRAINT sensitive_services_are_flagged CHECK (
        service_type IS NULL OR (service_type IN ('sexual_health', 'mental_health', 'substance_misuse')) = sensitive);
"""

DOWNGRADE = """
ALTER TABLE directory.involvement DROP CONSTRAINT sensitive_services_are_flagged,
    DROP COLUMN caf_completed, DROP COLUMN sensitive, DROP COLUMN service_type;
ALTER TABLE staging.source_record DROP COLUMN deregistration_reason, DROP COLUMN deregistered_on,
    DROP COLUMN extend_to_25, DROP COLUMN consent_extend_to_19;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
