-- Splitting a record out, merging two children and undoing an action, for the steward a session signs in.

-- A record is not the child it is linked to: a new ContactPoint ID of its own (held if its child was), with
-- a cannot-link to each of that child's other records, so no later run puts it back.
CREATE OR REPLACE FUNCTION identity.steward_split(p_session text, p_record_id bigint, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user      access.app_user := identity.acting_steward(p_session);
    v_source    text := identity.child_of(p_record_id);
    v_status    text := identity.locked_status(v_source);
    v_others    bigint[];
    v_action    bigint;
    v_decisions bigint[] := '{}';
    v_other     bigint;
    v_new       text;
BEGIN
    PERFORM identity.require_entitled(v_user, ARRAY[v_source]);
    v_others := array_remove(identity.records_of(v_source), p_record_id);
    IF cardinality(v_others) = 0 THEN
        RAISE EXCEPTION 'record % is the only record of %: there is nothing to split', p_record_id, v_source;
    END IF;
    v_action := identity.start_action('split', v_user.username, p_reason, ARRAY[v_source]);
    FOREACH v_other IN ARRAY v_others LOOP
        v_decisions := v_decisions || identity.record_decision(p_record_id, v_other, 'cannot_link', v_user.username,
                                                               p_reason, v_action);
    END LOOP;
    v_new := (SELECT identity.new_children(1) LIMIT 1);
    IF v_status = 'held' THEN
        UPDATE identity.child SET status = 'held' WHERE cp_id = v_new;
    END IF;
    PERFORM identity.steward_move(ARRAY[p_record_id], v_new, v_action);
    PERFORM identity.needs_publish(ARRAY[v_source, v_new]);
    PERFORM directory.append_change('id_split', v_source, v_new);
    PERFORM identity.finish_action(v_action, 'split', v_user,
                                   jsonb_build_object('from', v_source, 'new', v_new, 'record', p_record_id),
                                   ARRAY[v_source, v_new], jsonb_build_object('record_ids', jsonb_build_array(p_record_id)));
    RETURN identity.outcome(v_action, 'split', v_decisions, v_source, NULL, v_new);
END $$;

-- Two children are one: the older ID kept, the other retired into it, must-links binding all their records.
-- A held or shielded child on either side needs the entitlement (the merged child would carry its records).
CREATE OR REPLACE FUNCTION identity.steward_merge(p_session text, p_cp_a text, p_cp_b text, p_reason text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user      access.app_user := identity.acting_steward(p_session);
    v_a         text := upper(btrim(p_cp_a));
    v_b         text := upper(btrim(p_cp_b));
    v_order     text[];
    v_retired_records bigint[];
    v_action    bigint;
    v_decisions bigint[];
    v_changes   jsonb;
BEGIN
    IF v_a = v_b THEN
        RAISE EXCEPTION 'a merge needs two different children';
    END IF;
    v_order := identity.older_first(v_a, v_b);
    IF identity.locked_status(v_order[1]) NOT IN ('active', 'held') THEN
        RAISE EXCEPTION '% is no longer a current child (merged or archived)', v_order[1];
    ELSIF identity.locked_status(v_order[2]) NOT IN ('active', 'held') THEN
        RAISE EXCEPTION '% is no longer a current child (merged or archived)', v_order[2];
    END IF;
    PERFORM identity.require_entitled(v_user, v_order);
    v_retired_records := identity.records_of(v_order[2]);
    IF cardinality(identity.records_of(v_order[1])) = 0 OR cardinality(v_retired_records) = 0 THEN
        RAISE EXCEPTION 'both children need a linked record to be merged';
    END IF;
    v_action := identity.start_action('merge', v_user.username, p_reason, v_order);
    v_decisions := identity.bind_children(v_order[1], v_order[2], v_user.username, p_reason, v_action);
    v_changes := identity.merge_into(v_order[1], v_order[2], v_action);
    v_changes := v_changes || jsonb_build_object('released', to_jsonb(identity.release_holds(v_order[1:1])));
    PERFORM identity.finish_action(v_action, 'merge', v_user, v_changes, v_order,
                                   jsonb_build_object('record_ids', to_jsonb(v_retired_records)));
    RETURN identity.outcome(v_action, 'merge', v_decisions, v_order[1], v_order[2]);
END $$;

-- Undo an earlier action: its decisions withdrawn and exactly what it changed put back (a merge's records go
-- back to the retired ID; a split's record goes back and its new ID is retired into its child; a decided pair
-- opens again; a released child is held again). Refused when a later change moved those records since.
CREATE OR REPLACE FUNCTION identity.steward_undo(p_session text, p_action_id bigint, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user    access.app_user := identity.acting_steward(p_session);
    v_row     identity.steward_action;
    c         jsonb;
    v_moved   bigint[];
    v_state   identity.child;
    v_undo    bigint;
    v_cp_ids  text[] := '{}';
    v_released text[];
BEGIN
    SELECT * INTO v_row FROM identity.steward_action a WHERE a.action_id = p_action_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no steward action %', p_action_id;
    ELSIF v_row.kind = 'undo' THEN
        RAISE EXCEPTION 'an undo cannot be undone: take the action again instead';
    ELSIF v_row.undone_at IS NOT NULL THEN
        RAISE EXCEPTION 'action % is already undone', p_action_id;
    END IF;
    c := v_row.changes;
    v_released := ARRAY(SELECT jsonb_array_elements_text(coalesce(c->'released', '[]')));
    PERFORM identity.require_entitled(v_user, ARRAY[c->>'kept', c->>'retired', c->>'from', c->>'new']
                                               || v_row.cp_ids || v_released);
    IF c ? 'retired' THEN
        v_moved := ARRAY(SELECT jsonb_array_elements_text(c->'moved')::bigint);
        SELECT * INTO v_state FROM identity.child ch WHERE ch.cp_id = c->>'retired' FOR UPDATE;
        IF NOT FOUND OR v_state.status <> 'merged' OR v_state.superseded_by IS DISTINCT FROM c->>'kept'
           OR (SELECT count(*) FROM identity.link l WHERE l.record_id = ANY(v_moved) AND l.cp_id = c->>'kept')
              <> cardinality(v_moved) THEN
            RAISE EXCEPTION '% changed after the merge (a later action or re-link): undo that first', c->>'kept';
        END IF;
    ELSIF c ? 'new' THEN
        IF identity.records_of(c->>'new') <> ARRAY[(c->>'record')::bigint]
           OR identity.locked_status(c->>'from') NOT IN ('active', 'held') THEN
            RAISE EXCEPTION '% changed after the split (a later action or re-link): undo that first', c->>'new';
        END IF;
    END IF;
    v_undo := identity.start_action('undo', v_user.username, p_reason, '{}', NULL, p_action_id);
    UPDATE identity.steward_decision SET undone_at = now() WHERE action_id = p_action_id;
    UPDATE identity.steward_action SET undone_at = now() WHERE action_id = p_action_id;
    IF c ? 'retired' THEN
        UPDATE identity.child SET status = coalesce(c->>'retired_status', 'active'), superseded_by = NULL
        WHERE cp_id = c->>'retired';
        IF c ? 'kept_status' THEN
            UPDATE identity.child SET status = c->>'kept_status'
            WHERE cp_id = c->>'kept' AND status IN ('active', 'held');
        END IF;
        PERFORM identity.steward_move(v_moved, c->>'retired', v_undo);
        PERFORM identity.needs_publish(ARRAY[c->>'kept', c->>'retired']);
        PERFORM directory.append_change('merge_undone', c->>'kept', c->>'retired');
        v_cp_ids := ARRAY[c->>'kept', c->>'retired'];
    ELSIF c ? 'new' THEN
        PERFORM identity.steward_move(ARRAY[(c->>'record')::bigint], c->>'from', v_undo);
        -- The split's ID is not reused: it points to the child its record went back to.
        UPDATE identity.child SET status = 'merged', superseded_by = c->>'from' WHERE cp_id = c->>'new';
        PERFORM identity.needs_publish(ARRAY[c->>'from']);
        PERFORM directory.append_change('split_undone', c->>'from', c->>'new');
        v_cp_ids := ARRAY[c->>'from', c->>'new'];
    END IF;
    IF cardinality(v_released) > 0 THEN
        UPDATE identity.child SET status = 'held' WHERE cp_id = ANY(v_released) AND status = 'active';
        PERFORM identity.needs_publish(v_released);
        IF cardinality(v_cp_ids) = 0 THEN
            v_cp_ids := v_released;
        END IF;
    END IF;
    IF c ? 'pair_id' AND jsonb_typeof(c->'pair_id') = 'number' THEN
        UPDATE identity.review_pair SET status = 'open' WHERE pair_id = (c->>'pair_id')::bigint;
        IF cardinality(v_cp_ids) = 0 THEN
            v_cp_ids := ARRAY(SELECT l.cp_id FROM identity.review_pair p
                              JOIN identity.link l ON l.record_id IN (p.record_a, p.record_b)
                              WHERE p.pair_id = (c->>'pair_id')::bigint ORDER BY l.record_id);
        END IF;
    END IF;
    PERFORM identity.finish_action(v_undo, 'undo', v_user, jsonb_build_object('undid', p_action_id), v_cp_ids,
                                   jsonb_build_object('undoes', p_action_id, 'undone_kind', v_row.kind));
    RETURN identity.outcome(v_undo, 'undo', '{}', coalesce(c->>'kept', c->>'from'), coalesce(c->>'retired', c->>'new'));
END $$;
