"""A real headless Chromium driving the console, served by uvicorn on 127.0.0.1 against the test database.

Debian's ``/usr/bin/chromium`` with the ``playwright`` wheel (never ``playwright install``). axe-core
comes from the npm registry into ``.cache/axe`` (``scripts/test.sh`` installs it when missing). The
console's Content-Security-Policy forbids every script, so the browser context bypasses CSP to inject
axe; the pages themselves never run one.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn

from contactpoint.settings import PROJECT_ROOT, get_settings
from directory_api.main import create_app
from warehouse import users
from warehouse.db import transaction

CHROMIUM = Path("/usr/bin/chromium")
AXE = PROJECT_ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = PROJECT_ROOT / "tests" / "artifacts" / "screenshots"
PASSWORD, PIN = "correct horse battery staple", "4711"
SERIOUS = {"serious", "critical"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def console_url(store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The hub's app on a free local port, for one test (plain http: cookies without Secure)."""
    monkeypatch.setenv("CONTACTPOINT_CONSOLE_SECURE_COOKIE", "false")
    get_settings.cache_clear()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Console:
    """One browser context (its own cookies) on the console, with what the stories need."""

    page: Any
    base: str
    story: str
    secrets: dict[str, str] = field(default_factory=dict)
    shots: int = 0

    def add_user(self, username: str, role: str = "steward", **entitlements: bool) -> None:
        with transaction() as conn:
            self.secrets[username] = users.add_user(conn, username=username, display_name=username.title(),
                                                    role=role, password=PASSWORD, pin=PIN, **entitlements)

    def code(self, username: str) -> str:
        return pyotp.TOTP(self.secrets[username]).now()

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def sign_in(self, username: str) -> None:
        """Fill the four factors and submit, as a person would."""
        self.goto("/console/sign-in")
        self.check("sign-in")
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_label("PIN").fill(PIN)
        self.page.get_by_label("One-time code").fill(self.code(username))
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()
        assert "/console/sign-in" not in self.page.url, self.page.content()

    def check(self, name: str) -> None:
        """Save a screenshot of the page and assert axe-core finds no serious or critical violation."""
        self.shots += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.story}-{self.shots:02d}-{name}.png"), full_page=True)
        self.page.add_script_tag(path=str(AXE))
        results = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
                   for v in results["violations"] if v["impact"] in SERIOUS]
        assert serious == [], f"accessibility violations on {name}: {serious}"

    def text(self) -> str:
        return str(self.page.inner_text("main"))


@pytest.fixture
def console(chromium: Any, console_url: str, request: pytest.FixtureRequest) -> Iterator[Console]:
    context = chromium.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    story = re.sub(r"^test_", "", request.node.name)[:60]
    yield Console(page, console_url, story)
    context.close()
