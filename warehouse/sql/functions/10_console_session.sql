-- Who reads: every console read takes the session token, never a user name (issue 13). The token's live,
-- enabled user is the reader; the role the page needs and the shielded entitlement are checked here.

-- The live session's user when their role is one of p_roles, else refused (42501).
CREATE OR REPLACE FUNCTION console.reader(p_session text, p_roles text[]) RETURNS access.app_user
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user;
BEGIN
    SELECT u.* INTO v FROM access.app_user u WHERE u.username = access.session_username(p_session);
    IF NOT FOUND OR NOT v.role = ANY (p_roles) THEN
        RAISE EXCEPTION 'not allowed: this page needs a live session of a %', array_to_string(p_roles, ' or ')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN v;
END $$;

-- A token that no longer signs anyone in: why (revoked, disabled, expired), audited under its own user
-- as 'session_expired'; NULL for a live session or a token that never was one (nothing to audit).
CREATE OR REPLACE FUNCTION console.session_ended(p_session text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_username text;
    v_role     text;
    v_reason   text;
BEGIN
    SELECT s.username, u.role,
           CASE WHEN s.revoked THEN 'revoked' WHEN u.disabled THEN 'disabled'
                WHEN s.expires_at <= now() THEN 'expired' END
    INTO v_username, v_role, v_reason
    FROM access.session s JOIN access.app_user u ON u.username = s.username
    WHERE s.token_hash = encode(sha256(convert_to(coalesce(p_session, ''), 'UTF8')), 'hex');
    IF v_username IS NULL THEN
        RETURN NULL;
    END IF;
    -- A live session judged expired by the caller's clock (tests move it on) is still audited as expired.
    v_reason := coalesce(v_reason, 'expired');
    PERFORM audit.append(v_username, v_role, 'session_expired', NULL, NULL, jsonb_build_object('reason', v_reason));
    RETURN v_reason;
END $$;

-- A console page's view of a child or pair, audited under the session's own user (ids only): the console
-- never names who read, so it cannot audit a read as someone else's.
CREATE OR REPLACE FUNCTION console.audit_view(p_session text, p_action text, p_cp_ids text[], p_detail jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user := console.reader(p_session, ARRAY['steward']);
BEGIN
    IF p_action NOT IN ('console_view_pair', 'console_view_pair_refused', 'console_view_identity',
                        'console_view_identity_refused') THEN
        RAISE EXCEPTION 'not a console view: %', p_action USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN audit.append(v.username, v.role, p_action, p_cp_ids[1], 'data stewardship',
                        jsonb_build_object('cp_ids', coalesce(p_cp_ids, '{}')) || coalesce(p_detail, '{}'));
END $$;
