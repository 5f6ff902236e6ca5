-- Promoting a linkage model, for the steward a session signs in: who promoted it is the session's user,
-- written into the model's promotions by the database (matching.lifecycle re-links and audits after it).
-- p_model is used only for a version the store does not hold yet (the bundled model); p_bundled names the
-- bundled version, current while nothing has been promoted.
CREATE OR REPLACE FUNCTION identity.steward_promote(p_session text, p_version text, p_model jsonb, p_reason text,
                                                    p_run_id text, p_bundled text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user     access.app_user := identity.acting_steward(p_session);
    v_reason   text := identity.steward_reason(p_reason);
    v_previous text := coalesce((SELECT m.version FROM identity.model m WHERE m.promoted_at IS NOT NULL
                                 ORDER BY m.promoted_at DESC LIMIT 1), p_bundled);
    v_model    jsonb := coalesce((SELECT m.model FROM identity.model m WHERE m.version = p_version),
                                 CASE WHEN p_version = p_bundled THEN p_model END);
BEGIN
    IF v_model IS NULL THEN
        RAISE EXCEPTION 'no model version %', p_version;
    ELSIF p_version = v_previous THEN
        RAISE EXCEPTION '% is already the current model', p_version;
    END IF;
    v_model := jsonb_set(v_model, '{contactpoint_promotions}',
        coalesce(v_model->'contactpoint_promotions', '[]') || jsonb_build_object(
            'steward', v_user.username, 'reason', v_reason, 'previous', v_previous, 'run_id', p_run_id,
            'at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')));
    -- clock_timestamp, not now(): two promotions in one transaction must still be ordered.
    INSERT INTO identity.model (version, model, promoted_at) VALUES (p_version, v_model, clock_timestamp())
    ON CONFLICT (version) DO UPDATE SET promoted_at = clock_timestamp(), model = excluded.model;
    RETURN jsonb_build_object('username', v_user.username, 'role', v_user.role, 'previous', v_previous);
END $$;

REVOKE ALL ON FUNCTION identity.steward_promote(text, text, jsonb, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION identity.steward_promote(text, text, jsonb, text, text, text) TO cp_console, cp_steward;
