-- The change feed's events: signals only (a kind and ContactPoint IDs, never a child's data), so masking
-- cannot leak through the feed; front ends re-read a changed child through the read contract.
-- Every change of a child's directory record (directory.child, carer, involvement) appends one child_changed
-- per child per transaction, from statement-level triggers with transition tables: every writer of those
-- tables (publish, the linker retiring an ID, retention) is covered without having to remember, and a
-- statement touching 10,000 rows costs one set-based insert.
-- Applied by migration 0022; created by 0006 (its docstring says the rest).

-- The one way events are written. The lock on the table, held until the transaction ends, makes events
-- commit in cursor order: a poller that has seen event N never later finds an event below N appear (with
-- concurrent writers a lower number could commit last and be skipped for ever); readers are not blocked.
-- ids_merged and id_split are signalled once: appending the same merge or split again (a steward's merge,
-- then the linker carrying it out) returns the existing event, unless an undo of either ID came after it.
CREATE OR REPLACE FUNCTION directory.append_change(p_kind text, p_cp_id text, p_other_cp_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id bigint;
BEGIN
    LOCK TABLE directory.change IN SHARE ROW EXCLUSIVE MODE;
    IF p_kind IN ('ids_merged', 'id_split') THEN
        SELECT c.change_id INTO v_id FROM directory.change c
        WHERE c.kind = p_kind AND c.cp_id = p_cp_id AND c.other_cp_id IS NOT DISTINCT FROM p_other_cp_id
          AND NOT EXISTS (
              SELECT 1 FROM directory.change u
              WHERE u.change_id > c.change_id AND u.kind IN ('merge_undone', 'split_undone')
                AND (u.cp_id IN (c.cp_id, c.other_cp_id) OR u.other_cp_id IN (c.cp_id, c.other_cp_id)))
        ORDER BY c.change_id DESC LIMIT 1;
        IF FOUND THEN
            RETURN v_id;
        END IF;
    END IF;
    IF p_kind = 'child_changed' THEN
        INSERT INTO directory.change (kind, cp_id) VALUES (p_kind, p_cp_id)
        ON CONFLICT (xact, cp_id) WHERE kind = 'child_changed' DO NOTHING
        RETURNING change_id INTO v_id;
        IF v_id IS NULL THEN
            SELECT c.change_id INTO v_id FROM directory.change c
            WHERE c.kind = 'child_changed' AND c.cp_id = p_cp_id AND c.xact = pg_current_xact_id();
        END IF;
        RETURN v_id;
    END IF;
    INSERT INTO directory.change (kind, cp_id, other_cp_id) VALUES (p_kind, p_cp_id, p_other_cp_id)
    RETURNING change_id INTO v_id;
    RETURN v_id;
END $$;

-- child_changed for a set of children, once each per transaction, in ID order (a stable feed order).
CREATE OR REPLACE FUNCTION directory.signal_children_changed(p_cp_ids text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_cp_ids IS NULL OR cardinality(p_cp_ids) = 0 THEN
        RETURN;
    END IF;
    LOCK TABLE directory.change IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO directory.change (kind, cp_id)
    SELECT 'child_changed', t.cp_id FROM (SELECT DISTINCT unnest(p_cp_ids) AS cp_id) t
    WHERE t.cp_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM identity.child i
                      WHERE i.cp_id = t.cp_id AND i.status IN ('merged', 'archived'))
    ORDER BY t.cp_id
    ON CONFLICT (xact, cp_id) WHERE kind = 'child_changed' DO NOTHING;
END $$;

-- A trigger may name only the transition tables its event has, hence three small functions.
CREATE OR REPLACE FUNCTION directory.signal_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM directory.signal_children_changed(ARRAY(SELECT DISTINCT n.cp_id FROM new_rows n));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION directory.signal_updated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM directory.signal_children_changed(ARRAY(
        SELECT n.cp_id FROM new_rows n UNION SELECT o.cp_id FROM old_rows o));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION directory.signal_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM directory.signal_children_changed(ARRAY(SELECT DISTINCT o.cp_id FROM old_rows o));
    RETURN NULL;
END $$;

-- The triggers run as whoever writes the directory (loader, archivist) and reach the table only through the
-- definer functions; nobody but the owner may write the table itself.
GRANT EXECUTE ON FUNCTION directory.append_change(text, text, text) TO cp_loader, cp_steward, cp_archivist;
GRANT EXECUTE ON FUNCTION directory.signal_children_changed(text[]) TO cp_loader, cp_archivist;
