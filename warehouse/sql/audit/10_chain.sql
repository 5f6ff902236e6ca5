-- The audit log's hash chain: the canonical text of an entry, its hash, the one way an entry is appended,
-- and the trigger that keeps audit.entry append-only. warehouse/audit.py recomputes the text and the hash
-- byte for byte (migration 0004's docstring says the canonical text field by field).
-- Applied by migration 0022; created by 0004, replaced by 0011 (refuse_change) and 0013 (append). The first
-- three have no SET clause (0013 took it off): not definer functions, called by audit.append, which pins
-- search_path, so the planner inlines them.
-- These belong to cp_audit_owner (0011), which nobody logs in as: CREATE OR REPLACE keeps that owner. Beside
-- it, the hub's own user (the migrating role) may execute each, and the loader may append.

-- One field of the canonical text: NULL is \N; backslash and | are escaped so fields cannot run together.
CREATE OR REPLACE FUNCTION audit.canonical_field(p_value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_value IS NULL THEN '\N'
                ELSE replace(replace(p_value, '\', '\\'), '|', '\|') END
$$;

-- entry_id|occurred_at|username|user_role|action|cp_id|purpose|detail, occurred_at in UTC with 6 digits.
CREATE OR REPLACE FUNCTION audit.canonical_text(p_entry_id bigint, p_occurred_at timestamptz, p_username text,
                                     p_user_role text, p_action text, p_cp_id text, p_purpose text,
                                     p_detail jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT p_entry_id::text
        || '|' || to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        || '|' || audit.canonical_field(p_username)
        || '|' || audit.canonical_field(p_user_role)
        || '|' || audit.canonical_field(p_action)
        || '|' || audit.canonical_field(p_cp_id)
        || '|' || audit.canonical_field(p_purpose)
        || '|' || audit.canonical_field(p_detail::text)
$$;

-- hex(sha256(prev_hash || '|' || canonical text)). STABLE, not IMMUTABLE (0018): an IMMUTABLE SQL function
-- is not inlined where its argument is only STABLE (the canonical text formats a timestamp), so every entry
-- ran it through the SQL-function executor; it is still a pure function of its arguments.
CREATE OR REPLACE FUNCTION audit.chain_hash(p_prev_hash text, p_canonical_text text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(p_prev_hash || '|' || p_canonical_text, 'UTF8')), 'hex')
$$;

-- The only way in. The log is 8 hash chains (lanes, 0013): lane k holds entry ids k * 10^15 + 1, + 2, ...
-- with no gap, each entry chained to the one before it in its lane (warehouse/audit.py's LANES and
-- LANE_SPAN). An append takes the lowest lane nobody holds, under advisory lock (7204313, lane): one lock held
-- until the caller's commit had reached the disk capped audited reads at ~385 a second, 8 lanes let 8 commits
-- share one flush. Lane 0 first: a quiet hub writes one chain, 1, 2, 3...
-- 7204313 is distinct from the migration lock (7204311) and warehouse.identity.LINK_LOCK (7204312).
CREATE OR REPLACE FUNCTION audit.append(p_username text, p_role text, p_action text, p_cp_id text, p_purpose text,
                                        p_detail jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_lane   integer := -1;
    v_id     bigint;
    v_prev   text;
    v_at     timestamptz;
    v_detail jsonb := coalesce(p_detail, '{}'::jsonb);
    v_role   text := coalesce(p_role, 'unknown');
BEGIN
    IF p_username IS NULL OR p_action IS NULL THEN
        RAISE EXCEPTION 'an audit entry needs a username and an action' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A lane this transaction already holds is taken again at once (the lock is re-entrant), so one
    -- transaction's entries stay in order; a lane is held until commit, so its head is always committed.
    FOR k IN 0..8 - 1 LOOP
        IF pg_try_advisory_xact_lock(7204313, k) THEN
            v_lane := k;
            EXIT;
        END IF;
    END LOOP;
    IF v_lane < 0 THEN
        v_lane := pg_backend_pid() % 8;
        PERFORM pg_advisory_xact_lock(7204313, v_lane);
    END IF;
    SELECT e.entry_id, e.entry_hash INTO v_id, v_prev FROM audit.entry e
    WHERE e.entry_id > v_lane * 1000000000000000 AND e.entry_id <= (v_lane + 1) * 1000000000000000
    ORDER BY e.entry_id DESC LIMIT 1;
    v_id := coalesce(v_id, v_lane * 1000000000000000) + 1;
    v_prev := coalesce(v_prev, repeat('0', 64));
    v_at := clock_timestamp();
    INSERT INTO audit.entry (entry_id, occurred_at, username, user_role, action, cp_id, purpose, detail,
                             prev_hash, entry_hash)
    OVERRIDING SYSTEM VALUE
    VALUES (v_id, v_at, p_username, v_role, p_action, p_cp_id, p_purpose, v_detail, v_prev,
            audit.chain_hash(v_prev, audit.canonical_text(v_id, v_at, p_username, v_role, p_action, p_cp_id,
                                                          p_purpose, v_detail)));
    RETURN v_id;
END $$;

-- audit.entry's triggers: every UPDATE, DELETE and TRUNCATE is refused, for every role including
-- superusers, and no setting switches that off (0011 took out the test suite's; it resets as a superuser in
-- replica mode, which no hub role can enter).
CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'audit.entry is append-only: % refused', TG_OP;
END $$;

GRANT EXECUTE ON FUNCTION audit.canonical_field(text),
    audit.canonical_text(bigint, timestamptz, text, text, text, text, text, jsonb), audit.chain_hash(text, text),
    audit.append(text, text, text, text, text, jsonb), audit.refuse_change() TO CURRENT_USER;
GRANT EXECUTE ON FUNCTION audit.append(text, text, text, text, text, jsonb) TO cp_loader;
