-- The operations pages (data team and stewards): the day at a glance, senders and their files, receipts,
-- quarantined rows' reasons (never their values), daily volumes and the universal services report.

CREATE OR REPLACE FUNCTION console.glance_feed_rows()
RETURNS TABLE (feed text, files bigint, rejected bigint, rows_read bigint, rows_loaded bigint,
               rows_quarantined bigint, rows_withheld bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT f.feed, count(*), count(*) FILTER (WHERE f.status = 'rejected'), coalesce(sum(f.rows_read), 0),
           coalesce(sum(f.rows_loaded), 0), coalesce(sum(f.rows_quarantined), 0), coalesce(sum(f.rows_withheld), 0)
    FROM intake.file f WHERE f.received_at > now() - interval '1 day' GROUP BY f.feed ORDER BY f.feed
$$;

CREATE OR REPLACE FUNCTION console.glance_fact_rows()
RETURNS TABLE (waiting bigint, quarantined bigint, last_link timestamptz, last_publish timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (SELECT count(*) FROM intake.file WHERE status = 'received'),
           (SELECT count(*) FROM intake.quarantined_row WHERE released_at IS NULL),
           greatest((SELECT max(linked_at) FROM identity.link), (SELECT max(changed_at) FROM identity.link_history)),
           (SELECT max(updated_at) FROM directory.child)
$$;

-- Per feed and sender the totals over all their files and their newest file, a page at a time.
CREATE OR REPLACE FUNCTION console.sender_summary_rows(p_feed text, p_limit integer, p_offset integer)
RETURNS TABLE (feed text, sender text, files bigint, rejected_files bigint, read bigint, loaded bigint,
               quarantined bigint, withheld bigint, rejected bigint, last_received timestamptz, newest_file_id bigint,
               newest_file_name text, newest_status text, total bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT f.feed, f.sender, count(*), count(*) FILTER (WHERE f.status = 'rejected'),
           sum(f.rows_read), sum(f.rows_loaded), sum(f.rows_quarantined), sum(f.rows_withheld),
           coalesce(sum(f.rows_read) FILTER (WHERE f.status = 'rejected'), 0), max(f.received_at),
           (array_agg(f.file_id ORDER BY f.extract_time DESC NULLS LAST, f.file_id DESC))[1],
           (array_agg(f.file_name ORDER BY f.extract_time DESC NULLS LAST, f.file_id DESC))[1],
           (array_agg(f.status ORDER BY f.extract_time DESC NULLS LAST, f.file_id DESC))[1],
           count(*) OVER ()
    FROM intake.file f WHERE p_feed IS NULL OR f.feed = p_feed
    GROUP BY f.feed, f.sender ORDER BY f.feed, f.sender NULLS LAST LIMIT p_limit OFFSET p_offset
$$;

-- Files, newest extract first: one file (p_file_id) or one feed's sender's, a page at a time. total: how many
-- files match, on every row; with no file on the page, one row with only total.
CREATE OR REPLACE FUNCTION console.file_rows(p_file_id bigint, p_feed text, p_sender text, p_limit integer,
                                             p_offset integer)
RETURNS TABLE (file_id bigint, feed text, sender text, file_name text, status text, reason text, read integer,
               loaded integer, quarantined integer, withheld integer, warned integer, out_of_scope integer,
               received_at timestamptz, extract_time timestamptz, duplicates bigint, total bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH chosen AS (
        SELECT f.* FROM intake.file f
        WHERE CASE WHEN p_file_id IS NOT NULL THEN f.file_id = p_file_id
                   ELSE f.feed = p_feed AND f.sender IS NOT DISTINCT FROM p_sender END)
    SELECT page.file_id, page.feed, page.sender, page.file_name, page.status, page.reason, page.rows_read,
           page.rows_loaded, page.rows_quarantined, page.rows_withheld, page.rows_warned, page.rows_out_of_scope,
           page.received_at, page.extract_time,
           (SELECT count(*) FROM intake.duplicate_delivery d WHERE d.file_id = page.file_id), counted.total
    FROM (SELECT count(*) AS total FROM chosen) counted
    LEFT JOIN LATERAL (SELECT * FROM chosen c ORDER BY c.extract_time DESC NULLS LAST, c.file_id DESC
                       LIMIT p_limit OFFSET p_offset) page ON true
    ORDER BY page.extract_time DESC NULLS LAST, page.file_id DESC
$$;

CREATE OR REPLACE FUNCTION console.receipt_body(p_file_id bigint) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.body FROM intake.receipt r WHERE r.file_id = p_file_id
$$;

-- Quarantine reasons by file, row and field, newest file first; released rows only when asked. total: the
-- reasons counted, up to p_count_limit + 1 (NULL: all), on every row; with none on the page, one row with
-- only total. Never a row's values.
CREATE OR REPLACE FUNCTION console.quarantine_rows(p_feed text, p_file_id bigint, p_released boolean,
                                                   p_count_limit integer, p_limit integer, p_offset integer)
RETURNS TABLE (file_id bigint, feed text, sender text, file_name text, row_number integer, field text,
               reason text, released boolean, total bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH issue AS (
        SELECT f.file_id, f.feed, f.sender, f.file_name, i.row_number, i.field, i.reason,
               q.released_at IS NOT NULL AS released
        FROM intake.row_issue i JOIN intake.file f ON f.file_id = i.file_id
        LEFT JOIN intake.quarantined_row q ON q.file_id = i.file_id AND q.row_number = i.row_number
        WHERE i.kind = 'quarantined' AND (p_feed IS NULL OR f.feed = p_feed)
          AND (p_file_id IS NULL OR f.file_id = p_file_id) AND (p_released OR q.released_at IS NULL))
    SELECT page.file_id, page.feed, page.sender, page.file_name, page.row_number, page.field, page.reason,
           page.released, counted.total
    FROM (SELECT count(*) AS total FROM (SELECT 1 FROM issue LIMIT p_count_limit + 1) x) counted
    LEFT JOIN LATERAL (SELECT * FROM issue ORDER BY issue.file_id DESC, issue.row_number, issue.field
                       LIMIT p_limit OFFSET p_offset) page ON true
    ORDER BY page.file_id DESC, page.row_number, page.field
$$;

-- Per feed and day, the p_days days up to the latest day any file arrived (UTC): files, rows read and
-- quarantined, files rejected. Days without a file have no row.
CREATE OR REPLACE FUNCTION console.daily_volume_rows(p_days integer)
RETURNS TABLE (feed text, day date, files bigint, read bigint, quarantined bigint, rejected_files bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH last AS (SELECT max((received_at AT TIME ZONE 'UTC')::date) AS day FROM intake.file)
    SELECT f.feed, (f.received_at AT TIME ZONE 'UTC')::date, count(*), coalesce(sum(f.rows_read), 0),
           coalesce(sum(f.rows_quarantined), 0), count(*) FILTER (WHERE f.status = 'rejected')
    FROM intake.file f, last
    WHERE (f.received_at AT TIME ZONE 'UTC')::date BETWEEN last.day - (p_days - 1) AND last.day
    GROUP BY 1, 2
$$;

-- Universal services by local authority as of a date (warehouse/reports.py says how a child's LA is found
-- and what compulsory school age is taken to be).
CREATE OR REPLACE FUNCTION console.universal_service_rows(p_as_of date)
RETURNS TABLE (la text, children bigint, school_age bigint, no_school bigint, no_gp bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH current AS (
        SELECT c.cp_id, c.date_of_birth, split_part(c.postcode, ' ', 1) AS district,
               bool_or(i.kind = 'education' AND (i.ended_on IS NULL OR i.ended_on > p_as_of)) AS has_school,
               bool_or(i.kind = 'primary_care' AND (i.ended_on IS NULL OR i.ended_on > p_as_of)) AS has_gp,
               min(left(i.organisation_code, 3)) FILTER (
                   WHERE i.kind = 'education' AND (i.ended_on IS NULL OR i.ended_on > p_as_of)) AS school_la,
               min(i.organisation_code) FILTER (WHERE i.kind IN ('connexions', 'social_care', 'other')
                                                AND i.organisation_code ~ '^[0-9]{3}$') AS service_la
        FROM directory.child c LEFT JOIN directory.involvement i ON i.cp_id = c.cp_id
        GROUP BY c.cp_id, c.date_of_birth, c.postcode
    ), district_la AS (
        SELECT DISTINCT ON (district) district, school_la AS la
        FROM current WHERE school_la IS NOT NULL
        GROUP BY district, school_la ORDER BY district, count(*) DESC, school_la
    )
    SELECT COALESCE(c.school_la, c.service_la, d.la, 'unknown'),
           count(*),
           count(*) FILTER (WHERE age(p_as_of, c.date_of_birth) >= interval '5 years'
                              AND age(p_as_of, c.date_of_birth) < interval '16 years'),
           count(*) FILTER (WHERE age(p_as_of, c.date_of_birth) >= interval '5 years'
                              AND age(p_as_of, c.date_of_birth) < interval '16 years' AND NOT c.has_school),
           count(*) FILTER (WHERE NOT c.has_gp)
    FROM current c LEFT JOIN district_la d ON d.district = c.district
    GROUP BY 1 ORDER BY 1
$$;

-- The console's entries: a data team member's or a steward's session.
CREATE OR REPLACE FUNCTION console.operator(p_session text) RETURNS access.app_user
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT console.reader(p_session, ARRAY['steward', 'data_team'])
$$;

CREATE OR REPLACE FUNCTION console.glance_feeds(p_session text)
RETURNS TABLE (feed text, files bigint, rejected bigint, rows_read bigint, rows_loaded bigint,
               rows_quarantined bigint, rows_withheld bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.operator(p_session);
    RETURN QUERY SELECT * FROM console.glance_feed_rows();
END $$;

CREATE OR REPLACE FUNCTION console.glance_facts(p_session text)
RETURNS TABLE (waiting bigint, quarantined bigint, last_link timestamptz, last_publish timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.operator(p_session);
    RETURN QUERY SELECT * FROM console.glance_fact_rows();
END $$;

CREATE OR REPLACE FUNCTION console.sender_summaries(p_session text, p_feed text, p_limit integer, p_offset integer)
RETURNS TABLE (feed text, sender text, files bigint, rejected_files bigint, read bigint, loaded bigint,
               quarantined bigint, withheld bigint, rejected bigint, last_received timestamptz, newest_file_id bigint,
               newest_file_name text, newest_status text, total bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.operator(p_session);
    RETURN QUERY SELECT * FROM console.sender_summary_rows(p_feed, p_limit, p_offset);
END $$;

CREATE OR REPLACE FUNCTION console.files(p_session text, p_file_id bigint, p_feed text, p_sender text,
                                         p_limit integer, p_offset integer)
RETURNS TABLE (file_id bigint, feed text, sender text, file_name text, status text, reason text, read integer,
               loaded integer, quarantined integer, withheld integer, warned integer, out_of_scope integer,
               received_at timestamptz, extract_time timestamptz, duplicates bigint, total bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.operator(p_session);
    RETURN QUERY SELECT * FROM console.file_rows(p_file_id, p_feed, p_sender, p_limit, p_offset);
END $$;

CREATE OR REPLACE FUNCTION console.receipt(p_session text, p_file_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.operator(p_session);
    RETURN console.receipt_body(p_file_id);
END $$;

CREATE OR REPLACE FUNCTION console.quarantine(p_session text, p_feed text, p_file_id bigint, p_released boolean,
                                              p_count_limit integer, p_limit integer, p_offset integer)
RETURNS TABLE (file_id bigint, feed text, sender text, file_name text, row_number integer, field text,
               reason text, released boolean, total bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.operator(p_session);
    RETURN QUERY SELECT * FROM console.quarantine_rows(p_feed, p_file_id, p_released, p_count_limit, p_limit,
                                                       p_offset);
END $$;

CREATE OR REPLACE FUNCTION console.daily_volumes(p_session text, p_days integer)
RETURNS TABLE (feed text, day date, files bigint, read bigint, quarantined bigint, rejected_files bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.operator(p_session);
    RETURN QUERY SELECT * FROM console.daily_volume_rows(p_days);
END $$;

CREATE OR REPLACE FUNCTION console.universal_services(p_session text, p_as_of date)
RETURNS TABLE (la text, children bigint, school_age bigint, no_school bigint, no_gp bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.operator(p_session);
    RETURN QUERY SELECT * FROM console.universal_service_rows(p_as_of);
END $$;
