"""The caller's side: a typed client of the gateway, and the signing under it.

:class:`GatewayClient` sends each operation to the gateway signed by the caller's
own certified key (DESIGN, Trust 2), bounded by a timeout, and returns typed
results (``oretrail.client_results``); refusals are :class:`GatewayError` with the
gateway's ``extensions.code``. ``signed_headers`` signs one payload for any other
HTTP client (curl: ``oretrail request sign``).


A caller signs, with its own certified key, the operation its document runs
(auth.requests): for ``trace`` and ``exposure`` the root and depth taken from the
field's arguments, for an approved query its id and product line, and for
anything else a read of the gateway's model. The document and variables are
bound by hash, so the gateway can run nothing else with the signature.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self

import aiohttp
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    ValueNode,
    VariableNode,
    parse,
    value_from_ast_untyped,
)

from oretrail.auth.callers import UserIdentity
from oretrail.auth.pinned import PinnedRegistry
from oretrail.auth.principal import HEADER_CERTIFICATE
from oretrail.auth.requests import RequestContext, document_hash, sign_request, variables_hash
from oretrail.client_results import (
    Exposure,
    Participant,
    Trace,
    TraceRecord,
    TransparencyAnswer,
)
from oretrail.domain.transparency import TRACE_DEPTH, last_closed_period
from oretrail.errors import GatewayError, GatewayUnreachable, InvalidInput
from oretrail.report import TRACE_EVIDENCE_QUERY, TRACE_QUERY
from oretrail.verify import compare_answer, verify_evidence

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_TIMEOUT",
    "GatewayClient",
    "GatewayError",
    "GatewayUnreachable",
    "request_context",
    "signed_headers",
]

DEFAULT_DEPTH = 20
# Seconds a call waits for the gateway's whole answer. A trace is bounded by the
# gateway's own trace_deadline (20 s by default); this leaves it room to answer.
DEFAULT_TIMEOUT = 60.0

EXPOSURE_QUERY = """
query Exposure($lot: ID, $facility: ID, $maxDepth: Int) {
  exposure(lot: $lot, facility: $facility, maxDepth: $maxDepth) {
    start products reached gaps { lot reason }
  }
}
"""
HISTORY_QUERY = """
query History($lot: ID, $limit: Int!) {
  traceHistory(lot: $lot, limit: $limit) {
    id root asOf gaps coverage { element coverage }
  }
}
"""
PARTICIPANTS_QUERY = "query Participants { participants { id name roles country } }"


class GatewayClient:
    """An async client of the gateway at ``url`` (…/graphql), calling as ``user``.

    ::

        async with GatewayClient(url, UserIdentity.load(pem)) as gateway:
            trace = await gateway.trace("urn:oretrail:lot:nordvolt:PACK-2026-0412")
            print(trace.coverage["Co"], [o.lot for o in trace.origins])

    Every call is signed for exactly its document and variables, and accepted once.
    ``timeout`` (seconds) bounds each call as a whole: connecting, sending and the
    answer. Raises GatewayUnreachable when there is no usable answer in time, and
    GatewayError (with the gateway's code) when the gateway refuses.
    """

    def __init__(
        self,
        url: str,
        user: UserIdentity,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        pinned: PinnedRegistry | None = None,
    ) -> None:
        self.url = url
        self.user = user
        # The caller's own copy of the members' public keys, for checking evidence.
        self.pinned = pinned
        self.timeout = timeout
        self._session = session
        self._own_session = False

    async def __aenter__(self) -> Self:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session, self._own_session = None, False

    async def post(
        self, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """The HTTP status and the JSON document the gateway answers ``payload`` with,
        errors included. Raises GatewayUnreachable when there is none. ``headers``: a
        request already signed for ``payload`` (by default one is signed here)."""
        if self._session is None:
            async with self:
                return await self.post(payload, headers)
        headers = headers or signed_headers(self.user, payload)
        try:
            async with self._session.post(
                self.url,
                json=dict(payload),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                status, text = response.status, await response.text()
        except TimeoutError:
            raise GatewayUnreachable(
                f"the gateway at {self.url} did not answer within {self.timeout:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise GatewayUnreachable(
                f"cannot reach the gateway at {self.url}: {exc or type(exc).__name__}"
            ) from None
        try:
            document = json.loads(text)
        except ValueError:
            raise GatewayUnreachable(
                f"the gateway answered HTTP {status} without JSON", status=status
            ) from None
        if not isinstance(document, dict):
            raise GatewayUnreachable(
                f"the gateway answered HTTP {status} with no JSON object", status=status
            )
        return status, document

    async def execute(
        self, query: str, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The ``data`` of a GraphQL document's answer; any error raises GatewayError."""
        return await self._data({"query": query, "variables": dict(variables or {})})

    async def trace(
        self,
        lot: str,
        *,
        max_depth: int | None = None,
        as_of: date | None = None,
        evidence: bool = False,
    ) -> Trace:
        """Trace ``lot`` upstream to its origins (``max_depth`` hops, certificates judged
        on ``as_of``; the gateway's defaults when None).

        With ``evidence`` the gateway also returns the nodes' signed answers; they are
        checked here, against this client's ``pinned`` registry copy when it has one
        (oretrail.verify), and the result is in ``Trace.verification``, the bundle in
        ``Trace.raw["evidence"]``.
        """
        variables = {"lot": lot, "maxDepth": max_depth, "asOf": as_of and as_of.isoformat()}
        if not evidence:
            return Trace.of((await self.execute(TRACE_QUERY, variables))["trace"])
        payload = {"query": TRACE_EVIDENCE_QUERY, "variables": variables}
        headers = signed_headers(self.user, payload)
        data = await self._data(payload, headers)
        bundle = data["trace"].get("evidence")
        if not isinstance(bundle, dict):
            raise GatewayError("the gateway returned no evidence bundle with the trace")
        request = headers["Authorization"].removeprefix("Bearer ")
        found = verify_evidence(bundle, pinned=self.pinned, request_token=request)
        compare_answer(data["trace"], found)
        return replace(Trace.of(data["trace"]), verification=found)

    async def exposure(
        self,
        *,
        lot: str | None = None,
        facility: str | None = None,
        max_depth: int | None = None,
    ) -> Exposure:
        """Follow ``lot``, or the lots of ``facility``, forward to the products holding it."""
        variables = {"lot": lot, "facility": facility, "maxDepth": max_depth}
        return Exposure.of((await self.execute(EXPOSURE_QUERY, variables))["exposure"])

    async def trace_history(self, *, lot: str | None = None, limit: int = 20) -> list[TraceRecord]:
        """The caller's organisation's recorded traces, newest first (1 to 1000)."""
        data = await self.execute(HISTORY_QUERY, {"lot": lot, "limit": limit})
        return [TraceRecord.of(record) for record in data["traceHistory"]]

    async def participants(self) -> list[Participant]:
        """The organisations of the consortium."""
        data = await self.execute(PARTICIPANTS_QUERY)
        return [
            Participant(p["id"], p["name"], tuple(p["roles"]), p["country"])
            for p in data["participants"]
        ]

    async def approved(self, document_id: str, variables: Mapping[str, str]) -> TransparencyAnswer:
        """Run an approved transparency query by its id, for the last closed quarter
        (docs/transparency.md)."""
        data = await self._data({"documentId": document_id, "variables": dict(variables)})
        return TransparencyAnswer.of(next(iter(data["transparency"].values())))

    async def _data(
        self, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        status, document = await self.post(payload, headers)
        errors = document.get("errors")
        if errors or not isinstance(document.get("data"), dict):
            errors = errors if isinstance(errors, list) else []
            first = errors[0] if errors and isinstance(errors[0], dict) else {}
            code = (first.get("extensions") or {}).get("code")
            messages = "; ".join(str(e.get("message", "?")) for e in errors if isinstance(e, dict))
            raise GatewayError(
                messages or f"the gateway answered HTTP {status} without data",
                code=code if isinstance(code, str) else None,
                status=status,
                errors=tuple(e for e in errors if isinstance(e, dict)),
            )
        data: dict[str, Any] = document["data"]
        return data


def signed_headers(
    user: UserIdentity,
    payload: Mapping[str, Any],
    *,
    purpose: str = "",
    lifetime: int | None = None,
) -> dict[str, str]:
    """The headers that carry ``user``'s signed request for ``payload`` to the gateway."""
    request = sign_request(user, request_context(payload, purpose=purpose), lifetime=lifetime)
    return {"Authorization": f"Bearer {request}", HEADER_CERTIFICATE: user.certificate}


def request_context(
    payload: Mapping[str, Any], *, purpose: str = "", now: datetime | None = None
) -> RequestContext:
    """What a signed request for ``payload`` (``query`` or ``documentId``, ``variables``)
    authorises. Raises InvalidInput for a payload no request can be made for."""
    variables = payload.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise InvalidInput("variables must be an object")
    as_of = (now or datetime.now(UTC)).replace(microsecond=0)
    document_id = payload.get("documentId")
    if document_id is not None:
        line = variables.get("productLine")
        # Approved queries answer closed reporting periods only: by default the last
        # closed calendar quarter, named by its last second (DESIGN.md, Trust 5).
        period_end = last_closed_period(now or datetime.now(UTC)).closes_at
        return RequestContext(
            op="transparency",
            depth=TRACE_DEPTH,
            as_of=period_end,
            purpose=purpose or f"approved query {document_id}",
            doc=str(document_id),
            vars=variables_hash(variables),
            line=line if isinstance(line, str) else None,
        )
    query = payload.get("query")
    if not isinstance(query, str):
        raise InvalidInput("the payload has neither a query nor a documentId")
    op, roots, depth, day = _operation(query, variables)
    if day is not None:
        as_of = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return RequestContext(
        op=op,
        roots=roots,
        depth=depth,
        as_of=as_of,
        purpose=purpose or op,
        doc=document_hash(query),
        vars=variables_hash(variables),
    )


def _operation(
    query: str, variables: Mapping[str, Any]
) -> tuple[str, tuple[str, ...], int, date | None]:
    try:
        document = parse(query)
    except GraphQLError:
        # Signed as it is: the gateway answers what is wrong with it.
        return "model", (), DEFAULT_DEPTH, None
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode):
                continue
            name = selection.name.value
            if name not in ("trace", "exposure", "dueDiligence"):
                continue
            arguments = {
                a.name.value: _value(a.value, variables) for a in selection.arguments or ()
            }
            roots = tuple(
                str(arguments[key]) for key in ("lot", "facility") if arguments.get(key) is not None
            )
            depth = arguments.get("maxDepth")
            day = arguments.get("asOf")
            try:
                as_of = date.fromisoformat(day) if isinstance(day, str) else None
            except ValueError:
                raise InvalidInput(f"asOf {str(day)[:40]!r} is not a date (YYYY-MM-DD)") from None
            return (
                # A due-diligence report runs a trace and is authorised as one.
                "trace" if name == "dueDiligence" else name,
                roots,
                depth if isinstance(depth, int) else DEFAULT_DEPTH,
                as_of,
            )
    return "model", (), DEFAULT_DEPTH, None


def _value(node: ValueNode, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    return value_from_ast_untyped(node, dict(variables))
