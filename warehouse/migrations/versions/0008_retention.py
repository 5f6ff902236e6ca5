"""Retention: the restricted archive, the destruction log, out-of-scope rows, and the death mark.

The archive holds each aged-out child as one ciphertext (AES-256-GCM) whose key lives outside the
database, in the key vault (``warehouse/key_vault.py``): destroying the key makes every copy of the
ciphertext unreadable, including the copies in WAL and backups. Only ``cp_archivist`` reaches it,
through ``archive.read_child``, which demands a purpose the law allows and audits every call.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = """
-- A child who died stays in the directory, marked, for a year.
ALTER TABLE directory.child ADD COLUMN died_on date;
CREATE INDEX ON directory.child (date_of_birth);
CREATE INDEX ON staging.source_record (deregistration_reason) WHERE deregistration_reason IS NOT NULL;
-- Destruction finds a child's rows by record and by ID in every table: by index, not by scanning.
CREATE INDEX ON identity.link_history (record_id);
CREATE INDEX ON identity.link_history (old_cp_id) WHERE old_cp_id IS NOT NULL;
CREATE INDEX ON identity.link_history (new_cp_id) WHERE new_cp_id IS NOT NULL;
CREATE INDEX ON identity.review_pair (record_b);
CREATE INDEX ON identity.steward_decision (record_b);
CREATE INDEX ON identity.child (superseded_by) WHERE superseded_by IS NOT NULL;
CREATE INDEX ON directory.carer (source_record_id);  -- the foreign-key check when a source record goes

-- Rows for an archived child, or for a person past every leave date: counted, never stored.
ALTER TABLE intake.file ADD COLUMN rows_out_of_scope integer NOT NULL DEFAULT 0;
ALTER TABLE intake.file DROP CONSTRAINT file_check;
ALTER TABLE intake.file ADD CONSTRAINT file_check CHECK (
    status IN ('received', 'rejected')
    OR rows_read = rows_loaded + rows_quarantined + rows_withheld + rows_out_of_scope);
ALTER TABLE intake.row_issue DROP CONSTRAINT row_issue_kind_check;
ALTER TABLE intake.row_issue ADD CONSTRAINT row_issue_kind_check
    CHECK (kind IN ('quarantined', 'warning', 'withheld', 'out_of_scope'));

CREATE TABLE archive.child (
    cp_id         text PRIMARY KEY,
    archived_on   date NOT NULL,
    left_on       date NOT NULL,
    reason        text NOT NULL,
    destroy_after date NOT NULL,
    nonce         bytea NOT NULL CHECK (length(nonce) = 12),
    payload       bytea NOT NULL,
    CHECK (destroy_after >= (archived_on + interval '6 years')::date)
);
CREATE INDEX ON archive.child (destroy_after);

-- What destruction leaves: a keyed hash of the ID (so an auditor holding the ID can confirm it), the
-- day, and how many rows went from each table. Nothing that identifies the child.
CREATE TABLE archive.destruction_log (
    destruction_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cp_id_hash     char(64) NOT NULL UNIQUE CHECK (cp_id_hash ~ '^[0-9a-f]{64}$'),
    destroyed_on   date NOT NULL,
    rows_removed   jsonb NOT NULL,
    -- The rewrite that removes the old bytes must wait for snapshots older than the destruction.
    destroyed_xid  bigint NOT NULL,
    rewritten_at   timestamptz
);
CREATE INDEX ON archive.destruction_log (destroyed_xid) WHERE rewritten_at IS NULL;

-- The archivist's only way in: a known archivist, a purpose the law allows for the record's age, an
-- audit entry in the same transaction. Returns the ciphertext; the caller decrypts with the vault's key.
CREATE FUNCTION archive.read_child(p_username text, p_cp_id text, p_purpose text,
                                   OUT cp_id text, OUT archived_on date, OUT destroy_after date,
                                   OUT nonce bytea, OUT payload bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user access.app_user;
    v_first_year_only boolean;
    v_child archive.child;
BEGIN
    SELECT * INTO v_user FROM access.app_user u WHERE u.username = p_username;
    IF NOT FOUND OR v_user.disabled OR v_user.locked_until > now() OR v_user.role <> 'archivist' THEN
        RAISE EXCEPTION 'not allowed: only an archivist reads the archive' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The purposes the law allows, and whether only in the record's first year in the archive.
    SELECT p.first_year_only INTO v_first_year_only
    FROM (VALUES ('child_protection_enquiry', false), ('serious_case_review', false), ('data_management', true))
         AS p(purpose, first_year_only)
    WHERE p.purpose = p_purpose;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'not allowed: the archive is read only for a child-protection enquiry, a serious case '
                        'review, or data management in its first year' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO v_child FROM archive.child c WHERE c.cp_id = p_cp_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such archived child' USING ERRCODE = 'no_data_found';
    END IF;
    IF v_first_year_only AND current_date >= (v_child.archived_on + interval '1 year')::date THEN
        RAISE EXCEPTION 'not allowed: after its first year an archived record is read only for a child-protection '
                        'enquiry or a serious case review' USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM audit.append(p_username, v_user.role, 'read_archive', p_cp_id, p_purpose,
                         jsonb_build_object('archived_on', v_child.archived_on));
    cp_id := v_child.cp_id;
    archived_on := v_child.archived_on;
    destroy_after := v_child.destroy_after;
    nonce := v_child.nonce;
    payload := v_child.payload;
END $$;

REVOKE ALL ON SCHEMA archive FROM PUBLIC;
GRANT USAGE ON SCHEMA archive TO cp_archivist;
GRANT EXECUTE ON FUNCTION archive.read_child(text, text, text) TO cp_archivist;
"""

DOWNGRADE = """
DROP FUNCTION archive.read_child(text, text, text);
DROP TABLE archive.destruction_log;
DROP TABLE archive.child;
ALTER TABLE intake.row_issue DROP CONSTRAINT row_issue_kind_check;
ALTER TABLE intake.row_issue ADD CONSTRAINT row_issue_kind_check
    CHECK (kind IN ('quarantined', 'warning', 'withheld'));
ALTER TABLE intake.file DROP CONSTRAINT file_check;
ALTER TABLE intake.file ADD CONSTRAINT file_check CHECK (
    status IN ('received', 'rejected') OR rows_read = rows_loaded + rows_quarantined + rows_withheld);
ALTER TABLE intake.file DROP COLUMN rows_out_of_scope;
DROP INDEX staging.source_record_deregistration_reason_idx;
DROP INDEX identity.link_history_record_id_idx, identity.link_history_old_cp_id_idx,
    identity.link_history_new_cp_id_idx, identity.review_pair_record_b_idx, identity.steward_decision_record_b_idx,
    identity.child_superseded_by_idx, directory.carer_source_record_id_idx;
DROP INDEX directory.child_date_of_birth_idx;
ALTER TABLE directory.child DROP COLUMN died_on;
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    # Readers learn that a child died (the record stays a year, marked): the read function gains the mark.
    conn = op.get_bind()
    source = conn.exec_driver_sql(
        "SELECT pg_get_functiondef('directory.child_record(text, text, text)'::regprocedure)").scalar_one()
    marked = source.replace("'carers', v_carers,", "'died_on', v_child.died_on, 'carers', v_carers,")
    if marked == source:
        raise RuntimeError("directory.child_record changed shape: add the died_on mark by hand")
    op.execute(marked)


def downgrade() -> None:
    conn = op.get_bind()
    source = conn.exec_driver_sql(
        "SELECT pg_get_functiondef('directory.child_record(text, text, text)'::regprocedure)").scalar_one()
    op.execute(source.replace("'died_on', v_child.died_on, 'carers', v_carers,", "'carers', v_carers,"))
    op.execute(DOWNGRADE)
