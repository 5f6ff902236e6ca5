"""The directory API logs in owning and reading no table; a read is one statement; purposes the law allows.

- ``cp_api``: the API's login role (LOGIN without a password: it signs in only where the server's
  ``pg_hba.conf`` lets it, by peer, certificate, or a password the DBA sets with ``ALTER ROLE cp_api
  PASSWORD ...``). It holds USAGE on the ``directory`` schema and EXECUTE on the three ``directory.api_``
  functions, nothing else: no table, no other function, no membership.
- ``directory.api_child_record``, ``directory.api_search_children``, ``directory.api_changes`` take the
  session token and answer ``(status, body)``: the HTTP status and the JSON text to send. The session, the
  purpose, the masking, the read budget and the audit are all the database's; a refusal is audited by
  the function itself (``read_refused`` / ``search_refused`` with the reason code) and answered, not
  raised, so a read is one autocommit statement: one round trip, its own transaction, committed by the
  server with no client step in between.
- ``access.read_purposes()``: the purposes the law allows (Children Act 2004 ss. 10-12, Children Act 1989
  s. 47, Education Act 1996 s. 436A). ``access.reading_user`` accepts a purpose only as ``<code>`` or
  ``<code> case <reference>`` (a case reference of 1-40 letters, digits and ``/._-``): anything else is
  refused with SQLSTATE ``CP422`` before anything is written, so it never reaches the audit.
- CPU per read: the small helpers the read and audit functions call (canonical text, hash, ``is_current``,
  ``involvement_view``, name keys) lose their ``SET search_path`` (they are not definer functions; their
  callers pin it): a SET clause stops the planner inlining a SQL function and saves and restores the
  setting on every call. ``directory.child_record`` went from 1.6 to 0.5 ms of CPU and ``audit.append``
  from 0.6 to 0.1 ms (2,000 calls in one transaction each, machine loaded).
- Audit lanes. ``audit.append`` held one lock from its insert until the caller's commit had reached
  the disk (about 2.6 ms of fdatasync here), so audited reads could never pass ~385 a second however
  many clients. The log is now ``LANES`` hash chains: lane *k* holds entry ids ``k * LANE_SPAN + 1,
  + 2, ...`` with no gap, each entry chained to the one before it in its lane (lane 0 is the chain as it
  was, ids 1, 2, 3...). An append takes the lowest lane nobody holds (lane 0 whenever the hub is quiet),
  so up to ``LANES`` commits share one disk flush. ``warehouse.audit`` verifies and anchors every lane;
  the canonical text and hash of an entry are unchanged.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LANES = 8
LANE_SPAN = 10**15
AUDIT_APPEND_LOCK = 7_204_313

UPGRADE = r"""
-- 1. Purposes the law allows: one row each, the code is what the API takes and the audit records. A list
-- in a function, not a table: it changes only by migration, and no store reset can empty it.
CREATE FUNCTION access.read_purposes() RETURNS TABLE (code text, description text, legal_basis text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES
    ('safeguarding', 'safeguarding and promoting the welfare of the child', 'Children Act 2004 s. 11'),
    ('child_protection_enquiry', 'an enquiry into whether the child is suffering or likely to suffer significant harm',
     'Children Act 1989 s. 47'),
    ('early_intervention', 'finding who else works with a child who may need additional services',
     'Children Act 2004 s. 10'),
    ('service_coordination', 'contacting the other practitioners working with the child',
     'Children Act 2004 s. 10'),
    ('missing_education', 'identifying a child who is not receiving a suitable education',
     'Education Act 1996 s. 436A'),
    ('record_synchronisation', 'a front-end system keeping its copy of a record the change feed named current',
     'Children Act 2004 s. 12')
$$;

-- '<code>' or '<code> case <reference>': the text the audit's purpose column holds.
-- PL/pgSQL, not SQL: its statement is planned once per session (a SQL function that cannot be inlined is
-- planned on every call). No SET clause: not a definer function; its callers pin search_path.
CREATE FUNCTION access.lawful_purpose(p_purpose text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_parts text[] := regexp_match(p_purpose, '^([a-z_]{3,40})( case [A-Za-z0-9][A-Za-z0-9/._-]{0,39})?$');
BEGIN
    RETURN v_parts IS NOT NULL AND EXISTS (SELECT 1 FROM access.read_purposes() r WHERE r.code = v_parts[1]);
END $$;

CREATE FUNCTION access.check_purpose(p_purpose text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT access.lawful_purpose(p_purpose) THEN
        RAISE EXCEPTION 'purpose not allowed: give one of the purposes the law allows, optionally with a case '
                        'reference of up to 40 letters, digits and /._-' USING ERRCODE = 'CP422';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION access.reading_user(p_username text, p_purpose text,
                                    OUT role text, OUT may_see_shielded boolean, OUT may_see_sensitive boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user;
BEGIN
    PERFORM access.check_purpose(p_purpose);
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

-- 2. Audit lanes (see the module docstring). Lane 0 first: a quiet hub writes one chain, 1, 2, 3...
CREATE OR REPLACE FUNCTION audit.append(p_username text, p_role text, p_action text, p_cp_id text, p_purpose text,
                                        p_detail jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_lane   integer := -1;
    v_id     bigint;
    v_prev   text;
    v_at     timestamptz;
    v_detail jsonb := coalesce(p_detail, '{}'::jsonb);
    v_role   text := coalesce(p_role, 'unknown');
BEGIN
    IF p_username IS NULL OR p_action IS NULL THEN
        RAISE EXCEPTION 'an audit entry needs a username and an action' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A lane this transaction already holds is taken again at once (the lock is re-entrant), so one
    -- transaction's entries stay in order; a lane is held until commit, so its head is always committed.
    FOR k IN 0..LANES - 1 LOOP
        IF pg_try_advisory_xact_lock(AUDIT_APPEND_LOCK, k) THEN
            v_lane := k;
            EXIT;
        END IF;
    END LOOP;
    IF v_lane < 0 THEN
        v_lane := pg_backend_pid() % LANES;
        PERFORM pg_advisory_xact_lock(AUDIT_APPEND_LOCK, v_lane);
    END IF;
    SELECT e.entry_id, e.entry_hash INTO v_id, v_prev FROM audit.entry e
    WHERE e.entry_id > v_lane * LANE_SPAN AND e.entry_id <= (v_lane + 1) * LANE_SPAN
    ORDER BY e.entry_id DESC LIMIT 1;
    v_id := coalesce(v_id, v_lane * LANE_SPAN) + 1;
    v_prev := coalesce(v_prev, repeat('0', 64));
    v_at := clock_timestamp();
    INSERT INTO audit.entry (entry_id, occurred_at, username, user_role, action, cp_id, purpose, detail,
                             prev_hash, entry_hash)
    OVERRIDING SYSTEM VALUE
    VALUES (v_id, v_at, p_username, v_role, p_action, p_cp_id, p_purpose, v_detail, v_prev,
            audit.chain_hash(v_prev, audit.canonical_text(v_id, v_at, p_username, v_role, p_action, p_cp_id,
                                                          p_purpose, v_detail)));
    RETURN v_id;
END $$;

-- The API sends the database's JSON as it is: every involvement carries every field of the published
-- shape (what the API's pydantic models used to add as nulls).
CREATE OR REPLACE FUNCTION directory.involvement_view(v directory.involvement, p_may_see_sensitive boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF v.sensitive AND NOT p_may_see_sensitive THEN
        RETURN jsonb_build_object(
            'kind', 'other', 'service', 'an unspecified service', 'organisation_name', NULL,
            'service_type', NULL, 'sensitive', NULL,
            'practitioner_name', v.practitioner_name, 'phone', v.phone, 'email', v.email,
            'started_on', v.started_on, 'ended_on', v.ended_on, 'current', directory.is_current(v.ended_on),
            'lead_professional', v.lead_professional, 'caf_completed', v.caf_completed);
    END IF;
    RETURN jsonb_build_object(
        'kind', v.kind, 'service', NULL, 'organisation_name', v.organisation_name,
        'practitioner_name', v.practitioner_name, 'phone', v.phone, 'email', v.email,
        'started_on', v.started_on, 'ended_on', v.ended_on, 'current', directory.is_current(v.ended_on),
        'lead_professional', v.lead_professional, 'caf_completed', v.caf_completed,
        'service_type', v.service_type, 'sensitive', v.sensitive);
END $$;

-- Small helpers a definer function calls: no SET clause, so the planner inlines the SQL ones and no call
-- saves and restores a setting (their callers pin search_path; none of them is a definer).
ALTER FUNCTION audit.canonical_field(text) RESET search_path;
ALTER FUNCTION audit.canonical_text(bigint, timestamptz, text, text, text, text, text, jsonb) RESET search_path;
ALTER FUNCTION audit.chain_hash(text, text) RESET search_path;
ALTER FUNCTION directory.is_current(date) RESET search_path;
ALTER FUNCTION directory.involvement_view(directory.involvement, boolean) RESET search_path;
ALTER FUNCTION directory.name_key(text) RESET search_path;
ALTER FUNCTION directory.name_matches(text, text, boolean) RESET search_path;

-- 3. One statement per request: the session, the read and its audit, or the refusal and its audit.
-- The user behind a session token, and why a token no longer works (for the audit).
CREATE FUNCTION access.api_session(p_session text, OUT username text, OUT role text, OUT ended text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.username, u.role,
           CASE WHEN s.revoked THEN 'revoked' WHEN u.disabled THEN 'disabled'
                WHEN s.expires_at <= now() THEN 'expired' END
    FROM access.session s JOIN access.app_user u ON u.username = s.username
    WHERE s.token_hash = encode(sha256(convert_to(coalesce(p_session, ''), 'UTF8')), 'hex')
$$;

-- (401, body) for a token that opens no session (an ended one is audited as session_expired), else NULL.
CREATE FUNCTION access.api_unsigned(p_session text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_username text;
    v_role     text;
    v_ended    text;
BEGIN
    -- The lookup written out here, not a call of access.api_session: a SQL function that cannot be
    -- inlined is planned again on every call, this statement once per session.
    SELECT s.username, u.role,
           CASE WHEN s.revoked THEN 'revoked' WHEN u.disabled THEN 'disabled'
                WHEN s.expires_at <= now() THEN 'expired' END
    INTO v_username, v_role, v_ended
    FROM access.session s JOIN access.app_user u ON u.username = s.username
    WHERE s.token_hash = encode(sha256(convert_to(coalesce(p_session, ''), 'UTF8')), 'hex');
    IF v_username IS NULL THEN
        RETURN '{"detail": "unknown session token: sign in again"}';
    ELSIF v_ended IS NOT NULL THEN
        PERFORM audit.append(v_username, v_role, 'session_expired', NULL, NULL, jsonb_build_object('reason', v_ended));
        RETURN '{"detail": "session expired: sign in again"}';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION access.api_refusal(p_sqlstate text, OUT status integer, OUT reason text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.status, r.reason FROM (VALUES
        ('22023', 400, 'search_rules'), ('54000', 400, 'too_many_matches'), ('42501', 403, 'not_allowed'),
        ('P0002', 404, 'no_such_child'), ('53400', 429, 'read_budget')) AS r(sqlstate, status, reason)
    WHERE r.sqlstate = p_sqlstate
$$;

CREATE FUNCTION directory.api_child_record(p_session text, p_purpose text, p_case_reference text, p_cp_id text,
                                           OUT status integer, OUT body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_purpose text := p_purpose || coalesce(' case ' || p_case_reference, '');
    v_state   text;
    v_message text;
    v         record;
BEGIN
    IF NOT access.lawful_purpose(v_purpose) THEN  -- answered before anything is written
        status := 422;
        body := '{"detail": "purpose not allowed: give one of the purposes the law allows"}';
        RETURN;
    END IF;
    body := access.api_unsigned(p_session);
    IF body IS NOT NULL THEN
        status := 401;
        RETURN;
    END IF;
    BEGIN
        body := directory.child_record(access.session_reader(p_session), v_purpose, p_cp_id)::text;
        status := 200;
        RETURN;
    EXCEPTION WHEN insufficient_privilege OR no_data_found OR configuration_limit_exceeded THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
    END;
    SELECT * INTO v FROM access.api_session(p_session);
    SELECT r.status INTO status FROM access.api_refusal(v_state) r;
    PERFORM audit.append(v.username, v.role, 'read_refused', p_cp_id, v_purpose,
                         jsonb_build_object('reason', (access.api_refusal(v_state)).reason));
    body := jsonb_build_object('detail', v_message)::text;
END $$;

CREATE FUNCTION directory.api_search_children(p_session text, p_purpose text, p_case_reference text,
                                              p_family_name text, p_given_name text, p_date_of_birth date,
                                              p_gender text, p_postcode text, OUT status integer, OUT body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_purpose text := p_purpose || coalesce(' case ' || p_case_reference, '');
    v_state   text;
    v_message text;
    v         record;
BEGIN
    IF NOT access.lawful_purpose(v_purpose) THEN  -- answered before anything is written
        status := 422;
        body := '{"detail": "purpose not allowed: give one of the purposes the law allows"}';
        RETURN;
    END IF;
    body := access.api_unsigned(p_session);
    IF body IS NOT NULL THEN
        status := 401;
        RETURN;
    END IF;
    BEGIN
        SELECT jsonb_build_object('data', coalesce(jsonb_agg(jsonb_build_object(
                   'cp_id', s.cp_id, 'shielded', s.shielded, 'given_name', s.given_name, 'family_name', s.family_name,
                   'date_of_birth', s.date_of_birth, 'gender', s.gender, 'postcode', s.postcode) ORDER BY s.n),
                   '[]'::jsonb), 'count', count(*))::text
        INTO body
        FROM directory.search_children(access.session_reader(p_session), v_purpose, p_family_name, p_given_name,
                                       p_date_of_birth, p_gender, p_postcode)
             WITH ORDINALITY AS s(cp_id, given_name, family_name, date_of_birth, gender, postcode, shielded, n);
        status := 200;
        RETURN;
    EXCEPTION WHEN insufficient_privilege OR invalid_parameter_value OR program_limit_exceeded
                   OR configuration_limit_exceeded THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
    END;
    SELECT * INTO v FROM access.api_session(p_session);
    SELECT r.status INTO status FROM access.api_refusal(v_state) r;
    PERFORM audit.append(v.username, v.role, 'search_refused', NULL, v_purpose,
                         jsonb_build_object('reason', (access.api_refusal(v_state)).reason));
    body := jsonb_build_object('detail', v_message)::text;
END $$;

-- The change feed, for front-end systems' service accounts only (not audited per poll: signals only).
CREATE FUNCTION directory.api_changes(p_session text, p_after bigint, p_limit integer,
                                      OUT status integer, OUT body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v record;
BEGIN
    body := access.api_unsigned(p_session);
    IF body IS NOT NULL THEN
        status := 401;
        RETURN;
    END IF;
    SELECT * INTO v FROM access.api_session(p_session);
    IF v.role IS DISTINCT FROM 'service' THEN
        status := 403;
        body := '{"detail": "not allowed: the change feed is for front-end systems"}';
        RETURN;
    END IF;
    SELECT jsonb_build_object(
               'data', coalesce(jsonb_agg(jsonb_build_object(
                   'cursor', c.change_id, 'kind', c.kind, 'cp_id', c.cp_id, 'other_cp_id', c.other_cp_id,
                   'recorded_at', to_char(c.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                   ORDER BY c.change_id), '[]'::jsonb),
               'count', count(*),
               'next_cursor', coalesce(max(c.change_id), greatest(coalesce(p_after, 0), 0)))::text
    INTO body FROM directory.changes_after(p_after, p_limit) c;
    status := 200;
END $$;

-- 4. The API's login role: the three functions, nothing else.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cp_api') THEN
        BEGIN
            CREATE ROLE cp_api LOGIN NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it a moment ago
        END;
    END IF;
END $$;
GRANT USAGE ON SCHEMA directory TO cp_api;
GRANT EXECUTE ON FUNCTION
    directory.api_child_record(text, text, text, text),
    directory.api_search_children(text, text, text, text, text, date, text, text),
    directory.api_changes(text, bigint, integer)
    TO cp_api;
""".replace("AUDIT_APPEND_LOCK", str(AUDIT_APPEND_LOCK)).replace("LANE_SPAN", str(LANE_SPAN)) \
    .replace("LANES", str(LANES))

DOWNGRADE = r"""
ALTER FUNCTION audit.canonical_field(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION audit.canonical_text(bigint, timestamptz, text, text, text, text, text, jsonb)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION audit.chain_hash(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION directory.is_current(date) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION directory.involvement_view(directory.involvement, boolean)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION directory.name_key(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION directory.name_matches(text, text, boolean)
    SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION
    directory.api_child_record(text, text, text, text),
    directory.api_search_children(text, text, text, text, text, date, text, text),
    directory.api_changes(text, bigint, integer)
    FROM cp_api;
REVOKE USAGE ON SCHEMA directory FROM cp_api;
DROP FUNCTION directory.api_changes(text, bigint, integer);
DROP FUNCTION directory.api_search_children(text, text, text, text, text, date, text, text);
DROP FUNCTION directory.api_child_record(text, text, text, text);
DROP FUNCTION access.api_refusal(text);
CREATE OR REPLACE FUNCTION directory.involvement_view(v directory.involvement, p_may_see_sensitive boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF v.sensitive AND NOT p_may_see_sensitive THEN
        RETURN jsonb_build_object(
            'kind', 'other', 'service', 'an unspecified service',
            'practitioner_name', v.practitioner_name, 'phone', v.phone, 'email', v.email,
            'started_on', v.started_on, 'ended_on', v.ended_on, 'current', directory.is_current(v.ended_on),
            'lead_professional', v.lead_professional, 'caf_completed', v.caf_completed);
    END IF;
    RETURN jsonb_build_object(
        'kind', v.kind, 'organisation_name', v.organisation_name,
        'practitioner_name', v.practitioner_name, 'phone', v.phone, 'email', v.email,
        'started_on', v.started_on, 'ended_on', v.ended_on, 'current', directory.is_current(v.ended_on),
        'lead_professional', v.lead_professional, 'caf_completed', v.caf_completed,
        'service_type', v.service_type, 'sensitive', v.sensitive);
END $$;
DROP FUNCTION access.api_unsigned(text);
DROP FUNCTION access.api_session(text);
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
DROP FUNCTION access.check_purpose(text);
DROP FUNCTION access.lawful_purpose(text);
DROP FUNCTION access.read_purposes();
"""

# The single-lane append, restored by the downgrade only while no lane but 0 holds an entry.
SINGLE_LANE_APPEND = r"""
CREATE OR REPLACE FUNCTION audit.append(p_username text, p_role text, p_action text, p_cp_id text, p_purpose text,
                                        p_detail jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id     bigint;
    v_prev   text;
    v_at     timestamptz;
    v_detail jsonb := coalesce(p_detail, '{}'::jsonb);
    v_role   text := coalesce(p_role, 'unknown');
BEGIN
    IF p_username IS NULL OR p_action IS NULL THEN
        RAISE EXCEPTION 'an audit entry needs a username and an action' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(AUDIT_APPEND_LOCK);
    SELECT e.entry_id, e.entry_hash INTO v_id, v_prev FROM audit.entry e ORDER BY e.entry_id DESC LIMIT 1;
    v_id := coalesce(v_id, 0) + 1;
    v_prev := coalesce(v_prev, repeat('0', 64));
    v_at := clock_timestamp();
    INSERT INTO audit.entry (entry_id, occurred_at, username, user_role, action, cp_id, purpose, detail,
                             prev_hash, entry_hash)
    OVERRIDING SYSTEM VALUE
    VALUES (v_id, v_at, p_username, v_role, p_action, p_cp_id, p_purpose, v_detail, v_prev,
            audit.chain_hash(v_prev, audit.canonical_text(v_id, v_at, p_username, v_role, p_action, p_cp_id,
                                                          p_purpose, v_detail)));
    RETURN v_id;
END $$;
""".replace("AUDIT_APPEND_LOCK", str(AUDIT_APPEND_LOCK))


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(f"""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM audit.entry WHERE entry_id > {LANE_SPAN}) THEN
            RAISE EXCEPTION 'audit entries stand in lanes above 0: the single chain cannot take them back';
        END IF; END $$""")
    op.execute(SINGLE_LANE_APPEND)
    op.execute(DOWNGRADE)
