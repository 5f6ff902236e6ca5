-- Linking and keeping apart review pairs, for the steward a session signs in (matching.stewardship).

-- The two records of a review pair are one child: a must-link, and their two children merge now (the
-- older ID kept, must-links binding all the merged child's records).
CREATE OR REPLACE FUNCTION identity.link_pair_by(p_user access.app_user, p_pair_id bigint, p_reason text)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_records   bigint[] := identity.open_pair(p_pair_id);
    v_cp_a      text := identity.child_of(v_records[1]);
    v_cp_b      text := identity.child_of(v_records[2]);
    v_action    bigint;
    v_decisions bigint[];
    v_changes   jsonb := jsonb_build_object('pair_id', p_pair_id);
    v_order     text[];
    v_kept      text;
    v_retired   text;
BEGIN
    PERFORM identity.require_entitled(p_user, ARRAY[v_cp_a, v_cp_b]);
    v_action := identity.start_action('link', p_user.username, p_reason, ARRAY[v_cp_a, v_cp_b], p_pair_id);
    v_decisions := ARRAY[identity.record_decision(v_records[1], v_records[2], 'must_link', p_user.username,
                                                  p_reason, v_action)];
    IF v_cp_a <> v_cp_b THEN
        v_order := identity.older_first(v_cp_a, v_cp_b);
        v_kept := v_order[1];
        v_retired := v_order[2];
        v_decisions := v_decisions || identity.bind_children(v_kept, v_retired, p_user.username, p_reason, v_action,
                                                             v_records);
        v_changes := v_changes || identity.merge_into(v_kept, v_retired, v_action);
    END IF;
    v_changes := v_changes || jsonb_build_object('released', to_jsonb(identity.release_holds(
        ARRAY(SELECT c FROM unnest(ARRAY[v_cp_a, v_cp_b]) AS c WHERE c IS DISTINCT FROM v_retired))));
    PERFORM identity.finish_action(v_action, 'link', p_user, v_changes,
                                   CASE WHEN v_retired IS NULL THEN ARRAY[v_cp_a] ELSE ARRAY[v_kept, v_retired] END,
                                   jsonb_build_object('pair_id', p_pair_id, 'record_ids', to_jsonb(v_records)));
    RETURN identity.outcome(v_action, 'link', v_decisions, v_kept, v_retired);
END $$;

-- The two records of a review pair are different children: a cannot-link; their children stay apart.
CREATE OR REPLACE FUNCTION identity.keep_apart_by(p_user access.app_user, p_pair_id bigint, p_reason text)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_records  bigint[] := identity.open_pair(p_pair_id);
    v_cp_a     text := identity.child_of(v_records[1]);
    v_cp_b     text := identity.child_of(v_records[2]);
    v_action   bigint;
    v_decision bigint;
BEGIN
    IF v_cp_a = v_cp_b THEN
        RAISE EXCEPTION 'both records already belong to %: split a record out of that child instead', v_cp_a;
    END IF;
    PERFORM identity.require_entitled(p_user, ARRAY[v_cp_a, v_cp_b]);
    v_action := identity.start_action('keep_apart', p_user.username, p_reason, ARRAY[v_cp_a, v_cp_b], p_pair_id);
    v_decision := identity.record_decision(v_records[1], v_records[2], 'cannot_link', p_user.username, p_reason,
                                           v_action);
    PERFORM identity.finish_action(v_action, 'keep_apart', p_user,
        jsonb_build_object('pair_id', p_pair_id,
                           'released', to_jsonb(identity.release_holds(ARRAY[v_cp_a, v_cp_b]))),
        ARRAY[v_cp_a, v_cp_b], jsonb_build_object('pair_id', p_pair_id, 'record_ids', to_jsonb(v_records)));
    RETURN identity.outcome(v_action, 'keep_apart', ARRAY[v_decision]);
END $$;

CREATE OR REPLACE FUNCTION identity.steward_link(p_session text, p_pair_id bigint, p_reason text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT identity.link_pair_by(identity.acting_steward(p_session), p_pair_id, p_reason)
$$;

CREATE OR REPLACE FUNCTION identity.steward_keep_apart(p_session text, p_pair_id bigint, p_reason text)
RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT identity.keep_apart_by(identity.acting_steward(p_session), p_pair_id, p_reason)
$$;

-- An entry of the queue (every open record pair between the same two children) answered at once: the
-- pair named first (a link merges the children there; its must-links may close some of the others,
-- which are skipped), then the others nearest the link threshold first. Returns each pair's outcome.
CREATE OR REPLACE FUNCTION identity.steward_decide_entry(p_session text, p_pair_id bigint, p_decision text,
                                                         p_reason text, p_link_threshold double precision)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user     access.app_user := identity.acting_steward(p_session);
    v_pairs    bigint[];
    v_pair     bigint;
    v_outcomes jsonb := '[]';
BEGIN
    IF p_decision NOT IN ('link', 'keep_apart') THEN
        RAISE EXCEPTION 'decide link or keep_apart, not %', p_decision;
    END IF;
    SELECT array_agg(o.pair_id ORDER BY o.pair_id = p_pair_id DESC, abs(o.match_weight - p_link_threshold), o.pair_id)
    INTO v_pairs
    FROM identity.review_pair me
    JOIN identity.link ma ON ma.record_id = me.record_a JOIN identity.link mb ON mb.record_id = me.record_b
    JOIN identity.review_pair o ON o.status = 'open'
    JOIN identity.link la ON la.record_id = o.record_a JOIN identity.link lb ON lb.record_id = o.record_b
    WHERE me.pair_id = p_pair_id AND me.status = 'open' AND ma.cp_id <> mb.cp_id AND la.cp_id <> lb.cp_id
      AND least(la.cp_id, lb.cp_id) = least(ma.cp_id, mb.cp_id)
      AND greatest(la.cp_id, lb.cp_id) = greatest(ma.cp_id, mb.cp_id);
    FOREACH v_pair IN ARRAY coalesce(v_pairs, ARRAY[p_pair_id]) LOOP
        CONTINUE WHEN v_pair <> p_pair_id
                      AND (SELECT p.status FROM identity.review_pair p WHERE p.pair_id = v_pair) <> 'open';
        v_outcomes := v_outcomes || CASE p_decision WHEN 'link' THEN identity.link_pair_by(v_user, v_pair, p_reason)
                                                    ELSE identity.keep_apart_by(v_user, v_pair, p_reason) END;
    END LOOP;
    RETURN v_outcomes;
END $$;
