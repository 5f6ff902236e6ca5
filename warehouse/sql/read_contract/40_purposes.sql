-- The purposes a read may give, and the reader behind a read by user name (the hub's own tools).
-- Applied by migration 0022; created by 0013 (the purposes, the check, this reading_user) and 0004.
-- No grants: only the definer functions of the read contract call these (EXECUTE is the owner's alone).

-- Purposes the law allows: one row each, the code is what the API takes and the audit records. A list
-- in a function, not a table: it changes only by migration, and no store reset can empty it.
CREATE OR REPLACE FUNCTION access.read_purposes() RETURNS TABLE (code text, description text, legal_basis text)
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

-- Raises CP422 (the API's 422) for a purpose the law does not allow: the user-name entry points' check.
CREATE OR REPLACE FUNCTION access.check_purpose(p_purpose text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT access.lawful_purpose(p_purpose) THEN
        RAISE EXCEPTION 'purpose not allowed: give one of the purposes the law allows, optionally with a case '
                        'reference of up to 40 letters, digits and /._-' USING ERRCODE = 'CP422';
    END IF;
END $$;

-- The user behind a read by user name: a purpose the law allows, a known and enabled user whose role reads
-- the directory (a front-end system's service account too: it re-reads the children the feed names). A
-- sign-in lock-out does not stop a read: strangers' failures must not sign the real user out (0011).
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
