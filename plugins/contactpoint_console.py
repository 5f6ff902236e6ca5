"""Airflow 3 plugin: the hub's steward and operations console, inside Airflow's own UI.

A data team watching DAG runs finds "ContactPoint console" in Airflow's navigation (an external view
shown in Airflow's frame), served by Airflow's API server itself: the plugin mounts the hub's FastAPI app
under ``/console`` (``fastapi_apps``), so no second server is needed. The console keeps its own
four-factor sign-in, CSRF and short sessions: Airflow's login does not open it.

The console's pages link to absolute ``/console/...`` paths. Airflow mounts a plugin app with Starlette's
``Mount``, which makes the mount path the sub-application's ``root_path`` and routes on what follows;
``ConsoleAtItsOwnPaths`` hands the hub app its requests as if it were not mounted, so the same paths work
in both places, and only ``/console/...`` reaches it (the directory API's other routes stay off Airflow).
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin
from starlette.types import ASGIApp, Receive, Scope, Send

from directory_api.main import create_app

MOUNT = "/console"
VIEW_ROUTE = "contactpoint-console"


class ConsoleAtItsOwnPaths:
    """ASGI wrapper: undo the mount's ``root_path`` so the app routes on the full ``/console/...`` path."""

    def __init__(self, app: ASGIApp, mount: str = MOUNT) -> None:
        self.app = app
        self.mount = mount

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            root_path = str(scope.get("root_path", ""))
            scope = {**scope, "root_path": root_path.removesuffix(self.mount)}
        await self.app(scope, receive, send)


CONSOLE_APP: dict[str, Any] = {
    "app": ConsoleAtItsOwnPaths(create_app()),
    "url_prefix": MOUNT,
    "name": "ContactPoint console",
}

CONSOLE_VIEW: dict[str, Any] = {
    "name": "ContactPoint console",
    # Relative to Airflow's own address: the console above, mounted on the same server.
    "href": f"{MOUNT}/",
    # Shown inside Airflow's frame at /plugin/contactpoint-console; the console has its own sign-in.
    "url_route": VIEW_ROUTE,
    "destination": "nav",
    "category": "browse",
}


class ContactPointConsolePlugin(AirflowPlugin):
    """Registers the console app and its navigation entry."""

    name = "contactpoint_console"
    fastapi_apps = [CONSOLE_APP]
    external_views = [CONSOLE_VIEW]
