"""Steward actions are definer functions taking the session; the console's role reads no table (issue 13).

The functions live as ``.sql`` files under ``warehouse/sql/functions/`` (applied in name order; each is
``CREATE OR REPLACE``, so a later migration re-applies a changed file): linking, keeping apart, splitting,
merging and undoing take the console's session token, resolve the steward from it, and check role and the
shielded entitlement themselves (held means shielded), so the rules hold whoever calls them. ``cp_console``
is the console's database role: it may run those actions and owns and reads no table.

Revision ID: 0014
Revises: 0013
"""

from pathlib import Path

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

FUNCTIONS = Path(__file__).resolve().parents[2] / "sql" / "functions"

ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cp_console') THEN
        BEGIN
            CREATE ROLE cp_console NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it a moment ago
        END;
    END IF;
END $$;
-- bcrypt and HMAC for sign-in in the database (05_sign_in.sql); pgcrypto is a trusted extension.
CREATE SCHEMA IF NOT EXISTS crypto;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pgcrypto') THEN
        CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA crypto;
        -- Installed before, elsewhere: the sign-in's functions call crypto.crypt and crypto.hmac.
        IF (SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'pgcrypto') <> 'crypto' THEN
            ALTER EXTENSION pgcrypto SET SCHEMA crypto;
        END IF;
    ELSE
        -- A server without the contrib modules (the embedded one has none): the store, the DAGs and the
        -- demo work; signing in and creating accounts say what is missing instead of failing obscurely.
        CREATE FUNCTION crypto.crypt(text, text) RETURNS text LANGUAGE plpgsql AS $f$
        BEGIN
            RAISE EXCEPTION 'signing in needs pgcrypto on the store''s server (Debian: postgresql-contrib)'
                USING ERRCODE = 'feature_not_supported';
        END $f$;
        CREATE FUNCTION crypto.gen_salt(text, integer) RETURNS text LANGUAGE sql AS $f$ SELECT crypto.crypt('', '') $f$;
        CREATE FUNCTION crypto.hmac(bytea, bytea, text) RETURNS bytea LANGUAGE sql AS $f$
            SELECT crypto.crypt('', '')::bytea $f$;
    END IF;
END $$;
-- The hub's own user may drop to it (as the API drops to cp_reader) until the console logs in as it.
GRANT cp_console TO CURRENT_USER;
"""

DOWNGRADE = """
DROP FUNCTION identity.steward_promote(text, text, jsonb, text, text, text);
DROP FUNCTION access.sign_out(text), access.session_of(text);
DROP FUNCTION access.sign_in(text, text, text, text, timestamptz), access.totp_step(text, text, timestamptz),
    access.totp_code(text, bigint), access.base32_decode(text), access.secret_matches(text, text);
GRANT EXECUTE ON FUNCTION access.session_username(text) TO PUBLIC;
REVOKE USAGE ON SCHEMA access FROM cp_console;
DROP FUNCTION identity.steward_undo(text, bigint, text), identity.steward_merge(text, text, text, text),
    identity.steward_split(text, bigint, text),
    identity.steward_decide_entry(text, bigint, text, text, double precision),
    identity.steward_keep_apart(text, bigint, text), identity.steward_link(text, bigint, text),
    identity.keep_apart_by(access.app_user, bigint, text), identity.link_pair_by(access.app_user, bigint, text),
    identity.outcome(bigint, text, bigint[], text, text, text), identity.open_pair(bigint),
    identity.bind_children(text, text, text, text, bigint, bigint[]), identity.merge_into(text, text, bigint),
    identity.record_decision(bigint, bigint, text, text, text, bigint),
    identity.finish_action(bigint, text, access.app_user, jsonb, text[], jsonb),
    identity.start_action(text, text, text, text[], bigint, bigint), identity.release_holds(text[]),
    identity.needs_publish(text[]), identity.steward_move(bigint[], text, bigint),
    identity.older_first(text, text), identity.locked_status(text), identity.child_of(bigint),
    identity.records_of(text), identity.steward_reason(text), access.tool_session(text),
    identity.require_entitled(access.app_user, text[]), identity.acting_steward(text);
REVOKE USAGE ON SCHEMA identity FROM cp_console;
DROP EXTENSION IF EXISTS pgcrypto;
DROP SCHEMA IF EXISTS crypto CASCADE;  -- the stand-ins, on a server without pgcrypto
"""


def upgrade() -> None:
    op.execute(ROLE)
    for path in sorted(FUNCTIONS.glob("0*.sql")):  # 1N_console_*.sql are 0017's
        op.execute(path.read_text())


def downgrade() -> None:
    op.execute(DOWNGRADE)
