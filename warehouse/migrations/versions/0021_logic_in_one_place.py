"""The API reads open with one function, and the review queue asks ``intake.feed`` which feeds an LA sends (issue 16).

``directory.api_child_record`` and ``directory.api_search_children`` each opened with the same lines: the
purpose as given, its check (422), the session (401; an ended one audited as ``session_expired``) and the
reader's refusal (403, 429; audited under the route's refusal action). ``access.api_admission``
(``warehouse/sql/read_contract/10_child_record.sql``) is that opening once; both routes call it and then do
their own read. Same statuses, bodies and audit entries; one PL/pgSQL call more per API read, an assignment
as before (no query, no exception block).

``console.open_pairs`` (``warehouse/sql/functions/11_console_review.sql``) named the feeds a local authority
sends; it reads ``intake.feed``'s column now, as ``directory.shielded_contact`` does since 0020. It is PL/pgSQL
so that 0017, which creates it before ``intake.feed`` exists, still can.

The changed definitions stand in the files 0017, 0018 and 0019 apply (a fresh store gets them there and
again here); this migration applies them to a store already past those. The downgrade puts back the
definitions they replace, kept below as they stood, and drops ``access.api_admission``.

Revision ID: 0021
Revises: 0020
"""

from pathlib import Path

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[2] / "sql"
CHANGED = ["read_contract/10_child_record.sql", "read_contract/20_search.sql", "functions/11_console_review.sql"]

# The definitions the changed files replace, as they stood at 0020 (the downgrade's, to the letter: two of
# their lines are longer than this file's limit).
# ruff: noqa: E501
PREVIOUS = """
CREATE OR REPLACE FUNCTION directory.api_child_record(p_session text, p_purpose text, p_case_reference text,
                                                      p_cp_id text, OUT status integer, OUT body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_purpose text := p_purpose || coalesce(' case ' || p_case_reference, '');
    r         record;
    v_refusal record;
    v_status  integer;
    v_reason  text;
    v_message text;
    v_record  jsonb;
BEGIN
    IF NOT access.lawful_purpose(v_purpose) THEN  -- answered before anything is written
        status := 422;
        body := '{"detail": "purpose not allowed: give one of the purposes the law allows"}';
        RETURN;
    END IF;
    r := access.api_reader(p_session);  -- assignments, not queries: no executor started (see child_record_for)
    IF r.username IS NULL THEN
        status := 401;
        body := '{"detail": "unknown session token: sign in again"}';
        RETURN;
    ELSIF r.ended IS NOT NULL THEN
        PERFORM audit.append(r.username, r.role, 'session_expired', NULL, NULL, jsonb_build_object('reason', r.ended));
        status := 401;
        body := '{"detail": "session expired: sign in again"}';
        RETURN;
    END IF;
    v_refusal := access.read_refusal(r.username, r.role, r.reads_per_hour);
    v_status := v_refusal.status;
    v_reason := v_refusal.reason;
    v_message := v_refusal.message;
    IF v_status IS NULL THEN
        v_record := directory.child_record_for(r.username, r.role, r.may_see_shielded, r.may_see_sensitive,
                                               v_purpose, p_cp_id);
        IF v_record IS NOT NULL THEN
            status := 200;
            body := v_record::text;
            RETURN;
        END IF;
        v_status := 404;
        v_reason := 'no_such_child';
        v_message := 'no such child';
    END IF;
    PERFORM audit.append(r.username, r.role, 'read_refused', p_cp_id, v_purpose,
                         jsonb_build_object('reason', v_reason));
    status := v_status;
    body := jsonb_build_object('detail', v_message)::text;
END $$;
CREATE OR REPLACE FUNCTION directory.api_search_children(p_session text, p_purpose text, p_case_reference text,
                                                         p_family_name text, p_given_name text,
                                                         p_date_of_birth date, p_gender text, p_postcode text,
                                                         OUT status integer, OUT body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_purpose text := p_purpose || coalesce(' case ' || p_case_reference, '');
    r         record;
    v_refusal record;
    v_search  record;
    v_status  integer;
    v_reason  text;
    v_message text;
BEGIN
    IF NOT access.lawful_purpose(v_purpose) THEN  -- answered before anything is written
        status := 422;
        body := '{"detail": "purpose not allowed: give one of the purposes the law allows"}';
        RETURN;
    END IF;
    r := access.api_reader(p_session);  -- assignments, not queries: no executor started
    IF r.username IS NULL THEN
        status := 401;
        body := '{"detail": "unknown session token: sign in again"}';
        RETURN;
    ELSIF r.ended IS NOT NULL THEN
        PERFORM audit.append(r.username, r.role, 'session_expired', NULL, NULL, jsonb_build_object('reason', r.ended));
        status := 401;
        body := '{"detail": "session expired: sign in again"}';
        RETURN;
    END IF;
    v_refusal := access.read_refusal(r.username, r.role, r.reads_per_hour);
    v_status := v_refusal.status;
    v_reason := v_refusal.reason;
    v_message := v_refusal.message;
    IF v_status IS NULL THEN
        v_search := directory.search_for(r.username, r.role, r.may_see_shielded, v_purpose, p_family_name,
                                         p_given_name, p_date_of_birth, p_gender, p_postcode);
        IF v_search.reason IS NULL THEN
            status := 200;
            body := jsonb_build_object('data', v_search.matches,
                                       'count', jsonb_array_length(v_search.matches))::text;
            RETURN;
        END IF;
        v_status := 400;
        v_reason := v_search.reason;
        v_message := v_search.message;
    END IF;
    PERFORM audit.append(r.username, r.role, 'search_refused', NULL, v_purpose, jsonb_build_object('reason', v_reason));
    status := v_status;
    body := jsonb_build_object('detail', v_message)::text;
END $$;
CREATE OR REPLACE FUNCTION console.open_pairs(p_link_threshold double precision)
RETURNS TABLE (pair_id bigint, record_a bigint, record_b bigint, match_weight double precision, reason text,
               cp_a text, cp_b text, feed_a text, feed_b text, la_a text, la_b text, shielded boolean,
               distance double precision)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH shielded_child AS (
        SELECT DISTINCT l.cp_id FROM staging.source_record s JOIN identity.link l ON l.record_id = s.record_id
        WHERE s.restricted
        UNION SELECT cp_id FROM identity.child WHERE status = 'held')
    SELECT p.pair_id, p.record_a, p.record_b, p.match_weight, p.reason, la.cp_id, lb.cp_id, sa.feed, sb.feed,
           CASE WHEN sa.feed IN ('connexions', 'ics') THEN sa.sender WHEN sa.upn IS NOT NULL THEN substr(sa.upn, 2, 3) END,
           CASE WHEN sb.feed IN ('connexions', 'ics') THEN sb.sender WHEN sb.upn IS NOT NULL THEN substr(sb.upn, 2, 3) END,
           (la.cp_id IN (SELECT cp_id FROM shielded_child) OR lb.cp_id IN (SELECT cp_id FROM shielded_child)),
           abs(p.match_weight - p_link_threshold)
    FROM identity.review_pair p
    JOIN identity.link la ON la.record_id = p.record_a JOIN identity.link lb ON lb.record_id = p.record_b
    JOIN staging.source_record sa ON sa.record_id = p.record_a
    JOIN staging.source_record sb ON sb.record_id = p.record_b
    WHERE p.status = 'open' AND la.cp_id <> lb.cp_id
$$;
"""

DOWNGRADE = """
DROP FUNCTION access.api_admission(text, text, text, text, text);
"""


def upgrade() -> None:
    for name in CHANGED:
        op.execute((SQL / name).read_text())


def downgrade() -> None:
    op.execute(PREVIOUS)
    op.execute(DOWNGRADE)
