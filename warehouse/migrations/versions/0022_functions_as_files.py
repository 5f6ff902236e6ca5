"""The store's remaining functions stand in ``warehouse/sql/`` files, as the read contract's already did (issue 16).

Forty-two functions were defined only inside migrations (0001, 0004, 0005, 0006, 0008, 0010, 0011, 0013),
some changed afterwards by ``ALTER FUNCTION`` (0013 took the SET clause off the small helpers, 0018 made
``audit.chain_hash`` STABLE): to know what the store runs one had to replay the history. Each now stands,
as the store holds it at 0021 and with the comments saying why, in a file by area:

- ``read_contract/4*.sql``: the purposes, the sessions, the masking helpers, the change feed's reads and
  the archive's read;
- ``audit/*.sql``: the chain, the steward-decision trigger, the auditor's reports;
- ``change_feed/*.sql``: the change feed's events and the directory's history triggers;
- ``identity/*.sql``: ContactPoint IDs, the steward-action check, the linker's features trigger.

A later migration that changes one of them changes its file and re-applies it, as 0021 does. The files say
the definitions and grants 0021 leaves, so applying them changes nothing (the function definitions and
ACLs of a store at 0021 and at 0022 are the same); the downgrade has nothing to undo. Functions that
pgcrypto provides (``crypto.*``, or 0014's stand-ins where the server has no pgcrypto) stay as they are.
The audit functions belong to ``cp_audit_owner``: replacing them needs the migrating role that 0013 and
0018 needed to alter them (a superuser), and keeps their owner.

Revision ID: 0022
Revises: 0021
"""

from pathlib import Path

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[2] / "sql"
# 4N_*.sql are 0022's in read_contract/; the other folders are 0022's whole.
FILES = ["read_contract/4*.sql", "audit/*.sql", "change_feed/*.sql", "identity/*.sql"]


def upgrade() -> None:
    for pattern in FILES:
        for path in sorted(SQL.glob(pattern)):
            op.execute(path.read_text())


def downgrade() -> None:
    # The upgrade re-stated what 0021 left (same definitions, same grants): there is nothing to put back.
    pass
