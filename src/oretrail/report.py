"""A readable text report of a trace, from the gateway's JSON answer."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["TRACE_EVIDENCE_QUERY", "TRACE_QUERY", "format_trace"]

TRACE_QUERY = """
query Trace($lot: ID!, $maxDepth: Int, $asOf: Date) {
  trace(lot: $lot, maxDepth: $maxDepth, asOf: $asOf) {
    root asOf maxDepth elements
    origins {
      lot owner material custody recycledPostConsumer recycledPreConsumer
      facility { name kind country region artisanal cahra activities }
      shares { element share approximate }
    }
    coverage { element coverage unknown }
    gaps { lot owner reason detail via shares { element share } }
    risks { kind lot owner evidence shares { element share } }
    notChecked { check lot owner reason }
    allocationNote
    lots { id owner opened material custody }
    edges { consumer input kilograms }
  }
}
"""

# The same trace with its evidence bundle (DESIGN.md, Trust 7).
TRACE_EVIDENCE_QUERY = TRACE_QUERY.replace(
    "edges { consumer input kilograms }", "edges { consumer input kilograms }\n    evidence"
)


def _pct(value: float) -> str:
    return f"{value * 100:5.1f} %"


def format_trace(trace: dict[str, Any]) -> str:
    """Origins by mine and country with per-element shares, coverage, custody, gaps, risks."""
    elements: list[str] = trace["elements"]
    lines = [
        f"Trace of {trace['root']}",
        f"  as of {trace['asOf']}, up to {trace['maxDepth']} hops; "
        f"{sum(1 for lot in trace['lots'] if lot['opened'])} lots opened across "
        f"{len({lot['owner'] for lot in trace['lots']})} organisations",
        "",
        "Origins (share of the product's content of each element)",
    ]
    header = f"  {'mine / origin':<62} {'country':<8}" + "".join(f"{e:>9}" for e in elements)
    lines.append(header + "   custody (weakest on path)")
    for origin in sorted(trace["origins"], key=lambda o: (o["facility"] or {}).get("country", "")):
        facility = origin["facility"] or {}
        name = facility.get("name", origin["owner"])
        flags = [
            flag
            for flag, on in (("ASM", facility.get("artisanal")), ("CAHRA", facility.get("cahra")))
            if on
        ]
        if origin.get("recycledPostConsumer"):
            flags.append("post-consumer")
        if origin.get("recycledPreConsumer"):
            flags.append("pre-consumer")
        label = f"{name}" + (f" [{', '.join(flags)}]" if flags else "")
        shares = {s["element"]: s for s in origin["shares"]}
        cells = "".join(
            f"{_pct(shares[e]['share']) + ('~' if shares[e]['approximate'] else ' '):>9}"
            if e in shares and shares[e]["share"] > 0
            else f"{'-':>9}"
            for e in elements
        )
        lines.append(
            f"  {label[:62]:<62} {facility.get('country', '?'):<8}{cells}   "
            f"{origin['custody'] or 'unknown'}"
        )

    by_country: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for origin in trace["origins"]:
        country = (origin["facility"] or {}).get("country", "?")
        for s in origin["shares"]:
            by_country[country][s["element"]] += s["share"]
    lines += ["", "By country"]
    for country in sorted(by_country):
        cells = "".join(
            f"{_pct(by_country[country][e]) if by_country[country].get(e) else '-':>9}"
            for e in elements
        )
        lines.append(f"  {country:<71}{cells}")

    lines += ["", "Coverage (share traced to identified origins)"]
    lines += [
        f"  {c['element']:<4} {_pct(c['coverage'])}   unknown {_pct(c['unknown'])}"
        for c in trace["coverage"]
    ]

    lines += ["", f"Gaps ({len(trace['gaps'])})"]
    if not trace["gaps"]:
        lines.append("  none: every lot on the trace was opened")
    for gap in trace["gaps"]:
        behind = (
            ", ".join(
                f"{s['element']} {_pct(s['share']).strip()}"
                for s in gap["shares"]
                if s["share"] > 0
            )
            or "no tracked element"
        )
        lines.append(
            f"  {gap['reason']:<16} {gap['lot']} ({gap['owner']}): {gap['detail']}; "
            f"behind it: {behind}"
        )

    if trace.get("allocationNote"):
        lines += ["", f"Note: {trace['allocationNote']}"]

    lines += ["", f"Risks ({len(trace['risks'])})"]
    if not trace["risks"]:
        lines.append("  none flagged")
    for risk in trace["risks"]:
        where = f" {risk['lot']}" if risk["lot"] else ""
        lines.append(f"  {risk['kind']:<20}{where}")
        lines.append(f"      {risk['evidence']}")

    not_checked = trace.get("notChecked") or []
    lines += ["", f"Not checked ({len(not_checked)})"]
    if not not_checked:
        lines.append("  none: every check was made")
    for item in not_checked:
        lines.append(f"  {item['check']:<20} {item['lot']}: {item['reason']}")
    return "\n".join(lines)
