-- The directory's history (directory.history): every insert, update and delete of a child, carer or
-- involvement row, old and new row as JSON. Kept by statement since 0010, one INSERT ... SELECT per statement
-- from its transition tables: a row trigger cost ~40 us a row, at national scale minutes of every publish.
-- Applied by migration 0022; created by 0001 (keep_history) and 0010. No grants: trigger functions run for
-- whoever writes the directory.

-- By row: what the directory's triggers ran until 0010, and what 0010's downgrade puts back.
CREATE OR REPLACE FUNCTION directory.keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    VALUES (TG_TABLE_NAME, COALESCE(NEW.cp_id, OLD.cp_id), TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END $$;

-- By statement, from the transition tables: the same for the three tables when rows are inserted or deleted.
CREATE OR REPLACE FUNCTION directory.keep_history_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    SELECT TG_TABLE_NAME, n.cp_id, 'INSERT', NULL, to_jsonb(n) FROM new_rows n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION directory.keep_history_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    SELECT TG_TABLE_NAME, o.cp_id, 'DELETE', to_jsonb(o), NULL FROM old_rows o;
    RETURN NULL;
END $$;

-- An update pairs each new row with its old one by the table's key, hence one function a table (0010 wrote
-- them from HISTORY_KEYS: child by cp_id; carer by cp_id, source_record_id, contact_order; involvement by
-- involvement_id).
CREATE OR REPLACE FUNCTION directory.keep_child_history_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    SELECT TG_TABLE_NAME, n.cp_id, 'UPDATE', to_jsonb(o), to_jsonb(n) FROM new_rows n JOIN old_rows o ON n.cp_id = o.cp_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION directory.keep_carer_history_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    SELECT TG_TABLE_NAME, n.cp_id, 'UPDATE', to_jsonb(o), to_jsonb(n) FROM new_rows n JOIN old_rows o ON n.cp_id = o.cp_id AND n.source_record_id = o.source_record_id AND n.contact_order = o.contact_order;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION directory.keep_involvement_history_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    SELECT TG_TABLE_NAME, n.cp_id, 'UPDATE', to_jsonb(o), to_jsonb(n) FROM new_rows n JOIN old_rows o ON n.involvement_id = o.involvement_id;
    RETURN NULL;
END $$;
