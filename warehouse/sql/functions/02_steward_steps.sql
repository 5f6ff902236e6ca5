-- The steps steward actions are made of (matching.stewardship's docstring says what an action is). Not
-- callable by anyone but the owner: only the session-taking actions (03_steward_actions.sql) run them.

CREATE OR REPLACE FUNCTION identity.steward_reason(p_reason text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_reason IS NULL OR btrim(p_reason) = '' THEN
        RAISE EXCEPTION 'a steward''s action needs a reason';
    END IF;
    RETURN btrim(p_reason);
END $$;

CREATE OR REPLACE FUNCTION identity.records_of(p_cp_id text) RETURNS bigint[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(l.record_id ORDER BY l.record_id), '{}') FROM identity.link l WHERE l.cp_id = p_cp_id
$$;

CREATE OR REPLACE FUNCTION identity.child_of(p_record_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v text;
BEGIN
    SELECT l.cp_id INTO v FROM identity.link l WHERE l.record_id = p_record_id;
    IF v IS NULL THEN
        RAISE EXCEPTION 'record % is not linked to a child yet', p_record_id;
    END IF;
    RETURN v;
END $$;

-- A child's status, its row locked for the rest of the action.
CREATE OR REPLACE FUNCTION identity.locked_status(p_cp_id text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v text;
BEGIN
    SELECT c.status INTO v FROM identity.child c WHERE c.cp_id = p_cp_id FOR UPDATE;
    IF v IS NULL THEN
        RAISE EXCEPTION 'no child %', p_cp_id;
    END IF;
    RETURN v;
END $$;

-- The two IDs, the older (the one a merge keeps) first; IDs carry no sequence, identity.child.seq does.
CREATE OR REPLACE FUNCTION identity.older_first(p_a text, p_b text) RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_a bigint := (SELECT c.seq FROM identity.child c WHERE c.cp_id = p_a);
    v_b bigint := (SELECT c.seq FROM identity.child c WHERE c.cp_id = p_b);
BEGIN
    IF v_a IS NULL THEN RAISE EXCEPTION 'no child %', p_a; END IF;
    IF v_b IS NULL THEN RAISE EXCEPTION 'no child %', p_b; END IF;
    RETURN CASE WHEN v_a < v_b THEN ARRAY[p_a, p_b] ELSE ARRAY[p_b, p_a] END;
END $$;

-- Move records to a child, in link_history under the action (run_id steward:<id>).
CREATE OR REPLACE FUNCTION identity.steward_move(p_records bigint[], p_to text, p_action_id bigint) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO identity.link_history (record_id, old_cp_id, new_cp_id, method, run_id)
    SELECT l.record_id, l.cp_id, p_to, 'steward', 'steward:' || p_action_id FROM identity.link l
    WHERE l.record_id = ANY(p_records) AND l.cp_id <> p_to;
    UPDATE identity.link SET cp_id = p_to, method = 'steward', run_id = 'steward:' || p_action_id, weight = NULL,
                             linked_at = now()
    WHERE record_id = ANY(p_records);
$$;

-- The next publish recomputes these children (and drops any that are no longer active): their records join
-- the publish queue (migration 0016; the function is only called on a store at head).
CREATE OR REPLACE FUNCTION identity.needs_publish(p_cp_ids text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE 'INSERT INTO staging.publish_queue (record_id) '
            'SELECT l.record_id FROM identity.link l WHERE l.cp_id = ANY($1) '
            'ON CONFLICT (record_id) DO UPDATE SET queued = excluded.queued' USING p_cp_ids;
END $$;

-- Held children among these with no open question left about a shielded child become active.
CREATE OR REPLACE FUNCTION identity.release_holds(p_cp_ids text[]) RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v text[];
BEGIN
    WITH released AS (
        UPDATE identity.child c SET status = 'active'
        WHERE c.status = 'held' AND c.cp_id = ANY(p_cp_ids) AND NOT EXISTS (
            SELECT 1 FROM identity.review_pair p
            JOIN identity.link la ON la.record_id = p.record_a JOIN identity.link lb ON lb.record_id = p.record_b
            WHERE p.status = 'open' AND la.cp_id <> lb.cp_id AND c.cp_id IN (la.cp_id, lb.cp_id))
        RETURNING c.cp_id)
    SELECT coalesce(array_agg(r.cp_id ORDER BY r.cp_id), '{}') INTO v FROM released r;
    IF cardinality(v) > 0 THEN
        PERFORM identity.needs_publish(v);
    END IF;
    RETURN v;
END $$;

CREATE OR REPLACE FUNCTION identity.start_action(p_kind text, p_steward text, p_reason text, p_cp_ids text[],
                                                 p_pair_id bigint DEFAULT NULL, p_undoes bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO identity.steward_action (kind, steward, reason, cp_ids, pair_id, undoes)
    VALUES (p_kind, p_steward, identity.steward_reason(p_reason), p_cp_ids, p_pair_id, p_undoes)
    RETURNING action_id
$$;

-- Keep what the action changed and audit it (ids only: the reason stays in the action's row).
CREATE OR REPLACE FUNCTION identity.finish_action(p_action_id bigint, p_kind text, p_user access.app_user,
                                                  p_changes jsonb, p_cp_ids text[], p_detail jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE identity.steward_action SET changes = p_changes, cp_ids = p_cp_ids WHERE action_id = p_action_id;
    PERFORM audit.append(p_user.username, p_user.role, 'steward_' || p_kind, p_cp_ids[1], NULL,
                         jsonb_build_object('action_id', p_action_id, 'cp_ids', to_jsonb(p_cp_ids)) || p_detail);
END $$;

-- A decision about two records (ordered); the review pair it answers, if any, is closed.
CREATE OR REPLACE FUNCTION identity.record_decision(p_a bigint, p_b bigint, p_decision text, p_steward text,
                                                    p_reason text, p_action_id bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_a = p_b THEN
        RAISE EXCEPTION 'a decision needs two different records';
    END IF;
    INSERT INTO identity.steward_decision (record_a, record_b, decision, steward, reason, action_id)
    VALUES (least(p_a, p_b), greatest(p_a, p_b), p_decision, p_steward, identity.steward_reason(p_reason),
            p_action_id)
    RETURNING decision_id INTO v_id;
    UPDATE identity.review_pair SET status = 'decided' WHERE record_a = least(p_a, p_b) AND record_b = greatest(p_a, p_b);
    RETURN v_id;
END $$;

-- Every record of the retired child moves to the kept one, whose ID stays; the hold follows the records
-- (the merged child might be a shielded child until every open question about them is answered).
CREATE OR REPLACE FUNCTION identity.merge_into(p_kept text, p_retired text, p_action_id bigint) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_kept_status    text := identity.locked_status(p_kept);
    v_retired_status text := identity.locked_status(p_retired);
    v_moved          bigint[] := identity.records_of(p_retired);
BEGIN
    PERFORM identity.steward_move(v_moved, p_kept, p_action_id);
    UPDATE identity.child SET status = 'merged', superseded_by = p_kept WHERE cp_id = p_retired;
    IF 'held' IN (v_kept_status, v_retired_status) THEN
        UPDATE identity.child SET status = 'held' WHERE cp_id = p_kept AND status = 'active';
    END IF;
    PERFORM identity.needs_publish(ARRAY[p_kept]);
    PERFORM directory.append_change('ids_merged', p_kept, p_retired);
    RETURN jsonb_build_object('kept', p_kept, 'retired', p_retired, 'moved', to_jsonb(v_moved),
                              'kept_status', v_kept_status, 'retired_status', v_retired_status);
END $$;

-- Must-links from the kept child's first record to every other record of both children: the steward judged
-- the merged child as a whole, and a full re-link must not part its records again.
CREATE OR REPLACE FUNCTION identity.bind_children(p_kept text, p_retired text, p_steward text, p_reason text,
                                                  p_action_id bigint, p_already bigint[] DEFAULT '{}')
RETURNS bigint[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_records bigint[];
    v_made    bigint[] := '{}';
    v_record  bigint;
BEGIN
    SELECT array_agg(DISTINCT r ORDER BY r) INTO v_records
    FROM unnest(identity.records_of(p_kept) || identity.records_of(p_retired)) AS r;
    FOREACH v_record IN ARRAY v_records[2:] LOOP
        CONTINUE WHEN cardinality(p_already) = 2
                      AND least(p_already[1], p_already[2]) = least(v_records[1], v_record)
                      AND greatest(p_already[1], p_already[2]) = greatest(v_records[1], v_record);
        v_made := v_made || identity.record_decision(v_records[1], v_record, 'must_link', p_steward, p_reason,
                                                     p_action_id);
    END LOOP;
    RETURN v_made;
END $$;

-- The two records of an open review pair, its row locked.
CREATE OR REPLACE FUNCTION identity.open_pair(p_pair_id bigint) RETURNS bigint[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v identity.review_pair;
BEGIN
    SELECT * INTO v FROM identity.review_pair p WHERE p.pair_id = p_pair_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no review pair %', p_pair_id;
    ELSIF v.status <> 'open' THEN
        RAISE EXCEPTION 'pair % is already decided: undo that action first', p_pair_id;
    END IF;
    RETURN ARRAY[v.record_a, v.record_b];
END $$;

CREATE OR REPLACE FUNCTION identity.outcome(p_action_id bigint, p_kind text, p_decisions bigint[],
                                            p_kept text DEFAULT NULL, p_retired text DEFAULT NULL,
                                            p_new text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object('action_id', p_action_id, 'kind', p_kind, 'decision_ids', to_jsonb(p_decisions),
                              'kept_cp_id', p_kept, 'retired_cp_id', p_retired, 'new_cp_id', p_new)
$$;
