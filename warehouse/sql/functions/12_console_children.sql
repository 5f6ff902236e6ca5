-- What stewards read about records, pairs and children (the pair page, the identity page, the actions'
-- guards), as jsonb. Held means shielded: identity.shielded_child is the one definition. For a steward not
-- entitled to shielded children a shielded record keeps only its id and the fact that it is shielded, a
-- shielded pair only its number, and another shielded child's ID in a history reads 'a shielded child'.

-- Source records by id (object keyed by record id): feed, sender, child, shielding, the record's fields and
-- its standardised values. shielded: the record is restricted, or its child is shielded or held.
CREATE OR REPLACE FUNCTION console.source_records_of(p_ids bigint[], p_all_shielded boolean) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(jsonb_object_agg(r.record_id::text, CASE WHEN p_all_shielded OR NOT r.shielded THEN r.shown
                                                           ELSE jsonb_build_object('record_id', r.record_id,
                                                                                   'shielded', true) END), '{}')
    FROM (
        SELECT s.record_id, (s.restricted OR coalesce(identity.shielded_child(l.cp_id), false)) AS shielded,
               jsonb_build_object(
                   'record_id', s.record_id, 'feed', s.feed, 'sender', s.sender, 'restricted', s.restricted,
                   'extract_time', s.extract_time, 'cp_id', l.cp_id, 'given_name', s.given_name,
                   'middle_names', s.middle_names, 'family_name', s.family_name,
                   'preferred_given_name', s.preferred_given_name, 'preferred_family_name', s.preferred_family_name,
                   'former_family_name', s.former_family_name, 'date_of_birth', s.date_of_birth, 'gender', s.gender,
                   'address_line_1', s.address_line_1, 'address_line_2', s.address_line_2,
                   'address_line_3', s.address_line_3, 'address_line_4', s.address_line_4,
                   'address_line_5', s.address_line_5, 'postcode', s.postcode, 'nhs_number', s.nhs_number,
                   'upn', s.upn, 'uln', s.uln, 'features', to_jsonb(f) - 'record_id',
                   'shielded', s.restricted OR coalesce(identity.shielded_child(l.cp_id), false)) AS shown
        FROM staging.source_record s LEFT JOIN identity.link l ON l.record_id = s.record_id
        LEFT JOIN identity.record_features f ON f.record_id = s.record_id
        WHERE s.record_id = ANY (p_ids)) r
$$;

-- A review pair with its two records, the model's explanation, each child's other records and the actions
-- taken on it; NULL for no such pair. A shielded pair, for a steward not entitled to it: its number, its
-- records' ids and that it is shielded, nothing else.
CREATE OR REPLACE FUNCTION console.pair_detail_of(p_pair_id bigint, p_all_shielded boolean) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_pair     identity.review_pair;
    v_records  jsonb;
    v_siblings jsonb := '{}';
    v_others   bigint[];
BEGIN
    SELECT * INTO v_pair FROM identity.review_pair p WHERE p.pair_id = p_pair_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    v_records := console.source_records_of(ARRAY[v_pair.record_a, v_pair.record_b], p_all_shielded);
    IF NOT p_all_shielded AND EXISTS (SELECT 1 FROM jsonb_each(v_records) r WHERE (r.value ->> 'shielded')::boolean) THEN
        RETURN jsonb_build_object('pair_id', v_pair.pair_id, 'record_a', v_pair.record_a, 'record_b', v_pair.record_b,
                                  'records', v_records, 'shielded', true);
    END IF;
    FOR i IN 1..2 LOOP
        SELECT array_agg(l.record_id ORDER BY l.record_id) INTO v_others FROM identity.link l
        WHERE l.cp_id = v_records -> (ARRAY[v_pair.record_a, v_pair.record_b])[i]::text ->> 'cp_id'
          AND l.record_id <> (ARRAY[v_pair.record_a, v_pair.record_b])[i];
        v_siblings := v_siblings || jsonb_build_object((ARRAY[v_pair.record_a, v_pair.record_b])[i]::text,
            (SELECT coalesce(jsonb_agg(r.value ORDER BY (r.key)::bigint), '[]')
             FROM jsonb_each(console.source_records_of(coalesce(v_others, '{}'), p_all_shielded)) r));
    END LOOP;
    RETURN to_jsonb(v_pair) || jsonb_build_object(
        'records', v_records, 'siblings', v_siblings, 'shielded', false,
        'actions', (SELECT coalesce(jsonb_agg(jsonb_build_object('action_id', a.action_id, 'kind', a.kind,
                                                                 'steward', a.steward, 'decided_at', a.decided_at,
                                                                 'undone_at', a.undone_at) ORDER BY a.action_id), '[]')
                    FROM identity.steward_action a WHERE a.pair_id = p_pair_id));
END $$;

-- One child: status, records, every change of its records and who made it, the actions naming it and the
-- children merged into it; NULL for no such child. shielded: the child is shielded or held, or one of its
-- records is restricted. For a steward not entitled to shielded children a shielded child comes back as its
-- ID and that it is shielded; in another child's history every shielded or held child's ID reads
-- 'a shielded child', an action naming one keeps no reason (free text may say where she is), and children
-- merged in that are shielded are left out.
CREATE OR REPLACE FUNCTION console.identity_history_of(p_cp_id text, p_all_shielded boolean) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_child    identity.child;
    v_records  jsonb;
    v_history  jsonb;
    v_actions  jsonb;
    v_merged   text[];
    v_hidden   text[];
    v_shielded boolean;
BEGIN
    SELECT * INTO v_child FROM identity.child c WHERE c.cp_id = p_cp_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    v_shielded := identity.shielded_child(p_cp_id) OR EXISTS (
        SELECT 1 FROM identity.link l JOIN staging.source_record s ON s.record_id = l.record_id
        WHERE l.cp_id = p_cp_id AND s.restricted);
    IF v_shielded AND NOT p_all_shielded THEN
        RETURN jsonb_build_object('cp_id', v_child.cp_id, 'shielded', true);
    END IF;
    v_records := console.source_records_of(
        (SELECT coalesce(array_agg(l.record_id), '{}') FROM identity.link l WHERE l.cp_id = p_cp_id), true);
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'change_id', h.change_id, 'changed_at', h.changed_at, 'record_id', h.record_id,
               'old_cp_id', h.old_cp_id, 'new_cp_id', h.new_cp_id, 'method', h.method, 'run_id', h.run_id,
               'action_id', a.action_id, 'kind', a.kind, 'steward', a.steward, 'undone_at', a.undone_at)
           ORDER BY h.change_id), '[]')
    INTO v_history
    FROM identity.link_history h LEFT JOIN identity.steward_action a ON h.run_id = 'steward:' || a.action_id
    WHERE h.old_cp_id = p_cp_id OR h.new_cp_id = p_cp_id;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'action_id', a.action_id, 'kind', a.kind, 'steward', a.steward, 'reason', a.reason,
               'decided_at', a.decided_at, 'undone_at', a.undone_at, 'undoes', a.undoes, 'pair_id', a.pair_id,
               'cp_ids', a.cp_ids) ORDER BY a.action_id), '[]')
    INTO v_actions FROM identity.steward_action a WHERE p_cp_id = ANY (a.cp_ids);
    SELECT coalesce(array_agg(c.cp_id ORDER BY c.cp_id), '{}') INTO v_merged
    FROM identity.child c WHERE c.superseded_by = p_cp_id;
    IF NOT p_all_shielded THEN
        SELECT coalesce(array_agg(DISTINCT x.cp_id), '{}') INTO v_hidden
        FROM (SELECT h ->> 'old_cp_id' AS cp_id FROM jsonb_array_elements(v_history) h
              UNION SELECT h ->> 'new_cp_id' FROM jsonb_array_elements(v_history) h
              UNION SELECT jsonb_array_elements_text(a -> 'cp_ids') FROM jsonb_array_elements(v_actions) a
              UNION SELECT unnest(v_merged) UNION SELECT v_child.superseded_by) x
        WHERE x.cp_id IS NOT NULL AND identity.shielded_child(x.cp_id);
        SELECT coalesce(jsonb_agg(h || jsonb_build_object(
                   'old_cp_id', CASE WHEN h ->> 'old_cp_id' = ANY (v_hidden) THEN 'a shielded child'
                                     ELSE h -> 'old_cp_id' #>> '{}' END,
                   'new_cp_id', CASE WHEN h ->> 'new_cp_id' = ANY (v_hidden) THEN 'a shielded child'
                                     ELSE h -> 'new_cp_id' #>> '{}' END) ORDER BY (h ->> 'change_id')::bigint), '[]')
        INTO v_history FROM jsonb_array_elements(v_history) h;
        SELECT coalesce(jsonb_agg(a || jsonb_build_object(
                   'cp_ids', (SELECT coalesce(jsonb_agg(CASE WHEN c = ANY (v_hidden) THEN 'a shielded child' ELSE c END
                                                        ORDER BY o), '[]')
                              FROM jsonb_array_elements_text(a -> 'cp_ids') WITH ORDINALITY x(c, o)),
                   'reason', CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements_text(a -> 'cp_ids') c
                                               WHERE c = ANY (v_hidden)) THEN NULL ELSE a -> 'reason' END)
                   ORDER BY (a ->> 'action_id')::bigint), '[]')
        INTO v_actions FROM jsonb_array_elements(v_actions) a;
        v_merged := ARRAY(SELECT m FROM unnest(v_merged) m WHERE NOT m = ANY (v_hidden) ORDER BY m);
    END IF;
    RETURN to_jsonb(v_child) - 'seq' || jsonb_build_object(
        'records', v_records, 'history', v_history, 'actions', v_actions, 'merged_in', to_jsonb(v_merged),
        'shielded', v_shielded);
END $$;

-- The ContactPoint IDs an action named (empty for an unknown action).
CREATE OR REPLACE FUNCTION console.action_cp_ids_of(p_action_id bigint) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT a.cp_ids FROM identity.steward_action a WHERE a.action_id = p_action_id), '{}')
$$;

-- The console's entries: a steward's session; the shielded entitlement is the session user's.
CREATE OR REPLACE FUNCTION console.source_records(p_session text, p_ids bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN console.source_records_of(p_ids, (console.reader(p_session, ARRAY['steward'])).may_see_shielded);
END $$;

CREATE OR REPLACE FUNCTION console.pair_detail(p_session text, p_pair_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN console.pair_detail_of(p_pair_id, (console.reader(p_session, ARRAY['steward'])).may_see_shielded);
END $$;

CREATE OR REPLACE FUNCTION console.identity_history(p_session text, p_cp_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN console.identity_history_of(p_cp_id, (console.reader(p_session, ARRAY['steward'])).may_see_shielded);
END $$;

CREATE OR REPLACE FUNCTION console.action_cp_ids(p_session text, p_action_id bigint) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.reader(p_session, ARRAY['steward']);
    RETURN console.action_cp_ids_of(p_action_id);
END $$;
