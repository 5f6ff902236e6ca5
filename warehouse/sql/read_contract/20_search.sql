-- The search by the national demographics rules as the read contract runs it for one reader, and the API's
-- one-statement search. Applied by migration 0019 (CREATE OR REPLACE: a later migration re-applies a
-- changed file).
--
-- Why this shape (issue 13, throughput): the API's search looked its session up twice before searching
-- (access.api_unsigned for the 401 answer, access.session_reader for the budget), the user again by name
-- (access.reading_user) and the session a third time after a refusal (access.api_session), and caught the
-- search rules, too many matches and the budget in an exception block: a subtransaction around every audit
-- insert. Now the session is read once (access.api_reader, 10_child_record.sql), the role and the budget
-- come from access.read_refusal, the rules and too many matches are answers, not errors, and the search
-- itself is one function whatever the entry point, as directory.child_record_for is for the record.

-- Why a search breaks the national rules, as the message the reader sees, or NULL when it may run. Takes
-- the criteria as directory.search_for normalises them (name keys, upper-case gender and postcode).
--   family name + date of birth; (fuzzy) given + family name + date of birth;
--   family name + date of birth + gender + postcode; given name + date of birth + gender + postcode.
CREATE OR REPLACE FUNCTION directory.search_rule_broken(p_family text, p_given text, p_date_of_birth date,
                                                        p_gender text, p_postcode text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_date_of_birth IS NULL
       OR NOT (p_family IS NOT NULL OR (p_given IS NOT NULL AND p_gender IS NOT NULL AND p_postcode IS NOT NULL)) THEN
        RETURN 'search not allowed: give family name and date of birth (optionally given name, gender, '
               'postcode), or given name, date of birth, gender and postcode';
    END IF;
    IF p_gender IS NOT NULL AND p_gender NOT IN ('M', 'F', 'U', 'I') THEN
        RETURN 'search not allowed: gender must be M, F, U or I';
    END IF;
    RETURN NULL;
END $$;

-- The children matching the criteria as this reader may see them, each audited as found (one entry without
-- a child when none is): matches is a JSON array in the order shown. Or why not, as reason
-- (search_rules, too_many_matches) and message, with nothing written: the caller refuses, and audits or
-- raises. Any supplied criterion filters; at most 50 children.
CREATE OR REPLACE FUNCTION directory.search_for(p_username text, p_role text, p_may_see_shielded boolean,
                                                p_purpose text, p_family_name text, p_given_name text,
                                                p_date_of_birth date, p_gender text, p_postcode text,
                                                OUT reason text, OUT message text, OUT matches jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_family   text := directory.name_key(p_family_name);
    v_given    text := directory.name_key(p_given_name);
    v_gender   text := upper(nullif(btrim(p_gender), ''));
    v_postcode text := upper(replace(nullif(btrim(p_postcode), ''), ' ', ''));
    v_fuzzy    boolean := v_family IS NOT NULL AND v_given IS NOT NULL;
    v_criteria jsonb;
    v_found    directory.child[];
    v_child    directory.child;
    v_count    integer;
    v_entry    bigint;
BEGIN
    message := directory.search_rule_broken(v_family, v_given, p_date_of_birth, v_gender, v_postcode);
    IF message IS NOT NULL THEN
        reason := 'search_rules';
        RETURN;
    END IF;

    -- 51 is enough to know there are too many, and nothing is shown or audited before that is known.
    -- Children a reader may not see in full are listed last in ID order, so their place in a name-sorted
    -- list says nothing about their names.
    SELECT array_agg(s.m ORDER BY s.masked, s.sort_family, s.sort_given, (s.m).cp_id) INTO v_found
    FROM (
        SELECT c AS m,
               c.shielded AND NOT p_may_see_shielded AS masked,
               CASE WHEN c.shielded AND NOT p_may_see_shielded THEN NULL ELSE c.family_name END AS sort_family,
               CASE WHEN c.shielded AND NOT p_may_see_shielded THEN NULL ELSE c.given_name END AS sort_given
        FROM directory.child c
        JOIN identity.child i ON i.cp_id = c.cp_id AND i.status = 'active'
        WHERE c.date_of_birth = p_date_of_birth
          AND (v_family IS NULL OR directory.name_matches(c.family_name, v_family, v_fuzzy))
          AND (v_given IS NULL OR directory.name_matches(c.given_name, v_given, v_fuzzy))
          AND (v_gender IS NULL OR c.gender = v_gender)
          AND (v_postcode IS NULL OR replace(c.postcode, ' ', '') = v_postcode)
          -- A search by postcode never finds a shielded child for a reader who may not see them.
          AND NOT (c.shielded AND v_postcode IS NOT NULL AND NOT p_may_see_shielded)
        LIMIT 51
    ) s;
    v_count := coalesce(cardinality(v_found), 0);
    IF v_count > 50 THEN
        reason := 'too_many_matches';
        message := 'too many matches: refine the search';
        RETURN;
    END IF;

    -- The names of the criteria used, never their values.
    v_criteria := jsonb_build_object('result_count', v_count, 'criteria', to_jsonb(array_remove(ARRAY[
        CASE WHEN v_family IS NOT NULL THEN 'family_name' END,
        CASE WHEN v_given IS NOT NULL THEN 'given_name' END,
        'date_of_birth',
        CASE WHEN v_gender IS NOT NULL THEN 'gender' END,
        CASE WHEN v_postcode IS NOT NULL THEN 'postcode' END], NULL)));
    IF v_count = 0 THEN
        -- Assignments, not PERFORM: PL/pgSQL evaluates a lone function call without starting an executor.
        v_entry := audit.append(p_username, p_role, 'search', NULL, btrim(p_purpose), v_criteria);
        matches := '[]'::jsonb;
        RETURN;
    END IF;
    FOREACH v_child IN ARRAY v_found LOOP
        v_entry := audit.append(p_username, p_role, 'search', v_child.cp_id, btrim(p_purpose), v_criteria);
    END LOOP;
    SELECT jsonb_agg(CASE WHEN f.shielded AND NOT p_may_see_shielded
                          THEN jsonb_build_object('cp_id', f.cp_id, 'given_name', NULL, 'family_name', NULL,
                                                  'date_of_birth', NULL, 'gender', NULL, 'postcode', NULL,
                                                  'shielded', true)
                          ELSE jsonb_build_object('cp_id', f.cp_id, 'given_name', f.given_name,
                                                  'family_name', f.family_name, 'date_of_birth', f.date_of_birth,
                                                  'gender', f.gender::text, 'postcode', f.postcode,
                                                  'shielded', f.shielded) END ORDER BY f.ordinality)
    INTO matches FROM unnest(v_found) WITH ORDINALITY AS f;
END $$;

-- The search by user name (the hub's own tools, and the session_ entry after access.session_reader): the
-- reader from access.reading_user (which checks the purpose and the role), then the one search above; its
-- refusals raised as the contract has always raised them (22023 the rules, 54000 too many matches).
CREATE OR REPLACE FUNCTION directory.search_children(p_username text, p_purpose text, p_family_name text,
                                                     p_given_name text, p_date_of_birth date, p_gender text,
                                                     p_postcode text)
RETURNS TABLE (cp_id text, given_name text, family_name text, date_of_birth date, gender text, postcode text,
               shielded boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user   record;
    v_search record;
BEGIN
    SELECT * INTO v_user FROM access.reading_user(p_username, p_purpose);
    v_search := directory.search_for(p_username, v_user.role, v_user.may_see_shielded, p_purpose, p_family_name,
                                     p_given_name, p_date_of_birth, p_gender, p_postcode);
    IF v_search.reason = 'search_rules' THEN
        RAISE EXCEPTION '%', v_search.message USING ERRCODE = 'invalid_parameter_value';
    ELSIF v_search.reason = 'too_many_matches' THEN
        RAISE EXCEPTION '%', v_search.message USING ERRCODE = 'program_limit_exceeded';
    END IF;
    RETURN QUERY SELECT m.* FROM jsonb_to_recordset(v_search.matches)
        AS m(cp_id text, given_name text, family_name text, date_of_birth date, gender text, postcode text,
             shielded boolean);
END $$;

-- The reading user behind a session, with the read budget of access.read_refusal checked: refused past it
-- (53400). A role that does not read is left to access.reading_user, which refuses it after the purpose.
CREATE OR REPLACE FUNCTION access.session_reader(p_token text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r         record;
    v_refusal record;
BEGIN
    r := access.api_reader(p_token);
    IF r.username IS NULL OR r.ended IS NOT NULL THEN
        RAISE EXCEPTION 'not allowed: no live session' USING ERRCODE = 'insufficient_privilege';
    END IF;
    v_refusal := access.read_refusal(r.username, r.role, r.reads_per_hour);
    IF v_refusal.reason = 'read_budget' THEN
        RAISE EXCEPTION '%', v_refusal.message USING ERRCODE = 'configuration_limit_exceeded';
    END IF;
    RETURN r.username;
END $$;

-- GET /children: (HTTP status, JSON body) in one autocommit statement. Every outcome after the purpose
-- check is audited: the search (by directory.search_for), a session that ended (session_expired), a
-- refusal (search_refused with the reason code; the opening's by access.api_admission, 10_child_record.sql).
-- No exception block: nothing below raises for a refusal.
CREATE OR REPLACE FUNCTION directory.api_search_children(p_session text, p_purpose text, p_case_reference text,
                                                         p_family_name text, p_given_name text,
                                                         p_date_of_birth date, p_gender text, p_postcode text,
                                                         OUT status integer, OUT body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r        record;
    v_search record;
BEGIN
    r := access.api_admission(p_session, p_purpose, p_case_reference, 'search_refused', NULL);
    status := r.status;
    body := r.body;
    IF status IS NULL THEN
        v_search := directory.search_for(r.username, r.role, r.may_see_shielded, r.purpose, p_family_name,
                                         p_given_name, p_date_of_birth, p_gender, p_postcode);
        IF v_search.reason IS NULL THEN
            status := 200;
            body := jsonb_build_object('data', v_search.matches,
                                       'count', jsonb_array_length(v_search.matches))::text;
        ELSE
            PERFORM audit.append(r.username, r.role, 'search_refused', NULL, r.purpose,
                                 jsonb_build_object('reason', v_search.reason));
            status := 400;
            body := jsonb_build_object('detail', v_search.message)::text;
        END IF;
    END IF;
END $$;

-- Only the definer functions above call these helpers.
REVOKE ALL ON FUNCTION directory.search_rule_broken(text, text, date, text, text),
    directory.search_for(text, text, boolean, text, text, text, date, text, text) FROM PUBLIC;
