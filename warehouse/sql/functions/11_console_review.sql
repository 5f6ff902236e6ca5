-- The stewards' review queue: open record pairs between two children, grouped into entries (one question
-- per pair of children), with the counts a steward plans by. The order and the masking of shielded pairs
-- are decided here (warehouse/review_queue.py says why); held means shielded.

-- Every open pair whose records are in two children, with feeds, local authorities (docs/feeds.md: the
-- sender of a feed a local authority sends, intake.feed says which, else characters 2-4 of the UPN), shielding
-- and distance to the link threshold. PL/pgSQL, not SQL, for migration 0017, which creates it before
-- intake.feed exists (0020): a SQL function's body is checked against the tables when it is created.
CREATE OR REPLACE FUNCTION console.open_pairs(p_link_threshold double precision)
RETURNS TABLE (pair_id bigint, record_a bigint, record_b bigint, match_weight double precision, reason text,
               cp_a text, cp_b text, feed_a text, feed_b text, la_a text, la_b text, shielded boolean,
               distance double precision)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH shielded_child AS (
        SELECT DISTINCT l.cp_id FROM staging.source_record s JOIN identity.link l ON l.record_id = s.record_id
        WHERE s.restricted
        UNION SELECT cp_id FROM identity.child WHERE status = 'held')
    SELECT p.pair_id, p.record_a, p.record_b, p.match_weight, p.reason, la.cp_id, lb.cp_id, sa.feed, sb.feed,
           CASE WHEN fa.sender_is_local_authority THEN sa.sender WHEN sa.upn IS NOT NULL THEN substr(sa.upn, 2, 3) END,
           CASE WHEN fb.sender_is_local_authority THEN sb.sender WHEN sb.upn IS NOT NULL THEN substr(sb.upn, 2, 3) END,
           (la.cp_id IN (SELECT cp_id FROM shielded_child) OR lb.cp_id IN (SELECT cp_id FROM shielded_child)),
           abs(p.match_weight - p_link_threshold)
    FROM identity.review_pair p
    JOIN identity.link la ON la.record_id = p.record_a JOIN identity.link lb ON lb.record_id = p.record_b
    JOIN staging.source_record sa ON sa.record_id = p.record_a
    JOIN staging.source_record sb ON sb.record_id = p.record_b
    JOIN intake.feed fa ON fa.name = sa.feed JOIN intake.feed fb ON fb.name = sb.feed
    WHERE p.status = 'open' AND la.cp_id <> lb.cp_id;
END $$;

-- A page of entries and every count, in one statement (the entries are computed once): rows of kind 'row'
-- (n: position), 'total', 'shielded', 'record_pairs', 'feed' and 'la'. For a steward not entitled to
-- shielded children (p_all_shielded false) a shielded entry counts only in the unfiltered totals, and its
-- children's IDs are not returned.
CREATE OR REPLACE FUNCTION console.review_entry_rows(p_feed text, p_la text, p_all_shielded boolean,
                                                     p_link_threshold double precision, p_limit integer,
                                                     p_offset integer)
RETURNS TABLE (kind text, key text, n bigint, child_1 text, child_2 text, shielded boolean, pair_ids bigint[])
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH open_pair AS (SELECT * FROM console.open_pairs(p_link_threshold)),
    entry AS (
        -- Every open pair between the same two children is one entry; the filter picks entries by any of them.
        SELECT least(cp_a, cp_b) AS child_1, greatest(cp_a, cp_b) AS child_2, bool_or(o.shielded) AS shielded,
               min(distance) AS distance, count(*) AS record_pairs,
               array_agg(o.pair_id ORDER BY distance, o.pair_id) AS pair_ids,
               array_agg(feed_a) || array_agg(feed_b) AS feeds, array_agg(la_a) || array_agg(la_b) AS las
        FROM open_pair o GROUP BY 1, 2
        HAVING bool_or((p_feed IS NULL OR p_feed IN (feed_a, feed_b)) AND (p_la IS NULL OR p_la IN (la_a, la_b)))
           -- A filter must not tell an unentitled steward where a shielded child is known.
           AND (p_all_shielded OR NOT bool_or(o.shielded) OR (p_feed IS NULL AND p_la IS NULL)))
    SELECT 'row', NULL, position,
           CASE WHEN p_all_shielded OR NOT page.shielded THEN page.child_1 END,
           CASE WHEN p_all_shielded OR NOT page.shielded THEN page.child_2 END, page.shielded, page.pair_ids
    FROM (SELECT row_number() OVER (ORDER BY e.shielded DESC, e.distance, e.pair_ids[1]) AS position, e.*
          FROM entry e ORDER BY e.shielded DESC, e.distance, e.pair_ids[1] LIMIT p_limit OFFSET p_offset) page
    UNION ALL SELECT 'total', NULL, count(*), NULL, NULL, NULL, NULL FROM entry
    UNION ALL SELECT 'shielded', NULL, count(*), NULL, NULL, NULL, NULL FROM entry e WHERE e.shielded
    UNION ALL SELECT 'record_pairs', NULL, coalesce(sum(record_pairs), 0), NULL, NULL, NULL, NULL FROM entry
    UNION ALL SELECT 'feed', f, count(*), NULL, NULL, NULL, NULL
              FROM (SELECT DISTINCT e.child_1, e.child_2, f FROM entry e, unnest(e.feeds) f
                    WHERE p_all_shielded OR NOT e.shielded) x GROUP BY f
    UNION ALL SELECT 'la', a, count(*), NULL, NULL, NULL, NULL
              FROM (SELECT DISTINCT e.child_1, e.child_2, a FROM entry e, unnest(e.las) a
                    WHERE a IS NOT NULL AND (p_all_shielded OR NOT e.shielded)) y GROUP BY a
$$;

-- The record pairs behind a page's entries, by key (the queue is not evaluated again). For a steward not
-- entitled to shielded children, a pair touching a shielded or held child comes back without IDs or feeds.
CREATE OR REPLACE FUNCTION console.review_pair_rows(p_ids bigint[], p_all_shielded boolean,
                                                    p_link_threshold double precision)
RETURNS TABLE (pair_id bigint, record_a bigint, record_b bigint, cp_a text, cp_b text, feed_a text, feed_b text,
               match_weight double precision, reason text, distance double precision)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.pair_id, p.record_a, p.record_b, CASE WHEN v.shown THEN la.cp_id END, CASE WHEN v.shown THEN lb.cp_id END,
           CASE WHEN v.shown THEN sa.feed END, CASE WHEN v.shown THEN sb.feed END, p.match_weight, p.reason,
           abs(p.match_weight - p_link_threshold)
    FROM identity.review_pair p
    JOIN identity.link la ON la.record_id = p.record_a JOIN identity.link lb ON lb.record_id = p.record_b
    JOIN staging.source_record sa ON sa.record_id = p.record_a
    JOIN staging.source_record sb ON sb.record_id = p.record_b
    CROSS JOIN LATERAL (SELECT p_all_shielded OR NOT (identity.shielded_child(la.cp_id)
                                                     OR identity.shielded_child(lb.cp_id)) AS shown) v
    WHERE p.pair_id = ANY (p_ids)
$$;

-- The console's entries to the queue: a steward's session, the entitlement taken from it.
CREATE OR REPLACE FUNCTION console.review_entries(p_session text, p_feed text, p_la text,
                                                  p_link_threshold double precision, p_limit integer, p_offset integer)
RETURNS TABLE (kind text, key text, n bigint, child_1 text, child_2 text, shielded boolean, pair_ids bigint[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user := console.reader(p_session, ARRAY['steward']);
BEGIN
    RETURN QUERY SELECT * FROM console.review_entry_rows(p_feed, p_la, v.may_see_shielded, p_link_threshold,
                                                         p_limit, p_offset);
END $$;

CREATE OR REPLACE FUNCTION console.review_pairs(p_session text, p_ids bigint[], p_link_threshold double precision)
RETURNS TABLE (pair_id bigint, record_a bigint, record_b bigint, cp_a text, cp_b text, feed_a text, feed_b text,
               match_weight double precision, reason text, distance double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user := console.reader(p_session, ARRAY['steward']);
BEGIN
    RETURN QUERY SELECT * FROM console.review_pair_rows(p_ids, v.may_see_shielded, p_link_threshold);
END $$;
