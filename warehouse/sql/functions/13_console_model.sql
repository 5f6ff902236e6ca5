-- The model lifecycle pages (stewards only): the model versions, the stewards' labels, the records the
-- comparison scores (canonical columns, as matching.link reads them), the review pairs and the children
-- of the example pairs. The Splink comparison itself stays in Python; what it reads comes from here.

CREATE OR REPLACE FUNCTION console.model_version_rows()
RETURNS TABLE (version text, trained_at timestamptz, promoted_at timestamptz, promotions jsonb)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.version, m.trained_at, m.promoted_at, m.model -> 'contactpoint_promotions'
    FROM identity.model m ORDER BY m.trained_at DESC, m.version
$$;

-- The latest promoted model (no row: the bundled one is current).
CREATE OR REPLACE FUNCTION console.current_model_rows()
RETURNS TABLE (version text, model jsonb)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.version, m.model FROM identity.model m WHERE m.promoted_at IS NOT NULL ORDER BY m.promoted_at DESC LIMIT 1
$$;

CREATE OR REPLACE FUNCTION console.model_document(p_version text) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.model FROM identity.model m WHERE m.version = p_version
$$;

-- The decisions that stand as labels: each pair's newest decision that was not undone.
CREATE OR REPLACE FUNCTION console.label_rows()
RETURNS TABLE (record_a bigint, record_b bigint, decision text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT DISTINCT ON (d.record_a, d.record_b) d.record_a, d.record_b, d.decision FROM identity.steward_decision d
    WHERE d.undone_at IS NULL ORDER BY d.record_a, d.record_b, d.decided_at DESC, d.decision_id DESC
$$;

-- The records a model scores, in matching.link's canonical columns (p_ids NULL: every staged record).
CREATE OR REPLACE FUNCTION console.canonical_rows(p_ids bigint[])
RETURNS TABLE (record_id bigint, given_name text, middle_names text, family_name text, preferred_given_name text,
               preferred_family_name text, former_family_name text, date_of_birth date, gender character(1),
               postcode text, address_line_1 text, nhs_number character(10), upn character(13), cp_id text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.record_id, s.given_name, s.middle_names, s.family_name, s.preferred_given_name,
           s.preferred_family_name, s.former_family_name, s.date_of_birth, s.gender, s.postcode,
           s.address_line_1, s.nhs_number, s.upn, l.cp_id
    FROM staging.source_record s LEFT JOIN identity.link l ON l.record_id = s.record_id
    WHERE p_ids IS NULL OR s.record_id = ANY (p_ids)
$$;

CREATE OR REPLACE FUNCTION console.review_pair_keys()
RETURNS TABLE (pair_id bigint, record_a bigint, record_b bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.pair_id, p.record_a, p.record_b FROM identity.review_pair p
$$;

-- The child each record is linked to now; a shielded or held child is left out for a steward not entitled.
CREATE OR REPLACE FUNCTION console.record_children(p_ids bigint[], p_all_shielded boolean)
RETURNS TABLE (record_id bigint, cp_id text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT l.record_id, l.cp_id FROM identity.link l
    WHERE l.record_id = ANY (p_ids) AND (p_all_shielded OR NOT identity.shielded_child(l.cp_id))
$$;

-- What the store's weight distribution depends on besides the model: how many staged records, the newest change.
CREATE OR REPLACE FUNCTION console.record_fingerprint()
RETURNS TABLE (records bigint, changed timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT count(*), max(s.updated_at) FROM staging.source_record s
$$;

-- The console's entries: a steward's session.
CREATE OR REPLACE FUNCTION console.model_versions(p_session text)
RETURNS TABLE (version text, trained_at timestamptz, promoted_at timestamptz, promotions jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.reader(p_session, ARRAY['steward']);
    RETURN QUERY SELECT * FROM console.model_version_rows();
END $$;

CREATE OR REPLACE FUNCTION console.current_model(p_session text)
RETURNS TABLE (version text, model jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.reader(p_session, ARRAY['steward']);
    RETURN QUERY SELECT * FROM console.current_model_rows();
END $$;

CREATE OR REPLACE FUNCTION console.model(p_session text, p_version text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.reader(p_session, ARRAY['steward']);
    RETURN console.model_document(p_version);
END $$;

CREATE OR REPLACE FUNCTION console.labels(p_session text)
RETURNS TABLE (record_a bigint, record_b bigint, decision text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.reader(p_session, ARRAY['steward']);
    RETURN QUERY SELECT * FROM console.label_rows();
END $$;

CREATE OR REPLACE FUNCTION console.canonical_records(p_session text, p_ids bigint[])
RETURNS TABLE (record_id bigint, given_name text, middle_names text, family_name text, preferred_given_name text,
               preferred_family_name text, former_family_name text, date_of_birth date, gender character(1),
               postcode text, address_line_1 text, nhs_number character(10), upn character(13), cp_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.reader(p_session, ARRAY['steward']);
    RETURN QUERY SELECT * FROM console.canonical_rows(p_ids);
END $$;

CREATE OR REPLACE FUNCTION console.review_pair_index(p_session text)
RETURNS TABLE (pair_id bigint, record_a bigint, record_b bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.reader(p_session, ARRAY['steward']);
    RETURN QUERY SELECT * FROM console.review_pair_keys();
END $$;

CREATE OR REPLACE FUNCTION console.children_of(p_session text, p_ids bigint[])
RETURNS TABLE (record_id bigint, cp_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user := console.reader(p_session, ARRAY['steward']);
BEGIN
    RETURN QUERY SELECT * FROM console.record_children(p_ids, v.may_see_shielded);
END $$;

CREATE OR REPLACE FUNCTION console.store_fingerprint(p_session text)
RETURNS TABLE (records bigint, changed timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM console.reader(p_session, ARRAY['steward']);
    RETURN QUERY SELECT * FROM console.record_fingerprint();
END $$;
