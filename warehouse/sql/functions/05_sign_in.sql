-- Sign-in in the database (issue 13): a definer function checks the four factors and opens a session, so a
-- role with no table privilege (the console's) can sign people in and nothing else. Passwords and PINs are
-- bcrypt hashes (pgcrypto's crypt, which the database can verify); one-time codes are RFC 6238 TOTP
-- (30-second steps, six digits, HMAC-SHA1) checked here too. The rules mirror directory_api.auth:
-- LOCK_AFTER 5 failures in a row lock for LOCK_MINUTES 15; a session lasts SESSION_MINUTES 15.

CREATE OR REPLACE FUNCTION access.base32_decode(p_text text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    WITH bits AS (
        SELECT string_agg((strpos('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', c) - 1)::bit(5)::text, '' ORDER BY i) AS b
        FROM unnest(string_to_array(upper(rtrim(p_text, '=')), NULL)) WITH ORDINALITY AS t(c, i))
    SELECT coalesce(decode(string_agg(lpad(to_hex(substr(b, 8 * k + 1, 8)::bit(8)::integer), 2, '0'), ''
                                      ORDER BY k), 'hex'), '')
    FROM bits, generate_series(0, length(b) / 8 - 1) AS k
$$;

-- The six-digit code of a TOTP secret (base32) for one 30-second step.
CREATE OR REPLACE FUNCTION access.totp_code(p_secret text, p_step bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    WITH mac AS (SELECT crypto.hmac(int8send(p_step), access.base32_decode(p_secret), 'sha1') AS h),
    at AS (SELECT h, get_byte(h, 19) & 15 AS o FROM mac)
    -- (PostgreSQL gives <<, | and & one precedence: every step is bracketed.)
    SELECT lpad(((((get_byte(h, o) & 127)::bigint << 24) | (get_byte(h, o + 1) << 16)
                  | (get_byte(h, o + 2) << 8) | get_byte(h, o + 3)) % 1000000)::text, 6, '0')
    FROM at
$$;

-- The step a code is valid for at p_at (one step either side, for clock drift), or NULL.
CREATE OR REPLACE FUNCTION access.totp_step(p_secret text, p_code text, p_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s FROM generate_series(floor(extract(epoch FROM p_at) / 30)::bigint - 1,
                                  floor(extract(epoch FROM p_at) / 30)::bigint + 1) AS s
    WHERE p_code ~ '^[0-9]{6}$' AND access.totp_code(p_secret, s) = p_code
    ORDER BY s LIMIT 1
$$;

-- Whether a secret matches its bcrypt hash; any other stored form (an argon2 hash from before migration
-- 0014, a placeholder) matches nothing, at the same cost.
CREATE OR REPLACE FUNCTION access.secret_matches(p_given text, p_hash text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(p_hash, '') ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$' THEN
        RETURN crypto.crypt(coalesce(p_given, ''), p_hash) = p_hash;
    END IF;
    PERFORM crypto.crypt(coalesce(p_given, ''), '$2a$10$CwTycUXWue0Thq9StjUM0uJ8DPLKXt1FYlwYpHGMmR4vTPrqxcuHW');
    RETURN false;
END $$;

-- Check the four factors and open a session; never raises for a refusal (the failed attempt and its audit
-- entry must commit): returns {"refused": true} or the new session (its token shown once, stored hashed).
-- The attempt is counted under the user's row lock before any secret is checked, so racing sign-ins check
-- at most LOCK_AFTER secrets; unknown, wrong and locked cost the same two bcrypt checks and give the same
-- answer; a lock-out never ends live sessions; a name that is no account is audited as '(unknown)'.
-- p_now is the caller's clock (tests move it), trusted within an hour of the database's.
CREATE OR REPLACE FUNCTION access.sign_in(p_username text, p_password text, p_pin text, p_code text,
                                          p_now timestamptz) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c_dummy   constant text := '$2a$10$CwTycUXWue0Thq9StjUM0uJ8DPLKXt1FYlwYpHGMmR4vTPrqxcuHW';
    c_dummy_totp constant text := 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    v_now     timestamptz := CASE WHEN abs(extract(epoch FROM coalesce(p_now, now()) - now())) <= 3600
                                  THEN coalesce(p_now, now()) ELSE now() END;
    v         access.app_user;
    v_tries   integer;
    v_reason  text;
    v_step    bigint;
    v_token   text;
    v_expires timestamptz;
    refused   constant jsonb := '{"refused": true}';
BEGIN
    IF coalesce(p_username, '') ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$' THEN
        SELECT * INTO v FROM access.app_user u WHERE u.username = p_username FOR UPDATE;
    END IF;
    IF v.username IS NULL THEN  -- the same work as a known user's refusal: two bcrypt checks and the code's
        PERFORM crypto.crypt(coalesce(p_password, ''), c_dummy), crypto.crypt(coalesce(p_pin, ''), c_dummy),
                access.totp_step(c_dummy_totp, p_code, v_now);
        PERFORM audit.append('(unknown)', NULL, 'sign_in_failed', NULL, NULL,
                             '{"reason": "password", "known_user": false}');
        RETURN refused;
    END IF;
    IF v.locked_until > v_now THEN
        PERFORM crypto.crypt(coalesce(p_password, ''), c_dummy), crypto.crypt(coalesce(p_pin, ''), c_dummy),
                access.totp_step(c_dummy_totp, p_code, v_now);
        PERFORM audit.append(v.username, v.role, 'sign_in_failed', NULL, NULL, '{"reason": "locked"}');
        RETURN refused;
    END IF;
    UPDATE access.app_user SET failed_attempts = failed_attempts + 1,
        locked_until = CASE WHEN failed_attempts + 1 >= 5 THEN now() + interval '15 minutes' ELSE locked_until END
    WHERE username = v.username RETURNING failed_attempts INTO v_tries;
    v_step := access.totp_step(v.totp_secret, p_code, v_now);
    v_reason := CASE
        WHEN NOT access.secret_matches(p_password, v.password_hash) THEN 'password'
        WHEN v.disabled THEN 'disabled'
        WHEN NOT access.secret_matches(p_pin, v.pin_hash) THEN 'pin'
        WHEN v_step IS NULL THEN 'one_time_code'
        WHEN v.last_totp_step >= v_step THEN 'replayed_code' END;
    IF v_reason = 'password' THEN  -- every refusal costs the PIN's check too (same timing)
        PERFORM crypto.crypt(coalesce(p_pin, ''), c_dummy);
    END IF;
    IF v_reason IS NOT NULL THEN
        PERFORM audit.append(v.username, v.role, 'sign_in_failed', NULL, NULL,
                             jsonb_build_object('reason', v_reason, 'failed_attempts', v_tries));
        RETURN refused;
    END IF;
    UPDATE access.app_user SET failed_attempts = 0, locked_until = NULL, last_totp_step = v_step
    WHERE username = v.username;
    v_token := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    INSERT INTO access.session (token_hash, username, expires_at)
    VALUES (encode(sha256(convert_to(v_token, 'UTF8')), 'hex'), v.username, now() + interval '15 minutes')
    RETURNING expires_at INTO v_expires;
    PERFORM audit.append(v.username, v.role, 'sign_in', NULL, NULL, '{}');
    RETURN jsonb_build_object('token', v_token, 'username', v.username, 'role', v.role, 'expires_at', v_expires,
                              'display_name', v.display_name, 'may_see_shielded', v.may_see_shielded,
                              'may_see_sensitive', v.may_see_sensitive);
END $$;

REVOKE ALL ON FUNCTION access.base32_decode(text), access.secret_matches(text, text), access.totp_code(text, bigint),
    access.totp_step(text, text, timestamptz), access.sign_in(text, text, text, text, timestamptz) FROM PUBLIC;
-- The sessions' lookup was PUBLIC's: only definer functions (run as the owner) need it.
REVOKE ALL ON FUNCTION access.session_username(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA access TO cp_console;
GRANT EXECUTE ON FUNCTION access.sign_in(text, text, text, text, timestamptz) TO cp_console;
