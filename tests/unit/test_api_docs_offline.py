"""A front-end developer inside a network with no internet opens /docs and /redoc: every file the pages load
comes from the hub itself (Swagger UI and ReDoc installed with the project), the schema carries examples,
`/` leads to the docs, and only the origins in the CORS allow-list may call the API from a browser."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from contactpoint.settings import get_settings
from directory_api.main import create_app

pytestmark = pytest.mark.unit


def _loaded_urls(html: str) -> list[str]:
    """Every script, style sheet, icon and schema URL a docs page makes the browser fetch."""
    pattern = r"""(?:src|href)=["']([^"']+)["']|url: ?['"]([^'"]+)['"]"""
    return [a or b for a, b in re.findall(pattern, html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_outside_the_hub(page: str) -> None:
    client = TestClient(create_app())
    response = client.get(page)
    html = response.text
    assert "img-src 'self' data:" in response.headers["content-security-policy"]  # nothing from elsewhere
    urls = _loaded_urls(html)
    assert urls, html
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts and all(len(client.get(u).content) > 500_000 for u in scripts)  # the real bundles


def test_the_root_leads_to_the_docs_and_the_schema_shows_the_sign_in_fields_with_examples() -> None:
    client = TestClient(create_app())
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 307) and response.headers["location"] == "/docs"
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    sign_in = schemas["SessionCreate"]["properties"]
    assert {"username", "password", "pin", "one_time_code"} <= set(sign_in)
    assert all(field.get("examples") for name, field in sign_in.items()), sign_in


def test_only_allowed_origins_may_call_the_api_from_a_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    get_settings.cache_clear()
    none = TestClient(create_app())
    assert "access-control-allow-origin" not in none.options(
        "/session", headers={"Origin": "https://cp.example.gov.uk", **preflight}).headers

    monkeypatch.setenv("CONTACTPOINT_CORS_ORIGINS", "https://cp.example.gov.uk/, https://test.example.gov.uk")
    get_settings.cache_clear()
    try:
        client = TestClient(create_app())
        allowed = client.options("/session", headers={"Origin": "https://cp.example.gov.uk", **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://cp.example.gov.uk"
        refused = client.options("/session", headers={"Origin": "https://evil.example.com", **preflight})
        assert "access-control-allow-origin" not in refused.headers
    finally:
        get_settings.cache_clear()
