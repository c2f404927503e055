"""The gateway's lots document, answered without the general GraphQL executor.

Every hop of every trace sends the same document (``node_api.LOTS_QUERY``).
Resolving it field by field through strawberry and graphql-core cost about 1 ms a
lot (some 35 fields, each through resolver wrappers): more than everything else a
node does for that lot. This module renders the same answer directly from the
same decisions (``node.lots``): the same data, and the same WITHHELD errors with
the same paths and locations. A test holds the two renderings equal for every
node and relation of the sample pack; any other document, or variables this
module does not recognise, take the general path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, SelectionSetNode, parse
from graphql import located_error as _located_error
from strawberry.types import ExecutionResult
from strawberry.utils.logging import StrawberryLogger

from oretrail.asgi import MASKED_MESSAGE, as_graphql_error
from oretrail.domain.model import Certificate, Facility, Lot, Quantity, parse_lot_id
from oretrail.errors import OretrailError
from oretrail.node.lots import (
    MAX_GRANTS_PER_REQUEST,
    MAX_IDS_PER_REQUEST,
    Given,
    LotsOutcome,
    NodeContext,
    answer_lots,
)
from oretrail.node.types import withheld
from oretrail.node_api import LOTS_QUERY

__all__ = ["LotsRequest", "execute_lots", "match_lots"]


def _field_nodes(
    selections: SelectionSetNode | None, at: tuple[str, ...]
) -> dict[tuple[str, ...], FieldNode]:
    nodes: dict[tuple[str, ...], FieldNode] = {}
    for selection in selections.selections if selections else ():
        assert isinstance(selection, FieldNode)  # the document has no fragments
        path = (*at, selection.name.value)
        nodes[path] = selection
        nodes.update(_field_nodes(selection.selection_set, path))
    return nodes


_OPERATION = parse(LOTS_QUERY).definitions[0]
assert isinstance(_OPERATION, OperationDefinitionNode)
# The document's fields by their path without list indices: errors name their location.
_FIELDS = _field_nodes(_OPERATION.selection_set, ())


@dataclass(frozen=True, slots=True)
class LotsRequest:
    ids: list[str]
    grants: list[str]


def match_lots(
    query: object, operation_name: object, variables: object, extensions: object
) -> LotsRequest | None:
    """The ids and grants of a request for the gateway's lots document, or None.

    Only variables exactly as the gateway sends them, within the limits, match;
    everything else is left to the general executor, which explains the refusal.
    """
    if query != LOTS_QUERY or operation_name not in (None, "Lots") or extensions:
        return None
    if not isinstance(variables, Mapping) or set(variables) - {"ids", "grants"}:
        return None
    ids = variables.get("ids")
    grants = variables.get("grants")
    if grants is None:  # "grants" may be left out or null; anything else must be a list
        grants = []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return None
    if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
        return None
    if len(ids) > MAX_IDS_PER_REQUEST or len(grants) > MAX_GRANTS_PER_REQUEST:
        return None
    return LotsRequest(ids, grants)


async def execute_lots(ctx: NodeContext, request: LotsRequest) -> ExecutionResult:
    """Answer the lots document as the general executor would."""
    errors: list[GraphQLError] = []
    try:
        outcome = await answer_lots(ctx, request.ids, request.grants)
        data = {"lots": _render(outcome, errors)}
    except OretrailError as exc:
        return ExecutionResult(data=None, errors=[_located(as_graphql_error(exc), ["lots"])])
    except Exception as exc:  # noqa: BLE001 - masked for the caller, logged for operators
        error = _located(exc, ["lots"])
        StrawberryLogger.error(error)
        masked = GraphQLError(MASKED_MESSAGE, nodes=error.nodes, path=error.path)
        return ExecutionResult(data=None, errors=[masked])
    return ExecutionResult(data=data, errors=errors or None)


def _located(error: Exception, path: list[str | int]) -> GraphQLError:
    key = tuple(p for p in path if isinstance(p, str))
    return _located_error(error, [_FIELDS[key]], path)


def _render(outcome: LotsOutcome, errors: list[GraphQLError]) -> dict[str, Any]:
    answers = []
    for index, given in enumerate(outcome.answers):
        lot = None
        if given.lot is not None and given.facility is not None:
            at: list[str | int] = ["lots", "answers", index, "lot"]
            lot = _Lot(given, at, errors).render(given.lot, given.facility)
        answers.append(
            {"id": given.id, "status": given.status.name, "detail": given.detail, "lot": lot}
        )
    return {
        "answers": answers,
        "continuations": [
            {"owner": c.owner, "lots": list(c.lots), "grant": c.grant}
            for c in outcome.continuations
        ],
    }


class _Lot:
    """One given lot in the document's field order; withheld fields become located errors."""

    def __init__(self, given: Given, path: list[str | int], errors: list[GraphQLError]) -> None:
        self.given = given
        self.path = path
        self.errors = errors

    def give(self, group: str, path: list[str | int], value: object) -> Any:
        if group in self.given.granted:
            return value
        self.errors.append(_located(withheld(group), path))
        return None

    def render(self, lot: Lot, facility: Facility) -> dict[str, Any]:
        at = self.path
        contents = None
        if lot.contents is not None:
            contents = [
                {"element": e, "fraction": float(f)} for e, f in sorted(lot.contents.items())
            ]
        return {
            "id": lot.id,
            "owner": lot.owner,
            "material": self.give("identity", [*at, "material"], lot.material),
            "custody": self.give("identity", [*at, "custody"], lot.custody.name),
            "producedAt": self.give("identity", [*at, "producedAt"], lot.produced_at.isoformat()),
            "quantity": self.give("quantities", [*at, "quantity"], _quantity(lot.quantity)),
            "contents": self.give("contents", [*at, "contents"], contents),
            "recycledPreConsumer": self.give(
                "contents", [*at, "recycledPreConsumer"], _float(lot.recycled_pre_consumer)
            ),
            "recycledPostConsumer": self.give(
                "contents", [*at, "recycledPostConsumer"], _float(lot.recycled_post_consumer)
            ),
            "carbonFootprint": self.give(
                "emissions", [*at, "carbonFootprint"], _float(lot.carbon_footprint)
            ),
            "carbonFootprintUnit": self.give(
                "emissions", [*at, "carbonFootprintUnit"], lot.carbon_footprint_unit
            ),
            "ratedCapacityKwh": self.give(
                "identity", [*at, "ratedCapacityKwh"], _float(lot.rated_capacity_kwh)
            ),
            "transit": self.give(
                "origin",
                [*at, "transit"],
                [{"country": p.country, "region": p.region} for p in lot.transit],
            ),
            "facility": self.facility(facility, [*at, "facility"]),
            "inputs": self.inputs(lot, [*at, "inputs"]),
        }

    def facility(self, f: Facility, at: list[str | int]) -> dict[str, Any]:
        give = self.give
        return {
            "id": give("facility", [*at, "id"], f.id),
            "name": give("facility", [*at, "name"], f.name),
            "kind": give("facility", [*at, "kind"], f.kind),
            "country": give("origin", [*at, "country"], f.country),
            "region": give("origin", [*at, "region"], f.region),
            "latitude": give("facility", [*at, "latitude"], _float(f.latitude)),
            "longitude": give("facility", [*at, "longitude"], _float(f.longitude)),
            "artisanal": give("origin", [*at, "artisanal"], f.artisanal),
            "cahra": give("origin", [*at, "cahra"], f.cahra),
            "activities": give(
                "origin", [*at, "activities"], [a.value for a in sorted(f.activities or ())]
            ),
            "certificates": give(
                "certificates", [*at, "certificates"], _certificates(self.given.certificates)
            ),
        }

    def inputs(self, lot: Lot, at: list[str | int]) -> list[dict[str, Any]] | None:
        if "inputs" not in self.given.granted:
            self.errors.append(_located(withheld("inputs"), at))
            return None
        return [
            {
                "lot": link.lot,
                "owner": self.give("suppliers", [*at, index, "owner"], parse_lot_id(link.lot).org),
                "quantity": self.give(
                    "quantities", [*at, index, "quantity"], _quantity(link.quantity)
                ),
            }
            for index, link in enumerate(lot.inputs)
        ]


def _quantity(quantity: Quantity) -> dict[str, Any]:
    return {"value": float(quantity.value), "unit": quantity.unit}


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _certificates(certificates: Sequence[Certificate]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "subject": c.subject,
            "issuer": c.issuer,
            "standard": c.standard,
            "scope": c.scope,
            "validFrom": c.valid_from.isoformat(),
            "validTo": c.valid_to.isoformat(),
            "status": c.status,
            "credential": c.credential,
        }
        for c in certificates
    ]
