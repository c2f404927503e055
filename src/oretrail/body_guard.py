"""The HTTP edge's first check: only a sane JSON body and token reach an app.

Both services put :class:`BodyGuard` in front of everything at /graphql, so a
hostile body (oversized, not UTF-8, nested 100,000 deep, holding a lone surrogate)
gets a clear 4xx with a GraphQL-style JSON error whether or not the request is
authenticated, and never reaches a parser that would answer it with a 500.
"""

from __future__ import annotations

import base64
import json
import re

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oretrail.errors import InvalidInput, OretrailError, TokenRejected

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "NODE_MAX_BODY_BYTES",
    "BodyGuard",
    "BodyTooLarge",
    "drain_body",
    "read_body",
    "replay_body",
]

# The largest request body the gateway reads: its callers' documents and variables
# take a few KiB.
MAX_BODY_BYTES = 1024 * 1024
# A node's lots request carries up to 1,000 ids (< 100 B each) and the grants they
# rest on, at most 3 MiB of them (the gateway splits a batch past that:
# node_api.GRANT_BYTES_PER_REQUEST), with room to spare.
NODE_MAX_BODY_BYTES = 4 * 1024 * 1024
# Nesting of a request body or of a token's JSON; our own requests nest 5 deep.
MAX_JSON_DEPTH = 32

# After a strict UTF-8 decode, a surrogate code point can only come from a JSON
# escape that is not half of a pair (json joins pairs): not Unicode text, and
# anything encoding it as UTF-8 later (a log, a response) would fail.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# A compact JWS: header, payload and signature in base64url.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
# How such an escape looks in JSON text (hex digits in either case).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Refused(Exception):
    """An edge refusal: an HTTP status and our error, whose code the body carries."""

    def __init__(self, status: int, error: OretrailError) -> None:
        super().__init__(str(error))
        self.status = status
        self.error = error

    def response(self) -> Response:
        body = {"errors": [{"message": str(self.error), "extensions": {"code": self.error.code}}]}
        headers = {}
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        # json.dumps escapes anything non-ASCII, so no input can break the encoding.
        return Response(
            json.dumps(body),
            status_code=self.status,
            headers=headers,
            media_type="application/json",
        )


class BodyGuard:
    """The outermost layer at /graphql of the node and the gateway: only sane JSON gets in.

    A POST is refused before anything authenticates or parses it, with or without a
    valid token, and with a GraphQL-style JSON error body (``extensions.code``):

    - 413 ``BAD_INPUT`` when its Content-Length exceeds ``max_bytes`` (nothing is
      read) or its body turns out longer (reading stops there);
    - 415 ``BAD_INPUT`` unless it is ``application/json`` in UTF-8;
    - 401 ``UNAUTHENTICATED`` when a token in a header (the bearer token, or any
      other compact JWS) has a header or claims that nest deeper than MAX_JSON_DEPTH
      or hold a lone surrogate (the verifier still checks everything else);
    - 400 ``BAD_INPUT`` when the body is not UTF-8 (RFC 8259 section 8.1), not JSON,
      nests deeper than MAX_JSON_DEPTH, or holds a lone surrogate (an unpaired
      ``\\ud800``-``\\udfff`` escape, RFC 8259 section 8.2) in any key or string.

    What passes reaches the app unchanged. Other methods pass through untouched.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self._app = app
        self._max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            _check_length(headers.get("content-length"), self._max_bytes)
            try:
                _check_media_type(headers.get("content-type", ""))
                _check_tokens(headers)
            except _Refused:
                # Read a body we refuse unseen (within the limit): closing a socket
                # with unread data makes the kernel reset it, and the client would
                # never see the answer.
                await drain_body(receive, self._max_bytes)
                raise
            body = await _read_body(receive, self._max_bytes)
            _check_json(body)
        except _Refused as refusal:
            # An oversized body is not read on: the server discards what follows.
            await refusal.response()(scope, receive, send)
            return
        await self._app(scope, replay_body(body, receive), send)


def _check_length(declared: str | None, limit: int) -> None:
    if declared is None:
        return  # chunked: counted while reading
    if not (declared.isascii() and declared.isdigit()):
        raise _Refused(400, InvalidInput("Content-Length is not a number of bytes"))
    if int(declared) > limit:
        raise _Refused(413, InvalidInput(f"request body is larger than {limit} bytes"))


def _check_media_type(content_type: str) -> None:
    media_type, _, parameters = content_type.partition(";")
    charset = "utf-8"
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media_type.strip().lower() != "application/json" or charset not in {"utf-8", "utf8"}:
        raise _Refused(415, InvalidInput("send the request as application/json in UTF-8"))


def _check_tokens(headers: Headers) -> None:
    """Refuse a JWS in any header whose JSON no verifier should be handed.

    The bearer token and any other compact JWS a header carries (certificates,
    signed requests) are looked at; everything else about them is the verifier's.
    """
    for name, value in headers.items():
        scheme, _, rest = value.partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else value.strip()
        if _COMPACT_JWS.fullmatch(token):
            problem = _token_problem(token)
            if problem is not None:
                raise _Refused(
                    401, TokenRejected(f"the token in header {name!r} is refused: {problem}")
                )


def _token_problem(token: str) -> str | None:
    for segment in token.split(".")[:2]:
        try:
            raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
            # Surrogates encoded as bytes decode here, to be named below.
            text = raw.decode("utf-8", "surrogatepass")
            problem = _json_problem(text, json.loads(text, parse_constant=_no_constant))
        except RecursionError:
            problem = f"its JSON nests deeper than {MAX_JSON_DEPTH} levels"
        except ValueError:
            return None  # not base64url, text or JSON: the verifier refuses it as malformed
        if problem is None and not _is_utf8(raw):
            problem = "a string holds a lone surrogate (encoded as bytes)"
        if problem is not None:
            return problem
    return None


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class BodyTooLarge(InvalidInput):
    """A request body longer than its reader's limit."""


async def _read_body(receive: Receive, limit: int) -> bytes:
    try:
        return await read_body(receive, limit)
    except BodyTooLarge as exc:
        raise _Refused(413, exc) from None


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; BodyTooLarge as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client left; the app sees its disconnect next
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _check_json(body: bytes) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(
            400, InvalidInput(f"request body is not valid UTF-8 (at byte {exc.start})")
        ) from None
    document, problem = _decode(text)
    problem = problem or _json_problem(text, document) or _request_problem(document)
    if problem is not None:
        raise _Refused(400, InvalidInput(f"request body refused: {problem}"))


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> object:
    raise _NotJson(f"{name} is not a JSON number")


def _decode(text: str) -> tuple[object, str | None]:
    """The JSON value of ``text``, or None and why it is refused."""
    try:
        return json.loads(text, parse_constant=_no_constant), None
    except RecursionError:
        return None, f"it nests deeper than {MAX_JSON_DEPTH} levels"
    except json.JSONDecodeError as exc:
        return None, f"it is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    except _NotJson as exc:
        return None, f"it is not JSON ({exc})"
    except ValueError:  # an integer of more digits than Python converts
        return None, "it holds a number too long to read"


def _request_problem(document: object) -> str | None:
    """What makes a JSON value not one GraphQL request (GraphQL over HTTP, section 5)."""
    if not isinstance(document, dict):
        return "a GraphQL request is one JSON object (batches are not accepted)"
    for key in ("query", "operationName", "documentId"):
        if document.get(key) is not None and not isinstance(document[key], str):
            return f"{key} must be a string"
    for key in ("variables", "extensions"):
        if document.get(key) is not None and not isinstance(document[key], dict):
            return f"{key} must be a JSON object"
    if not document.get("query") and not document.get("documentId"):
        return "it holds no GraphQL document (query) nor approved query id (documentId)"
    return None


def _json_problem(text: str, document: object) -> str | None:
    """What makes decoded JSON unfit to hand on: too deep, or a lone surrogate.

    Strings are searched only when the text has a surrogate escape at all, and
    scalars are never stacked: a node's lots request of ~400 KB costs ~0.3 ms here.
    """
    strings = _SURROGATE_ESCAPE.search(text) is not None
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if depth >= MAX_JSON_DEPTH:
            return f"it nests deeper than {MAX_JSON_DEPTH} levels"
        children: list[object] = []
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()] if strings else list(value.values())
        elif isinstance(value, list):
            children = value
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif strings and isinstance(child, str) and _LONE_SURROGATE.search(child):
                return "a string holds a lone surrogate (an unpaired \\ud800-\\udfff escape)"
    if strings and isinstance(document, str) and _LONE_SURROGATE.search(document):
        return "a string holds a lone surrogate (an unpaired \\ud800-\\udfff escape)"
    return None


def replay_body(body: bytes, upstream: Receive) -> Receive:
    """The body once, then whatever the client sends next (its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await upstream()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def drain_body(receive: Receive, limit: int = NODE_MAX_BODY_BYTES) -> None:
    """Consume a request body (up to ``limit`` bytes) that will not be processed."""
    read = 0
    while read <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
