"""A trace's evidence bundle: the nodes' signed answers, and what the figures rest on.

DESIGN.md, Trust 7: the gateway returns every node answer it used, each as the
node sent it (``data``, ``errors`` and the node's signature and log receipt in
``extensions.evidence``), with the caller's signed request, the gaps it reports
and the public inputs of its figures (the risk settings with the CAHRA list, and
the registry snapshot it ran with). :func:`oretrail.verify.verify_evidence`
rebuilds the trace from that alone and recomputes its figures, so a gateway that
drops a branch, edits an answer, invents an origin or leaves out a flag is caught.

Shape (JSON object)::

    {"format": "oretrail.evidence/1",
     "root": lot id, "maxDepth": int, "asOf": "YYYY-MM-DD",
     "request": the caller's signed request (compact JWS), "requestHash": hex,
     "inputs": {"risk": {...}, "registry": {"sha256": hex, "snapshot": {...}},
                "statusLists": {url path: status list credential}},
     "answers": [{"node": org, "operation": "lots", "variables": {...},
                  "response": {"data": ..., "errors": [...], "extensions": {...}}}],
     "gaps": [{"lot", "owner", "reason", "detail"}],
     "figures": trace_figures(report)}
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785

from oretrail.config import RiskSettings
from oretrail.gateway.node_client import NodeAnswer
from oretrail.gateway.tracing import TraceReport

__all__ = [
    "EVIDENCE_FORMAT",
    "EvidenceCollector",
    "evidence_bundle",
    "receipt_lines",
    "risk_inputs",
    "trace_figures",
]

EVIDENCE_FORMAT = "oretrail.evidence/1"


class EvidenceCollector:
    """Keeps every node answer a trace receives (an ``AnswerSink``), in arrival order."""

    def __init__(self) -> None:
        self.answers: list[NodeAnswer] = []

    def __call__(self, answer: NodeAnswer) -> None:
        self.answers.append(answer)


def receipt_lines(answers: list[NodeAnswer]) -> tuple[str, ...]:
    """One line per answer's log receipt, as the trace record keeps them:
    ``"<node> <index> <size> <root base64> <leaf hex>"``; answers without a well-formed
    receipt are left out (the bundle keeps them whole)."""
    lines = []
    for answer in answers:
        extensions = answer.document.get("extensions")
        evidence = extensions.get("evidence") if isinstance(extensions, Mapping) else None
        receipt = evidence.get("receipt") if isinstance(evidence, Mapping) else None
        if not isinstance(receipt, Mapping):
            continue
        note = receipt.get("checkpoint")
        parts = note.split("\n") if isinstance(note, str) else []
        index, leaf = receipt.get("index"), receipt.get("leaf")
        if len(parts) < 3 or type(index) is not int or not isinstance(leaf, str):
            continue
        size, root = parts[1], parts[2]
        if size.isdigit() and root and " " not in root and leaf.isalnum():
            lines.append(f"{answer.node} {index} {size} {root} {leaf}")
    return tuple(lines)


def risk_inputs(risk: RiskSettings) -> dict[str, Any]:
    """The public inputs of a trace's risk figures, as JSON (CAHRA list sorted)."""
    return {
        "massBalanceTolerance": risk.mass_balance_tolerance,
        "minCoverage": risk.min_coverage,
        "requiredCustody": None if risk.required_custody is None else str(risk.required_custody),
        "cahraRegions": sorted([country, region] for country, region in risk.cahra_regions),
    }


def _sha256(document: object) -> str:
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()  # type: ignore[arg-type]


def trace_figures(report: TraceReport) -> dict[str, Any]:
    """A trace's figures in a canonical order: what the verifier recomputes and compares.

    Coverage, origin and gap shares are fractions from 0 to 1 of the root's element;
    lists are sorted, so two computations over the same answers compare equal.
    """
    graph, attribution = report.graph, report.attribution
    return {
        "root": graph.root,
        "elements": list(attribution.elements),
        "coverage": {e: attribution.coverage[e] for e in attribution.elements},
        "origins": sorted(
            (
                {
                    "lot": o.lot,
                    "owner": o.owner,
                    "shares": dict(sorted(o.shares.items())),
                    "approximate": sorted(o.approximate),
                }
                for o in attribution.origins
            ),
            key=lambda o: o["lot"],
        ),
        "gaps": sorted(
            (
                {
                    "lot": g.lot,
                    "owner": g.owner,
                    "reason": str(g.reason),
                    "shares": dict(sorted(g.shares.items())),
                }
                for g in attribution.gaps
            ),
            key=lambda g: (g["lot"], g["reason"]),
        ),
        "risks": sorted(
            (
                {
                    "kind": str(r.kind),
                    "lot": r.lot,
                    "owner": r.owner,
                    "shares": dict(sorted(r.shares.items())),
                }
                for r in report.risks
            ),
            key=lambda r: (r["kind"], r["lot"] or "", r["owner"] or ""),
        ),
        "notChecked": sorted(
            ({"check": str(u.check), "lot": u.lot, "owner": u.owner} for u in report.unchecked),
            key=lambda u: (u["check"], u["lot"]),
        ),
        "lots": sorted(graph.lots),
    }


def evidence_bundle(
    report: TraceReport,
    answers: list[NodeAnswer],
    *,
    request_token: str,
    request_hash: str,
    risk: RiskSettings,
    registry: Mapping[str, Any],
    status_lists: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The evidence bundle of a finished trace (shape in the module docstring).

    ``registry`` is the pinned-registry snapshot the gateway ran with (public keys
    and roles only); its RFC 8785 SHA-256 is named beside it, so a verifier can
    compare it with its own copy. ``status_lists`` are the auditors' status list
    credentials the trace's credential checks read, by URL path.
    """
    return {
        "format": EVIDENCE_FORMAT,
        "root": report.graph.root,
        "maxDepth": report.max_depth,
        "asOf": report.as_of.isoformat(),
        "request": request_token,
        "requestHash": request_hash,
        "inputs": {
            "risk": risk_inputs(risk),
            "registry": {"sha256": _sha256(registry), "snapshot": registry},
            # The auditors' signed status lists the credential checks read, by URL path.
            "statusLists": dict(sorted((status_lists or {}).items())),
        },
        "answers": [
            {
                "node": a.node,
                "operation": a.operation,
                "variables": dict(a.variables),
                "response": dict(a.document),
            }
            for a in answers
        ],
        "gaps": sorted(
            (
                {"lot": u.lot, "owner": u.owner, "reason": str(u.reason), "detail": u.detail}
                for u in report.graph.unopened.values()
            ),
            key=lambda g: g["lot"],
        ),
        "figures": trace_figures(report),
    }
