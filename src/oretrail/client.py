"""The caller's side: sign a request for exactly the GraphQL payload about to be sent.

A caller signs, with its own certified key, the operation its document runs
(auth.requests): for ``trace`` and ``exposure`` the root and depth taken from the
field's arguments, for an approved query its id and product line, and for
anything else a read of the gateway's model. The document and variables are
bound by hash, so the gateway can run nothing else with the signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

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
from oretrail.auth.principal import HEADER_CERTIFICATE
from oretrail.auth.requests import RequestContext, document_hash, sign_request, variables_hash
from oretrail.domain.transparency import last_closed_period
from oretrail.errors import InvalidInput

__all__ = ["DEFAULT_DEPTH", "request_context", "signed_headers"]

DEFAULT_DEPTH = 20


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
            depth=DEFAULT_DEPTH,
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
            if name not in ("trace", "exposure"):
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
                name,
                roots,
                depth if isinstance(depth, int) else DEFAULT_DEPTH,
                as_of,
            )
    return "model", (), DEFAULT_DEPTH, None


def _value(node: ValueNode, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    return value_from_ast_untyped(node, dict(variables))
