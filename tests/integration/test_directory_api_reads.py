"""The directory API's reads against a real store: a purpose on every request, the search rules, entitlements,
merged and unknown IDs, masking, the OpenAPI document, an access log without search terms, the fast lane's
answers, and reads that survive the store dropping the API's connections.
"""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from contactpoint.settings import get_settings
from directory_api.main import create_app
from tests.integration.api_story import PURPOSE, Api, audit_entries
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


def test_a_request_without_a_purpose_is_refused(api: Api) -> None:
    token = api.token()
    for path, params in [("/children", {"family_name": "Stone", "date_of_birth": "2015-01-10"}),
                         ("/children/CP000000001A", {})]:
        for purpose in ({}, {"purpose": "   "}):
            response = api.get(path, token, **params, **purpose)
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["loc"] == ["query", "purpose"]
    assert [e["action"] for e in audit_entries()] == ["sign_in"]


def test_search_rules_entitlements_unknown_and_merged_ids(api: Api) -> None:
    token = api.token()
    too_broad = api.get("/children", token, family_name="Stone", purpose=PURPOSE)
    assert too_broad.status_code == 400
    assert too_broad.json()["detail"].startswith("search not allowed: give family name and date of birth")
    assert api.get("/children", token, family_name="Stone", date_of_birth="2015-01-10", surname="x",
                   purpose=PURPOSE).status_code == 422  # an unknown criterion is not silently ignored

    missing = api.get("/children/CP000000404N", token, purpose=PURPOSE)
    assert (missing.status_code, missing.json()["detail"]) == (404, "no such child")
    merged = api.get("/children/CP000000009Z", token, purpose=PURPOSE)
    assert (merged.status_code, merged.json()) == (200, {"cp_id": "CP000000009Z", "superseded_by": "CP000000001A"})

    api.add_user("auditor", role="auditor")
    auditor = api.token("auditor")
    refused = api.get("/children/CP000000001A", auditor, purpose=PURPOSE)
    assert (refused.status_code, refused.json()["detail"]) == (
        403, "not allowed: role auditor does not read the directory")

    assert [(e["action"], e["username"], e["cp_id"], e["detail"].get("reason")) for e in audit_entries()
            if e["action"].endswith("_refused")] == [
        ("search_refused", "reader", None, "search_rules"), ("read_refused", "reader", "CP000000404N",
                                                             "no_such_child"),
        ("read_refused", "auditor", "CP000000001A", "not_allowed")]


def test_a_shielded_child_is_masked_for_a_reader_and_shown_to_an_entitled_one(api: Api) -> None:
    api.add_user("lead", may_see_shielded=True, may_see_sensitive=True)
    reader, lead = api.token(), api.token("lead")
    by_name = api.get("/children", reader, family_name="Stone", date_of_birth="2015-01-10", purpose=PURPOSE).json()
    assert by_name["data"] == [
        {"cp_id": "CP000000003C", "shielded": False, "given_name": "Ava", "family_name": "Stone",
         "date_of_birth": "2015-01-10", "gender": "F", "postcode": "S60 2AB"},
        {"cp_id": "CP000000002B", "shielded": True, "given_name": None, "family_name": None, "date_of_birth": None,
         "gender": None, "postcode": None}]
    by_postcode = api.get("/children", reader, given_name="Ava", date_of_birth="2015-01-10", gender="F",
                          postcode="s60 2ab", purpose=PURPOSE).json()
    assert [c["cp_id"] for c in by_postcode["data"]] == ["CP000000003C"]

    masked = api.get("/children/CP000000002B", reader, purpose=PURPOSE)
    assert masked.json() == {"cp_id": "CP000000002B", "shielded": True,
                             "contact": {"name": "ContactPoint team", "phone": None,
                                         "organisation": "the local authority's designated ContactPoint team"}}
    full = api.get("/children/CP000000002B", lead, purpose=PURPOSE).json()
    assert full["given_name"] == "Ava" and full["postcode"] == "S60 2AB"
    assert {i["organisation_name"] for i in full["involvements"]} == {"Oak Primary", "Riverside Sexual Health"}


def test_the_openapi_document_describes_bearer_auth_and_the_purpose(api: Api) -> None:
    assert api.client.get("/docs").status_code == 200
    spec = api.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    parameters = {p["name"]: p for p in spec["paths"]["/children/{cp_id}"]["get"]["parameters"]}
    assert parameters["purpose"]["required"] and parameters["purpose"]["description"]


def test_the_access_log_keeps_no_search_terms() -> None:
    create_app()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    access_log = logging.getLogger("uvicorn.access")
    access_log.addHandler(handler)
    old_level, access_log.level = access_log.level, logging.INFO
    try:  # the call uvicorn makes for each request
        access_log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET",
                        "/children?family_name=Stone&date_of_birth=2015-01-10&purpose=x", "1.1", 200)
    finally:
        access_log.removeHandler(handler)
        access_log.level = old_level
    assert [r.getMessage() for r in records] == ['127.0.0.1:50000 - "GET /children HTTP/1.1" 200']


def test_a_record_read_answers_the_same_through_the_fast_lane_as_through_the_router(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """``RecordReadLane`` hands GET /children/{cp_id} straight to the route's handler: every answer (a record,
    a superseded ID, no such child, a missing or unlawful purpose, a malformed ID, no token) is the one the
    router gives, and CORS still applies to it."""
    from fastapi import FastAPI

    from directory_api.routes import children

    routed = TestClient(FastAPI(routes=children.router.routes))  # the route alone: no lane
    token = api.token()
    cases: list[tuple[str, dict[str, str], dict[str, str]]] = [
        ("/children/CP000000001A", {"purpose": PURPOSE}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000009Z", {"purpose": PURPOSE, "case_reference": "SC/2026/7"},
         {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000404N", {"purpose": PURPOSE}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000001A", {}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000001A", {"purpose": "curious"}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000001A", {"purpose": PURPOSE, "case_reference": "Jane Smith"},
         {"Authorization": f"Bearer {token}"}),
        ("/children/cp1", {"purpose": PURPOSE}, {"Authorization": f"Bearer {token}"}),
        ("/children/CP000000001A", {"purpose": PURPOSE}, {"Authorization": f"Basic {token}"}),
        ("/children/CP000000001A", {"purpose": PURPOSE}, {}),
    ]
    for path, params, headers in cases:
        lane, router = (client.get(path, params=params, headers=headers) for client in (api.client, routed))
        assert (lane.status_code, lane.json(), lane.headers.get("www-authenticate")) == (
            router.status_code, router.json(), router.headers.get("www-authenticate")), (path, params)
    assert [e["action"] for e in audit_entries()].count("read_child") == 4  # two records, two superseded
    slash = {"params": {"purpose": PURPOSE}, "follow_redirects": False}  # not the lane's: the router redirects it
    assert api.client.get("/children/CP000000001A/", **slash).status_code == routed.get(
        "/children/CP000000001A/", **slash).status_code == 307

    monkeypatch.setenv("CONTACTPOINT_CORS_ORIGINS", "https://cp.example.gov.uk")
    get_settings.cache_clear()
    try:
        browser = TestClient(create_app())
        read = browser.get("/children/CP000000001A", params={"purpose": PURPOSE},
                           headers={"Authorization": f"Bearer {token}", "Origin": "https://cp.example.gov.uk"})
        assert read.status_code == 200 and read.headers["access-control-allow-origin"] == "https://cp.example.gov.uk"
    finally:
        get_settings.cache_clear()


def test_a_read_survives_the_store_dropping_the_apis_connections(api: Api) -> None:
    """The server ends every ``cp_api`` connection (a restart, a failover): the next read is answered on a
    new connection, once, and audited once; a statement that fails for itself is not sent twice."""
    token = api.token()
    assert api.get("/children/CP000000001A", token, purpose=PURPOSE).status_code == 200
    with transaction() as conn:
        ended = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE usename = 'cp_api' AND datname = current_database()")).scalar_one()
    assert ended >= 1
    again = api.get("/children/CP000000001A", token, purpose=PURPOSE)
    assert again.status_code == 200 and again.json()["cp_id"] == "CP000000001A"
    assert [e["action"] for e in audit_entries()].count("read_child") == 2
