"""The steward and operations console: server-rendered pages under ``/console`` on the directory API's app.

Each page module has its own router; this package's ``router`` gathers them (add an ``include_router`` line
for a new module). ``session`` holds what every page shares: sign-in state, roles, CSRF and rendering.
"""

from __future__ import annotations

from fastapi import APIRouter

from directory_api.console import model_lifecycle, operations, pages, review

router = APIRouter(prefix="/console", include_in_schema=False)
router.include_router(pages.router)
router.include_router(review.router)
router.include_router(operations.router)
router.include_router(model_lifecycle.router)
