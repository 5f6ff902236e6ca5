"""The read contract holds against its own users (issue 13).

- The change feed never names a held child (one that might be a shielded child), nor an ID merged into
  one: held means shielded. It is for front-end systems (the ``service`` role), not for people.
- ``identity.shielded_child``: a child is shielded for stewards when a record is restricted, it is held,
  or it was merged into such a child (``warehouse.steward_history.SHIELDED_CHILD_SQL`` says the same). A
  trigger refuses any steward action naming one unless the steward is an enabled steward entitled to
  shielded children, whoever writes the row; and when the transaction names a session
  (``contactpoint.session``, set by the console), the action must be that session's user's.
- Reads take the session, not a user name: ``directory.session_search_children`` and
  ``directory.session_child_record`` resolve the caller from the session token (stored only as its
  sha256), so whoever can call them cannot act as someone else. The reader and steward roles lose
  EXECUTE on the user-name functions (only the owner, i.e. the hub's own tools, keeps it).
- ``audit.reading_patterns``: what ``contactpoint audit misuse --since`` reviews (volume, children never
  searched for, reads outside working hours, budget refusals).
- ContactPoint IDs carry no sequence: ``identity.new_children`` draws random digits plus the check letter,
  unique by the primary key; ``identity.child.seq`` says which child is older (existing IDs keep working:
  their sequence number is recovered from the old scrambling).
- The audit schema, its table and functions belong to ``cp_audit_owner``, a role nobody logs in as; the
  setting that let a TRUNCATE through is gone.
- A shielded child's contact is its local authority's ContactPoint team (``directory.contactpoint_team``).
- A read budget per person (``access.app_user.reads_per_hour``): a read past it is refused (SQLSTATE
  53400) and the refusal is audited, so trawling is stopped and flagged.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = """
-- Front-end systems poll the change feed; people do not.
ALTER TABLE access.app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE access.app_user ADD CONSTRAINT app_user_role_check
    CHECK (role IN ('reader', 'steward', 'archivist', 'auditor', 'data_team', 'service'));
-- NULL: no budget (a front-end system's service account, a load test); a person has one.
ALTER TABLE access.app_user ADD COLUMN reads_per_hour integer DEFAULT 120 CHECK (reads_per_hour >= 0);

-- A front-end system re-reads the children the feed names (within its own read budget). A sign-in
-- lock-out no longer ends live sessions: strangers' failures must not sign the real user out.
CREATE OR REPLACE FUNCTION access.reading_user(p_username text, p_purpose text,
                                    OUT role text, OUT may_see_shielded boolean, OUT may_see_sensitive boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user;
BEGIN
    IF p_purpose IS NULL OR btrim(p_purpose) = '' THEN
        RAISE EXCEPTION 'a purpose is required for every read' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v FROM access.app_user u WHERE u.username = p_username;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'not allowed: unknown user' USING ERRCODE = 'insufficient_privilege';
    ELSIF v.disabled THEN
        RAISE EXCEPTION 'not allowed: user % is disabled', p_username USING ERRCODE = 'insufficient_privilege';
    ELSIF v.role NOT IN ('reader', 'steward', 'service') THEN
        RAISE EXCEPTION 'not allowed: role % does not read the directory', v.role
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    role := v.role;
    may_see_shielded := v.may_see_shielded;
    may_see_sensitive := v.may_see_sensitive;
END $$;

CREATE FUNCTION identity.shielded_child(p_cp_id text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM identity.child c
        WHERE c.cp_id = p_cp_id AND (
            c.status = 'held'
            OR EXISTS (SELECT 1 FROM identity.link sl JOIN staging.source_record sr ON sr.record_id = sl.record_id
                       WHERE sl.cp_id = c.cp_id AND sr.restricted)
            OR EXISTS (SELECT 1 FROM identity.child sk
                       WHERE sk.cp_id = c.superseded_by AND (sk.status = 'held' OR EXISTS (
                           SELECT 1 FROM identity.link sl JOIN staging.source_record sr ON sr.record_id = sl.record_id
                           WHERE sl.cp_id = sk.cp_id AND sr.restricted)))))
$$;

-- The live session a token opens (expired, revoked and disabled users' sessions open nothing).
CREATE FUNCTION access.session_username(p_token text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.username FROM access.session s JOIN access.app_user u ON u.username = s.username
    WHERE s.token_hash = encode(sha256(convert_to(coalesce(p_token, ''), 'UTF8')), 'hex')
      AND NOT s.revoked AND s.expires_at > now() AND NOT u.disabled
$$;

CREATE FUNCTION identity.check_steward_action() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_session text := nullif(current_setting('contactpoint.session', true), '');
    v_user    access.app_user;
BEGIN
    IF v_session IS NOT NULL AND access.session_username(v_session) IS DISTINCT FROM NEW.steward THEN
        RAISE EXCEPTION 'not allowed: a steward acts only in their own session'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(NEW.cp_ids) AS c(cp_id) WHERE identity.shielded_child(c.cp_id)) THEN
        SELECT * INTO v_user FROM access.app_user u WHERE u.username = NEW.steward;
        IF NOT FOUND OR v_user.disabled OR v_user.role <> 'steward' OR NOT v_user.may_see_shielded THEN
            RAISE EXCEPTION 'this concerns a shielded child: it needs a steward entitled to see shielded children'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER steward_action_entitled BEFORE INSERT OR UPDATE OF cp_ids, steward ON identity.steward_action
    FOR EACH ROW EXECUTE FUNCTION identity.check_steward_action();

-- The reading user behind a session, with the read budget checked: refused past it (the caller audits
-- the refusal after the rollback it causes, see directory_api.routes.children).
CREATE FUNCTION access.session_reader(p_token text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_username text := access.session_username(p_token);
    v_budget   integer;
    v_used     bigint;
BEGIN
    IF v_username IS NULL THEN
        RAISE EXCEPTION 'not allowed: no live session' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT u.reads_per_hour INTO v_budget FROM access.app_user u WHERE u.username = v_username;
    IF v_budget IS NULL THEN
        RETURN v_username;
    END IF;
    -- Counting stops at the budget: the check costs at most that many index entries, however busy the hour.
    SELECT count(*) INTO v_used FROM (
        SELECT 1 FROM audit.entry e
        WHERE e.username = v_username AND e.occurred_at > now() - interval '1 hour'
          AND e.action IN ('read_child', 'search') AND e.cp_id IS NOT NULL
        LIMIT v_budget) AS spent;
    IF v_used >= v_budget THEN
        RAISE EXCEPTION 'read budget spent: % children read in the last hour', v_used
            USING ERRCODE = 'configuration_limit_exceeded';
    END IF;
    RETURN v_username;
END $$;

CREATE FUNCTION directory.session_search_children(p_session text, p_purpose text, p_family_name text,
                                                  p_given_name text, p_date_of_birth date, p_gender text,
                                                  p_postcode text)
RETURNS TABLE (cp_id text, given_name text, family_name text, date_of_birth date, gender text, postcode text,
               shielded boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY SELECT * FROM directory.search_children(access.session_reader(p_session), p_purpose,
        p_family_name, p_given_name, p_date_of_birth, p_gender, p_postcode);
END $$;

CREATE FUNCTION directory.session_child_record(p_session text, p_purpose text, p_cp_id text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT directory.child_record(access.session_reader(p_session), p_purpose, p_cp_id)
$$;

REVOKE EXECUTE ON FUNCTION directory.search_children(text, text, text, text, date, text, text),
    directory.child_record(text, text, text) FROM cp_reader, cp_steward;
GRANT EXECUTE ON FUNCTION directory.session_search_children(text, text, text, text, date, text, text),
    directory.session_child_record(text, text, text) TO cp_reader, cp_steward;
-- What the misuse review reads: per person, reads since a time, the children read that the person
-- never found by a search first (an ID typed from elsewhere: a list, the change feed, a guess), reads
-- outside working hours (London time, 07:00-19:00 Monday to Friday) and reads refused for the budget.
CREATE FUNCTION audit.reading_patterns(p_since timestamptz)
RETURNS TABLE (username text, user_role text, reads bigint, children bigint, unsearched bigint, off_hours bigint,
               budget_refusals bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH seen AS (
        SELECT e.username, e.user_role, e.action, e.cp_id, e.occurred_at, e.detail,
               (e.occurred_at AT TIME ZONE 'Europe/London') AS local_at
        FROM audit.entry e
        WHERE e.occurred_at >= p_since
          AND e.action IN ('read_child', 'search', 'read_refused', 'search_refused')
    ), reads AS (
        SELECT s.* FROM seen s WHERE s.action = 'read_child' AND s.cp_id IS NOT NULL
    )
    SELECT u.username, max(u.user_role),
           count(*) FILTER (WHERE u.action = 'read_child' AND u.cp_id IS NOT NULL),
           count(DISTINCT u.cp_id) FILTER (WHERE u.action = 'read_child'),
           (SELECT count(DISTINCT r.cp_id) FROM reads r WHERE r.username = u.username AND NOT EXISTS (
                SELECT 1 FROM audit.entry f WHERE f.username = r.username AND f.action = 'search'
                  AND f.cp_id = r.cp_id AND f.occurred_at <= r.occurred_at)),
           count(*) FILTER (WHERE u.action = 'read_child' AND u.cp_id IS NOT NULL
                            AND (extract(isodow FROM u.local_at) > 5 OR extract(hour FROM u.local_at) < 7
                                 OR extract(hour FROM u.local_at) >= 19)),
           count(*) FILTER (WHERE u.action IN ('read_refused', 'search_refused')
                            AND u.detail->>'reason' = 'read_budget')
    FROM seen u
    GROUP BY u.username
    ORDER BY u.username
$$;
GRANT EXECUTE ON FUNCTION audit.reading_patterns(timestamptz) TO cp_auditor;

-- ContactPoint IDs carry no sequence: nine random digits (from the server's strong random source, via
-- gen_random_uuid) and the check letter of matching.identity; unique by the primary key, a clash is
-- drawn again. Which child is older (the one a merge keeps) is a column, no longer read from the ID.
ALTER TABLE identity.child ADD COLUMN seq bigint;
UPDATE identity.child
SET seq = ((substr(cp_id, 3, 9)::bigint - 104729 + 1000000000) % 1000000000) * 684447833 % 1000000000;
ALTER TABLE identity.child ALTER COLUMN seq SET DEFAULT nextval('identity.child_number'),
                           ALTER COLUMN seq SET NOT NULL;
CREATE INDEX child_seq_idx ON identity.child (seq);

CREATE FUNCTION identity.check_letter(p_digits text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT substr('ABCDEFGHJKLMNPQRTUVWXYZ',
                  (SELECT sum(substr(p_digits, i, 1)::integer * i) FROM generate_series(1, 9) AS i)::integer % 23 + 1,
                  1)
$$;

CREATE FUNCTION identity.new_children(p_count integer) RETURNS SETOF text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_missing integer := coalesce(p_count, 0);
    v_made    integer;
BEGIN
    -- Set-based: a first national load mints a million IDs in one statement, not a million inserts;
    -- the few that clash (or repeat within a draw) are drawn again.
    WHILE v_missing > 0 LOOP
        RETURN QUERY
        WITH drawn AS (
            SELECT lpad((('x' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 15))::bit(60)::bigint
                         % 1000000000)::text, 9, '0') AS digits
            FROM generate_series(1, v_missing)
        ), made AS (
            INSERT INTO identity.child (cp_id)
            SELECT DISTINCT 'CP' || digits || identity.check_letter(digits) FROM drawn
            ON CONFLICT (cp_id) DO NOTHING RETURNING cp_id
        )
        SELECT cp_id FROM made;
        GET DIAGNOSTICS v_made = ROW_COUNT;
        v_missing := v_missing - v_made;
    END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION identity.check_letter(text), identity.new_children(integer) TO cp_loader;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cp_service') THEN
        BEGIN
            CREATE ROLE cp_service NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it a moment ago
        END;
    END IF;
END $$;
GRANT USAGE ON SCHEMA directory TO cp_service;
REVOKE EXECUTE ON FUNCTION directory.changes_after(bigint, integer) FROM cp_reader, cp_steward;
GRANT EXECUTE ON FUNCTION directory.changes_after(bigint, integer) TO cp_service;
GRANT EXECUTE ON FUNCTION identity.check_steward_action() TO cp_steward, cp_loader;
CREATE OR REPLACE FUNCTION directory.changes_after(p_after bigint, p_limit integer)
RETURNS TABLE (change_id bigint, kind text, cp_id text, other_cp_id text, recorded_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.change_id, c.kind, c.cp_id, c.other_cp_id, c.recorded_at FROM directory.change c
    WHERE c.change_id > coalesce(p_after, 0)
      AND NOT EXISTS (SELECT 1 FROM identity.child h
                      WHERE h.cp_id IN (c.cp_id, c.other_cp_id)
                        AND (h.status = 'held' OR h.superseded_by IN (SELECT cp_id FROM identity.child
                                                                      WHERE status = 'held')))
    ORDER BY c.change_id
    LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
$$;

-- The audit trail belongs to a role the hub never logs in as (cp_audit_owner, NOLOGIN, no member): the
-- hub's own user can no longer ALTER, DISABLE TRIGGER or TRUNCATE it, and no setting switches the
-- append-only rule off (the old test-reset switch is gone: the test suite resets as a superuser in
-- replica mode, which no hub role can enter).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cp_audit_owner') THEN
        BEGIN
            CREATE ROLE cp_audit_owner NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END $$;
CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'audit.entry is append-only: % refused', TG_OP;
END $$;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
             -- the steward-decision trigger reads access.app_user: it stays the hub's, calling audit.append
             WHERE n.nspname = 'audit' AND p.proname <> 'record_steward_decision' LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s OWNER TO cp_audit_owner', f);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO CURRENT_USER', f);
    END LOOP;
END $$;
ALTER TABLE audit.entry OWNER TO cp_audit_owner;
ALTER SCHEMA audit OWNER TO cp_audit_owner;
GRANT USAGE ON SCHEMA audit TO CURRENT_USER;
GRANT SELECT ON audit.entry TO CURRENT_USER;

-- A shielded child's contact is the local authority's designated ContactPoint team, never a school, GP or
-- service that places the child (issue 13, finding 3). One row per authority (its code as in UPNs and
-- the LA-sent feeds' sender), and '*' for when no record names one.
CREATE TABLE directory.contactpoint_team (
    la_code      text PRIMARY KEY CHECK (la_code ~ '^([0-9]{3}|[*])$'),
    team_name    text NOT NULL,
    organisation text NOT NULL,
    phone        text
);
INSERT INTO directory.contactpoint_team (la_code, team_name, organisation, phone)
VALUES ('*', 'ContactPoint team', 'the local authority''s designated ContactPoint team', NULL);
GRANT SELECT, INSERT, UPDATE, DELETE ON directory.contactpoint_team TO cp_loader;

CREATE FUNCTION directory.shielded_contact(p_cp_id text) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    -- Without a row (even '*'), still the team, never an involvement.
    SELECT coalesce((
    SELECT jsonb_build_object('name', t.team_name, 'organisation', t.organisation, 'phone', t.phone)
    FROM directory.contactpoint_team t
    WHERE t.la_code = '*' OR t.la_code = (
        SELECT CASE WHEN s.feed IN ('connexions', 'ics') THEN s.sender
                    WHEN s.upn IS NOT NULL THEN substr(s.upn, 2, 3) END
        FROM identity.link l JOIN staging.source_record s ON s.record_id = l.record_id
        WHERE l.cp_id = p_cp_id AND (s.feed IN ('connexions', 'ics') OR s.upn IS NOT NULL)
        ORDER BY s.extract_time DESC NULLS LAST, s.record_id DESC LIMIT 1)
    ORDER BY t.la_code = '*' LIMIT 1),
    jsonb_build_object('name', 'ContactPoint team',
                       'organisation', 'the local authority''s designated ContactPoint team', 'phone', NULL))
$$;
"""

DOWNGRADE = """
DROP FUNCTION directory.shielded_contact(text);
DROP TABLE directory.contactpoint_team;
ALTER SCHEMA audit OWNER TO CURRENT_USER;
ALTER TABLE audit.entry OWNER TO CURRENT_USER;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'audit' LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s OWNER TO CURRENT_USER', f);
    END LOOP;
END $$;
CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('contactpoint.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit.entry is append-only: % refused', TG_OP;
END $$;

REVOKE EXECUTE ON FUNCTION directory.session_search_children(text, text, text, text, date, text, text),
    directory.session_child_record(text, text, text) FROM cp_reader, cp_steward;
GRANT EXECUTE ON FUNCTION directory.search_children(text, text, text, text, date, text, text),
    directory.child_record(text, text, text) TO cp_reader, cp_steward;
GRANT EXECUTE ON FUNCTION directory.changes_after(bigint, integer) TO cp_reader, cp_steward;
REVOKE ALL ON FUNCTION directory.changes_after(bigint, integer) FROM cp_service;
REVOKE USAGE ON SCHEMA directory FROM cp_service;
DROP FUNCTION audit.reading_patterns(timestamptz);
DROP FUNCTION identity.new_children(integer);
DROP FUNCTION identity.check_letter(text);
ALTER TABLE identity.child DROP COLUMN seq;
DROP FUNCTION directory.session_child_record(text, text, text);
DROP FUNCTION directory.session_search_children(text, text, text, text, date, text, text);
DROP FUNCTION access.session_reader(text);
DROP TRIGGER steward_action_entitled ON identity.steward_action;
DROP FUNCTION identity.check_steward_action();
DROP FUNCTION access.session_username(text);
DROP FUNCTION identity.shielded_child(text);
CREATE OR REPLACE FUNCTION access.reading_user(p_username text, p_purpose text,
                                    OUT role text, OUT may_see_shielded boolean, OUT may_see_sensitive boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user;
BEGIN
    IF p_purpose IS NULL OR btrim(p_purpose) = '' THEN
        RAISE EXCEPTION 'a purpose is required for every read' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v FROM access.app_user u WHERE u.username = p_username;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'not allowed: unknown user' USING ERRCODE = 'insufficient_privilege';
    ELSIF v.disabled THEN
        RAISE EXCEPTION 'not allowed: user % is disabled', p_username USING ERRCODE = 'insufficient_privilege';
    ELSIF v.locked_until > now() THEN
        RAISE EXCEPTION 'not allowed: user % is locked', p_username USING ERRCODE = 'insufficient_privilege';
    ELSIF v.role NOT IN ('reader', 'steward') THEN
        RAISE EXCEPTION 'not allowed: role % does not read the directory', v.role
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    role := v.role;
    may_see_shielded := v.may_see_shielded;
    may_see_sensitive := v.may_see_sensitive;
END $$;
DELETE FROM access.app_user WHERE role = 'service';
ALTER TABLE access.app_user DROP COLUMN reads_per_hour;
ALTER TABLE access.app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE access.app_user ADD CONSTRAINT app_user_role_check
    CHECK (role IN ('reader', 'steward', 'archivist', 'auditor', 'data_team'));
CREATE OR REPLACE FUNCTION directory.changes_after(p_after bigint, p_limit integer)
RETURNS TABLE (change_id bigint, kind text, cp_id text, other_cp_id text, recorded_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.change_id, c.kind, c.cp_id, c.other_cp_id, c.recorded_at FROM directory.change c
    WHERE c.change_id > coalesce(p_after, 0)
    ORDER BY c.change_id
    LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
$$;
"""


OLD_CONTACT = """        SELECT v.* INTO v_contact FROM directory.involvement v
        WHERE v.cp_id = p_cp_id AND directory.is_current(v.ended_on)
        ORDER BY v.lead_professional DESC, v.started_on DESC NULLS LAST, v.involvement_id DESC
        LIMIT 1;
        v_result := jsonb_build_object(
            'cp_id', v_child.cp_id, 'shielded', true,
            'contact', CASE WHEN v_contact.involvement_id IS NULL THEN NULL ELSE jsonb_build_object(
                'name', v_contact.practitioner_name,
                'organisation', CASE WHEN v_contact.sensitive AND NOT v_user.may_see_sensitive THEN NULL
                                     ELSE v_contact.organisation_name END,
                'phone', v_contact.phone) END);"""
NEW_CONTACT = """        v_result := jsonb_build_object(
            'cp_id', v_child.cp_id, 'shielded', true, 'contact', directory.shielded_contact(p_cp_id));"""


def _swap_contact(old: str, new: str) -> None:
    conn = op.get_bind()
    source = conn.exec_driver_sql(
        "SELECT pg_get_functiondef('directory.child_record(text, text, text)'::regprocedure)").scalar_one()
    changed = source.replace(old, new)
    if changed == source:
        raise RuntimeError("directory.child_record changed shape: change the shielded contact by hand")
    op.execute(changed)


def upgrade() -> None:
    op.execute(UPGRADE)
    _swap_contact(OLD_CONTACT, NEW_CONTACT)


def downgrade() -> None:
    _swap_contact(NEW_CONTACT, OLD_CONTACT)
    op.execute(DOWNGRADE)
