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
