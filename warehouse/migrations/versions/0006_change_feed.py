"""A signal-only change feed for front ends: a kind and ContactPoint IDs, never a child's data.

Front ends re-read a changed child through the read contract, so masking cannot leak through the
feed (as the NHS notification service does). A cursor is the event's number.

- Every change of a child's directory record (directory.child, carer, involvement: insert, update,
  delete) appends one ``child_changed`` per child per transaction, from statement-level triggers with
  transition tables. Triggers rather than a step in ``warehouse/publish.py``: every writer of those
  tables (publish, the linker retiring an ID, retention) is covered without having to remember, and a
  statement touching 10,000 rows costs one set-based insert. ``(xact, cp_id)`` is unique for that
  kind, so the five statements of one publish still give one event per child. A child merged away or
  archived gets its own event (``ids_merged``, ``id_archived``) instead.
- Every event goes through ``directory.append_change``, which takes a lock on the table until the
  transaction ends: events then commit in cursor order, so a poller that has seen event N can never
  later find an event below N appear (with concurrent writers, a lower number could commit last and
  be skipped for ever). Readers are not blocked (SELECT does not conflict with that lock mode).
- ``ids_merged`` and ``id_split`` are signalled once: appending the same merge or split again (a
  steward's merge, then the linker carrying it out) returns the existing event, unless an undo of
  either ID came after it.
- Readers never touch the table: ``directory.changes_after`` (SECURITY DEFINER) pages through it. It
  is not audited: an event carries no data about a child, and a poll every few seconds would bury
  the audit log's reads.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KINDS = "'child_changed', 'ids_merged', 'id_split', 'merge_undone', 'split_undone', 'id_archived'"
TABLES = ("child", "carer", "involvement")


def _triggers() -> str:
    statements = []
    for table in TABLES:
        statements.append(f"""
CREATE TRIGGER {table}_inserted_signal AFTER INSERT ON directory.{table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION directory.signal_inserted();
CREATE TRIGGER {table}_updated_signal AFTER UPDATE ON directory.{table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.signal_updated();
CREATE TRIGGER {table}_deleted_signal AFTER DELETE ON directory.{table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION directory.signal_deleted();""")
    return "\n".join(statements)


UPGRADE = f"""
CREATE TABLE directory.change (
    change_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ({KINDS})),
    cp_id       text NOT NULL CHECK (cp_id ~ '^CP[0-9]{{9}}[A-Z]$'),
    other_cp_id text CHECK (other_cp_id ~ '^CP[0-9]{{9}}[A-Z]$'),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    xact        xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE UNIQUE INDEX change_child_once_per_xact ON directory.change (xact, cp_id) WHERE kind = 'child_changed';
CREATE INDEX change_cp_id_idx ON directory.change (cp_id);
CREATE INDEX change_other_cp_id_idx ON directory.change (other_cp_id) WHERE other_cp_id IS NOT NULL;

-- The one way events are written (see the module docstring for the lock and the once-only rule).
CREATE FUNCTION directory.append_change(p_kind text, p_cp_id text, p_other_cp_id text DEFAULT NULL)
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
CREATE FUNCTION directory.signal_children_changed(p_cp_ids text[]) RETURNS void
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
CREATE FUNCTION directory.signal_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM directory.signal_children_changed(ARRAY(SELECT DISTINCT n.cp_id FROM new_rows n));
    RETURN NULL;
END $$;
CREATE FUNCTION directory.signal_updated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM directory.signal_children_changed(ARRAY(
        SELECT n.cp_id FROM new_rows n UNION SELECT o.cp_id FROM old_rows o));
    RETURN NULL;
END $$;
CREATE FUNCTION directory.signal_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM directory.signal_children_changed(ARRAY(SELECT DISTINCT o.cp_id FROM old_rows o));
    RETURN NULL;
END $$;
{_triggers()}

-- The feed as readers see it: events after a cursor, in order, at most 1000 a page.
CREATE FUNCTION directory.changes_after(p_after bigint, p_limit integer)
RETURNS TABLE (change_id bigint, kind text, cp_id text, other_cp_id text, recorded_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.change_id, c.kind, c.cp_id, c.other_cp_id, c.recorded_at FROM directory.change c
    WHERE c.change_id > coalesce(p_after, 0)
    ORDER BY c.change_id
    LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
$$;

-- Migration 0004 revoked EXECUTE from PUBLIC by default: every grant is explicit. The triggers run
-- as whoever writes the directory (loader, archivist) and reach the table only through the definer
-- functions; nobody but the owner may write the table itself.
GRANT SELECT ON directory.change TO cp_loader;
GRANT EXECUTE ON FUNCTION directory.append_change(text, text, text) TO cp_loader, cp_steward, cp_archivist;
GRANT EXECUTE ON FUNCTION directory.signal_children_changed(text[]) TO cp_loader, cp_archivist;
GRANT EXECUTE ON FUNCTION directory.changes_after(bigint, integer) TO cp_reader, cp_steward, cp_loader;
"""

DOWNGRADE = "\n".join(
    f"DROP TRIGGER {table}_{event}_signal ON directory.{table};"
    for table in TABLES for event in ("inserted", "updated", "deleted")
) + """
DROP FUNCTION directory.changes_after(bigint, integer);
DROP FUNCTION directory.signal_deleted();
DROP FUNCTION directory.signal_updated();
DROP FUNCTION directory.signal_inserted();
DROP FUNCTION directory.signal_children_changed(text[]);
DROP FUNCTION directory.append_change(text, text, text);
DROP TABLE directory.change;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
