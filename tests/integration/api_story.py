"""What the directory API's stories share: a small directory built with plain SQL, users added with
``warehouse.users.add_user``, and a client on an injected clock (``deps.get_clock``), so that one-time codes,
lock-outs and session expiry are computed at known times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import text

from warehouse import users
from warehouse.db import transaction

PASSWORD, PIN = "correct horse battery staple", "4711"


PURPOSE = "missing_education"


@dataclass
class Clock:
    """The API's "now", moved on by the tests."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Api:
    client: TestClient
    clock: Clock
    secrets: dict[str, str]

    def add_user(self, username: str, role: str = "reader", **entitlements: bool) -> None:
        """A user with the shared password and PIN (argon2 makes each about a second: add only what a test needs)."""
        with transaction() as conn:
            self.secrets[username] = users.add_user(conn, username=username, display_name=username.title(), role=role,
                                                    password=PASSWORD, pin=PIN, **entitlements)

    def code(self, username: str = "reader", *, at: datetime | None = None) -> str:
        return pyotp.TOTP(self.secrets[username]).at(at or self.clock.now)

    def sign_in(self, username: str = "reader", *, password: str = PASSWORD, pin: str = PIN,
                code: str | None = None) -> Any:
        return self.client.post("/session", json={"username": username, "password": password, "pin": pin,
                                                  "one_time_code": code or self.code(username)})

    def token(self, username: str = "reader") -> str:
        response = self.sign_in(username)
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def get(self, path: str, token: str, **params: str) -> Any:
        return self.client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def audit_entries(action: str | None = None) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [dict(r) for r in conn.execute(text("""
            SELECT username, user_role, action, cp_id, purpose, detail FROM audit.entry
            WHERE CAST(:action AS text) IS NULL OR action = :action ORDER BY entry_id"""),
            {"action": action}).mappings()]


def failed_attempts(username: str) -> int:
    with transaction() as conn:
        creds = users.get_credentials(conn, username)
    assert creds is not None
    return int(creds["failed_attempts"])


def add_child(conn: Any, cp_id: str, given: str, family: str, born: str, *, gender: str = "F",
              postcode: str = "S60 1AA", shielded: bool = False) -> None:
    conn.execute(text("INSERT INTO identity.child (cp_id) VALUES (:cp_id)"), {"cp_id": cp_id})
    conn.execute(text("""
        INSERT INTO directory.child (cp_id, given_name, family_name, date_of_birth, gender, address_line_1,
                                     postcode, shielded)
        VALUES (:cp_id, :given, :family, :born, :gender, '12 Oak Road', :postcode, :shielded)"""),
        {"cp_id": cp_id, "given": given, "family": family, "born": date.fromisoformat(born), "gender": gender,
         "postcode": postcode, "shielded": shielded})


def add_involvements(conn: Any, cp_id: str, given: str, family: str, born: str) -> None:
    """A school and a sensitive service working with the child, and a parent (each needs a source record)."""
    file_id = conn.execute(text("""
        INSERT INTO intake.file (feed, file_name, sha256, size_bytes)
        VALUES ('school', :name, md5(:name) || md5(:name), 1) RETURNING file_id"""), {"name": cp_id}).scalar_one()
    record_id = conn.execute(text("""
        INSERT INTO staging.source_record (feed, sender, source_key, file_id, row_number, extract_time, given_name,
                                           family_name, date_of_birth, gender, content_hash)
        VALUES ('school', '372', :cp_id, :file_id, 1, now(), :given, :family, :born, 'F', 'x')
        RETURNING record_id"""),
        {"cp_id": cp_id, "file_id": file_id, "given": given, "family": family,
         "born": date.fromisoformat(born)}).scalar_one()
    conn.execute(text("""
        INSERT INTO directory.involvement (cp_id, source_record_id, kind, organisation_code, organisation_name,
                                           practitioner_name, phone, lead_professional, service_type, sensitive)
        VALUES (:cp_id, :r, 'education', '3722001', 'Oak Primary', 'Ms Head', '01709 000001', true, NULL, false),
               (:cp_id, :r, 'other', 'CLINIC1', 'Riverside Sexual Health', 'Dr Lee', '01709 000002', false,
                'sexual_health', true)"""), {"cp_id": cp_id, "r": record_id})
    conn.execute(text("""
        INSERT INTO directory.carer (cp_id, source_record_id, contact_order, given_name, family_name, relationship,
                                     parental_responsibility, phone)
        VALUES (:cp_id, :r, 1, 'Jane', :family, 'PAR', true, '01709 123456')"""),
        {"cp_id": cp_id, "r": record_id, "family": family})
