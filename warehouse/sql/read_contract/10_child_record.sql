-- A child's record as the read contract shows it to one reader, and the API's one-statement read of it.
-- Applied by migration 0018 (CREATE OR REPLACE: a later migration re-applies a changed file).
--
-- Why this shape (issue 13, throughput): an API read used to resolve its reader three times (the session
-- for the 401 answer, again for the read budget, again by user name for the entitlements), hashing the
-- token twice and planning one SQL definer function on every call (a SQL function with a SET clause is
-- never inlined), and caught refusals in an exception block, a subtransaction around the audit insert.
-- Now the session is read once (access.api_reader), the refusals a reader can meet before the record are
-- answered without raising, and the record is built by one function whatever the entry point.

-- '<code>' or '<code> case <reference>' with a code the law allows (access.read_purposes()). The bare code,
-- nearly every read, is a list lookup: regexp_match with capture groups cost about 45 us of CPU per read.
CREATE OR REPLACE FUNCTION access.lawful_purpose(p_purpose text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_code text := split_part(p_purpose, ' case ', 1);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM access.read_purposes() r WHERE r.code = v_code) THEN
        RETURN false;
    END IF;
    RETURN v_code = p_purpose OR p_purpose ~ '^[a-z_]{3,40} case [A-Za-z0-9][A-Za-z0-9/._-]{0,39}$';
END $$;

-- The reader behind an API session token, with why the token no longer works (NULL username: never a session).
-- PL/pgSQL: its statement is planned once per connection. Not a definer and executable by no one but its
-- owner: only the definer functions below call it, with search_path pinned.
CREATE OR REPLACE FUNCTION access.api_reader(p_session text,
                                             OUT username text, OUT role text, OUT may_see_shielded boolean,
                                             OUT may_see_sensitive boolean, OUT reads_per_hour integer,
                                             OUT ended text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT s.username, u.role, u.may_see_shielded, u.may_see_sensitive, u.reads_per_hour,
           CASE WHEN s.revoked THEN 'revoked' WHEN u.disabled THEN 'disabled'
                WHEN s.expires_at <= now() THEN 'expired' END
    INTO username, role, may_see_shielded, may_see_sensitive, reads_per_hour, ended
    FROM access.session s JOIN access.app_user u ON u.username = s.username
    WHERE s.token_hash = encode(sha256(convert_to(coalesce(p_session, ''), 'UTF8')), 'hex');
END $$;

-- Why a signed-in person may not read now, as (HTTP status, reason code, message), or NULLs: a role that
-- does not read the directory, or a read budget spent (counting stops at the budget, so the check costs at
-- most that many index entries however busy the hour; a service account has no budget).
CREATE OR REPLACE FUNCTION access.read_refusal(p_username text, p_role text, p_reads_per_hour integer,
                                               OUT status integer, OUT reason text, OUT message text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_used bigint;
BEGIN
    IF p_role NOT IN ('reader', 'steward', 'service') THEN
        status := 403;
        reason := 'not_allowed';
        message := format('not allowed: role %s does not read the directory', p_role);
        RETURN;
    END IF;
    IF p_reads_per_hour IS NULL THEN
        RETURN;
    END IF;
    SELECT count(*) INTO v_used FROM (
        SELECT 1 FROM audit.entry e
        WHERE e.username = p_username AND e.occurred_at > now() - interval '1 hour'
          AND e.action IN ('read_child', 'search') AND e.cp_id IS NOT NULL
        LIMIT p_reads_per_hour) AS spent;
    IF v_used >= p_reads_per_hour THEN
        status := 429;
        reason := 'read_budget';
        message := format('read budget spent: %s children read in the last hour', v_used);
    END IF;
END $$;

-- The opening both API reads share (GET /children/{cp_id}, GET /children). The call is answered here, as
-- status and body, when the purpose is not lawful (422, nothing written), the session is unknown (401) or
-- ended (401, audited as session_expired), or access.read_refusal refuses the reader (403, 429: audited under
-- the route's refusal action, with p_cp_id). Otherwise status is NULL and the reader is returned, with the
-- purpose as the audit keeps it ('<code>' or '<code> case <reference>').
-- Assignments, not queries: no executor started (see directory.child_record_for).
CREATE OR REPLACE FUNCTION access.api_admission(p_session text, p_purpose text, p_case_reference text,
                                                p_refused_action text, p_cp_id text,
                                                OUT status integer, OUT body text, OUT purpose text,
                                                OUT username text, OUT role text, OUT may_see_shielded boolean,
                                                OUT may_see_sensitive boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r         record;
    v_refusal record;
BEGIN
    purpose := p_purpose || coalesce(' case ' || p_case_reference, '');
    IF NOT access.lawful_purpose(purpose) THEN  -- answered before anything is written
        status := 422;
        body := '{"detail": "purpose not allowed: give one of the purposes the law allows"}';
        RETURN;
    END IF;
    r := access.api_reader(p_session);
    IF r.username IS NULL THEN
        status := 401;
        body := '{"detail": "unknown session token: sign in again"}';
        RETURN;
    ELSIF r.ended IS NOT NULL THEN
        PERFORM audit.append(r.username, r.role, 'session_expired', NULL, NULL, jsonb_build_object('reason', r.ended));
        status := 401;
        body := '{"detail": "session expired: sign in again"}';
        RETURN;
    END IF;
    v_refusal := access.read_refusal(r.username, r.role, r.reads_per_hour);
    IF v_refusal.status IS NOT NULL THEN
        PERFORM audit.append(r.username, r.role, p_refused_action, p_cp_id, purpose,
                             jsonb_build_object('reason', v_refusal.reason));
        status := v_refusal.status;
        body := jsonb_build_object('detail', v_refusal.message)::text;
        RETURN;
    END IF;
    username := r.username;
    role := r.role;
    may_see_shielded := r.may_see_shielded;
    may_see_sensitive := r.may_see_sensitive;
END $$;

-- The record of child p_cp_id as this reader may see it, audited as read; a merged-away ID answers the ID
-- that now stands for the child (audited as superseded). NULL when no active child has the ID (unknown,
-- held or archived): the caller refuses, and audits the refusal.
CREATE OR REPLACE FUNCTION directory.child_record_for(p_username text, p_role text, p_may_see_shielded boolean,
                                                      p_may_see_sensitive boolean, p_purpose text, p_cp_id text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_status       text;
    v_next         text;
    v_hops         integer := 0;
    v_child        directory.child;
    v_involvements jsonb;
    v_carers       jsonb;
    v_count        bigint;
    v_masked       bigint;
    v_result       jsonb;
    v_outcome      text;
    v_entry        bigint;
BEGIN
    SELECT i.status, i.superseded_by INTO v_status, v_next FROM identity.child i WHERE i.cp_id = p_cp_id;

    -- A merged-away ID is never reused: answer with the ID that now stands for the child, following
    -- a chain of merges to its end.
    IF v_status = 'merged' THEN
        LOOP
            SELECT i.status, coalesce(i.superseded_by, i.cp_id) INTO v_status, v_next
            FROM identity.child i WHERE i.cp_id = v_next;
            v_hops := v_hops + 1;
            EXIT WHEN v_status IS DISTINCT FROM 'merged' OR v_hops >= 100;
        END LOOP;
        PERFORM audit.append(p_username, p_role, 'read_child', p_cp_id, btrim(p_purpose),
                             jsonb_build_object('outcome', 'superseded'));
        RETURN jsonb_build_object('cp_id', p_cp_id, 'superseded_by', v_next);
    END IF;
    IF v_status IS DISTINCT FROM 'active' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v_child FROM directory.child c WHERE c.cp_id = p_cp_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    -- One pass over the involvements: the counts the audit keeps and the list the reader sees.
    SELECT count(*), count(*) FILTER (WHERE v.sensitive AND NOT p_may_see_sensitive),
           coalesce(jsonb_agg(directory.involvement_view(v, p_may_see_sensitive)
                              ORDER BY directory.is_current(v.ended_on) DESC, v.lead_professional DESC,
                                       v.started_on DESC NULLS LAST, v.involvement_id), '[]'::jsonb)
    INTO v_count, v_masked, v_involvements FROM directory.involvement v WHERE v.cp_id = p_cp_id;

    IF v_child.shielded AND NOT p_may_see_shielded THEN
        -- Only whom to ask (directory.shielded_contact): nothing of the child, no service that places it.
        v_result := jsonb_build_object(
            'cp_id', v_child.cp_id, 'shielded', true, 'contact', directory.shielded_contact(p_cp_id));
        v_outcome := 'shielded_contact';
    ELSE
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'title', k.title, 'given_name', k.given_name, 'family_name', k.family_name,
                   'relationship', k.relationship, 'parental_responsibility', k.parental_responsibility,
                   'phone', k.phone, 'email', k.email) ORDER BY k.source_record_id, k.contact_order), '[]'::jsonb)
        INTO v_carers FROM directory.carer k WHERE k.cp_id = p_cp_id;
        v_result := jsonb_build_object(
            'cp_id', v_child.cp_id, 'shielded', v_child.shielded,
            'given_name', v_child.given_name, 'middle_names', v_child.middle_names,
            'family_name', v_child.family_name, 'date_of_birth', v_child.date_of_birth,
            'gender', v_child.gender::text,
            'address_line_1', v_child.address_line_1, 'address_line_2', v_child.address_line_2,
            'address_line_3', v_child.address_line_3, 'address_line_4', v_child.address_line_4,
            'address_line_5', v_child.address_line_5, 'postcode', v_child.postcode,
            'died_on', v_child.died_on, 'carers', v_carers, 'involvements', v_involvements);
        v_outcome := 'record';
    END IF;

    -- An assignment, not PERFORM: PL/pgSQL evaluates a lone function call without starting an executor.
    v_entry := audit.append(p_username, p_role, 'read_child', p_cp_id, btrim(p_purpose),
                            jsonb_build_object('outcome', v_outcome, 'involvements', v_count,
                                               'masked_involvements', v_masked));
    RETURN v_result;
END $$;

-- The read contract's record by user name (the console, the CLI, tests): the reader's entitlements from
-- access.reading_user (which checks the purpose and the role), then the one record builder above.
CREATE OR REPLACE FUNCTION directory.child_record(p_username text, p_purpose text, p_cp_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user   record;
    v_record jsonb;
BEGIN
    SELECT * INTO v_user FROM access.reading_user(p_username, p_purpose);
    v_record := directory.child_record_for(p_username, v_user.role, v_user.may_see_shielded,
                                           v_user.may_see_sensitive, p_purpose, p_cp_id);
    IF v_record IS NULL THEN
        RAISE EXCEPTION 'no such child' USING ERRCODE = 'no_data_found';
    END IF;
    RETURN v_record;
END $$;

-- GET /children/{cp_id}: (HTTP status, JSON body) in one autocommit statement. Every outcome after the
-- purpose check is audited: the read, a session that ended (session_expired), a refusal (read_refused with
-- the reason code; the opening's by access.api_admission). No exception block: nothing below raises for a
-- refusal.
CREATE OR REPLACE FUNCTION directory.api_child_record(p_session text, p_purpose text, p_case_reference text,
                                                      p_cp_id text, OUT status integer, OUT body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    r := access.api_admission(p_session, p_purpose, p_case_reference, 'read_refused', p_cp_id);
    status := r.status;
    body := r.body;
    IF status IS NULL THEN
        body := directory.child_record_for(r.username, r.role, r.may_see_shielded, r.may_see_sensitive,
                                           r.purpose, p_cp_id)::text;
        IF body IS NULL THEN
            PERFORM audit.append(r.username, r.role, 'read_refused', p_cp_id, r.purpose,
                                 jsonb_build_object('reason', 'no_such_child'));
            status := 404;
            body := jsonb_build_object('detail', 'no such child')::text;
        ELSE
            status := 200;
        END IF;
    END IF;
END $$;

-- An IMMUTABLE SQL function is not inlined where its argument is only STABLE (the canonical text formats
-- a timestamp), so every audit entry ran chain_hash through the SQL-function executor, parsing its body
-- each time. STABLE lets the planner inline it; it is still a pure function of its arguments.
ALTER FUNCTION audit.chain_hash(text, text) STABLE;

-- Only the definer functions above call these helpers.
REVOKE ALL ON FUNCTION access.api_reader(text), access.read_refusal(text, text, integer),
    access.api_admission(text, text, text, text, text),
    directory.child_record_for(text, text, boolean, boolean, text, text) FROM PUBLIC;
