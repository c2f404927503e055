"""What a node gives of the lots it is asked for, and why: the decisions, apart from rendering.

A lot is opened only as a root named in the caller's signed request to which the
caller stands in a relation by this node's own records (its own lot, shipped to
it, certified by it as auditor; for a transparency request, a root its owner
listed), or through a verified chain of continuation grants that this node's own
shipment records and claim ledger back (DESIGN.md, Trust 3 and 4). Relations
then select the policy rules that give field groups. Without a root or a chain,
a missing lot and an existing one get one and the same answer. The node signs
grants for the inputs it reveals (one per supplier) and logs what it gave and
why. The GraphQL schema renders the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum

from oretrail.auth.declarations import decode_declaration
from oretrail.auth.grants import Claim, ContinuationGrant, InputLink
from oretrail.auth.policy import FIELD_GROUPS, Policy, Relation
from oretrail.auth.principal import NodeAuthority, Principal
from oretrail.auth.tokens import token_hash
from oretrail.domain.model import Certificate, Facility, Lot, Shipment, parse_lot_id
from oretrail.domain.transparency import closed_period_ending
from oretrail.errors import Forbidden, InvalidInput, InvalidLotId, TokenRejected
from oretrail.node.evidence import RequestEntry
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
    "answer_lots",
    "log_decisions",
]

# The relations that let a root named in a trace request be opened.
ROOT_RELATIONS = frozenset({Relation.SELF, Relation.CUSTOMER, Relation.AUDITOR})
# A grant's claim is checked against our shipments to the granter: shipped no later
# than the consuming lot's production date plus this many days, in at least the
# quantity claimed, within this relative tolerance (weighing and rounding).
SHIPMENT_DATE_TOLERANCE = timedelta(days=3)
SHIPMENT_QUANTITY_TOLERANCE = 0.02
# One answer for a lot nothing in the request opens, whether or not it exists.
UNJUSTIFIED = "not given: nothing in this request opens this lot"


@dataclass(slots=True)
class NodeContext:
    """Per-request context: the store, the verified principal, the node's authority, and
    the request's access-log entry (written once the answer is rendered: node.evidence)."""

    store: GraphStore
    principal: Principal
    authority: NodeAuthority
    policy: Policy
    entry: RequestEntry
    # The node's clock, to judge whether a reporting period is closed.
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


class LotStatus(Enum):
    FOUND = "FOUND"
    NOT_FOUND = "NOT_FOUND"
    INVALID_ID = "INVALID_ID"
    WITHHELD = "WITHHELD"


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
    continuations: list[ContinuationGrant]


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


async def answer_lots(ctx: NodeContext, ids: Sequence[str], grants: Sequence[str]) -> LotsOutcome:
    """Decide, log and return what this node gives of ``ids`` to the request's caller."""
    check_batch(ids, grants)
    principal = ctx.principal
    if principal.op not in ("trace", "transparency"):
        forbidden = Forbidden(f"lots answers trace and transparency requests, not {principal.op!r}")
        withheld = [Decision(i, "WITHHELD", [], [], str(forbidden)) for i in ids]
        await log_decisions(ctx, "lots", withheld)
        raise forbidden
    declared: frozenset[str] | None = None
    if principal.op == "transparency":
        refusal, declared = _transparency_terms(ctx)
        if refusal is not None:
            refused = [Decision(i, "WITHHELD", [], [], refusal) for i in ids]
            await log_decisions(ctx, "lots", refused)
            answers = [Given(i, LotStatus.WITHHELD, refusal) for i in ids]
            return LotsOutcome(answers, [])
    org = ctx.authority.org
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
    claims, grant_refusal = await ctx.authority.verifier.claims(
        principal.request, principal.roots, grants, frozenset(wanted)
    )
    for grant in grants:  # every grant received is kept as evidence (Trust 4)
        if grant.isascii():
            ctx.authority.ledger.keep_grant(token_hash(grant), grant)
    found = await ctx.store.lots(wanted)
    # Our own lots that grants from ourselves name as consumers: our records, not
    # shipments, say what they consumed.
    internal = await ctx.store.lots(
        sorted({c.consumer for cs in claims.values() for c in cs if c.granter == org})
    )
    shipments = await ctx.store.shipments(list(found))
    ctx.entry.consulted(s for sent in shipments.values() for s in sent)
    facilities = {f.id: f for f in await ctx.store.facilities()}
    certificates = await ctx.store.certificates(
        [*sorted({lot.facility for lot in found.values()}), org]
    )
    links: list[InputLink] = []
    for lot_id in wanted:
        lot = found.get(lot_id)
        if lot is None:
            if principal.org == org:  # our own people may know what we do not hold
                given[lot_id] = Given(lot_id, LotStatus.NOT_FOUND, f"{org} holds no lot {lot_id}")
            else:
                given[lot_id] = Given(lot_id, LotStatus.WITHHELD, UNJUSTIFIED)
            decisions.append(Decision(lot_id, "NOT_FOUND", [], [], "no such lot"))
            continue
        about = tuple(c for c in certificates if c.subject in (lot.facility, org))
        relations = _relations(principal, org, shipments.get(lot_id, []), about)
        opening, refusal = _opening(
            ctx, principal, lot_id, relations, claims.get(lot_id, []), shipments, internal
        )
        if opening is None:
            reason = (
                refusal or grant_refusal or "neither a root of the request nor reached by a chain"
            )
            given[lot_id] = Given(lot_id, LotStatus.WITHHELD, UNJUSTIFIED)
            decisions.append(Decision(lot_id, "WITHHELD", sorted(relations), [], reason))
            continue
        hop, prev = opening
        # A transparency request reaches lots through chains too, but only the
        # transparency rule applies to it: never the downstream one.
        if prev is not None and principal.op != "transparency":
            relations.add(Relation.DOWNSTREAM)
        granted = ctx.policy.granted(relations, principal.org, principal.roles)
        if declared is not None:
            # An approved query is given only what its declaration lists, and never a
            # site's details or a supplier's name, whatever a rule grants (Trust 5).
            granted = granted & declared - NEVER_FOR_TRANSPARENCY
            about = tuple(_anonymous(c) for c in about)
        if "identity" not in granted:
            reason = "the owner's policy withholds this lot from this caller"
            given[lot_id] = Given(lot_id, LotStatus.WITHHELD, reason)
            decisions.append(Decision(lot_id, "WITHHELD", sorted(relations), [], reason))
            continue
        if "inputs" in granted and hop < principal.request.context.depth:
            # Quantities withheld from the caller travel sealed to the supplier's node.
            sealed = "quantities" not in granted
            links.extend(
                InputLink(
                    lot.id, lot.produced_at, hop, prev, link.lot, link.quantity.kilograms(), sealed
                )
                for link in lot.inputs
            )
        given[lot_id] = Given(
            lot_id, LotStatus.FOUND, None, lot, facilities[lot.facility], about, granted
        )
        decisions.append(Decision(lot_id, "FOUND", sorted(relations), sorted(granted)))
    ctx.authority.ledger.flush()
    await log_decisions(ctx, "lots", decisions)
    continuations = ctx.authority.issuer.issue(principal.request, links)
    return LotsOutcome([given[lot_id] for lot_id in ids], continuations)


# Roles a caller must hold, by this node's own registry copy, to run approved queries.
TRANSPARENCY_ROLES = frozenset({"NGO", "AUDITOR"})
# Field groups a transparency request never gets, whatever a rule or declaration says.
NEVER_FOR_TRANSPARENCY = frozenset({"facility", "suppliers", "customers"})


def _transparency_terms(ctx: NodeContext) -> tuple[str | None, frozenset[str]]:
    """Why this node answers no lot of a transparency request (or None), and the field
    groups the approved query declares.

    Only the approved queries this node's own policy lists, each under the one
    declaration whose digest it lists; only for NGO or auditor callers by its own
    registry copy; only for an as-of that ends a closed reporting period of the
    declared kind; and only with the owner's root list for that period (DESIGN.md,
    Trust 5).
    """
    principal = ctx.principal
    context = principal.request.context
    query = context.doc
    if query not in ctx.policy.approved_queries:
        return f"this node does not answer the transparency query {query[:80]!r}", frozenset()
    if principal.declaration is None:
        return "the approved query's declaration was not forwarded", frozenset()
    try:
        declaration = decode_declaration(principal.declaration, ctx.policy.approved_queries, query)
    except TokenRejected as exc:
        return str(exc), frozenset()
    if not principal.roles & TRANSPARENCY_ROLES:
        return "transparency queries are answered to NGO and auditor callers only", frozenset()
    period = closed_period_ending(context.as_of, declaration.period, ctx.now())
    if isinstance(period, str):
        return period, frozenset()
    if principal.roots_period != period.label:
        return (
            f"the product line's root list is for {principal.roots_period}, "
            f"not for the reporting period {period.label}",
            frozenset(),
        )
    return None, declaration.fields


def _anonymous(certificate: Certificate) -> Certificate:
    """A certificate as a transparency request gets it: what it attests and when, not
    which site or which certificate (its id and subject name the facility)."""
    return replace(certificate, id="", subject="")


def _opening(  # noqa: PLR0917 - one lot's facts, gathered by the caller
    ctx: NodeContext,
    principal: Principal,
    lot_id: str,
    relations: set[Relation],
    claims: Sequence[Claim],
    shipments: dict[str, list[Shipment]],
    internal: dict[str, Lot],
) -> tuple[tuple[int, str | None] | None, str | None]:
    """How ``lot_id`` is opened, as (hop, hash of the opening grant), or why it is not."""
    if lot_id in principal.roots and (
        relations & ROOT_RELATIONS or Relation.TRANSPARENCY in relations
    ):
        return (0, None), None
    refusal = None
    for claim in claims:
        if claim.granter == ctx.authority.org:
            refusal = _honour_internal(claim, internal.get(claim.consumer))
        else:
            refusal = _honour(ctx, claim, shipments.get(lot_id, []))
        if refusal is None:
            return (claim.hop, claim.grant), None
    if refusal is None and lot_id in principal.roots:
        refusal = "a root of the request, but the caller has no relation to it by our records"
    return None, refusal


def _honour_internal(claim: Claim, consumer: Lot | None) -> str | None:
    """Why our own grant's claim is refused by our own records (the consuming lot's links)."""
    if consumer is None:
        return f"our records hold no lot {claim.consumer}"
    recorded = sum(
        link.quantity.kilograms() or 0.0 for link in consumer.inputs if link.lot == claim.lot
    )
    if not recorded:
        return f"our records show {claim.consumer} did not consume this lot"
    if claim.kilograms is not None and claim.kilograms > recorded * (
        1 + SHIPMENT_QUANTITY_TOLERANCE
    ):
        return f"the grant claims more of this lot than {claim.consumer} consumed by our records"
    return None


def _honour(ctx: NodeContext, claim: Claim, shipments: Sequence[Shipment]) -> str | None:
    """Why a verified chain's claim on one of our lots is refused by our records, or None."""
    if claim.kilograms is None:
        return f"the grant from {claim.granter} gives no quantity to check against our shipments"
    to_granter = [s for s in shipments if s.to_org == claim.granter]
    if not to_granter:
        return f"our records show no shipment of this lot to {claim.granter}"
    by_date = sum(
        s.quantity.kilograms() or 0.0
        for s in to_granter
        if s.shipped_on <= claim.made + SHIPMENT_DATE_TOLERANCE
    )
    tolerance = 1 + SHIPMENT_QUANTITY_TOLERANCE
    if claim.kilograms > by_date * tolerance:
        return (
            f"{claim.granter} claims {claim.kilograms:g} kg consumed by {claim.consumer} "
            f"(made {claim.made}); our records show {by_date:g} kg shipped to it by then"
        )
    limit = sum(s.quantity.kilograms() or 0.0 for s in to_granter) * tolerance
    outcome = ctx.authority.ledger.claim(
        claim.lot, claim.granter, claim.consumer, claim.kilograms, limit
    )
    if not outcome.accepted:
        return (
            f"over-claimed: grants from {claim.granter} claim {outcome.claimed_kg:g} kg of this "
            f"lot, more than the {limit:g} kg shipped to it (tolerance included)"
        )
    return None


def _relations(
    principal: Principal,
    org: str,
    shipments: Sequence[Shipment],
    certificates: Sequence[Certificate],
) -> set[Relation]:
    """How the caller stands to one of our lots by our own records, grants aside."""
    relations: set[Relation] = set()
    if principal.org == org:
        relations.add(Relation.SELF)
    if any(s.to_org == principal.org for s in shipments):
        relations.add(Relation.CUSTOMER)
    if any(c.issuer == principal.org for c in certificates):
        relations.add(Relation.AUDITOR)
    if principal.op == "transparency":
        relations.add(Relation.TRANSPARENCY)
    return relations


async def log_decisions(ctx: NodeContext, query: str, decisions: list[Decision]) -> None:
    """Add what this field gave of each lot, and why, to the request's one log entry."""
    ctx.entry.add(
        query,
        [
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
    )
