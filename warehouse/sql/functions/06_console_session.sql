-- The console's session, through definer functions: who a live session's token signs in (with what they
-- may see), and signing out (audited). A role with no table privilege needs nothing else to keep a session.

CREATE OR REPLACE FUNCTION access.session_of(p_token text)
RETURNS TABLE (username text, display_name text, role text, may_see_shielded boolean, may_see_sensitive boolean,
               expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT u.username, u.display_name, u.role, u.may_see_shielded, u.may_see_sensitive, s.expires_at
    FROM access.session s JOIN access.app_user u ON u.username = s.username
    WHERE s.token_hash = encode(sha256(convert_to(coalesce(p_token, ''), 'UTF8')), 'hex')
      AND NOT s.revoked AND s.expires_at > now() AND NOT u.disabled
$$;

-- End a session at once; true when it was live (its sign-out is audited under its own user).
CREATE OR REPLACE FUNCTION access.sign_out(p_token text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_username text;
    v_role     text;
BEGIN
    UPDATE access.session s SET revoked = true FROM access.app_user u
    WHERE s.token_hash = encode(sha256(convert_to(coalesce(p_token, ''), 'UTF8')), 'hex') AND NOT s.revoked
      AND u.username = s.username
    RETURNING s.username, u.role INTO v_username, v_role;
    IF v_username IS NULL THEN
        RETURN false;
    END IF;
    PERFORM audit.append(v_username, v_role, 'sign_out', NULL, NULL, '{}');
    RETURN true;
END $$;

REVOKE ALL ON FUNCTION access.session_of(text), access.sign_out(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION access.session_of(text), access.sign_out(text) TO cp_console;
