"""National scale: the door asks about archived children only when there are some; no statistics of
whole records; the directory's history kept by statement.

Every row of every file passes the door (``warehouse/retention/door.py``); finding out that no child is
archived yet must cost an index probe, not a scan of every identity.

The loader refreshes the planner's statistics after each bulk step. Statistics sample column values, and
the history's ``old_row``/``new_row`` are whole records (names, addresses) that no plan filters on: they
get none, so a destroyed child's details cannot linger there (``ANALYZE`` of an emptied table keeps the
old sample).

Staging pages keep a fifth free: a school resends its whole roll every night, and a row that changed no
indexed column is then updated in place (a HOT update) instead of writing a new entry in each of the
table's nine indexes.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

# The directory's history, kept by statement instead of by row: one INSERT ... SELECT per statement from
# its transition tables. A row trigger cost ~40 µs a row: at national scale, minutes of every publish.
HISTORY_KEYS = {"child": ("cp_id",), "carer": ("cp_id", "source_record_id", "contact_order"),
                "involvement": ("involvement_id",)}


def _history_triggers() -> str:
    statements = ["""
CREATE FUNCTION directory.keep_history_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    SELECT TG_TABLE_NAME, n.cp_id, 'INSERT', NULL, to_jsonb(n) FROM new_rows n;
    RETURN NULL;
END $$;
CREATE FUNCTION directory.keep_history_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    SELECT TG_TABLE_NAME, o.cp_id, 'DELETE', to_jsonb(o), NULL FROM old_rows o;
    RETURN NULL;
END $$;"""]
    for table, keys in HISTORY_KEYS.items():
        same = " AND ".join(f"n.{k} = o.{k}" for k in keys)
        statements.append(f"""
DROP TRIGGER {table}_history ON directory.{table};
CREATE FUNCTION directory.keep_{table}_history_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
    SELECT TG_TABLE_NAME, n.cp_id, 'UPDATE', to_jsonb(o), to_jsonb(n) FROM new_rows n JOIN old_rows o ON {same};
    RETURN NULL;
END $$;
CREATE TRIGGER {table}_history_inserted AFTER INSERT ON directory.{table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.keep_history_inserted();
CREATE TRIGGER {table}_history_updated AFTER UPDATE ON directory.{table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.keep_{table}_history_updated();
CREATE TRIGGER {table}_history_deleted AFTER DELETE ON directory.{table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.keep_history_deleted();""")
    return "\n".join(statements)


def _row_history_triggers() -> str:
    statements = []
    for table in HISTORY_KEYS:
        statements.append(f"""
DROP TRIGGER {table}_history_inserted ON directory.{table};
DROP TRIGGER {table}_history_updated ON directory.{table};
DROP TRIGGER {table}_history_deleted ON directory.{table};
DROP FUNCTION directory.keep_{table}_history_updated();
CREATE TRIGGER {table}_history AFTER INSERT OR UPDATE OR DELETE ON directory.{table}
    FOR EACH ROW EXECUTE FUNCTION directory.keep_history();""")
    statements.append("DROP FUNCTION directory.keep_history_inserted();\n"
                      "DROP FUNCTION directory.keep_history_deleted();")
    return "\n".join(statements)

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX child_archived_idx ON identity.child (cp_id) WHERE status = 'archived'")
    op.execute("""ALTER TABLE directory.history ALTER COLUMN old_row SET STATISTICS 0,
                                                ALTER COLUMN new_row SET STATISTICS 0""")
    op.execute(_history_triggers())
    op.execute("ALTER TABLE staging.source_record SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE staging.source_record RESET (fillfactor)")
    op.execute(_row_history_triggers())
    op.execute("""ALTER TABLE directory.history ALTER COLUMN old_row SET STATISTICS -1,
                                                ALTER COLUMN new_row SET STATISTICS -1""")
    op.execute("DROP INDEX identity.child_archived_idx")
