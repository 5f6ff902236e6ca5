"""The directory API application: ``uvicorn directory_api.main:app``; interactive docs at ``/docs``."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contactpoint.settings import get_settings
from directory_api import console
from directory_api.hygiene import RefuseControlCharacters
from directory_api.record_lane import RecordReadLane
from directory_api.routes import archive, changes, children, session
from warehouse.console_reads import ReadRefused

DESCRIPTION = """Search the ContactPoint directory and read children's records, for people entitled to.
`POST /session` (user name, password, PIN, one-time code) gives a bearer token for 15 minutes; `DELETE /session`
signs out. **`purpose` is a required query parameter of every read**: it is recorded with your name against every
child you see. The database masks shielded children and sensitive services unless you are entitled to them."""


class QuerylessAccessLog(logging.Filter):
    """uvicorn's access log would keep search terms (names, dates of birth): log the path without its query."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the query string from the request line's path argument."""
        if isinstance(record.args, tuple) and len(record.args) == 5 and isinstance(record.args[2], str):
            record.args = (*record.args[:2], record.args[2].split("?", 1)[0], *record.args[3:])
        return True


QUERYLESS = QuerylessAccessLog()
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")


class DocsStayOnTheHub:
    """ASGI middleware: ReDoc's bundle still points its "powered by" logo at a CDN, so the docs pages may
    load only the hub's files. Plain ASGI, not ``@app.middleware("http")``: that wraps every request in
    a task and a stream (about 0.3 ms of CPU each), and only two pages need the header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in ("/docs", "/redoc"):
            await self.app(scope, receive, send)
            return

        async def with_csp(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Content-Security-Policy"] = DOCS_CSP
            await send(message)

        await self.app(scope, receive, with_csp)


def create_app() -> FastAPI:
    """A new application with every router (tests build their own to override the clock)."""
    logging.getLogger("uvicorn.access").addFilter(QUERYLESS)  # once: addFilter skips a filter already there
    # /docs and /redoc from Swagger UI and ReDoc files installed with the project (fastapi-offline), not
    # a CDN: a hub inside a government network has no internet.
    app = FastAPIOffline(title="ContactPoint directory", version="1", description=DESCRIPTION,
                         static_url="/docs-assets", swagger_ui_parameters={"validatorUrl": None})
    app.add_middleware(RecordReadLane)  # first added, so innermost: inside CORS and the control-character check
    origins = get_settings().cors_origin_list
    if origins:
        # Bearer tokens, no cookies cross-origin: the console's cookie session stays same-origin only.
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/docs")

    app.include_router(session.router)
    app.include_router(children.router)
    app.include_router(changes.router)
    app.include_router(archive.router)
    app.include_router(console.router)
    app.add_exception_handler(ReadRefused, console.session.read_refused)
    app.add_middleware(RefuseControlCharacters)
    app.add_middleware(DocsStayOnTheHub)
    return app


app = create_app()
