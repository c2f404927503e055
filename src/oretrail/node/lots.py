"""What a node gives of the lots it is asked for, and why: the decisions, apart from rendering.

For every asked lot the node works out how the caller stands to it (its own lot,
shipped to it, reached through a valid chain of continuation grants, audited by
it), refuses lots with no such relation, grants field groups by its policy, signs
continuation grants for the inputs it reveals (one per supplier), and logs what
it gave and why. The GraphQL schema renders the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from oretrail.auth.access_log import AccessLog
from oretrail.auth.chain import Continuation, NodeAuthority, Principal
from oretrail.auth.policy import FIELD_GROUPS, Policy, Relation
from oretrail.domain.model import Certificate, Facility, Lot, Shipment, parse_lot_id
from oretrail.errors import InvalidInput, InvalidLotId, TokenRejected
from oretrail.node_api import MAX_GRANTS_PER_REQUEST, MAX_IDS_PER_REQUEST
from oretrail.store.port import GraphStore

__all__ = [
    "MAX_GRANTS_PER_REQUEST",
    "MAX_IDS_PER_REQUEST",
    "Decision",
    "Given",
    "LotStatus",
    "LotsOutcome",
    "NodeContext",
    "PresentedGrant",
    "answer_lots",
    "log_decisions",
]

DIRECT = frozenset(
    {Relation.SELF, Relation.CUSTOMER, Relation.DOWNSTREAM, Relation.AUDITOR, Relation.APPROVER}
)


@dataclass(slots=True)
class NodeContext:
    """Per-request context: the store, the verified principal, the node's authority."""

    store: GraphStore
    principal: Principal
    authority: NodeAuthority
    policy: Policy
    log: AccessLog


class LotStatus(Enum):
    FOUND = "FOUND"
    NOT_FOUND = "NOT_FOUND"
    INVALID_ID = "INVALID_ID"
    WITHHELD = "WITHHELD"


@dataclass(frozen=True, slots=True)
class PresentedGrant:
    """A continuation grant as a request carries it, with the token its granting node received."""

    grant: str
    parent_token: str


@dataclass(frozen=True, slots=True)
class Given:
    """One asked id: the lot and the field groups given of it, or why it is not given."""

    id: str
    status: LotStatus
    detail: str | None = None
    lot: Lot | None = None
    facility: Facility | None = None
    certificates: tuple[Certificate, ...] = ()
    granted: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class LotsOutcome:
    answers: list[Given]
    continuations: list[Continuation]


@dataclass(slots=True)
class Decision:
    """One line of the access log: a lot, what was given of it, and why."""

    lot: str
    status: str
    relations: list[str]
    given: list[str]
    reason: str | None = None


def check_batch(ids: Sequence[object], grants: Sequence[object] = ()) -> None:
    if len(ids) > MAX_IDS_PER_REQUEST:
        raise InvalidInput(f"ids holds {len(ids)} ids; at most {MAX_IDS_PER_REQUEST} per request")
    if len(grants) > MAX_GRANTS_PER_REQUEST:
        raise InvalidInput(
            f"grants holds {len(grants)} grants; at most {MAX_GRANTS_PER_REQUEST} per request"
        )


async def answer_lots(
    ctx: NodeContext, ids: Sequence[str], grants: Sequence[PresentedGrant]
) -> LotsOutcome:
    """Decide, log and return what this node gives of ``ids`` to the request's caller."""
    check_batch(ids, grants)
    org = (await ctx.store.organisation()).id
    given: dict[str, Given] = {}
    decisions: list[Decision] = []
    wanted: list[str] = []
    for lot_id in ids:
        try:
            ref = parse_lot_id(lot_id)
        except InvalidLotId as exc:
            given[lot_id] = Given(lot_id, LotStatus.INVALID_ID, str(exc))
            continue
        if ref.org != org:
            detail = f"lot belongs to {ref.org!r}, not to {org!r}"
            given[lot_id] = Given(lot_id, LotStatus.NOT_FOUND, detail)
        else:
            wanted.append(lot_id)
    opened, grant_refusal = await _open(ctx, grants)
    found = await ctx.store.lots(wanted)
    shipments = await ctx.store.shipments(list(found))
    facilities = {f.id: f for f in await ctx.store.facilities()}
    certificates = await ctx.store.certificates(
        [*sorted({lot.facility for lot in found.values()}), org]
    )
    links: list[tuple[str, str]] = []
    for lot_id in wanted:
        lot = found.get(lot_id)
        if lot is None:
            given[lot_id] = Given(lot_id, LotStatus.NOT_FOUND, f"{org} holds no lot {lot_id}")
            decisions.append(Decision(lot_id, "NOT_FOUND", [], []))
            continue
        about = tuple(c for c in certificates if c.subject in (lot.facility, org))
        relations = _relations(ctx.principal, org, shipments.get(lot_id, []), about)
        if lot_id in opened:
            relations.add(Relation.DOWNSTREAM)
        granted = ctx.policy.granted(relations, ctx.principal.org, ctx.principal.roles)
        if not relations & DIRECT or "identity" not in granted:
            if relations & DIRECT:
                reason = "the owner's policy withholds this lot from this caller"
            elif grant_refusal is not None:
                # The refused grant may or may not have named this lot: it cannot be read.
                reason = (
                    "no valid chain reaches this lot; a continuation grant in the request "
                    f"was refused: {grant_refusal}"
                )
            else:
                reason = (
                    "no valid chain reaches this lot and the caller has no direct relation to it"
                )
            given[lot_id] = Given(lot_id, LotStatus.WITHHELD, reason)
            decisions.append(Decision(lot_id, "WITHHELD", sorted(relations), [], reason))
            continue
        if "inputs" in granted:
            links.extend((link.lot, lot.id) for link in lot.inputs)
        given[lot_id] = Given(
            lot_id, LotStatus.FOUND, None, lot, facilities[lot.facility], about, granted
        )
        decisions.append(Decision(lot_id, "FOUND", sorted(relations), sorted(granted)))
    await log_decisions(ctx, "lots", decisions)
    continuations = ctx.authority.issue_grants(ctx.principal, links)
    return LotsOutcome([given[lot_id] for lot_id in ids], continuations)


async def _open(ctx: NodeContext, grants: Sequence[PresentedGrant]) -> tuple[set[str], str | None]:
    """The lots the request's valid grants open, and why one was refused."""
    opened: set[str] = set()
    refusal = None
    for presented in dict.fromkeys(grants):  # a grant presented twice is checked once
        try:
            result = await ctx.authority.check_grant(
                ctx.principal, presented.grant, presented.parent_token
            )
        except TokenRejected as exc:
            refusal = refusal or str(exc)
            continue
        opened |= result.lots
    return opened, refusal


def _relations(
    principal: Principal,
    org: str,
    shipments: Sequence[Shipment],
    certificates: Sequence[Certificate],
) -> set[Relation]:
    """How the caller stands to one of our lots, grants aside."""
    relations: set[Relation] = set()
    if principal.org == org:
        relations.add(Relation.SELF)
    if any(s.to_org == principal.org for s in shipments):
        relations.add(Relation.CUSTOMER)
    if "AUDITOR" in principal.roles and any(c.issuer == principal.org for c in certificates):
        relations.add(Relation.AUDITOR)
    if principal.purpose.startswith("transparency:"):
        relations.add(Relation.TRANSPARENCY)
        if org in principal.approved_by:
            # We approved this transparency query: our own lots are its starting points.
            relations.add(Relation.APPROVER)
    return relations


async def log_decisions(ctx: NodeContext, query: str, decisions: list[Decision]) -> None:
    p = ctx.principal
    await ctx.log.append(
        {
            "caller": p.sub,
            "org": p.org,
            "on_behalf_of_via": "gateway",
            "purpose": p.purpose,
            "txn": p.txn,
            "query": query,
            "lots": [
                {
                    "lot": d.lot,
                    "status": d.status,
                    "relations": d.relations,
                    "given": d.given,
                    "withheld": sorted(set(FIELD_GROUPS) - set(d.given))
                    if d.status == "FOUND"
                    else sorted(FIELD_GROUPS),
                    **({"reason": d.reason} if d.reason else {}),
                }
                for d in decisions
            ],
        }
    )
