-- Whom to ask about a shielded child: the designated ContactPoint team of the child's local authority (its
-- newest record from a feed a local authority sends, or a UPN's LA number), else the national default.
-- Applied by migration 0020: which feeds a local authority sends is intake.feed's column now, not a list here.
CREATE OR REPLACE FUNCTION directory.shielded_contact(p_cp_id text) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    -- Without a row (even '*'), still the team, never an involvement.
    SELECT coalesce((
    SELECT jsonb_build_object('name', t.team_name, 'organisation', t.organisation, 'phone', t.phone)
    FROM directory.contactpoint_team t
    WHERE t.la_code = '*' OR t.la_code = (
        SELECT CASE WHEN f.sender_is_local_authority THEN s.sender
                    WHEN s.upn IS NOT NULL THEN substr(s.upn, 2, 3) END
        FROM identity.link l JOIN staging.source_record s ON s.record_id = l.record_id
             JOIN intake.feed f ON f.name = s.feed
        WHERE l.cp_id = p_cp_id AND (f.sender_is_local_authority OR s.upn IS NOT NULL)
        ORDER BY s.extract_time DESC NULLS LAST, s.record_id DESC LIMIT 1)
    ORDER BY t.la_code = '*' LIMIT 1),
    jsonb_build_object('name', 'ContactPoint team',
                       'organisation', 'the local authority''s designated ContactPoint team', 'phone', NULL))
$$;
