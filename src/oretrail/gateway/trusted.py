"""Trusted documents: approved queries run by id; NGO and auditor callers run nothing else.

Every request runs only the document and variables its caller signed: the signed
request's ``ctx.doc`` is the SHA-256 of the GraphQL document (or the approved
query's id) and ``ctx.vars`` the SHA-256 of the RFC 8785 canonical variables.

A request may name an approved query by ``documentId`` with typed variables; the
gateway substitutes the approved document, checks the variables against its
declared types and bounds, and marks the request as that approved query. A caller
whose roles are only NGO or AUDITOR is refused any request that is not such a
reference, before anything is parsed or executed.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from oretrail.auth.requests import document_hash, variables_hash
from oretrail.body_guard import MAX_BODY_BYTES, BodyTooLarge, read_body, replay_body
from oretrail.errors import Forbidden, InvalidInput, OretrailError, TokenRejected
from oretrail.gateway.approved import Transparency
from oretrail.gateway.context import RESTRICTED_ROLES, Caller

__all__ = ["TrustedDocuments"]


class TrustedDocuments:
    """ASGI layer in front of the GraphQL app, after the caller has been verified."""

    def __init__(self, app: ASGIApp, transparency: Transparency) -> None:
        self._app = app
        self._transparency = transparency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self._app(scope, receive, send)
            return
        caller: Caller = scope["state"]["principal"]
        restricted = bool(caller.roles) and caller.roles <= RESTRICTED_ROLES
        try:
            # The edge's BodyGuard already refused longer bodies; read within the same.
            body = await read_body(receive, MAX_BODY_BYTES)
        except BodyTooLarge as exc:
            await _refuse(scope, receive, send, 413, code=exc.code, message=str(exc))
            return
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            request = None
        document_id = request.get("documentId") if isinstance(request, dict) else None
        try:
            _check_signed(caller, request)
            if document_id is None:
                if restricted:
                    raise Forbidden(
                        "NGO and auditor callers may run approved queries only, "
                        "by documentId with variables"
                    )
                await self._app(scope, replay_body(body, receive), send)
                return
            assert isinstance(request, dict)
            if "query" in request:
                raise InvalidInput("send a documentId or a query, not both")
            approved = self._transparency.queries.get(document_id)
            variables = approved.variables(request.get("variables"))
        except TokenRejected as exc:
            await _refuse(
                scope, receive, send, 401, code=exc.code, message=f"unauthenticated: {exc}"
            )
            return
        except OretrailError as exc:
            status = 403 if isinstance(exc, Forbidden) else 400
            await _refuse(scope, receive, send, status, code=exc.code, message=str(exc))
            return
        scope["state"]["approved"] = approved
        substituted = json.dumps({"query": approved.document, "variables": variables}).encode()
        await self._app(scope, replay_body(substituted, receive), send)


def _check_signed(caller: Caller, request: object) -> None:
    """Refuse a document or variables other than those the caller signed."""
    if not isinstance(request, dict):
        raise InvalidInput("the body is not a JSON object with a query or a documentId")
    context = caller.request.context
    document_id, query = request.get("documentId"), request.get("query")
    if document_id is not None:
        signed = document_id == context.doc
    else:
        signed = isinstance(query, str) and document_hash(query) == context.doc
    if not signed:
        raise TokenRejected("the signed request was made for another document")
    variables = request.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise InvalidInput("variables must be a JSON object")
    if variables_hash(variables) != context.vars:
        raise TokenRejected("the signed request was made for other variables")


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, *, code: str, message: str
) -> None:
    payload: dict[str, Any] = {"errors": [{"message": message, "extensions": {"code": code}}]}
    await JSONResponse(payload, status_code=status)(scope, receive, send)
