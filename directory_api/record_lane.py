"""The hub's hottest request, ``GET /children/{cp_id}``, handed straight to its route's own handler.

Every read of a child's record is audited in its own transaction, and the directory must take 1,000 of them
a second on two cores (issue 13). Past the outer middleware (CORS, control characters, the docs' CSP), the
framework's own layers (exception middleware, the exit stack, matching the path against every route, the
request-response wrapper and its dependency solving) cost about as much CPU as the database's read.
This lane calls :func:`directory_api.routes.children.read_child`, the same handler the router would,
and answers its refusals exactly as FastAPI's default handlers do. Anything else, and a path that is not
exactly ``/children/<one segment>``, goes on to the application unchanged; the route stays in the
router, so the OpenAPI document and any other mounting still describe and serve it.
"""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from directory_api.routes.children import read_child

PREFIX = "/children/"


def is_record_read(scope: Scope) -> bool:
    """Whether the request is ``GET /children/<one path segment>`` (what the route's path matches)."""
    if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("root_path"):
        return False
    path: str = scope.get("path", "")
    return path.startswith(PREFIX) and len(path) > len(PREFIX) and "/" not in path[len(PREFIX):]


class RecordReadLane:
    """ASGI middleware: a record read goes straight to ``read_child``; everything else to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_record_read(scope):
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"cp_id": scope["path"][len(PREFIX):]}
        request = Request(scope, receive)
        response: Response
        try:
            response = await read_child(request)
        except RequestValidationError as refusal:
            response = await request_validation_exception_handler(request, refusal)
        except HTTPException as refusal:
            response = await http_exception_handler(request, refusal)
        await response(scope, receive, send)
