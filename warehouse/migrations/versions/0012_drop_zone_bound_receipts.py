"""Receipts bound to the drop zone a file came from, and deliveries refused before their bytes are registered.

``intake.file.dropzone`` names the drop zone (a folder's absolute path, an SFTP account) whose ``outbound/``
gets the file's receipt: two runs on different drop zones share one store without answering each other's
senders. ``intake.refused_delivery`` keeps what was refused before its bytes were registered (a name the hub
cannot take, a symbolic link, a malformed or wrong ``.sha256``), with its receipt, so a crash between
refusing and answering is finished by the next run, and the same bytes sent again properly are loaded.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE intake.file ADD COLUMN dropzone text;
CREATE INDEX file_awaiting_receipt ON intake.file (dropzone, feed) WHERE status = 'received';

CREATE TABLE intake.refused_delivery (
    refusal_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dropzone     text NOT NULL,
    feed         text NOT NULL,
    name_bytes   bytea NOT NULL,          -- the name exactly as listed (it may not be UTF-8)
    file_name    text NOT NULL,           -- the name as text (bytes that are not UTF-8 shown as U+FFFD)
    receipt_name text NOT NULL,           -- outbound/<feed>/<receipt_name>.receipt.json
    reason       text NOT NULL,
    sha256       char(64) CHECK (sha256 ~ '^[0-9a-f]{64}$'),  -- of the bytes, when they were read
    body         jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
CREATE INDEX refused_delivery_unanswered ON intake.refused_delivery (dropzone, feed) WHERE delivered_at IS NULL;
GRANT SELECT, INSERT, UPDATE ON intake.refused_delivery TO cp_loader;
GRANT USAGE, SELECT ON SEQUENCE intake.refused_delivery_refusal_id_seq TO cp_loader;
"""

DOWNGRADE = """
DROP TABLE intake.refused_delivery;
DROP INDEX intake.file_awaiting_receipt;
ALTER TABLE intake.file DROP COLUMN dropzone;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
