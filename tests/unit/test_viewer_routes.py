"""The gateway's viewer routes before the page is built: a 404 that says how to build it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.applications import Starlette
from starlette.types import Message

from oretrail.gateway.viewer import SECURITY_HEADERS, viewer_routes


async def get(app: Starlette, path: str) -> tuple[int, dict[str, str], bytes]:
    sent: list[Message] = []
    requested = False
    finished = asyncio.Event()

    async def receive() -> Message:
        # The request once; then, as a server does, a disconnect once the answer is sent.
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "http_version": "1.1",
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


async def test_an_unbuilt_viewer_answers_404_naming_the_build_command(tmp_path: Path) -> None:
    app = Starlette(routes=viewer_routes(tmp_path / "dist"))
    status, headers, body = await get(app, "/")
    assert status == 404
    assert b"npm ci && npm run build" in body
    assert headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
    status, _, _ = await get(app, "/viewer/app.js")
    assert status == 404


async def test_a_built_viewer_serves_its_index_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>", encoding="utf-8")
    (tmp_path / "app.js").write_text("export {};", encoding="utf-8")
    app = Starlette(routes=viewer_routes(tmp_path))
    status, headers, body = await get(app, "/")
    assert (status, body) == (200, b"<!doctype html><title>t</title>")
    assert headers["content-type"].startswith("text/html")
    status, headers, _ = await get(app, "/viewer/app.js")
    assert status == 200
    assert headers["x-content-type-options"] == "nosniff"
