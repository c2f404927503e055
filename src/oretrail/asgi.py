"""What the node and gateway services share at the HTTP edge: error masking and health."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    Node,
    specified_directives,
    visit,
)
from graphql.language import Visitor
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from oretrail.body_guard import drain_body
from oretrail.errors import InvalidInput, OretrailError, StoreError, TokenRejected

__all__ = [
    "BearerProtected",
    "as_graphql_error",
    "bearer_token",
    "build_schema",
    "health_endpoint",
    "json_endpoint",
    "mask_unexpected_errors",
]

MASKED_MESSAGE = "Unexpected error; it has been logged."


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask anything that is not one of ours; GraphQL validation errors have no original."""
    original = error.original_error
    return original is not None and not isinstance(original, OretrailError | GraphQLError)


def mask_unexpected_errors() -> MaskErrors:
    """Expected failures keep their message and code; anything else becomes a generic error."""
    return MaskErrors(should_mask_error=_is_unexpected, error_message=MASKED_MESSAGE)


class _Schema(strawberry.Schema):
    """Logs only unexpected errors: a caller's bad input is answered, not a server fault."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if _is_unexpected(error):
                StrawberryLogger.error(error, execution_context)


# Limits on what one request may ask for; our own documents stay far below them.
MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 2000
MAX_DIRECTIVES = 10


# Directives no document may repeat at one location: every directive our schemas know
# (they define none of their own) except the spec's repeatable ones, and any unknown.
_REPEATABLE = frozenset(d.name for d in specified_directives if d.is_repeatable)


class _DirectiveCheck(Visitor):
    """Finds the first directive abuse: a repeat at one location, or more than the budget."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.problem: str | None = None

    def enter(self, node: Node, *_: object) -> object:
        directives = getattr(node, "directives", None)
        if not directives:
            return None
        self.count += len(directives)
        seen: set[str] = set()
        repeated = None
        for directive in directives:
            name = directive.name.value
            if name in seen and name not in _REPEATABLE:
                repeated = name
                break
            seen.add(name)
        if repeated is not None:
            self.problem = (
                f"directive @{repeated[:40]} is repeated at one location; "
                "each directive may be used at most once per location"
            )
        elif self.count > MAX_DIRECTIVES:
            self.problem = f"the document uses more than {MAX_DIRECTIVES} directives"
        return None if self.problem is None else self.BREAK


def _directive_problem(query: str | None, document: DocumentNode) -> str | None:
    if query is not None and "@" not in query:
        return None  # no directive at all: our own documents never visit
    check = _DirectiveCheck()
    visit(document, check)
    return check.problem


class _Validation(ValidationCache):
    """Cached validation; a document abusing directives gets one error, not one per use.

    graphql-core's own rules answer ``@include(if: true)`` ten times on one field with
    nine errors (UniqueDirectivesPerLocationRule), and an unknown directive with one
    error per use: graphql-cop reports such answers as "directive overloading". Such a
    document is refused whole, with one error, before the rules run.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        problem = None if document is None else _directive_problem(context.query, document)
        if problem is None:
            yield from super().on_validate()
            return
        context.pre_execution_errors = [
            GraphQLError(problem, extensions={"code": InvalidInput.code})
        ]
        yield


# Built once: strawberry's limiters make a new rule class per instance, and a new
# class per request would defeat the validation cache (a validation costs ~10 ms).
_LIMIT_RULES: list[type[ASTValidationRule]] = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


def build_schema(
    query: type, *, dev: bool = False, mutation: type | None = None
) -> strawberry.Schema:
    """A hardened schema: limits, no introspection or field suggestions unless ``dev``.

    Unexpected errors are masked for callers and logged for operators. Parsing and
    validating a document cost ~13 ms, more than answering it; the gateway sends the
    same few documents every time, so both are cached (strawberry keeps the caches at
    module level, shared by the fresh extension instances each request gets).
    """
    extensions: list[Any] = [
        mask_unexpected_errors,
        lambda: ParserCache(maxsize=256),
        lambda: _Validation(maxsize=256),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # The same rule classes every time, so the validation cache can hit.
        lambda: AddValidationRules(_LIMIT_RULES),
    ]
    if not dev:
        extensions.append(DisableIntrospection)
    return _Schema(
        query=query,
        mutation=mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not dev),
    )


def as_graphql_error(error: OretrailError) -> GraphQLError:
    """Our error as a GraphQL error whose ``extensions.code`` a client can branch on."""
    return GraphQLError(str(error), extensions={"code": error.code}, original_error=error)


def health_endpoint(
    check: Callable[[], Awaitable[dict[str, object]]],
) -> Callable[[Request], Awaitable[Response]]:
    """GET /health: 200 with the check's body; 503 if it says not ok or its store fails."""

    async def health(request: Request) -> Response:
        try:
            body = await check()
        except StoreError as exc:
            body = {"status": "unavailable", "detail": str(exc)}
        return JSONResponse(body, status_code=200 if body.get("status") == "ok" else 503)

    return health


def json_endpoint(body: Callable[[], Any]) -> Callable[[Request], Awaitable[Response]]:
    """A GET handler answering a fixed JSON document (e.g. /.well-known/jwks.json)."""

    async def endpoint(request: Request) -> Response:
        return JSONResponse(body())

    return endpoint


def bearer_token(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class BearerProtected:
    """Wraps an ASGI app: requests whose credentials do not verify get 401, not the app.

    ``authenticate`` reads the request's headers (the bearer token and whatever
    else the service needs) and returns the verified principal, which is put in
    ``scope["state"]["principal"]`` for the app; ``refused`` hears every refusal
    (nodes log them).
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticate: Callable[[Headers], Awaitable[Any]],
        refused: Callable[[Headers, str], Awaitable[None]] | None = None,
    ) -> None:
        self._app = app
        self._authenticate = authenticate
        self._refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            principal = await self._authenticate(headers)
        except TokenRejected as exc:
            if self._refused is not None:
                await self._refused(headers, str(exc))
            # Read what the client sent before answering: closing a socket with unread
            # data makes the kernel reset it, and the client never sees the 401.
            await drain_body(receive)
            response = JSONResponse(
                {
                    "errors": [
                        {
                            "message": f"unauthenticated: {exc}",
                            "extensions": {"code": "UNAUTHENTICATED"},
                        }
                    ]
                },
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self._app(scope, receive, send)
