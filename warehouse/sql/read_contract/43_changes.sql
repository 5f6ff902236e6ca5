-- The change feed's reads: events after a cursor, and the API's one-statement read of them.
-- Applied by migration 0022; created by 0006, replaced by 0011 (changes_after) and 0013 (api_changes).
-- Not audited: an event carries no data about a child, and a poll every few seconds would bury the audit
-- log's reads. The feed is for front-end systems (the service role), not for people.

-- The feed as readers see it: events after a cursor, in order, at most 1000 a page (0006). It never names a
-- held child (one that might be shielded), nor an ID merged into one (0011): held means shielded.
CREATE OR REPLACE FUNCTION directory.changes_after(p_after bigint, p_limit integer)
RETURNS TABLE (change_id bigint, kind text, cp_id text, other_cp_id text, recorded_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.change_id, c.kind, c.cp_id, c.other_cp_id, c.recorded_at FROM directory.change c
    WHERE c.change_id > coalesce(p_after, 0)
      AND NOT EXISTS (SELECT 1 FROM identity.child h
                      WHERE h.cp_id IN (c.cp_id, c.other_cp_id)
                        AND (h.status = 'held' OR h.superseded_by IN (SELECT cp_id FROM identity.child
                                                                      WHERE status = 'held')))
    ORDER BY c.change_id
    LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
$$;

-- The change feed, for front-end systems' service accounts only (not audited per poll: signals only).
CREATE OR REPLACE FUNCTION directory.api_changes(p_session text, p_after bigint, p_limit integer,
                                      OUT status integer, OUT body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v record;
BEGIN
    body := access.api_unsigned(p_session);
    IF body IS NOT NULL THEN
        status := 401;
        RETURN;
    END IF;
    SELECT * INTO v FROM access.api_session(p_session);
    IF v.role IS DISTINCT FROM 'service' THEN
        status := 403;
        body := '{"detail": "not allowed: the change feed is for front-end systems"}';
        RETURN;
    END IF;
    SELECT jsonb_build_object(
               'data', coalesce(jsonb_agg(jsonb_build_object(
                   'cursor', c.change_id, 'kind', c.kind, 'cp_id', c.cp_id, 'other_cp_id', c.other_cp_id,
                   'recorded_at', to_char(c.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                   ORDER BY c.change_id), '[]'::jsonb),
               'count', count(*),
               'next_cursor', coalesce(max(c.change_id), greatest(coalesce(p_after, 0), 0)))::text
    INTO body FROM directory.changes_after(p_after, p_limit) c;
    status := 200;
END $$;

-- As 0006, 0011 and 0013 left them: the loader (the hub's own tools), and front-end systems as cp_service
-- or, through the API, cp_api (which may run directory.api_changes and nothing else of the feed).
GRANT EXECUTE ON FUNCTION directory.changes_after(bigint, integer) TO cp_loader, cp_service;
GRANT EXECUTE ON FUNCTION directory.api_changes(text, bigint, integer) TO cp_api;
