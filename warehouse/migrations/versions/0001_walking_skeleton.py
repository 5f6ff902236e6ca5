"""Schemas of the design and the tables the school slice needs.

One schema per concern (intake, staging, identity, directory, archive, audit). Constraints carry
the invariants the code relies on, so direct SQL that breaks one fails.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

FEEDS = "('school', 'gp', 'connexions', 'ecaf', 'ics')"

UPGRADE = f"""
CREATE SCHEMA intake;
CREATE SCHEMA staging;
CREATE SCHEMA identity;
CREATE SCHEMA directory;
CREATE SCHEMA archive;
CREATE SCHEMA audit;

-- intake: every file received, once per sha256, with its terminal state and counts.
CREATE TABLE intake.file (
    file_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed             text NOT NULL CHECK (feed IN {FEEDS}),
    sender           text,
    file_name        text NOT NULL,
    sha256           char(64) NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),
    size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
    extract_time     timestamptz,
    sequence         integer,
    status           text NOT NULL DEFAULT 'received'
                     CHECK (status IN ('received', 'accepted', 'accepted_with_errors', 'rejected')),
    reason           text,
    rows_read        integer NOT NULL DEFAULT 0,
    rows_loaded      integer NOT NULL DEFAULT 0,
    rows_quarantined integer NOT NULL DEFAULT 0,
    rows_withheld    integer NOT NULL DEFAULT 0,
    rows_warned      integer NOT NULL DEFAULT 0,
    dropped_fields   jsonb NOT NULL DEFAULT '{{}}',
    received_at      timestamptz NOT NULL DEFAULT now(),
    processed_at     timestamptz,
    CHECK (status IN ('received', 'rejected') OR rows_read = rows_loaded + rows_quarantined + rows_withheld)
);
CREATE INDEX ON intake.file (feed, sender, extract_time);

-- The same bytes sent again under any name: acknowledged, never loaded twice.
CREATE TABLE intake.duplicate_delivery (
    delivery_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_id       bigint NOT NULL REFERENCES intake.file,
    file_name     text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);

-- A row that could not be loaded, with its spec fields as sent (case fields never kept).
CREATE TABLE intake.quarantined_row (
    file_id     bigint NOT NULL REFERENCES intake.file,
    row_number  integer NOT NULL CHECK (row_number > 0),
    raw         jsonb NOT NULL,
    released_at timestamptz,
    PRIMARY KEY (file_id, row_number)
);

-- What the receipt lists row by row: quarantine reasons, warnings, withheld rows.
CREATE TABLE intake.row_issue (
    file_id    bigint NOT NULL REFERENCES intake.file,
    row_number integer NOT NULL CHECK (row_number > 0),
    kind       text NOT NULL CHECK (kind IN ('quarantined', 'warning', 'withheld')),
    field      text NOT NULL,
    reason     text NOT NULL,
    PRIMARY KEY (file_id, row_number, kind, field)
);

CREATE TABLE intake.receipt (
    file_id      bigint PRIMARY KEY REFERENCES intake.file,
    body         jsonb NOT NULL,
    delivered_at timestamptz
);

-- staging: one row per (feed, source key); a record seen again updates in place.
CREATE TABLE staging.source_record (
    record_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed                 text NOT NULL CHECK (feed IN {FEEDS}),
    sender               text NOT NULL,
    source_key           text NOT NULL,
    file_id              bigint NOT NULL REFERENCES intake.file,
    row_number           integer NOT NULL,
    extract_time         timestamptz NOT NULL,
    sequence             integer NOT NULL DEFAULT 0,
    given_name           text NOT NULL CHECK (given_name <> ''),
    middle_names         text,
    family_name          text NOT NULL CHECK (family_name <> ''),
    preferred_given_name text,
    preferred_family_name text,
    former_family_name   text,
    date_of_birth        date NOT NULL,
    gender               char(1) NOT NULL CHECK (gender IN ('M', 'F', 'U', 'I')),
    address_line_1       text,
    address_line_2       text,
    address_line_3       text,
    address_line_4       text,
    address_line_5       text,
    postcode             text CHECK (postcode ~ '^[A-Z0-9]{{2,4}} [0-9][A-Z]{{2}}$'),
    no_fixed_postcode    boolean NOT NULL DEFAULT false,
    nhs_number           char(10) CHECK (nhs_number ~ '^[0-9]{{10}}$'),
    upn                  char(13),
    uln                  char(10),
    restricted           boolean NOT NULL DEFAULT false,
    contacts             jsonb NOT NULL DEFAULT '[]',
    involvement          jsonb,
    present              boolean NOT NULL DEFAULT true,
    content_hash         text NOT NULL,
    needs_publish        boolean NOT NULL DEFAULT true,
    first_seen_at        timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (feed, source_key)
);
CREATE INDEX ON staging.source_record (upn, date_of_birth) WHERE upn IS NOT NULL;
CREATE INDEX ON staging.source_record (nhs_number, date_of_birth) WHERE nhs_number IS NOT NULL;
CREATE INDEX ON staging.source_record (feed, sender, present);
CREATE INDEX ON staging.source_record (record_id) WHERE needs_publish;

-- identity: stable ContactPoint IDs and which record belongs to which child.
CREATE SEQUENCE identity.child_number;
CREATE TABLE identity.child (
    cp_id         text PRIMARY KEY CHECK (cp_id ~ '^CP[0-9]{{9}}[A-Z]$'),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'archived')),
    superseded_by text REFERENCES identity.child,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'merged') = (superseded_by IS NOT NULL))
);
CREATE TABLE identity.link (
    record_id  bigint PRIMARY KEY REFERENCES staging.source_record,
    cp_id      text NOT NULL REFERENCES identity.child,
    method     text NOT NULL,
    weight     double precision,
    run_id     text NOT NULL,
    linked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON identity.link (cp_id);
CREATE TABLE identity.link_history (
    change_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id  bigint NOT NULL,
    old_cp_id  text,
    new_cp_id  text,
    method     text NOT NULL,
    run_id     text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- directory: what front ends read (through the read contract, later issues).
CREATE TABLE directory.child (
    cp_id          text PRIMARY KEY REFERENCES identity.child,
    given_name     text NOT NULL,
    middle_names   text,
    family_name    text NOT NULL,
    date_of_birth  date NOT NULL,
    gender         char(1) NOT NULL CHECK (gender IN ('M', 'F', 'U', 'I')),
    address_line_1 text,
    address_line_2 text,
    address_line_3 text,
    address_line_4 text,
    address_line_5 text,
    postcode       text,
    shielded       boolean NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE directory.carer (
    cp_id                   text NOT NULL REFERENCES directory.child ON DELETE CASCADE,
    source_record_id        bigint NOT NULL REFERENCES staging.source_record,
    contact_order           integer NOT NULL,
    title                   text,
    given_name              text,
    family_name             text,
    relationship            text CHECK (relationship IN ('PAR', 'CAR', 'OTH')),
    parental_responsibility boolean,
    phone                   text,
    email                   text,
    PRIMARY KEY (cp_id, source_record_id, contact_order)
);
CREATE TABLE directory.involvement (
    involvement_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cp_id              text NOT NULL REFERENCES directory.child ON DELETE CASCADE,
    source_record_id   bigint NOT NULL REFERENCES staging.source_record,
    kind               text NOT NULL CHECK (kind IN ('education', 'primary_care', 'connexions', 'caf',
                                                     'social_care', 'other')),
    organisation_code  text NOT NULL,
    organisation_name  text,
    practitioner_name  text,
    phone              text,
    email              text,
    started_on         date,
    ended_on           date,
    lead_professional  boolean NOT NULL DEFAULT false,
    UNIQUE (source_record_id, kind, organisation_code)
);
CREATE INDEX ON directory.involvement (cp_id);

-- Every change to the directory, kept by trigger so no writer can forget it.
CREATE TABLE directory.history (
    change_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text NOT NULL,
    cp_id      text NOT NULL,
    operation  text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    old_row    jsonb,
    new_row    jsonb,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON directory.history (cp_id);
CREATE FUNCTION directory.keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    VALUES (TG_TABLE_NAME, COALESCE(NEW.cp_id, OLD.cp_id), TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END $$;
CREATE TRIGGER child_history AFTER INSERT OR UPDATE OR DELETE ON directory.child
    FOR EACH ROW EXECUTE FUNCTION directory.keep_history();
CREATE TRIGGER carer_history AFTER INSERT OR UPDATE OR DELETE ON directory.carer
    FOR EACH ROW EXECUTE FUNCTION directory.keep_history();
CREATE TRIGGER involvement_history AFTER INSERT OR UPDATE OR DELETE ON directory.involvement
    FOR EACH ROW EXECUTE FUNCTION directory.keep_history();
"""

DOWNGRADE = """
DROP SCHEMA audit CASCADE;
DROP SCHEMA archive CASCADE;
DROP SCHEMA directory CASCADE;
DROP SCHEMA identity CASCADE;
DROP SCHEMA staging CASCADE;
DROP SCHEMA intake CASCADE;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
