"""Check a trace's evidence bundle without trusting the gateway (DESIGN.md, Trust 7).

:func:`verify_evidence` takes the bundle a trace returned
(:mod:`oretrail.gateway.evidence`) and the caller's own pinned registry copy, and:

1. checks every node answer: the node's signature over the request hash, the
   response digest and its log receipt, and the receipt's inclusion proof under
   the node's signed checkpoint (:mod:`oretrail.auth.witness`);
2. rebuilds the lot graph from the answers that verify, walking from the root:
   every input an opened lot names must be opened by its owner's signed answer or
   reported as a gap; a gap the owner's node could have signed (not found,
   withheld) must be one, and a depth-limit gap must lie beyond the depth;
3. recomputes attribution, coverage and risk flags with the same code the
   gateway runs (:func:`oretrail.gateway.tracing.analyse`) from the answers and
   the public inputs the bundle names, and compares them with the figures the
   gateway gave.

A gateway that drops a branch, edits an answer, invents an origin or leaves out a
flag is reported; gaps only the gateway can vouch for (a node unreachable or too
slow) are listed as such. The Python client and ``oretrail verify`` call this.
"""

from __future__ import annotations

import base64
import json
import math
from collections import deque
from collections.abc import Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from oretrail.auth.checkpoint import log_origin
from oretrail.auth.pinned import PinnedRegistry, pinned_from_json
from oretrail.auth.requests import RequestContext
from oretrail.auth.tokens import node_issuer, token_hash
from oretrail.auth.witness import (
    EvidenceRejected,
    call_hash,
    evidence_matches,
    request_hash,
    verify_answer,
    verify_receipt,
)
from oretrail.config import RiskSettings
from oretrail.domain.lotgraph import GapReason, LotGraph, TracedLot, Unopened
from oretrail.domain.model import Custody, Role, parse_lot_id
from oretrail.errors import InvalidLotId, InvalidNodeAnswer, OretrailError
from oretrail.gateway.audit_credentials import AuditCredentials, StatusListCache
from oretrail.gateway.evidence import EVIDENCE_FORMAT, trace_figures
from oretrail.gateway.node_client import parse_lots
from oretrail.gateway.tracing import TraceReport, analyse

__all__ = [
    "EvidenceInvalid",
    "Verification",
    "check_signed_answer",
    "compare_answer",
    "recompute",
    "risk_settings",
    "roles_of",
    "trace_view",
    "verify_evidence",
]

# Gaps a node signs itself: the gateway cannot claim them without its answer.
_SIGNED_REASONS = frozenset({GapReason.NOT_FOUND, GapReason.WITHHELD})
# Figures are recomputed by the same code; only summation order may differ.
_TOLERANCE = 1e-9


class EvidenceInvalid(OretrailError):
    """The bundle is not an evidence bundle at all (wrong format, missing parts)."""

    code = "EVIDENCE_INVALID"


@dataclass(slots=True)
class Verification:
    """What :func:`verify_evidence` found.

    ``problems``: each a reason the gateway's answer is not what the nodes said
    (empty: the evidence verifies). ``unvouched``: gaps only the gateway reports
    (unreachable, timed out...), which no node signed. ``report``: the trace as
    recomputed from the signed answers alone.
    """

    problems: list[str] = field(default_factory=list)
    unvouched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    answers_checked: int = 0
    report: TraceReport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_evidence(
    bundle: Mapping[str, Any],
    *,
    pinned: PinnedRegistry | None = None,
    risk: RiskSettings | None = None,
    request_token: str | None = None,
) -> Verification:
    """Verify ``bundle`` against the caller's own ``pinned`` registry copy.

    ``pinned`` None uses the registry snapshot the bundle carries (noted: that copy
    is the gateway's). ``risk`` None uses the risk inputs the bundle names (noted);
    ``request_token``, when given, must be the request the bundle answers. Raises
    :class:`EvidenceInvalid` when ``bundle`` is not a bundle; every other finding is
    in the returned :class:`Verification`.
    """
    found = Verification()
    if bundle.get("format") != EVIDENCE_FORMAT:
        raise EvidenceInvalid(f"not an evidence bundle: format is not {EVIDENCE_FORMAT!r}")
    root, max_depth, as_of, request = _header(bundle)
    if request_token is not None and request_token != request:
        found.problems.append("the bundle answers another request than the one you signed")
    asked = _request_context(request)
    if asked is None or (asked.op, asked.roots, asked.depth, asked.as_of_date) != (
        "trace",
        (root,),
        max_depth,
        as_of,
    ):
        found.problems.append(
            "the bundle's root, depth or as-of date is not what its signed request asks"
        )
    request_hash = token_hash(request)
    if bundle.get("requestHash") != request_hash:
        found.problems.append("the bundle's requestHash is not the hash of its request")
    inputs = _object(bundle.get("inputs"), "inputs")
    registry = pinned if pinned is not None else _snapshot(inputs, found)
    risk = risk if risk is not None else _risk(inputs, found)

    trusted: list[Mapping[str, Any]] = []
    for number, raw in enumerate(_list(bundle.get("answers"), "answers")):
        answer = _object(raw, f"answers[{number}]")
        node = answer.get("node")
        try:
            check_signed_answer(
                answer.get("response"), str(node), registry, request_hash, answer.get("variables")
            )
        except EvidenceRejected as exc:
            found.problems.append(f"answer {number} (node {str(node)[:60]!r}): {exc}")
            continue
        found.answers_checked += 1
        trusted.append(answer)
    report = recompute(
        bundle, trusted, roles=roles_of(registry), risk=risk, found=found, pinned=registry
    )
    found.report = report
    _compare(trace_figures(report), _object(bundle.get("figures"), "figures"), found)
    return found


def recompute(
    bundle: Mapping[str, Any],
    answers: Sequence[Mapping[str, Any]],
    *,
    roles: Mapping[str, Collection[Role]],
    risk: RiskSettings,
    found: Verification | None = None,
    pinned: PinnedRegistry | None = None,
) -> TraceReport:
    """The trace ``answers`` support, from the bundle's root to its depth, and its figures.

    Checks no signature: :func:`verify_evidence` passes only the answers that
    verified. Gaps come from the nodes' own answers where they signed one, else from
    the bundle's reported gaps; what the walk finds wrong is added to ``found``.
    """
    root, max_depth, as_of, _ = _header(bundle)
    rebuild = _Rebuild(bundle, found or Verification())
    for number, answer in enumerate(answers):
        if answer.get("operation") == "lots":
            rebuild.read_lots(answer, str(answer.get("node")), f"answer {number}")
    graph = rebuild.walk(root, max_depth)
    if pinned is not None:
        graph = _check_credentials(graph, as_of, pinned, bundle)
    return analyse(graph, max_depth, as_of, roles, risk)


def _check_credentials(
    graph: LotGraph, as_of: date, pinned: PinnedRegistry, bundle: Mapping[str, Any]
) -> LotGraph:
    """The graph with its audit credentials checked as the gateway checks them, against
    the verifier's pinned keys and the auditors' signed status lists the bundle carries
    (a list it lacks leaves that credential's status unknown, never valid)."""
    inputs = bundle.get("inputs")
    raw = inputs.get("statusLists") if isinstance(inputs, Mapping) else None
    lists = {k: v for k, v in raw.items() if isinstance(v, str)} if isinstance(raw, Mapping) else {}

    async def read(url: str) -> str:
        token = lists.get(urlsplit(url).path)
        if token is None:
            raise OSError(f"the bundle carries no status list at {urlsplit(url).path}")
        return token

    checker = AuditCredentials(pinned, StatusListCache(read))
    return _run_now(checker.check(graph, as_of))


def _run_now(step: Coroutine[Any, Any, LotGraph]) -> LotGraph:
    """Run a coroutine that never waits: every await in a credential check here resolves
    at once (pinned keys in memory, status lists from the bundle), so the verifier stays
    a plain function that async callers (the client) and scripts alike can call."""
    try:
        step.send(None)
    except StopIteration as done:
        result: LotGraph = done.value
        return result
    step.close()
    raise RuntimeError("a credential check waited for input/output inside the verifier")


def compare_answer(answer: Mapping[str, Any], found: Verification) -> None:
    """Add to ``found`` every way the trace answer the caller was shown (the gateway's
    GraphQL ``trace`` fields, as ``oretrail.report.TRACE_QUERY`` asks them) differs from
    the trace its evidence recomputes to.

    A gateway could send an honest bundle beside a dishonest answer. Every field the
    answer holds that the evidence determines is compared: root, as-of, depth, elements;
    each origin's owner, material, custody, recycled shares, facility (name, kind,
    country, region, artisanal, CAHRA, activities) and element shares; coverage and
    unknown; each gap's owner, reason, via and shares; each risk's owner, evidence and
    shares; the checks not made; the lots and the edges. A field left out of the answer
    is not compared (the caller did not ask for it); one the answer holds as null or
    another shape is a difference. Free text only the gateway writes (a gap's detail,
    the allocation note) is not compared.
    """
    if found.report is None:
        return
    expected = trace_view(found.report)
    for key, value in expected.items():
        if key not in answer:
            continue
        mine, shown = value, _shown_like(answer[key], value)
        if key in _IDENTITY:
            mine, shown = _sorted_items(mine, _IDENTITY[key]), _sorted_items(shown, _IDENTITY[key])
        if not _same(mine, shown):
            found.problems.append(
                f"the trace answer's {key} differ from what its evidence recomputes to: "
                f"{_difference(mine, shown)}"
            )


# Lists whose order carries no meaning, and the members that name an item of each.
_IDENTITY: dict[str, tuple[str, ...]] = {
    "origins": ("lot",),
    "coverage": ("element",),
    "gaps": ("lot", "reason"),
    "risks": ("kind", "lot", "owner"),
    "notChecked": ("check", "lot"),
    "lots": ("id",),
    "edges": ("consumer", "input"),
}


def trace_view(report: TraceReport) -> dict[str, Any]:
    """The trace answer ``report`` gives, as JSON in the GraphQL field names of
    ``oretrail.report.TRACE_QUERY`` (the fields the evidence determines; see
    :func:`compare_answer`), built as ``gateway.types.trace_type`` builds it."""
    graph, attribution = report.graph, report.attribution

    def shares(values: Mapping[str, float], approximate: Collection[str] | None = None) -> Any:
        return [
            {"element": e, "share": v}
            | ({} if approximate is None else {"approximate": e in approximate})
            for e, v in sorted(values.items())
        ]

    origins = []
    for o in attribution.origins:
        lot = graph.lots[o.lot]
        f = lot.facility
        origins.append(
            {
                "lot": o.lot,
                "owner": o.owner,
                "material": lot.material,
                "custody": None if o.custody is None else str(o.custody),
                "recycledPostConsumer": lot.recycled_post_consumer,
                "recycledPreConsumer": lot.recycled_pre_consumer,
                "facility": None
                if f is None
                else {
                    "name": f.name,
                    "kind": f.kind,
                    "country": f.country,
                    "region": f.region,
                    "artisanal": f.artisanal,
                    "cahra": f.cahra,
                    "activities": sorted(str(a) for a in f.activities or ()),
                },
                "shares": shares(o.shares, o.approximate),
            }
        )
    return {
        "root": graph.root,
        "asOf": report.as_of.isoformat(),
        "maxDepth": report.max_depth,
        "elements": list(attribution.elements),
        "origins": origins,
        "coverage": [
            {"element": e, "coverage": c, "unknown": max(0.0, 1 - c)}
            for e, c in sorted(attribution.coverage.items())
        ],
        "gaps": [
            {
                "lot": g.lot,
                "owner": g.owner,
                "reason": str(g.reason),
                "via": g.via,
                "shares": shares(g.shares),
            }
            for g in attribution.gaps
        ],
        "risks": [
            {
                "kind": str(r.kind),
                "lot": r.lot,
                "owner": r.owner,
                "evidence": r.evidence,
                "shares": shares(r.shares),
            }
            for r in report.risks
        ],
        "notChecked": [
            {"check": str(u.check), "lot": u.lot, "owner": u.owner, "reason": u.reason}
            for u in report.unchecked
        ],
        "lots": [
            {
                "id": i,
                "owner": lot.owner,
                "opened": True,
                "material": lot.material,
                "custody": None if lot.custody is None else str(lot.custody),
            }
            for i, lot in sorted(graph.lots.items())
        ]
        + [
            {"id": i, "owner": u.owner, "opened": False, "material": None, "custody": None}
            for i, u in sorted(graph.unopened.items())
        ],
        "edges": [
            {"consumer": c, "input": link.lot, "kilograms": link.kilograms}
            for c, link in graph.edges()
        ],
    }


def _shown_like(shown: object, mine: object) -> object:
    """``shown`` cut to the shape of ``mine``: objects keep only the members ``mine``
    has (a member left out reads as null), lists keep their items; other shapes stay
    as they are and so compare unequal."""
    if isinstance(mine, Mapping):
        if not isinstance(shown, Mapping):
            return shown
        return {k: _shown_like(shown.get(k), v) for k, v in mine.items()}
    if isinstance(mine, list):
        if not isinstance(shown, list):
            return shown
        template = mine[0] if mine else None
        return [_shown_like(item, template) for item in shown]
    return shown


def _sorted_items(items: object, names: tuple[str, ...]) -> object:
    """A list of objects in the order of the members ``names`` (as text)."""
    if not isinstance(items, list):
        return items
    return sorted(
        items,
        key=lambda v: [str(v.get(n)) for n in names] if isinstance(v, Mapping) else [str(v)],
    )


def check_signed_answer(
    response: object,
    node: str,
    registry: PinnedRegistry,
    request: str,
    variables: object = None,
) -> None:
    """Raise EvidenceRejected unless ``response`` is ``node``'s signed answer to the
    signed request ``request`` (its ``SignedRequest.hash``), with a log receipt under a
    checkpoint the node signed. The node's key comes from ``registry`` alone. With
    ``variables`` (the call's GraphQL variables, as the bundle lists them), a GraphQL
    answer must name them (``call``), so the ids asked and grants presented are the
    node's word."""
    if not isinstance(response, Mapping):
        raise EvidenceRejected("the response is not a JSON object")
    evidence = _evidence_of(response)
    if not isinstance(evidence, Mapping):
        raise EvidenceRejected("the response carries no signed answer")
    member = registry.member(node)
    if member is None or not member.node_keys:
        raise EvidenceRejected(f"{node} has no node key in the registry used")
    problem: EvidenceRejected | None = None
    # A member may hold more than one node key (rotation): one of them must sign both.
    for key in member.node_keys:
        try:
            claims = verify_answer(evidence.get("answer"), key.public)
            receipt = verify_receipt(evidence.get("receipt"), key.public, log_origin(node))
        except EvidenceRejected as exc:
            problem = exc
            continue
        if claims.iss != node_issuer(node):
            raise EvidenceRejected(f"the answer is signed as {claims.iss}, not {node}'s node")
        if claims.req != request_hash(request):
            raise EvidenceRejected("the node signed this answer for another request")
        graphql = isinstance(response.get("extensions"), Mapping)
        if (
            variables is not None
            and graphql
            and (not isinstance(variables, Mapping) or claims.call != call_hash(variables))
        ):
            raise EvidenceRejected(
                "the node signed this answer for another call (ids or grants differ)"
            )
        evidence_matches(claims, receipt, response)
        return
    assert problem is not None
    raise problem


def _request_context(token: str) -> RequestContext | None:
    """The context of the bundle's signed request, read without checking its signature:
    the nodes checked it when they answered, and each answer is signed over its hash."""
    try:
        segment = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return RequestContext.from_claims(claims.get("ctx") if isinstance(claims, dict) else None)
    except (IndexError, ValueError, RecursionError, OretrailError):
        return None


def _evidence_of(response: Mapping[str, Any]) -> object:
    """The evidence a response carries: in ``extensions`` (GraphQL answers) or at the top
    (a node's HTTP refusal)."""
    extensions = response.get("extensions")
    if isinstance(extensions, Mapping) and "evidence" in extensions:
        return extensions["evidence"]
    return response.get("evidence")


def _header(bundle: Mapping[str, Any]) -> tuple[str, int, date, str]:
    root, depth, day, request = (
        bundle.get("root"),
        bundle.get("maxDepth"),
        bundle.get("asOf"),
        bundle.get("request"),
    )
    if not isinstance(root, str) or type(depth) is not int or not isinstance(request, str):
        raise EvidenceInvalid("the bundle lacks its root, maxDepth or request")
    try:
        return root, depth, date.fromisoformat(str(day)), request
    except ValueError:
        raise EvidenceInvalid(f"the bundle's asOf {str(day)[:40]!r} is not a date") from None


def _object(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise EvidenceInvalid(f"the bundle's {what} is not an object")
    return raw


def _list(raw: object, what: str) -> Sequence[Any]:
    if not isinstance(raw, list):
        raise EvidenceInvalid(f"the bundle's {what} is not a list")
    return raw


def _snapshot(inputs: Mapping[str, Any], found: Verification) -> PinnedRegistry:
    registry = _object(inputs.get("registry"), "inputs.registry")
    found.notes.append(
        "node keys were taken from the registry snapshot in the bundle, which the gateway "
        "supplied; pass your own pinned registry to check them independently"
    )
    try:
        return pinned_from_json(registry.get("snapshot"), "the bundle's registry snapshot")
    except OretrailError as exc:
        raise EvidenceInvalid(f"the bundle's registry snapshot is unusable: {exc}") from None


def _risk(inputs: Mapping[str, Any], found: Verification) -> RiskSettings:
    found.notes.append("risk settings and the CAHRA list were taken from the bundle")
    return risk_settings(inputs)


def risk_settings(inputs: Mapping[str, Any]) -> RiskSettings:
    """The risk settings a bundle's ``inputs`` name (EvidenceInvalid if malformed)."""
    raw = _object(inputs.get("risk"), "inputs.risk")
    try:
        custody = raw.get("requiredCustody")
        return RiskSettings(
            mass_balance_tolerance=float(raw["massBalanceTolerance"]),
            min_coverage=float(raw["minCoverage"]),
            required_custody=None if custody is None else Custody(custody),
            cahra_regions=frozenset((str(c), str(r)) for c, r in raw["cahraRegions"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise EvidenceInvalid(f"the bundle's risk inputs are malformed: {exc}") from None


def roles_of(registry: PinnedRegistry) -> dict[str, tuple[Role, ...]]:
    """Roles by organisation, from the registry the verifier trusts (unknown names dropped)."""
    known = {str(r) for r in Role}
    return {
        org: tuple(Role(r) for r in sorted(member.roles) if r in known)
        for org, member in registry.members.items()
    }


class _Rebuild:
    """The lot graph the signed answers support, rebuilt from the root."""

    def __init__(self, bundle: Mapping[str, Any], found: Verification) -> None:
        self.found = found
        self.opened: dict[str, TracedLot] = {}
        # Per lot, its owner's signed NOT_FOUND or WITHHELD answers, each with the grants
        # its call presented (as the node signed them; none for a whole refusal).
        self.signed_gaps: dict[str, list[tuple[GapReason, frozenset[str]]]] = {}
        # Per lot, the grants opened lots' signed answers issued for it.
        self.issued: dict[str, set[str]] = {}
        self.reported: dict[str, Mapping[str, Any]] = {}
        for raw in _list(bundle.get("gaps"), "gaps"):
            gap = _object(raw, "gaps[]")
            if isinstance(gap.get("lot"), str):
                self.reported[gap["lot"]] = gap

    def read_lots(self, answer: Mapping[str, Any], node: str, where: str) -> None:
        """Note the lots and the signed not-found or withheld answers of one ``lots`` call."""
        variables = answer.get("variables")
        ids = variables.get("ids") if isinstance(variables, Mapping) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            self.found.problems.append(f"{where}: the ids asked are not listed")
            return
        response = answer.get("response")
        if isinstance(response, Mapping) and "data" not in response and "evidence" in response:
            # The node's signed refusal of the whole request: every id it owns is WITHHELD.
            # The ids are the gateway's word (the signature does not cover them), and a
            # node's refusal speaks for its own lots alone.
            for lot_id in ids:
                if _owner(lot_id) == node:
                    self.signed(lot_id, GapReason.WITHHELD, frozenset())
            return
        raw_grants = variables.get("grants") if isinstance(variables, Mapping) else None
        presented = frozenset(g for g in raw_grants or () if isinstance(g, str))
        try:
            replies = parse_lots(node, ids, dict(answer["response"]))
        except InvalidNodeAnswer:
            return  # unusable as a whole: its lots are gaps the gateway reports
        for lot_id, reply in replies.items():
            if reply.lot is not None:
                if lot_id in self.opened:
                    self.found.problems.append(f"{where}: lot {lot_id} is answered twice")
                self.opened[lot_id] = reply.lot
                for link in reply.lot.inputs:
                    self.issued.setdefault(link.lot, set()).update(reply.grants.get(link.lot, ()))
            elif reply.reason is not None and _owner(lot_id) == node:
                # Any node asked for another's lot truly says it holds no such lot; only
                # the owner's NOT_FOUND or WITHHELD makes the lot a signed gap.
                self.signed(lot_id, reply.reason, presented)

    def signed(self, lot_id: str, reason: GapReason, presented: frozenset[str]) -> None:
        self.signed_gaps.setdefault(lot_id, []).append((reason, presented))

    def signed_gap(self, lot_id: str) -> GapReason | None:
        """The owner's signed reason for not opening ``lot_id``, if it answered a call that
        presented a grant issued for the lot (any call, for a lot no grant names)."""
        answers = self.signed_gaps.get(lot_id)
        if not answers:
            return None
        issued = self.issued.get(lot_id)
        for reason, presented in answers:
            if not issued or presented & issued:
                return reason
        self.found.problems.append(
            f"lot {lot_id}: its owner's signed {answers[0][0]} answered a call that did not "
            "present the grant its consumer's node issued for it: a branch was dropped"
        )
        return answers[0][0]

    def walk(self, root: str, max_depth: int) -> LotGraph:
        """Breadth first from ``root``, so each lot is met at its shallowest depth."""
        graph = LotGraph(root=root)
        depth = {root: 0}
        queue = deque([root])
        while queue:
            lot_id = queue.popleft()
            level = depth[lot_id]
            lot = self.opened.get(lot_id)
            if lot is not None:
                graph.lots[lot_id] = lot
                for link in lot.inputs:
                    if link.lot not in depth:
                        depth[link.lot] = level + 1
                        queue.append(link.lot)
                continue
            graph.unopened[lot_id] = self.gap(lot_id, level, max_depth)
        return graph

    def gap(self, lot_id: str, level: int, max_depth: int) -> Unopened:
        """Why ``lot_id`` is not opened, if the evidence supports it; a problem if not."""
        problems = self.found.problems
        owner = _owner(lot_id)
        claim = self.reported.get(lot_id)
        detail = str(claim.get("detail", "")) if claim is not None else ""
        if level > max_depth:
            return Unopened(lot_id, owner, GapReason.DEPTH_LIMIT, detail or "beyond the depth")
        signed = self.signed_gap(lot_id)
        if signed is not None:
            if claim is None or claim.get("reason") != str(signed):
                problems.append(
                    f"lot {lot_id}: its owner's signed answer says {signed}, "
                    f"the gateway reports {None if claim is None else claim.get('reason')}"
                )
            return Unopened(lot_id, owner, signed, detail)
        if claim is None:
            problems.append(
                f"lot {lot_id} (depth {level}) is neither answered by its owner nor reported "
                "as a gap: a branch was dropped"
            )
            return Unopened(lot_id, owner, GapReason.INVALID_RESPONSE, "missing from the evidence")
        try:
            reason = GapReason(str(claim.get("reason")))
        except ValueError:
            problems.append(f"lot {lot_id}: the gap reason {claim.get('reason')!r} is unknown")
            reason = GapReason.INVALID_RESPONSE
        if reason in _SIGNED_REASONS:
            problems.append(
                f"lot {lot_id}: the gateway reports {reason} but no signed answer of "
                f"{owner} says so"
            )
        elif reason is GapReason.DEPTH_LIMIT:
            problems.append(
                f"lot {lot_id}: reported beyond the depth limit, but it is at depth {level} "
                f"of {max_depth}"
            )
        else:
            self.found.unvouched.append(
                f"{lot_id}: {reason} (reported by the gateway: {detail[:120]})"
            )
        return Unopened(lot_id, owner, reason, detail)


def _owner(lot_id: str) -> str:
    """The organisation a lot id names ("" if it is not a lot id)."""
    try:
        return parse_lot_id(lot_id).org
    except InvalidLotId:
        return ""


def _compare(
    recomputed: Mapping[str, Any], claimed: Mapping[str, Any], found: Verification
) -> None:
    """Every difference between the gateway's figures and the recomputed ones."""
    for key in sorted(set(recomputed) | set(claimed)):
        mine, theirs = recomputed.get(key), claimed.get(key)
        if not _same(mine, theirs):
            found.problems.append(
                f"the gateway's {key} differ from the figures the signed answers give: "
                f"{_difference(mine, theirs)}"
            )


def _same(a: object, b: object) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _difference(mine: object, theirs: object) -> str:
    if isinstance(mine, list) and isinstance(theirs, list):
        only_mine = [x for x in mine if not any(_same(x, y) for y in theirs)]
        only_theirs = [y for y in theirs if not any(_same(x, y) for x in mine)]
        return f"signed answers give {only_mine[:3]}, the gateway gave {only_theirs[:3]}"[:600]
    return f"signed answers give {mine}, the gateway gave {theirs}"[:600]
