"""A narrow publish queue instead of a flag on every staged record.

``staging.source_record.needs_publish`` was a column of a wide row (about 1.3 KB) covered by a partial index:
clearing it after a publish rewrote every published record and added an entry to each of the table's nine
indexes (an update that changes an indexed column is never HOT). At 100k children that one statement took a
third of the publish. A queued record is now a row of ``staging.publish_queue`` (16 bytes and one index);
publishing deletes the rows it read, by their queue number, so a record queued again while a publish
runs stays queued for the next one.

Also drops ``directory.child``'s second, identical index on the date of birth (0004 and 0008 each made one).

Revision ID: 0016
Revises: 0014
"""

from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE SEQUENCE staging.publish_queue_seq;
CREATE TABLE staging.publish_queue (
    record_id bigint PRIMARY KEY REFERENCES staging.source_record ON DELETE CASCADE,
    queued    bigint NOT NULL DEFAULT nextval('staging.publish_queue_seq')
);
INSERT INTO staging.publish_queue (record_id) SELECT record_id FROM staging.source_record WHERE needs_publish;
ALTER TABLE staging.source_record DROP COLUMN needs_publish;
GRANT SELECT, INSERT, UPDATE, DELETE ON staging.publish_queue TO cp_loader;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE staging.publish_queue_seq TO cp_loader;
DROP INDEX IF EXISTS directory.child_date_of_birth_idx1;
"""

DOWNGRADE = """
ALTER TABLE staging.source_record ADD COLUMN needs_publish boolean NOT NULL DEFAULT false;
UPDATE staging.source_record s SET needs_publish = true FROM staging.publish_queue q WHERE q.record_id = s.record_id;
CREATE INDEX ON staging.source_record (record_id) WHERE needs_publish;
DROP TABLE staging.publish_queue;
DROP SEQUENCE staging.publish_queue_seq;
CREATE INDEX child_date_of_birth_idx1 ON directory.child (date_of_birth);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
