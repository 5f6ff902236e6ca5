"""Linkage model versions kept in ``identity.model`` (estimated from the staged records, not yet promoted)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text


def keep_model(conn: Connection, version: str, model: dict[str, Any]) -> None:
    """Keep a trained model under ``version``; it links nothing until promoted."""
    conn.execute(text("INSERT INTO identity.model (version, model) VALUES (:v, CAST(:m AS jsonb))"),
                 {"v": version, "m": json.dumps(model)})
