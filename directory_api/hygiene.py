"""Control characters never reach a handler: a NUL byte or another control character in the path, the query
or a form or JSON body is answered 422 before any route runs (issue 13, finding 8).

PostgreSQL refuses NUL in text; psycopg's error then carried the request's parameters (search terms, names)
into a 500 and the server log. Refusing at the door keeps both out. Tab, line feed and carriage return are
allowed in bodies only (a reason typed in a textarea has line breaks); nothing is allowed in a path or query.
The answer never echoes the value.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote, unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

IN_URL = re.compile(r"[\x00-\x1f\x7f]")
IN_BODY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CHECKED_BODIES = ("application/x-www-form-urlencoded", "application/json")
MAX_CHECKED_BODY = 1_000_000
"""Larger form or JSON bodies are refused (413): nothing the hub takes from a browser or a front end is bigger."""
REFUSAL = "a parameter holds a control character (such as NUL): refused"


def url_is_clean(path: str, query_string: bytes) -> bool:
    """Whether a request's path and query (percent-decoded) hold no control character."""
    query = unquote_plus(query_string.decode("latin-1"), encoding="utf-8", errors="replace")
    return not IN_URL.search(unquote(path)) and not IN_URL.search(query)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def body_is_clean(content_type: str, body: bytes) -> bool:
    """Whether a form or JSON body holds no control character other than tab and line breaks."""
    text = body.decode("utf-8", errors="replace")
    if content_type.startswith("application/json"):
        try:
            return not any(IN_BODY.search(s) for s in _strings(json.loads(text)))
        except ValueError:
            return not IN_BODY.search(text)  # not JSON: the route answers 422 for that itself
    return not IN_BODY.search(unquote_plus(text, encoding="utf-8", errors="replace"))


async def _answer(send: Send, status: int, detail: str) -> None:
    payload = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


class RefuseControlCharacters:
    """ASGI middleware: 422 for a control character anywhere a request carries parameters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not url_is_clean(scope.get("path", ""), scope.get("query_string", b"")):
            await _answer(send, 422, REFUSAL)
            return
        # Only the content type is needed: no dict of every header on every request (the record reads' CPU).
        content_type = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"content-type"),
                            "")
        if not content_type.startswith(CHECKED_BODIES):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_CHECKED_BODY:
                await _answer(send, 413, "the request body is too large")
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if not body_is_clean(content_type, body):
            await _answer(send, 422, REFUSAL)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
