"""One log entry, one receipt and one signed answer for every request a node answers.

A request for data gets exactly one leaf in the node's access log (DESIGN.md,
Trust 6), written after its answer is rendered, because the leaf holds the
answer's digest. While a request is answered its decisions collect in a
:class:`RequestEntry` (``node.lots.log_decisions``); the GraphQL view then
appends the entry and puts the evidence in ``extensions.evidence``
(:meth:`Witness.seal`). Whatever is refused before the view answers (the body
guard, an unverified caller, an HTTP error) is logged by :class:`WitnessedEdge`,
the outermost layer at /graphql, which adds the same evidence to the refusal's
JSON body as a top-level ``evidence`` member. The wire shapes are in
:mod:`oretrail.auth.witness`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oretrail.auth.access_log import AccessLog
from oretrail.auth.keys import SigningKey
from oretrail.auth.principal import Principal
from oretrail.auth.witness import call_hash, request_hash, response_digest, sign_answer
from oretrail.domain.model import Shipment
from oretrail.node.shipment_log import ShipmentLog

__all__ = ["RequestEntry", "Witness", "WitnessedEdge", "request_entry"]

# Where the edge leaves a request's entry for the view (``scope["state"]``).
STATE_KEY = "log_entry"


@dataclass(slots=True)
class RequestEntry:
    """The access-log entry of one request, filled in while it is answered."""

    queries: list[str] = field(default_factory=list)
    lots: list[dict[str, Any]] = field(default_factory=list)
    # Shipment records the decisions consulted (witnessed before the answer leaves).
    shipments: list[Shipment] = field(default_factory=list)
    # The GraphQL variables the request was answered with (None: never read).
    variables: dict[str, Any] | None = None
    sealed: bool = False

    def add(self, query: str, lots: list[dict[str, Any]]) -> None:
        """Record one answered field (``lots``, ``outputs``...) and its per-lot decisions."""
        self.queries.append(query)
        self.lots.extend(lots)

    def consulted(self, shipments: Iterable[Shipment]) -> None:
        """Note shipment records a decision rested on (node.shipment_log)."""
        self.shipments.extend(shipments)


def request_entry(state: Mapping[str, Any]) -> RequestEntry:
    entry = state.get(STATE_KEY)
    assert isinstance(entry, RequestEntry), "WitnessedEdge wraps the node's /graphql"
    return entry


@dataclass(frozen=True, slots=True)
class Witness:
    """A node's log and the key that signs its answers."""

    log: AccessLog
    key: SigningKey
    shipments: ShipmentLog | None = None

    async def seal(
        self,
        entry: RequestEntry,
        principal: Principal | None,
        body: Mapping[str, Any],
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Append the request's one leaf; the evidence to send with ``body``."""
        if principal is None:
            caller: dict[str, Any] = {"caller": None, "org": None, "purpose": None, "txn": None}
            req = None
        else:
            caller = {
                "caller": principal.sub,
                "org": principal.org,
                "purpose": principal.purpose,
                "txn": principal.txn,
            }
            req = request_hash(principal.request.hash)
        digest = response_digest(body)
        witnessed: dict[str, Any] = {}
        if self.shipments is not None:
            witnessed["shipments"] = await self.shipments.witness(entry.shipments)
        record = {
            **caller,
            "on_behalf_of_via": "gateway",
            "query": ",".join(entry.queries) or ("refused" if reason else "graphql"),
            **({"reason": reason[:500]} if reason else {}),
            "lots": entry.lots,
            **witnessed,
            "req": req,
            "digest": digest,
        }
        entry.sealed = True
        receipt = await self.log.append(record)
        call = None if entry.variables is None else call_hash(entry.variables)
        answer = sign_answer(self.key, req, digest, receipt, call)
        return {"answer": answer, "receipt": receipt.to_json()}


def _refusal_body(raw: bytes, status: int) -> tuple[dict[str, Any], str]:
    """A refusal's JSON body (made one if it is not) and its first error message."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        text = raw.decode("utf-8", "replace")[:500] or f"HTTP {status}"
        body = {"errors": [{"message": text, "extensions": {"code": "BAD_INPUT"}}]}
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    message = first.get("message") if isinstance(first, dict) else None
    return body, str(message or body.get("error") or f"HTTP {status}")


class WitnessedEdge:
    """The outermost layer at a node's /graphql: no request leaves without its leaf.

    Responses the GraphQL view sealed pass through untouched. A 4xx or 5xx
    that nothing sealed (a refusal at the HTTP edge) is logged here with the
    reason its body gives, and gets the evidence as a top-level member.
    """

    def __init__(self, app: ASGIApp, witness: Witness) -> None:
        self._app = app
        self._witness = witness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        entry = state[STATE_KEY] = RequestEntry()
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if entry.sealed or message["status"] < 400:
                    await send(message)
                else:
                    start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._refusal(state, entry, start, b"".join(chunks), send)

        await self._app(scope, receive, capture)

    async def _refusal(
        self,
        state: dict[str, Any],
        entry: RequestEntry,
        start: Message,
        raw: bytes,
        send: Send,
    ) -> None:
        body, reason = _refusal_body(raw, start["status"])
        principal = state.get("principal")
        body["evidence"] = await self._witness.seal(
            entry, principal if isinstance(principal, Principal) else None, body, reason
        )
        # json.dumps escapes anything non-ASCII, so no reason can break the encoding.
        data = json.dumps(body).encode("ascii")
        headers = [
            (name, value)
            for name, value in start.get("headers", [])
            if name.lower() not in (b"content-length", b"content-type")
        ]
        headers += [
            (b"content-length", str(len(data)).encode("ascii")),
            (b"content-type", b"application/json"),
        ]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": data, "more_body": False})
