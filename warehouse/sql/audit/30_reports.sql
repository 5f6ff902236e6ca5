-- Reports for the auditor: a child's reads, a user's actions, unusual volumes, reading patterns (what
-- `contactpoint audit misuse --since` reviews). Definer functions: the auditor reads no table.
-- Applied by migration 0022; created by 0004 and 0011 (reading_patterns). They belong to cp_audit_owner (0011),
-- which CREATE OR REPLACE keeps; the hub's own user (the migrating role) may execute them too.

-- A child's reads (searches that listed them, records opened), oldest first.
CREATE OR REPLACE FUNCTION audit.reads_of_child(p_cp_id text)
RETURNS TABLE (entry_id bigint, occurred_at timestamptz, username text, user_role text, action text, purpose text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.entry_id, e.occurred_at, e.username, e.user_role, e.action, e.purpose
    FROM audit.entry e
    WHERE e.cp_id = p_cp_id AND e.action IN ('search', 'read_child')
    ORDER BY e.entry_id
$$;

-- Everything a user did (reads, sign-ins, steward decisions), oldest first.
CREATE OR REPLACE FUNCTION audit.reads_by_user(p_username text)
RETURNS TABLE (entry_id bigint, occurred_at timestamptz, user_role text, action text, cp_id text, purpose text,
               detail jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.entry_id, e.occurred_at, e.user_role, e.action, e.cp_id, e.purpose, e.detail
    FROM audit.entry e
    WHERE e.username = p_username
    ORDER BY e.entry_id
$$;

-- Users who saw more children since p_since than p_factor times the median of the users who read
-- at all in that window (a child in a search result counts as one read, like an opened record).
CREATE OR REPLACE FUNCTION audit.unusual_volumes(p_since timestamptz, p_factor numeric DEFAULT 3)
RETURNS TABLE (username text, reads bigint, median_reads double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH per_user AS (
        SELECT e.username, count(*) AS reads
        FROM audit.entry e
        WHERE e.occurred_at >= p_since AND e.action IN ('search', 'read_child')
        GROUP BY e.username
    ), median AS (
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p.reads) AS m FROM per_user p
    )
    SELECT p.username, p.reads, m.m
    FROM per_user p CROSS JOIN median m
    WHERE p.reads > p_factor * m.m
    ORDER BY p.reads DESC, p.username
$$;

-- What the misuse review reads: per person, reads since a time, the children read that the person
-- never found by a search first (an ID typed from elsewhere: a list, the change feed, a guess), reads
-- outside working hours (London time, 07:00-19:00 Monday to Friday) and reads refused for the budget.
CREATE OR REPLACE FUNCTION audit.reading_patterns(p_since timestamptz)
RETURNS TABLE (username text, user_role text, reads bigint, children bigint, unsearched bigint, off_hours bigint,
               budget_refusals bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH seen AS (
        SELECT e.username, e.user_role, e.action, e.cp_id, e.occurred_at, e.detail,
               (e.occurred_at AT TIME ZONE 'Europe/London') AS local_at
        FROM audit.entry e
        WHERE e.occurred_at >= p_since
          AND e.action IN ('read_child', 'search', 'read_refused', 'search_refused')
    ), reads AS (
        SELECT s.* FROM seen s WHERE s.action = 'read_child' AND s.cp_id IS NOT NULL
    )
    SELECT u.username, max(u.user_role),
           count(*) FILTER (WHERE u.action = 'read_child' AND u.cp_id IS NOT NULL),
           count(DISTINCT u.cp_id) FILTER (WHERE u.action = 'read_child'),
           (SELECT count(DISTINCT r.cp_id) FROM reads r WHERE r.username = u.username AND NOT EXISTS (
                SELECT 1 FROM audit.entry f WHERE f.username = r.username AND f.action = 'search'
                  AND f.cp_id = r.cp_id AND f.occurred_at <= r.occurred_at)),
           count(*) FILTER (WHERE u.action = 'read_child' AND u.cp_id IS NOT NULL
                            AND (extract(isodow FROM u.local_at) > 5 OR extract(hour FROM u.local_at) < 7
                                 OR extract(hour FROM u.local_at) >= 19)),
           count(*) FILTER (WHERE u.action IN ('read_refused', 'search_refused')
                            AND u.detail->>'reason' = 'read_budget')
    FROM seen u
    GROUP BY u.username
    ORDER BY u.username
$$;

GRANT EXECUTE ON FUNCTION audit.reads_of_child(text), audit.reads_by_user(text),
    audit.unusual_volumes(timestamptz, numeric), audit.reading_patterns(timestamptz) TO cp_auditor, CURRENT_USER;
