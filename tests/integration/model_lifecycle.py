"""What the model lifecycle's stories share: a linked population, a "retrained" model beside the bundled one,
stewards, the record pairs whose truth is known, and the console signed in as the steward lead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from contactpoint.settings import get_settings
from directory_api.main import create_app
from matching.model import load_model
from pipeline.steps import link
from tests.integration.population import deliver_population
from warehouse import users
from warehouse.db import transaction

SHIFTED = "child_linkage_v1-shifted"


def rows(sql: str, **params: object) -> list[tuple]:
    with transaction() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def load_population(store: Path, children: int = 400, seed: int = 23) -> None:
    """A generated population with many faults, delivered and linked by the bundled model."""
    deliver_population(store, children=children, seed=seed, fault_rate=0.15)
    link("first")


def store_shifted_model() -> None:
    """A "retrained" model: the bundled one with prior odds eight times higher, so every weight rises by 3."""
    model = load_model()
    prior = model["probability_two_random_records_match"]
    model["probability_two_random_records_match"] = 8 * prior / (1 - prior + 8 * prior)
    with transaction() as conn:
        conn.execute(text("INSERT INTO identity.model (version, model) VALUES (:v, CAST(:m AS jsonb))"),
                     {"v": SHIFTED, "m": json.dumps(model)})


def add_steward(name: str = "lead", role: str = "steward") -> str:
    with transaction() as conn:
        return users.add_user(conn, username=name, display_name=name.title(), role=role, password="pw", pin="1234")


def sure_matches(limit: int) -> list[tuple[int, int]]:
    """Record pairs sharing a valid NHS number and date of birth: a rule links them whatever the weights."""
    return [(a, b) for a, b in rows("""
        SELECT a.record_id, b.record_id FROM staging.source_record a JOIN staging.source_record b
          ON a.nhs_number = b.nhs_number AND a.date_of_birth = b.date_of_birth AND a.record_id < b.record_id
        ORDER BY a.record_id, b.record_id LIMIT :n""", n=limit)]


def conflicting_identifiers(limit: int) -> list[tuple[int, int]]:
    """Record pairs with two different valid NHS numbers: never one child."""
    return [(a, b) for a, b in rows("""
        SELECT a.record_id, b.record_id FROM staging.source_record a JOIN staging.source_record b
          ON a.nhs_number <> b.nhs_number AND a.family_name = b.family_name AND a.record_id < b.record_id
        ORDER BY a.record_id, b.record_id LIMIT :n""", n=limit)]


def signed_in_console(monkeypatch: pytest.MonkeyPatch, username: str, secret: str) -> TestClient:
    monkeypatch.setenv("CONTACTPOINT_CONSOLE_SECURE_COOKIE", "false")  # the test client speaks plain http
    get_settings.cache_clear()
    client = TestClient(create_app())
    form = client.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    signed = client.post("/console/sign-in", follow_redirects=False, data={
        "username": username, "password": "pw", "pin": "1234", "one_time_code": pyotp.TOTP(secret).now(),
        "csrf_token": token.group(1)})
    assert signed.status_code == 303
    return client
