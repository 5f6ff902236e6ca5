-- The console's role may run the console's entries and nothing else of the schema: the statements behind
-- them, which take an entitlement instead of a session, are the owner's alone (the hub's own tools).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA console FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    console.session_ended(text), console.audit_view(text, text, text[], jsonb),
    console.review_entries(text, text, text, double precision, integer, integer),
    console.review_pairs(text, bigint[], double precision),
    console.source_records(text, bigint[]), console.pair_detail(text, bigint), console.identity_history(text, text),
    console.action_cp_ids(text, bigint),
    console.model_versions(text), console.current_model(text), console.model(text, text), console.labels(text),
    console.canonical_records(text, bigint[]), console.review_pair_index(text), console.children_of(text, bigint[]),
    console.store_fingerprint(text),
    console.glance_feeds(text), console.glance_facts(text), console.sender_summaries(text, text, integer, integer),
    console.files(text, bigint, text, text, integer, integer), console.receipt(text, bigint),
    console.quarantine(text, text, bigint, boolean, integer, integer, integer), console.daily_volumes(text, integer),
    console.universal_services(text, date)
TO cp_console;

-- The console's own login (CONTACTPOINT_CONSOLE_DATABASE_URL; by default the store's URL as this user): a
-- member of nothing, owning and reading no table, executing exactly what cp_console executes (the session
-- functions, the steward actions and the reads above). Its requests cannot SET ROLE back to the owner.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cp_console_login') THEN
        BEGIN
            CREATE ROLE cp_console_login LOGIN NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it a moment ago
        END;
    END IF;
END $$;
GRANT USAGE ON SCHEMA access, identity, console TO cp_console_login;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             WHERE EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a
                           WHERE a.grantee = 'cp_console'::regrole AND a.privilege_type = 'EXECUTE') LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO cp_console_login', f);
    END LOOP;
END $$;
