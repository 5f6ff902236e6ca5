-- The archivist's read takes the session, not a user name (issue 13): the session's live user is the one
-- archive.read_child checks (an archivist, a lawful purpose for the record's age) and audits. cp_archivist
-- may run only this; archive.read_child, which trusts the name it is given, is the owner's alone.
CREATE OR REPLACE FUNCTION archive.read_child_in_session(p_session text, p_cp_id text, p_purpose text,
                                                         OUT cp_id text, OUT archived_on date, OUT destroy_after date,
                                                         OUT nonce bytea, OUT payload bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_username text := access.session_username(p_session);
BEGIN
    IF v_username IS NULL THEN
        RAISE EXCEPTION 'not allowed: reading the archive needs a live archivist''s session'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT r.cp_id, r.archived_on, r.destroy_after, r.nonce, r.payload
    INTO cp_id, archived_on, destroy_after, nonce, payload
    FROM archive.read_child(v_username, p_cp_id, p_purpose) r;
END $$;

REVOKE ALL ON FUNCTION archive.read_child_in_session(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION archive.read_child_in_session(text, text, text) TO cp_archivist;
REVOKE EXECUTE ON FUNCTION archive.read_child(text, text, text) FROM cp_archivist;
