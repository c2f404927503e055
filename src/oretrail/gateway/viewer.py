"""The trace viewer: the static page the gateway serves at ``/`` (built from ``web/``).

The page signs each request in the browser with the user's own key (web/src/signing.js)
and calls ``/graphql`` on the same origin; the gateway only hands out files: the page
at ``/`` (GET and HEAD only) and its script and style under ``/viewer/``, so every
other path answers exactly as before. The files
are built at install time (``npm ci && npm run build`` in ``web/``, see docs/viewer.md)
into ``web/dist``; until then ``/`` answers 404 saying how to build them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_VIEWER_DIR", "SECURITY_HEADERS", "viewer_routes"]

# src/oretrail/gateway/viewer.py -> the checkout's web/dist.
DEFAULT_VIEWER_DIR = Path(__file__).resolve().parents[3] / "web" / "dist"

# The page holds a private key: it runs only its own script, talks only to its own
# origin, and cannot be framed. The chart libraries set inline styles, hence
# 'unsafe-inline' for styles only (the browser test fails on any other refusal).
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}

NOT_BUILT = (
    "The trace viewer is not built. In the checkout, run: "
    "(cd web && npm ci && npm run build) -- see docs/viewer.md.\n"
)


class _WithHeaders:
    """Adds the security headers to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() not in SECURITY_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def viewer_routes(directory: Path = DEFAULT_VIEWER_DIR) -> list[BaseRoute]:
    """``/`` (the page) and ``/viewer/`` (its files) from ``directory``; while
    ``directory`` has no index.html, ``/`` answers 404 saying how to build it."""
    index = directory / "index.html"

    async def page(request: Request) -> Response:
        if not await asyncio.to_thread(index.is_file):
            return PlainTextResponse(NOT_BUILT, status_code=404, headers=SECURITY_HEADERS)
        return FileResponse(index, media_type="text/html", headers=SECURITY_HEADERS)

    static = StaticFiles(directory=directory, check_dir=False)

    async def files(scope: Scope, receive: Receive, send: Send) -> None:
        # StaticFiles raises (a 500) over a missing directory; unbuilt is a plain 404.
        built = await asyncio.to_thread(directory.is_dir)
        app = static if built else PlainTextResponse(NOT_BUILT, status_code=404)
        await app(scope, receive, send)

    return [
        Route("/", page, methods=["GET", "HEAD"]),
        Mount("/viewer", _WithHeaders(files)),
    ]
