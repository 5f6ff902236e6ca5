-- identity.steward_action's trigger: an action naming a shielded child (identity.shielded_child: held means
-- shielded) is refused unless the steward is an enabled steward entitled to shielded children, whoever writes
-- the row; and when the transaction names a session (contactpoint.session, set by the console), the action
-- must be that session's user's.
-- Applied by migration 0022; created by 0011.

CREATE OR REPLACE FUNCTION identity.check_steward_action() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_session text := nullif(current_setting('contactpoint.session', true), '');
    v_user    access.app_user;
BEGIN
    IF v_session IS NOT NULL AND access.session_username(v_session) IS DISTINCT FROM NEW.steward THEN
        RAISE EXCEPTION 'not allowed: a steward acts only in their own session'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(NEW.cp_ids) AS c(cp_id) WHERE identity.shielded_child(c.cp_id)) THEN
        SELECT * INTO v_user FROM access.app_user u WHERE u.username = NEW.steward;
        IF NOT FOUND OR v_user.disabled OR v_user.role <> 'steward' OR NOT v_user.may_see_shielded THEN
            RAISE EXCEPTION 'this concerns a shielded child: it needs a steward entitled to see shielded children'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END $$;

GRANT EXECUTE ON FUNCTION identity.check_steward_action() TO cp_steward, cp_loader;
