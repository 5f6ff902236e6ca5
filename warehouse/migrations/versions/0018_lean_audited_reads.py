"""An audited API read resolves its reader once and refuses without a subtransaction (issue 13, throughput).

``directory.api_child_record`` used to look the session up three times (for the 401 answer, for the read
budget, and by user name for the entitlements), hash the token twice, plan a SQL definer function on every
call (one with a SET clause is never inlined) and run the record inside an exception block: a subtransaction
around the audit insert on every read. The functions in ``warehouse/sql/read_contract/*.sql`` read the
session once (``access.api_reader``), answer a refusal without raising (``access.read_refusal``) and build
the record in one place (``directory.child_record_for``), which ``directory.child_record`` (the contract by
user name) now calls too. Same signatures, answers and audit entries. Also: the lawful-purpose check
without a capturing regular expression, lone function calls as assignments (PL/pgSQL starts no executor
for them), and ``audit.chain_hash`` STABLE so the planner inlines it into the audit insert (as IMMUTABLE
around a STABLE argument it ran through the SQL-function executor, parsing its body on every entry).
Measured with pgbench as ``cp_api`` (one client, asynchronous commit, machine loaded, load 6-8): 1.25 ms
to 0.82 ms per call inside the function with the first change; CPU of the whole function in a loop of
3,000 calls, 690 to about 400 us with all of them.

The downgrade makes ``audit.chain_hash`` IMMUTABLE again and keeps the new bodies (same signatures and
answers; 0013's downgrade drops the API functions), so it drops nothing a function still standing calls.

Revision ID: 0018
Revises: 0017
"""

from pathlib import Path

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

READ_CONTRACT = Path(__file__).resolve().parents[2] / "sql" / "read_contract"


def upgrade() -> None:
    for path in sorted(READ_CONTRACT.glob("1*.sql")):  # 1N_*.sql are 0018's; a later migration adds its own prefix
        op.execute(path.read_text())


def downgrade() -> None:
    op.execute("ALTER FUNCTION audit.chain_hash(text, text) IMMUTABLE")
