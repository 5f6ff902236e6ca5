-- The restricted archive's read by archivist name.
-- Applied by migration 0022; created by 0008. Only archive.read_child_in_session (15_session_archive.sql)
-- calls it, with the session's live user: EXECUTE is the owner's alone since 0017 (it trusts the name it
-- is given), so no grant here.

-- An archivist's read: a known archivist, a purpose the law allows for the record's age, an
-- audit entry in the same transaction. Returns the ciphertext; the caller decrypts with the vault's key.
CREATE OR REPLACE FUNCTION archive.read_child(p_username text, p_cp_id text, p_purpose text,
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
