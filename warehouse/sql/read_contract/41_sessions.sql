-- Sessions: who a session token stands for, and the session entries of the read contract.
-- Applied by migration 0022; created by 0011 (session_username, the session_ reads) and 0013 (the api_ helpers,
-- which access.api_reader, 10_child_record.sql, replaced in the record and search routes; directory.api_changes
-- still calls api_unsigned and api_session).

-- The live session a token opens (expired, revoked and disabled users' sessions open nothing).
CREATE OR REPLACE FUNCTION access.session_username(p_token text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.username FROM access.session s JOIN access.app_user u ON u.username = s.username
    WHERE s.token_hash = encode(sha256(convert_to(coalesce(p_token, ''), 'UTF8')), 'hex')
      AND NOT s.revoked AND s.expires_at > now() AND NOT u.disabled
$$;

-- The user behind a session token, and why a token no longer works (for the audit).
CREATE OR REPLACE FUNCTION access.api_session(p_session text, OUT username text, OUT role text, OUT ended text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.username, u.role,
           CASE WHEN s.revoked THEN 'revoked' WHEN u.disabled THEN 'disabled'
                WHEN s.expires_at <= now() THEN 'expired' END
    FROM access.session s JOIN access.app_user u ON u.username = s.username
    WHERE s.token_hash = encode(sha256(convert_to(coalesce(p_session, ''), 'UTF8')), 'hex')
$$;

-- (401, body) for a token that opens no session (an ended one is audited as session_expired), else NULL.
CREATE OR REPLACE FUNCTION access.api_unsigned(p_session text) RETURNS text
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

-- The status and audit reason of a refusal raised with a SQLSTATE. No route at 0022 raises one (0018 and
-- 0019 answer refusals without raising); the API functions 0019's downgrade puts back call it.
CREATE OR REPLACE FUNCTION access.api_refusal(p_sqlstate text, OUT status integer, OUT reason text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.status, r.reason FROM (VALUES
        ('22023', 400, 'search_rules'), ('54000', 400, 'too_many_matches'), ('42501', 403, 'not_allowed'),
        ('P0002', 404, 'no_such_child'), ('53400', 429, 'read_budget')) AS r(sqlstate, status, reason)
    WHERE r.sqlstate = p_sqlstate
$$;

-- Reads take the session, not a user name: the caller is resolved from the token (stored only as its
-- sha256), so whoever can call these cannot act as someone else. The reader and steward roles execute these,
-- not the user-name functions.
CREATE OR REPLACE FUNCTION directory.session_search_children(p_session text, p_purpose text, p_family_name text,
                                                  p_given_name text, p_date_of_birth date, p_gender text,
                                                  p_postcode text)
RETURNS TABLE (cp_id text, given_name text, family_name text, date_of_birth date, gender text, postcode text,
               shielded boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY SELECT * FROM directory.search_children(access.session_reader(p_session), p_purpose,
        p_family_name, p_given_name, p_date_of_birth, p_gender, p_postcode);
END $$;

CREATE OR REPLACE FUNCTION directory.session_child_record(p_session text, p_purpose text, p_cp_id text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT directory.child_record(access.session_reader(p_session), p_purpose, p_cp_id)
$$;

-- The sessions' lookup was PUBLIC's until 0014: only definer functions (run as the owner) need it.
REVOKE ALL ON FUNCTION access.session_username(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION directory.session_search_children(text, text, text, text, date, text, text),
    directory.session_child_record(text, text, text) TO cp_reader, cp_steward;
