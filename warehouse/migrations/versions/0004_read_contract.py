"""The read contract: database roles, users, the hash-chained audit log, and the masking read functions.

Front ends never touch a table. They call ``directory.search_children`` and ``directory.child_record``
(SECURITY DEFINER), which check the user, mask shielded children and sensitive services, and append
their audit rows in the caller's transaction. ``audit.entry`` is append-only for every role (a
trigger refuses UPDATE, DELETE and TRUNCATE, superusers included) and hash-chained; the chain head is
anchored outside the database by ``warehouse.audit.anchor_head``.

Canonical text of an audit entry (``warehouse/audit.py`` recomputes it byte for byte)::

    entry_id|occurred_at|username|user_role|action|cp_id|purpose|detail

- ``entry_id``: decimal; ``occurred_at``: UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always 6 digits);
- every other field is text escaped as ``\\`` → ``\\\\`` then ``|`` → ``\\|``, and NULL written ``\\N``;
- ``detail`` is PostgreSQL's text output of the jsonb value (``detail::text``);

and ``entry_hash = hex(sha256(utf8(prev_hash || '|' || canonical_text)))``, the first entry's
``prev_hash`` being 64 zeros. ``entry_id`` is assigned by ``audit.append`` as the previous one + 1
(not from the identity sequence, which a rolled-back append would leave with a gap), so a gap in
``entry_id`` always means a deleted entry.

Roles are cluster-wide: created only if absent, never dropped by the downgrade (other databases on
the server may use them). The migrating role needs CREATEROLE unless a DBA created them first.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Distinct from the migration lock (7_204_311) and warehouse.identity.LINK_LOCK (7_204_312).
AUDIT_APPEND_LOCK = 7_204_313

HUB_SCHEMAS = "intake, staging, identity, directory, archive, audit, access"

# A raw string: SQL backslashes stay as written. SQLAlchemy's text() reads ":name" as a bind
# parameter, so the literal colons of the timestamp format are written "\:".
UPGRADE = r"""
-- 1. Roles. NOLOGIN groups: people and services log in as their own roles, granted one of these.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['cp_loader', 'cp_reader', 'cp_steward', 'cp_archivist', 'cp_auditor'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it a moment ago
            END;
        END IF;
    END LOOP;
END $$;

-- 2. The people who may read, and their sessions. Secrets are slow hashes (argon2), never plain.
CREATE SCHEMA access;
CREATE TABLE access.app_user (
    username          text PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    display_name      text NOT NULL,
    role              text NOT NULL CHECK (role IN ('reader', 'steward', 'archivist', 'auditor')),
    may_see_shielded  boolean NOT NULL DEFAULT false,
    may_see_sensitive boolean NOT NULL DEFAULT false,
    password_hash     text NOT NULL,
    pin_hash          text NOT NULL,
    totp_secret       text NOT NULL,
    last_totp_step    bigint NOT NULL DEFAULT 0,
    failed_attempts   integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_until      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    disabled          boolean NOT NULL DEFAULT false
);
CREATE TABLE access.session (
    token_hash text PRIMARY KEY,
    username   text NOT NULL REFERENCES access.app_user,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked    boolean NOT NULL DEFAULT false,
    CHECK (expires_at > created_at)
);
CREATE INDEX session_username_idx ON access.session (username);

-- The user behind a read: known, enabled, not locked, allowed to read, and saying why.
CREATE FUNCTION access.reading_user(p_username text, p_purpose text,
                                    OUT role text, OUT may_see_shielded boolean, OUT may_see_sensitive boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v access.app_user;
BEGIN
    IF p_purpose IS NULL OR btrim(p_purpose) = '' THEN
        RAISE EXCEPTION 'a purpose is required for every read' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v FROM access.app_user u WHERE u.username = p_username;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'not allowed: unknown user' USING ERRCODE = 'insufficient_privilege';
    ELSIF v.disabled THEN
        RAISE EXCEPTION 'not allowed: user % is disabled', p_username USING ERRCODE = 'insufficient_privilege';
    ELSIF v.locked_until > now() THEN
        RAISE EXCEPTION 'not allowed: user % is locked', p_username USING ERRCODE = 'insufficient_privilege';
    ELSIF v.role NOT IN ('reader', 'steward') THEN
        RAISE EXCEPTION 'not allowed: role % does not read the directory', v.role
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    role := v.role;
    may_see_shielded := v.may_see_shielded;
    may_see_sensitive := v.may_see_sensitive;
END $$;

-- 3. The audit log: append-only, hash-chained.
CREATE TABLE audit.entry (
    -- Declared identity, but audit.append assigns previous + 1 itself (OVERRIDING SYSTEM VALUE) so ids
    -- never have gaps; ALWAYS also stops anyone from UPDATE-ing an id.
    entry_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    username    text NOT NULL,
    user_role   text NOT NULL,
    action      text NOT NULL CHECK (action ~ '^[a-z_]+$'),
    cp_id       text,
    purpose     text,
    -- Counts and codes only: never a child's name, date of birth, address or identifier.
    detail      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    prev_hash   text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    entry_hash  text NOT NULL CHECK (entry_hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX entry_cp_id_idx ON audit.entry (cp_id) WHERE cp_id IS NOT NULL;
CREATE INDEX entry_username_idx ON audit.entry (username, occurred_at);
CREATE INDEX entry_occurred_at_idx ON audit.entry (occurred_at);

-- Refuses every change, for every role including superusers. The one exception is the test suite's
-- reset, which must say so explicitly (a role still needs TRUNCATE privilege, which no hub role has).
CREATE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('contactpoint.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit.entry is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER entry_is_append_only BEFORE UPDATE OR DELETE ON audit.entry
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER entry_is_never_truncated BEFORE TRUNCATE ON audit.entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- One field of the canonical text: NULL is \N; backslash and | are escaped so fields cannot run together.
CREATE FUNCTION audit.canonical_field(p_value text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN p_value IS NULL THEN '\N'
                ELSE replace(replace(p_value, '\', '\\'), '|', '\|') END
$$;

CREATE FUNCTION audit.canonical_text(p_entry_id bigint, p_occurred_at timestamptz, p_username text,
                                     p_user_role text, p_action text, p_cp_id text, p_purpose text,
                                     p_detail jsonb) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p_entry_id::text
        || '|' || to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24\:MI\:SS.US"Z"')
        || '|' || audit.canonical_field(p_username)
        || '|' || audit.canonical_field(p_user_role)
        || '|' || audit.canonical_field(p_action)
        || '|' || audit.canonical_field(p_cp_id)
        || '|' || audit.canonical_field(p_purpose)
        || '|' || audit.canonical_field(p_detail::text)
$$;

CREATE FUNCTION audit.chain_hash(p_prev_hash text, p_canonical_text text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(sha256(convert_to(p_prev_hash || '|' || p_canonical_text, 'UTF8')), 'hex')
$$;

-- The only way in. The advisory lock serialises appends until the caller's commit, so every entry
-- reads the committed head; it is held for the rest of the caller's transaction, so keep reads short.
CREATE FUNCTION audit.append(p_username text, p_role text, p_action text, p_cp_id text, p_purpose text,
                             p_detail jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id     bigint;
    v_prev   text;
    v_at     timestamptz;
    v_detail jsonb := coalesce(p_detail, '{}'::jsonb);
    -- A refused sign-in under a name no user has still belongs in the log, with no role to speak of.
    v_role   text := coalesce(p_role, 'unknown');
BEGIN
    IF p_username IS NULL OR p_action IS NULL THEN
        RAISE EXCEPTION 'an audit entry needs a username and an action' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(AUDIT_APPEND_LOCK);
    SELECT e.entry_id, e.entry_hash INTO v_id, v_prev FROM audit.entry e ORDER BY e.entry_id DESC LIMIT 1;
    v_id := coalesce(v_id, 0) + 1;
    v_prev := coalesce(v_prev, repeat('0', 64));
    v_at := clock_timestamp();  -- after the lock, so times follow the chain's order
    INSERT INTO audit.entry (entry_id, occurred_at, username, user_role, action, cp_id, purpose, detail,
                             prev_hash, entry_hash)
    OVERRIDING SYSTEM VALUE
    VALUES (v_id, v_at, p_username, v_role, p_action, p_cp_id, p_purpose, v_detail, v_prev,
            audit.chain_hash(v_prev, audit.canonical_text(v_id, v_at, p_username, v_role, p_action, p_cp_id,
                                                          p_purpose, v_detail)));
    RETURN v_id;
END $$;

-- Every steward decision is audited by the database itself, whoever wrote it. The reason is free
-- text (it may name a child), so only the decision's id and kind go into the log.
CREATE FUNCTION audit.record_steward_decision() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM audit.append(NEW.steward,
                         coalesce((SELECT u.role FROM access.app_user u WHERE u.username = NEW.steward), 'steward'),
                         'steward_decision', NULL, NULL,
                         jsonb_build_object('decision_id', NEW.decision_id, 'decision', NEW.decision));
    RETURN NULL;
END $$;
CREATE TRIGGER steward_decision_audited AFTER INSERT ON identity.steward_decision
    FOR EACH ROW EXECUTE FUNCTION audit.record_steward_decision();

-- Reports for the auditor.
CREATE FUNCTION audit.reads_of_child(p_cp_id text)
RETURNS TABLE (entry_id bigint, occurred_at timestamptz, username text, user_role text, action text, purpose text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.entry_id, e.occurred_at, e.username, e.user_role, e.action, e.purpose
    FROM audit.entry e
    WHERE e.cp_id = p_cp_id AND e.action IN ('search', 'read_child')
    ORDER BY e.entry_id
$$;

-- Everything a user did (reads, sign-ins, steward decisions), oldest first.
CREATE FUNCTION audit.reads_by_user(p_username text)
RETURNS TABLE (entry_id bigint, occurred_at timestamptz, user_role text, action text, cp_id text, purpose text,
               detail jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.entry_id, e.occurred_at, e.user_role, e.action, e.cp_id, e.purpose, e.detail
    FROM audit.entry e
    WHERE e.username = p_username
    ORDER BY e.entry_id
$$;

-- Users who saw more children since p_since than p_factor times the median of the users who read
-- at all in that window (a child in a search result counts as one read, like an opened record).
CREATE FUNCTION audit.unusual_volumes(p_since timestamptz, p_factor numeric DEFAULT 3)
RETURNS TABLE (username text, reads bigint, median_reads double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH per_user AS (
        SELECT e.username, count(*) AS reads
        FROM audit.entry e
        WHERE e.occurred_at >= p_since AND e.action IN ('search', 'read_child')
        GROUP BY e.username
    ), median AS (
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p.reads) AS m FROM per_user p
    )
    SELECT p.username, p.reads, m.m
    FROM per_user p CROSS JOIN median m
    WHERE p.reads > p_factor * m.m
    ORDER BY p.reads DESC, p.username
$$;

-- 4. Read functions.
-- Every allowed search names a date of birth.
CREATE INDEX child_date_of_birth_idx ON directory.child (date_of_birth);

-- Names compare case-insensitively, ignoring spaces, hyphens, apostrophes, dots and commas
-- ("O'Neil-Smith" = "oneilsmith"). NULL when nothing is left.
CREATE FUNCTION directory.name_key(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT nullif(translate(lower(btrim(p_name)), ' -''.,', ''), '')
$$;

-- Exact on the key; when fuzzy (given and family name both supplied), a search key of three or more
-- characters also matches as a prefix ("Alf" finds "Alfie", "Smith" finds "Smith-Jones").
CREATE FUNCTION directory.name_matches(p_stored text, p_key text, p_fuzzy boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT directory.name_key(p_stored) = p_key
        OR (p_fuzzy AND length(p_key) >= 3 AND starts_with(directory.name_key(p_stored), p_key))
$$;

CREATE FUNCTION directory.is_current(p_ended_on date) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p_ended_on IS NULL OR p_ended_on > current_date
$$;

-- An involvement as a reader may see it: a sensitive service (sexual health, mental health,
-- substance misuse) shows only as "an unspecified service" with its practitioner's contact.
CREATE FUNCTION directory.involvement_view(v directory.involvement, p_may_see_sensitive boolean) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF v.sensitive AND NOT p_may_see_sensitive THEN
        RETURN jsonb_build_object(
            'kind', 'other', 'service', 'an unspecified service',
            'practitioner_name', v.practitioner_name, 'phone', v.phone, 'email', v.email,
            'started_on', v.started_on, 'ended_on', v.ended_on, 'current', directory.is_current(v.ended_on),
            'lead_professional', v.lead_professional, 'caf_completed', v.caf_completed);
    END IF;
    RETURN jsonb_build_object(
        'kind', v.kind, 'organisation_name', v.organisation_name,
        'practitioner_name', v.practitioner_name, 'phone', v.phone, 'email', v.email,
        'started_on', v.started_on, 'ended_on', v.ended_on, 'current', directory.is_current(v.ended_on),
        'lead_professional', v.lead_professional, 'caf_completed', v.caf_completed,
        'service_type', v.service_type, 'sensitive', v.sensitive);
END $$;

-- Search by the national demographics rules, so the directory cannot be trawled:
--   family name + date of birth; (fuzzy) given + family name + date of birth;
--   family name + date of birth + gender + postcode; given name + date of birth + gender + postcode.
-- Any supplied criterion filters. At most 50 children. Every child returned is audited.
CREATE FUNCTION directory.search_children(p_username text, p_purpose text, p_family_name text, p_given_name text,
                                          p_date_of_birth date, p_gender text, p_postcode text)
RETURNS TABLE (cp_id text, given_name text, family_name text, date_of_birth date, gender text, postcode text,
               shielded boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_user     record;
    v_family   text := directory.name_key(p_family_name);
    v_given    text := directory.name_key(p_given_name);
    v_gender   text := upper(nullif(btrim(p_gender), ''));
    v_postcode text := upper(replace(nullif(btrim(p_postcode), ''), ' ', ''));
    v_fuzzy    boolean;
    v_criteria jsonb;
    v_matches  directory.child[];
    v_child    directory.child;
    v_count    integer;
    v_masked   boolean;
BEGIN
    SELECT * INTO v_user FROM access.reading_user(p_username, p_purpose);
    IF p_date_of_birth IS NULL
       OR NOT (v_family IS NOT NULL OR (v_given IS NOT NULL AND v_gender IS NOT NULL AND v_postcode IS NOT NULL)) THEN
        RAISE EXCEPTION 'search not allowed: give family name and date of birth (optionally given name, gender, '
                        'postcode), or given name, date of birth, gender and postcode'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_gender IS NOT NULL AND v_gender NOT IN ('M', 'F', 'U', 'I') THEN
        RAISE EXCEPTION 'search not allowed: gender must be M, F, U or I' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_fuzzy := v_family IS NOT NULL AND v_given IS NOT NULL;
    -- The names of the criteria used, never their values.
    v_criteria := to_jsonb(array_remove(ARRAY[
        CASE WHEN v_family IS NOT NULL THEN 'family_name' END,
        CASE WHEN v_given IS NOT NULL THEN 'given_name' END,
        'date_of_birth',
        CASE WHEN v_gender IS NOT NULL THEN 'gender' END,
        CASE WHEN v_postcode IS NOT NULL THEN 'postcode' END], NULL));

    -- 51 is enough to know there are too many. Children a user may not see in full are listed
    -- last in ID order, so their place in a name-sorted list says nothing about their names.
    SELECT array_agg(s.m ORDER BY s.masked, s.sort_family, s.sort_given, (s.m).cp_id) INTO v_matches
    FROM (
        SELECT c AS m,
               c.shielded AND NOT v_user.may_see_shielded AS masked,
               CASE WHEN c.shielded AND NOT v_user.may_see_shielded THEN NULL ELSE c.family_name END AS sort_family,
               CASE WHEN c.shielded AND NOT v_user.may_see_shielded THEN NULL ELSE c.given_name END AS sort_given
        FROM directory.child c
        JOIN identity.child i ON i.cp_id = c.cp_id AND i.status = 'active'
        WHERE c.date_of_birth = p_date_of_birth
          AND (v_family IS NULL OR directory.name_matches(c.family_name, v_family, v_fuzzy))
          AND (v_given IS NULL OR directory.name_matches(c.given_name, v_given, v_fuzzy))
          AND (v_gender IS NULL OR c.gender = v_gender)
          AND (v_postcode IS NULL OR replace(c.postcode, ' ', '') = v_postcode)
          -- A search by postcode never finds a shielded child for a user who may not see them.
          AND NOT (c.shielded AND v_postcode IS NOT NULL AND NOT v_user.may_see_shielded)
        LIMIT 51
    ) s;
    v_count := coalesce(cardinality(v_matches), 0);
    IF v_count > 50 THEN
        RAISE EXCEPTION 'too many matches: refine the search' USING ERRCODE = 'program_limit_exceeded';
    END IF;

    IF v_count = 0 THEN
        PERFORM audit.append(p_username, v_user.role, 'search', NULL, btrim(p_purpose),
                             jsonb_build_object('result_count', 0, 'criteria', v_criteria));
        RETURN;
    END IF;
    FOREACH v_child IN ARRAY v_matches LOOP
        PERFORM audit.append(p_username, v_user.role, 'search', v_child.cp_id, btrim(p_purpose),
                             jsonb_build_object('result_count', v_count, 'criteria', v_criteria));
        v_masked := v_child.shielded AND NOT v_user.may_see_shielded;
        cp_id := v_child.cp_id;
        given_name := CASE WHEN v_masked THEN NULL ELSE v_child.given_name END;
        family_name := CASE WHEN v_masked THEN NULL ELSE v_child.family_name END;
        date_of_birth := CASE WHEN v_masked THEN NULL ELSE v_child.date_of_birth END;
        gender := CASE WHEN v_masked THEN NULL ELSE v_child.gender::text END;
        postcode := CASE WHEN v_masked THEN NULL ELSE v_child.postcode END;
        shielded := v_child.shielded;
        RETURN NEXT;
    END LOOP;
END $$;

-- One child's record, masked for the reader; always exactly one audit entry.
CREATE FUNCTION directory.child_record(p_username text, p_purpose text, p_cp_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user         record;
    v_status       text;
    v_next         text;
    v_hops         integer := 0;
    v_child        directory.child;
    v_contact      directory.involvement;
    v_involvements jsonb;
    v_carers       jsonb;
    v_counts       record;
    v_result       jsonb;
    v_outcome      text;
BEGIN
    SELECT * INTO v_user FROM access.reading_user(p_username, p_purpose);
    SELECT i.status, i.superseded_by INTO v_status, v_next FROM identity.child i WHERE i.cp_id = p_cp_id;

    -- A merged-away ID is never reused: answer with the ID that now stands for the child, following
    -- a chain of merges to its end.
    IF v_status = 'merged' THEN
        LOOP
            SELECT i.status, coalesce(i.superseded_by, i.cp_id) INTO v_status, v_next
            FROM identity.child i WHERE i.cp_id = v_next;
            v_hops := v_hops + 1;
            EXIT WHEN v_status IS DISTINCT FROM 'merged' OR v_hops >= 100;
        END LOOP;
        PERFORM audit.append(p_username, v_user.role, 'read_child', p_cp_id, btrim(p_purpose),
                             jsonb_build_object('outcome', 'superseded'));
        RETURN jsonb_build_object('cp_id', p_cp_id, 'superseded_by', v_next);
    END IF;

    IF v_status IS DISTINCT FROM 'active' THEN
        RAISE EXCEPTION 'no such child' USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO v_child FROM directory.child c WHERE c.cp_id = p_cp_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such child' USING ERRCODE = 'no_data_found';
    END IF;

    SELECT count(*) AS involvements,
           count(*) FILTER (WHERE v.sensitive AND NOT v_user.may_see_sensitive) AS masked_involvements
    INTO v_counts FROM directory.involvement v WHERE v.cp_id = p_cp_id;

    IF v_child.shielded AND NOT v_user.may_see_shielded THEN
        -- Only whom to ask: the lead professional, else the newest current involvement.
        SELECT v.* INTO v_contact FROM directory.involvement v
        WHERE v.cp_id = p_cp_id AND directory.is_current(v.ended_on)
        ORDER BY v.lead_professional DESC, v.started_on DESC NULLS LAST, v.involvement_id DESC
        LIMIT 1;
        v_result := jsonb_build_object(
            'cp_id', v_child.cp_id, 'shielded', true,
            'contact', CASE WHEN v_contact.involvement_id IS NULL THEN NULL ELSE jsonb_build_object(
                'name', v_contact.practitioner_name,
                'organisation', CASE WHEN v_contact.sensitive AND NOT v_user.may_see_sensitive THEN NULL
                                     ELSE v_contact.organisation_name END,
                'phone', v_contact.phone) END);
        v_outcome := 'shielded_contact';
    ELSE
        SELECT coalesce(jsonb_agg(directory.involvement_view(v, v_user.may_see_sensitive)
                                  ORDER BY directory.is_current(v.ended_on) DESC, v.lead_professional DESC,
                                           v.started_on DESC NULLS LAST, v.involvement_id), '[]'::jsonb)
        INTO v_involvements FROM directory.involvement v WHERE v.cp_id = p_cp_id;
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'title', k.title, 'given_name', k.given_name, 'family_name', k.family_name,
                   'relationship', k.relationship, 'parental_responsibility', k.parental_responsibility,
                   'phone', k.phone, 'email', k.email) ORDER BY k.source_record_id, k.contact_order), '[]'::jsonb)
        INTO v_carers FROM directory.carer k WHERE k.cp_id = p_cp_id;
        v_result := jsonb_build_object(
            'cp_id', v_child.cp_id, 'shielded', v_child.shielded,
            'given_name', v_child.given_name, 'middle_names', v_child.middle_names,
            'family_name', v_child.family_name, 'date_of_birth', v_child.date_of_birth,
            'gender', v_child.gender::text,
            'address_line_1', v_child.address_line_1, 'address_line_2', v_child.address_line_2,
            'address_line_3', v_child.address_line_3, 'address_line_4', v_child.address_line_4,
            'address_line_5', v_child.address_line_5, 'postcode', v_child.postcode,
            'carers', v_carers, 'involvements', v_involvements);
        v_outcome := 'record';
    END IF;

    PERFORM audit.append(p_username, v_user.role, 'read_child', p_cp_id, btrim(p_purpose),
                         jsonb_build_object('outcome', v_outcome, 'involvements', v_counts.involvements,
                                            'masked_involvements', v_counts.masked_involvements));
    RETURN v_result;
END $$;

-- 5. Privileges. Nothing for PUBLIC; each group gets what its job needs.
REVOKE ALL ON SCHEMA HUB_SCHEMAS FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA HUB_SCHEMAS FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA HUB_SCHEMAS FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA HUB_SCHEMAS FROM PUBLIC;
-- Functions later migrations create are not executable by PUBLIC either (PostgreSQL's default is yes).
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- loader: the hub's writers (pipelines, user administration, sign-in events).
GRANT USAGE ON SCHEMA intake, staging, identity, directory, access, audit TO cp_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA intake, staging, identity, directory TO cp_loader;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA intake, staging, identity, directory TO cp_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON access.app_user, access.session TO cp_loader;
GRANT EXECUTE ON FUNCTION audit.append(text, text, text, text, text, jsonb) TO cp_loader;

-- reader: the read functions, nothing else.
GRANT USAGE ON SCHEMA directory TO cp_reader, cp_steward;
GRANT EXECUTE ON FUNCTION
    directory.search_children(text, text, text, text, date, text, text),
    directory.child_record(text, text, text)
    TO cp_reader, cp_steward;

-- steward: reads, plus the review queue and decisions (matching.stewardship closes the pair it
-- answers and may undo a decision, hence the two column-level UPDATEs).
GRANT USAGE ON SCHEMA identity TO cp_steward;
GRANT SELECT, INSERT ON identity.review_pair, identity.steward_decision TO cp_steward;
GRANT UPDATE (status) ON identity.review_pair TO cp_steward;
GRANT UPDATE (undone_at) ON identity.steward_decision TO cp_steward;

-- auditor: the reports only. archivist: nothing until the archive exists.
GRANT USAGE ON SCHEMA audit TO cp_auditor;
GRANT EXECUTE ON FUNCTION
    audit.reads_of_child(text), audit.reads_by_user(text), audit.unusual_volumes(timestamptz, numeric)
    TO cp_auditor;
""".replace("AUDIT_APPEND_LOCK", str(AUDIT_APPEND_LOCK)).replace("HUB_SCHEMAS", HUB_SCHEMAS)

DOWNGRADE = r"""
REVOKE ALL ON ALL TABLES IN SCHEMA intake, staging, identity, directory
    FROM cp_loader, cp_reader, cp_steward, cp_archivist, cp_auditor;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA intake, staging, identity, directory
    FROM cp_loader, cp_reader, cp_steward, cp_archivist, cp_auditor;
REVOKE ALL ON SCHEMA intake, staging, identity, directory, audit
    FROM cp_loader, cp_reader, cp_steward, cp_archivist, cp_auditor;

DROP FUNCTION directory.child_record(text, text, text);
DROP FUNCTION directory.search_children(text, text, text, text, date, text, text);
DROP FUNCTION directory.involvement_view(directory.involvement, boolean);
DROP FUNCTION directory.is_current(date);
DROP FUNCTION directory.name_matches(text, text, boolean);
DROP FUNCTION directory.name_key(text);
DROP INDEX directory.child_date_of_birth_idx;

DROP TRIGGER steward_decision_audited ON identity.steward_decision;
DROP FUNCTION audit.record_steward_decision();
DROP FUNCTION audit.unusual_volumes(timestamptz, numeric);
DROP FUNCTION audit.reads_by_user(text);
DROP FUNCTION audit.reads_of_child(text);
DROP FUNCTION audit.append(text, text, text, text, text, jsonb);
DROP FUNCTION audit.chain_hash(text, text);
DROP FUNCTION audit.canonical_text(bigint, timestamptz, text, text, text, text, text, jsonb);
DROP FUNCTION audit.canonical_field(text);
DROP TABLE audit.entry;
DROP FUNCTION audit.refuse_change();

DROP SCHEMA access CASCADE;

ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
GRANT EXECUTE ON FUNCTION directory.keep_history() TO PUBLIC;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
