"""The directory API application: ``uvicorn directory_api.main:app``; interactive docs at ``/docs``."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from directory_api import console
from directory_api.hygiene import RefuseControlCharacters
from directory_api.routes import archive, changes, children, session

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


def create_app() -> FastAPI:
    """A new application with every router (tests build their own to override the clock)."""
    logging.getLogger("uvicorn.access").addFilter(QUERYLESS)  # once: addFilter skips a filter already there
    app = FastAPI(title="ContactPoint directory", version="1", description=DESCRIPTION)
    app.include_router(session.router)
    app.include_router(children.router)
    app.include_router(changes.router)
    app.include_router(archive.router)
    app.include_router(console.router)
    app.add_middleware(RefuseControlCharacters)
    return app


app = create_app()
