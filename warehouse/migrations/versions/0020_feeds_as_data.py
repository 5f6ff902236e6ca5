"""Feeds are data in the store as in the code: ``intake.feed`` lists the feeds the hub accepts (issue 16).

A file's and a staged record's feed were CHECKs naming five feeds (migration 0001), so a feed added to the
registry (``connectors/feeds.py``) also needed a migration. Now both are foreign keys to ``intake.feed``, which
the pipeline fills from the registry when it receives files (``warehouse.intake.register_feeds``): a feed is
one registry entry plus its parser, row contract and batch checks. Whether a feed's sender is a local authority
(Connexions, ICS) is that table's column too, read by ``directory.shielded_contact``
(``warehouse/sql/read_contract/3*.sql``) instead of a list of feed names. The downgrade puts back the CHECKs
(refused while a file of a feed outside the five is stored) and 0011's ``shielded_contact``.

Revision ID: 0020
Revises: 0019
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

READ_CONTRACT = Path(__file__).resolve().parents[2] / "sql" / "read_contract"
VERSIONS = Path(__file__).resolve().parent

UPGRADE = """
CREATE TABLE intake.feed (
    name                      text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,31}$'),
    sender_is_local_authority boolean NOT NULL DEFAULT false
);
INSERT INTO intake.feed (name, sender_is_local_authority)
VALUES ('school', false), ('gp', false), ('connexions', true), ('ecaf', false), ('ics', true);
ALTER TABLE intake.file DROP CONSTRAINT file_feed_check,
    ADD CONSTRAINT file_feed_fkey FOREIGN KEY (feed) REFERENCES intake.feed;
ALTER TABLE staging.source_record DROP CONSTRAINT source_record_feed_check,
    ADD CONSTRAINT source_record_feed_fkey FOREIGN KEY (feed) REFERENCES intake.feed;
GRANT SELECT, INSERT, UPDATE ON intake.feed TO cp_loader;
"""

DOWNGRADE = """
ALTER TABLE staging.source_record DROP CONSTRAINT source_record_feed_fkey,
    ADD CONSTRAINT source_record_feed_check CHECK (feed IN ('school', 'gp', 'connexions', 'ecaf', 'ics'));
ALTER TABLE intake.file DROP CONSTRAINT file_feed_fkey,
    ADD CONSTRAINT file_feed_check CHECK (feed IN ('school', 'gp', 'connexions', 'ecaf', 'ics'));
"""


def created_by(migration: str, function: str) -> str:
    """The definition of ``function`` in ``migration``, as CREATE OR REPLACE (migration 0019's reader)."""
    spec = importlib.util.spec_from_file_location("migration_0019", VERSIONS / "0019_lean_search.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    definition: str = module.created_by(migration, function)
    return definition


def upgrade() -> None:
    op.execute(UPGRADE)
    for path in sorted(READ_CONTRACT.glob("3*.sql")):  # 3N_*.sql are 0020's; a later migration adds its own prefix
        op.execute(path.read_text())


def downgrade() -> None:
    op.execute(created_by("0011_read_contract_security.py", "directory.shielded_contact"))
    op.execute(DOWNGRADE)
    op.execute("DROP TABLE intake.feed")
