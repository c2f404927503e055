"""ASGI wrappers around a real node app, for fault tests on real servers.

:class:`RewrittenNode` lets a real node (its policy, its grants, its store) answer,
then rewrites the JSON answer before it leaves, as a faulty or hostile node would;
it records the ids each ``lots`` request asked. :class:`DelayedNode` answers late.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oretrail.auth.party_keys import FederationKeys
from oretrail.bootstrap import FederationConfig, node_app, node_security

__all__ = ["DelayedNode", "RewrittenNode", "real_node"]


def real_node(config: FederationConfig, org: str, keys: FederationKeys) -> ASGIApp:
    """The node app run_federation would serve for ``org`` with these keys."""
    participant = config.registry.get(org)
    roles = {o: [str(r) for r in p.roles] for o, p in config.registry.participants.items()}
    security = node_security(
        participant, keys.member(org).node_key, keys.pinned(roles), config, None
    )
    return node_app(participant, security, graph_dir=config.graph_dir)


class RewrittenNode:
    """A real node whose JSON answers pass through ``rewrite`` on their way out."""

    def __init__(self, app: ASGIApp, rewrite: Callable[[dict[str, Any]], None]) -> None:
        self.app = app
        self.rewrite = rewrite
        self.asked: list[tuple[str, ...]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan: the node opens its store
            return
        request = bytearray()
        start: Message | None = None
        body = bytearray()

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request.extend(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            payload = self._rewritten(bytes(body))
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(payload)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": payload})

        await self.app(scope, receiving, sending)
        self._note_ids(bytes(request))

    def _rewritten(self, payload: bytes) -> bytes:
        try:
            document = json.loads(payload)
        except ValueError:
            return payload
        if not isinstance(document, dict):
            return payload
        self.rewrite(document)
        return json.dumps(document).encode()

    def _note_ids(self, request: bytes) -> None:
        try:
            variables = json.loads(request).get("variables") or {}
        except (ValueError, AttributeError):
            return
        ids = variables.get("ids") if isinstance(variables, dict) else None
        if isinstance(ids, list):
            self.asked.append(tuple(str(i) for i in ids))


class DelayedNode:
    """A real node that takes ``delay`` seconds longer to answer each request."""

    def __init__(self, app: ASGIApp, delay: float) -> None:
        self.app = app
        self.delay = delay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)
