"""GraphQL over HTTP, by the GraphQL Foundation's specification (the 2024 working draft).

A client that accepts ``application/graphql-response+json`` gets it, with the
status codes the specification gives that media type:

- a request error, where the document fails to parse or validate, or the
  variables fail coercion, so nothing executes: **400**, and the body has
  ``errors`` but no ``data`` entry;
- a document that executed: **200** with ``data`` (null when a field error reached
  the root), and ``errors`` for any field errors;
- refusals before GraphQL runs keep their own 4xx (401 unauthenticated, 403, 413,
  415, 400 for a body that is not a GraphQL request), now in the new media type.

Every other client (no ``Accept`` header, ``*/*``, ``application/json``) gets
``application/json`` exactly as before: 200 for any GraphQL response, ``data``
always present. The new media type is chosen only when the client names it, with a
quality no lower than ``application/json``'s (a client that accepts anything has
not asked for it).
"""

from __future__ import annotations

from typing import Any, TypeVar

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

__all__ = [
    "GRAPHQL_RESPONSE",
    "JSON",
    "GraphQLMediaType",
    "GraphQLOverHTTP",
    "is_request_error",
    "response_media_type",
]

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

ContextT = TypeVar("ContextT")


def _qualities(accept: str) -> dict[str, float]:
    """Each media range of an Accept header and its quality (RFC 9110, 12.5.1)."""
    ranges: dict[str, float] = {}
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        if not media_range:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges[media_range.lower()] = max(quality, ranges.get(media_range.lower(), 0.0))
    return ranges


def response_media_type(accept: str | None) -> str:
    """The media type to answer a request with ``accept``: GRAPHQL_RESPONSE or JSON."""
    if not accept:
        return JSON  # the specification's rule for clients that send no Accept header
    qualities = _qualities(accept)
    wanted = qualities.get(GRAPHQL_RESPONSE, 0.0)
    json = next(
        (qualities[r] for r in (JSON, "application/*", "*/*") if r in qualities),
        0.0,
    )
    return GRAPHQL_RESPONSE if wanted > 0 and wanted >= json else JSON


def is_request_error(result: ExecutionResult) -> bool:
    """Whether nothing executed: parse, validation or variable-coercion errors only.

    Such errors carry no ``path``; a field error always does, even one that made
    ``data`` null by reaching the root.
    """
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


class GraphQLOverHTTP(GraphQL[ContextT, None]):
    """strawberry's ASGI view with the specification's status codes for GRAPHQL_RESPONSE.

    Put :class:`GraphQLMediaType` around the route: it sets the response's media type.
    """

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # process_result sees the request but not the response it will shape.
        request.state.graphql_sub_response = sub_response
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        answer = await super().process_result(request, result)
        accept = request.headers.get("accept")
        if response_media_type(accept) == GRAPHQL_RESPONSE and is_request_error(result):
            request.state.graphql_sub_response.status_code = 400
            body: dict[str, Any] = dict(answer)
            body.pop("data", None)
            return body  # type: ignore[return-value]
        return answer


class GraphQLMediaType:
    """ASGI layer: a JSON answer goes out as GRAPHQL_RESPONSE to a client that asked for it.

    Outermost at /graphql, so the edge's refusals (401, 413, 415...) follow the same
    negotiation as GraphQL's own answers. Only the Content-Type changes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if response_media_type(Headers(scope=scope).get("accept")) != GRAPHQL_RESPONSE:
            await self._app(scope, receive, send)
            return

        async def send_as_graphql_response(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, _graphql_response(value) if name.lower() == b"content-type" else value)
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, send_as_graphql_response)


def _graphql_response(content_type: bytes) -> bytes:
    media_type = content_type.split(b";")[0].strip().lower()
    if media_type != JSON.encode():
        return content_type  # a GraphiQL page, a plain-text refusal: left as they are
    return f"{GRAPHQL_RESPONSE}; charset=utf-8".encode()
