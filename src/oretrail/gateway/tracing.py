"""A whole upstream trace: check the request, discover the lot graph, compute the figures."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date

from oretrail.config import GatewaySettings, Registry, RiskSettings
from oretrail.domain.attribution import Attribution, attribute
from oretrail.domain.lotgraph import LotGraph
from oretrail.domain.model import Role, parse_lot_id
from oretrail.domain.risks import Risk, RiskPolicy, Unchecked, assess_risks, unchecked
from oretrail.errors import Forbidden, InvalidInput, UnknownLot
from oretrail.gateway.audit_credentials import AuditCredentials
from oretrail.gateway.node_client import AnswerSink, NodeClient
from oretrail.gateway.planner import TokenMinter, trace_upstream
from oretrail.gateway.resilience import NodeGuards

__all__ = ["TraceReport", "analyse", "check_depth", "run_trace"]


@dataclass(frozen=True, slots=True)
class TraceReport:
    graph: LotGraph
    attribution: Attribution
    risks: list[Risk]
    max_depth: int
    as_of: date
    # Checks that could not be made, with the reason (never silently passed).
    unchecked: list[Unchecked] = field(default_factory=list)


def check_depth(max_depth: int | None, settings: GatewaySettings) -> int:
    """The depth to use, or InvalidInput naming the allowed range."""
    if max_depth is None:
        return settings.default_depth
    if not 1 <= max_depth <= settings.max_depth:
        raise InvalidInput(
            f"maxDepth {max_depth} is out of range; it must be between 1 and {settings.max_depth}"
        )
    return max_depth


async def run_trace(
    root: str,
    max_depth: int | None,
    as_of: date | None,
    *,
    registry: Registry,
    client: NodeClient,
    settings: GatewaySettings,
    mint_token: TokenMinter | None = None,
    guards: NodeGuards | None = None,
    answers: AnswerSink | None = None,
    credentials: AuditCredentials | None = None,
) -> TraceReport:
    """Trace ``root`` upstream. Bad input raises; node failures become gaps.

    With ``credentials``, the audit credentials nodes present are checked before the
    figures are computed; without, they count as plain (UNVERIFIED) records.
    """
    owner = parse_lot_id(root).org
    registry.get(owner)
    depth = check_depth(max_depth, settings)
    guards = guards or NodeGuards(settings.resilience)
    graph = await trace_upstream(
        root,
        depth,
        registry,
        client,
        mint_token=mint_token,
        guard=guards.trace(),
        answers=answers,
    )
    if root not in graph.lots:
        missing = graph.unopened.get(root)
        if missing is not None and missing.reason == "NOT_FOUND":
            raise UnknownLot(f"lot {root} is not known to its owner {owner!r}")
        if missing is not None and missing.reason == "WITHHELD":
            raise Forbidden(f"{owner} does not show lot {root} to this caller: {missing.detail}")
    day = as_of or date.today()
    if credentials is not None:
        graph = await credentials.check(graph, day)
    return analyse(graph, depth, day, registry.roles(), settings.risk)


def analyse(
    graph: LotGraph,
    max_depth: int,
    as_of: date,
    roles: Mapping[str, Collection[Role]],
    risk: RiskSettings,
) -> TraceReport:
    """Attribution, risks and the checks not made, from a discovered lot graph.

    The one computation behind a trace's figures: the gateway runs it on what it
    discovered, and ``oretrail verify`` runs it again on the nodes' signed answers.
    """
    attribution = attribute(graph, risk.mass_balance_tolerance)
    policy = RiskPolicy(
        as_of=as_of,
        cahra_regions=risk.cahra_regions,
        required_custody=risk.required_custody,
        mass_balance_tolerance=risk.mass_balance_tolerance,
        min_coverage=risk.min_coverage,
    )
    risks = assess_risks(graph, attribution, roles, policy)
    return TraceReport(graph, attribution, risks, max_depth, as_of, unchecked(graph, roles, policy))
