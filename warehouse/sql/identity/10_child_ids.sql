-- ContactPoint IDs carry no sequence: nine random digits (from the server's strong random source, via
-- gen_random_uuid) and the check letter of matching.identity; unique by the primary key, a clash is drawn
-- again. Which child is older (the one a merge keeps) is identity.child.seq, not read from the ID.
-- Applied by migration 0022; created by 0011.

-- The check letter of nine digits, as matching.identity computes it.
CREATE OR REPLACE FUNCTION identity.check_letter(p_digits text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT substr('ABCDEFGHJKLMNPQRTUVWXYZ',
                  (SELECT sum(substr(p_digits, i, 1)::integer * i) FROM generate_series(1, 9) AS i)::integer % 23 + 1,
                  1)
$$;

-- p_count new children, each with a new ID.
CREATE OR REPLACE FUNCTION identity.new_children(p_count integer) RETURNS SETOF text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_missing integer := coalesce(p_count, 0);
    v_made    integer;
BEGIN
    -- Set-based: a first national load mints a million IDs in one statement, not a million inserts;
    -- the few that clash (or repeat within a draw) are drawn again.
    WHILE v_missing > 0 LOOP
        RETURN QUERY
        WITH drawn AS (
            SELECT lpad((('x' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 15))::bit(60)::bigint
                         % 1000000000)::text, 9, '0') AS digits
            FROM generate_series(1, v_missing)
        ), made AS (
            INSERT INTO identity.child (cp_id)
            SELECT DISTINCT 'CP' || digits || identity.check_letter(digits) FROM drawn
            ON CONFLICT (cp_id) DO NOTHING RETURNING cp_id
        )
        SELECT cp_id FROM made;
        GET DIAGNOSTICS v_made = ROW_COUNT;
        v_missing := v_missing - v_made;
    END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION identity.check_letter(text), identity.new_children(integer) TO cp_loader;
