-- Who acts: a steward's actions take the session token, never a user name (issue 13). The token's
-- user is the one who acts, checked here, whoever calls; entitlements are read from access.app_user.

-- The enabled steward a live session signs in, or refused (42501).
CREATE OR REPLACE FUNCTION identity.acting_steward(p_session text) RETURNS access.app_user
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user;
BEGIN
    SELECT u.* INTO v FROM access.app_user u WHERE u.username = access.session_username(p_session);
    IF NOT FOUND OR v.role <> 'steward' THEN
        RAISE EXCEPTION 'not allowed: a steward''s action needs a live steward''s session'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN v;
END $$;

-- Held means shielded: any of these children shielded or held needs the shielded entitlement.
CREATE OR REPLACE FUNCTION identity.require_entitled(p_user access.app_user, p_cp_ids text[]) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT p_user.may_see_shielded AND EXISTS (
            SELECT 1 FROM unnest(p_cp_ids) AS c(cp_id) WHERE c.cp_id IS NOT NULL AND identity.shielded_child(c.cp_id)) THEN
        RAISE EXCEPTION 'this concerns a shielded child: it needs a steward entitled to see shielded children'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

-- A short session for the hub's own tools (the command line, scripts run as the store's owner), so their
-- actions go through the same session-taking functions as the console's. Only the owner may call it: it is
-- how a tool that already holds the store names the steward at its keyboard.
CREATE OR REPLACE FUNCTION access.tool_session(p_username text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- Two random UUIDs: 244 bits from the server's strong random source (no pgcrypto needed).
    v_token text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM access.app_user u WHERE u.username = p_username AND NOT u.disabled) THEN
        RAISE EXCEPTION 'not allowed: no enabled user by that name' USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO access.session (token_hash, username, expires_at)
    VALUES (encode(sha256(convert_to(v_token, 'UTF8')), 'hex'), p_username, now() + interval '5 minutes');
    RETURN v_token;
END $$;
