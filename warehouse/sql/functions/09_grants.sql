-- The steward actions are the console's only way to change identities: cp_console (and cp_steward, for a
-- steward's own login) may call the session-taking actions and nothing else of identity; the steps they are
-- made of, and the tool session, are the owner's alone.
REVOKE ALL ON FUNCTION
    identity.acting_steward(text), identity.require_entitled(access.app_user, text[]), access.tool_session(text),
    identity.steward_reason(text), identity.records_of(text), identity.child_of(bigint),
    identity.locked_status(text), identity.older_first(text, text), identity.steward_move(bigint[], text, bigint),
    identity.needs_publish(text[]), identity.release_holds(text[]),
    identity.start_action(text, text, text, text[], bigint, bigint),
    identity.finish_action(bigint, text, access.app_user, jsonb, text[], jsonb),
    identity.record_decision(bigint, bigint, text, text, text, bigint),
    identity.merge_into(text, text, bigint), identity.bind_children(text, text, text, text, bigint, bigint[]),
    identity.open_pair(bigint), identity.outcome(bigint, text, bigint[], text, text, text),
    identity.link_pair_by(access.app_user, bigint, text), identity.keep_apart_by(access.app_user, bigint, text),
    identity.steward_link(text, bigint, text), identity.steward_keep_apart(text, bigint, text),
    identity.steward_decide_entry(text, bigint, text, text, double precision),
    identity.steward_split(text, bigint, text), identity.steward_merge(text, text, text, text),
    identity.steward_undo(text, bigint, text)
FROM PUBLIC;
GRANT USAGE ON SCHEMA identity TO cp_console;
GRANT EXECUTE ON FUNCTION
    identity.steward_link(text, bigint, text), identity.steward_keep_apart(text, bigint, text),
    identity.steward_decide_entry(text, bigint, text, text, double precision),
    identity.steward_split(text, bigint, text), identity.steward_merge(text, text, text, text),
    identity.steward_undo(text, bigint, text)
TO cp_console, cp_steward;
