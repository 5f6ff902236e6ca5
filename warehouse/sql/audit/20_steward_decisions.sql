-- The steward-decision trigger of identity.steward_decision. Applied by migration 0022; created by 0004.
-- It stays the hub's, not cp_audit_owner's (it reads access.app_user), and appends through audit.append.
-- No grants: a trigger function runs for whoever inserts the decision.

-- Every steward decision is audited by the database itself, whoever wrote it. The reason is free
-- text (it may name a child), so only the decision's id and kind go into the log.
CREATE OR REPLACE FUNCTION audit.record_steward_decision() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM audit.append(NEW.steward,
                         coalesce((SELECT u.role FROM access.app_user u WHERE u.username = NEW.steward), 'steward'),
                         'steward_decision', NULL, NULL,
                         jsonb_build_object('decision_id', NEW.decision_id, 'decision', NEW.decision));
    RETURN NULL;
END $$;
