"""The steward console in Airflow's own UI: the repo's plugin loads, registers its navigation entry, and
Airflow's API server serves the console under ``/console`` (no webserver started: Airflow's own loader
and its own ``init_plugins`` on a bare FastAPI app)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipeline.airflow_env import PLUGINS_FOLDER, airflow_environment

pytestmark = pytest.mark.dags


def test_the_hubs_airflow_environment_points_at_the_repos_plugins() -> None:
    assert airflow_environment(Path("/tmp/home"))["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(PLUGINS_FOLDER)
    assert (PLUGINS_FOLDER / "contactpoint_console.py").is_file()


def test_airflow_loads_the_console_plugin_and_lists_it_in_its_navigation() -> None:
    from airflow import plugins_manager, settings
    from airflow.api_fastapi.core_api.datamodels.plugins import PluginResponse

    assert Path(str(settings.PLUGINS_FOLDER)) == PLUGINS_FOLDER  # tests/conftest.py applied the environment
    assert plugins_manager.get_import_errors() == {}
    [info] = [p for p in plugins_manager.get_plugin_info() if p["name"] == "contactpoint_console"]
    # What Airflow's /api/v2/plugins answers its UI with: the UI builds its menu from this.
    plugin = PluginResponse.model_validate(info)
    [view] = plugin.external_views
    assert (view.name, view.href, view.url_route, view.destination) == (
        "ContactPoint console", "/console/", "contactpoint-console", "nav")
    [app] = plugin.fastapi_apps
    assert app.url_prefix == "/console"


@pytest.mark.postgres
def test_airflows_api_server_serves_the_console_and_nothing_else_of_the_hub(store: Path) -> None:
    # ``store``: the console asks the test database who is signed in (without it, the hub would start
    # an embedded server of its own and leave it running).
    from airflow.api_fastapi.app import init_plugins

    server = FastAPI()  # stands in for Airflow's API server app: the same init_plugins mounts plugin apps
    init_plugins(server)
    with TestClient(server) as client:
        page = client.get("/console/sign-in")
        assert page.status_code == 200
        # The console's own absolute links resolve on Airflow's server too.
        assert 'action="/console/sign-in"' in page.text
        assert client.get("/console/static/console.css").status_code == 200
        home = client.get("/console/", follow_redirects=False)  # not signed in: sent to sign in, on /console
        assert home.status_code in (302, 303, 307) and home.headers["location"].startswith("/console/sign-in")
        # Only the console is mounted: the directory API's search is not reachable through Airflow.
        assert client.get("/console/children").status_code == 404
        assert client.get("/children").status_code == 404
