"""The linker's standardised view of each record, kept so a nightly delta finds its candidates by index.

Without it a delta recomputes the features of, and reads, every existing record sharing a birth date
with a new one: at national scale that is nearly the whole directory every night. Rows are dropped
when their record's content changes (a trigger), and the linker recomputes what is missing.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE identity.record_features (
    record_id         bigint PRIMARY KEY REFERENCES staging.source_record ON DELETE CASCADE,
    forename          text,
    forename_formal   text,
    given_names       text[],
    surname           text,
    surname_parts     text[],
    dob               text,
    dob_transposed    text,
    birth_year        integer,
    gender            text,
    postcode          text,
    postcode_sector   text,
    postcode_district text,
    house_number      text,
    street            text,
    nhs_number        text,
    upn               text
);
-- One index per blocking rule of matching/settings.py.
CREATE INDEX ON identity.record_features (nhs_number) WHERE nhs_number IS NOT NULL;
CREATE INDEX ON identity.record_features (upn) WHERE upn IS NOT NULL;
CREATE INDEX ON identity.record_features (dob, forename_formal);
CREATE INDEX ON identity.record_features (dob, surname);
CREATE INDEX ON identity.record_features (dob, postcode_sector);
CREATE INDEX ON identity.record_features (forename_formal, surname, birth_year);

CREATE FUNCTION identity.forget_features() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM identity.record_features WHERE record_id = NEW.record_id;
    RETURN NULL;
END $$;
CREATE TRIGGER features_follow_content AFTER UPDATE OF content_hash ON staging.source_record
    FOR EACH ROW WHEN (OLD.content_hash IS DISTINCT FROM NEW.content_hash)
    EXECUTE FUNCTION identity.forget_features();

GRANT SELECT, INSERT, UPDATE, DELETE ON identity.record_features TO cp_loader;
"""

DOWNGRADE = """
DROP TRIGGER features_follow_content ON staging.source_record;
DROP FUNCTION identity.forget_features();
DROP TABLE identity.record_features;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
