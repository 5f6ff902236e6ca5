"""A NUL byte or another control character in any parameter is answered 422, never 500, and the search
terms around it never reach a log (issue 13, finding 8)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient

from contactpoint.settings import get_settings
from directory_api.hygiene import body_is_clean, url_is_clean
from directory_api.main import create_app
from tests.integration.test_console import Browser

pytestmark = pytest.mark.postgres


@pytest.fixture
def client(store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CONTACTPOINT_CONSOLE_SECURE_COOKIE", "false")
    get_settings.cache_clear()
    with TestClient(create_app(), base_url="http://127.0.0.1", raise_server_exceptions=False) as test_client:
        yield test_client


def test_control_characters_in_searches_and_console_parameters_answer_422_and_log_nothing(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    browser = Browser(client)
    browser.add_user("rita", role="reader")
    token = client.post("/session", json={"username": "rita", "password": "correct horse battery staple",
                                          "pin": "4711", "one_time_code": pyotp.TOTP(browser.secrets["rita"]).now()}
                        ).json()["token"]
    caplog.set_level(logging.DEBUG)
    answers = [
        client.get("/children", params={"family_name": "Hiddenw\x00orth", "date_of_birth": "2015-05-05",
                                        "purpose": "child_protection_enquiry"},
                   headers={"Authorization": f"Bearer {token}"}),
        client.get("/children/CP000000001A", params={"purpose": "safe\x00guarding"},
                   headers={"Authorization": f"Bearer {token}"}),
        client.get("/console/review", params={"feed": "ics\x00", "la": "383"}),
        client.get("/console/identity/CP00000%0001A"),
        client.post("/session", json={"username": "rita\x00", "password": "x", "pin": "1", "one_time_code": "1"}),
        client.post("/console/sign-in", data={"username": "Hiddenw\x00orth", "password": "x", "pin": "1",
                                              "one_time_code": "1", "csrf_token": "x"}),
        client.post("/console/review/1/link", data={"reason": "because\x07", "csrf_token": "x"}),
    ]
    assert [a.status_code for a in answers] == [422] * len(answers)
    assert all("\x00" not in a.text and "Hiddenw" not in a.text for a in answers)
    server_log = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))  # not the client's
    assert "Hiddenw" not in server_log and "safe" not in server_log


@pytest.mark.unit
def test_line_breaks_in_a_typed_reason_are_fine_and_nothing_else_is() -> None:
    assert body_is_clean("application/x-www-form-urlencoded", b"reason=twins%0D%0Aschool+confirmed&x=1")
    assert not body_is_clean("application/x-www-form-urlencoded", b"reason=twins%00")
    assert body_is_clean("application/json", b'{"username": "rita", "note": "a\\nb"}')
    assert not body_is_clean("application/json", b'{"username": "ri\\u0000ta"}')
    assert url_is_clean("/children", b"family_name=Smith-Jones&purpose=x")
    assert not url_is_clean("/children", b"family_name=Smith%0AJones")
