"""The due-diligence report document rendered as Markdown and as a printable HTML page.

Both take the JSON document of ``due_diligence.report.build_report`` (as the gateway
returns it), so the CLI renders without the gateway's code. Every text from the
trace is escaped: lot ids, names and evidence come from participants' nodes.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["to_html", "to_markdown"]

Row = Sequence[object]


def _pct(value: object) -> str:
    return f"{float(value) * 100:.2f} %" if isinstance(value, int | float) else "-"


def _kg(value: object) -> str:
    return f"{float(value):,.2f}" if isinstance(value, int | float) else "-"


def _shares(shares: dict[str, float]) -> str:
    return ", ".join(f"{e} {_pct(s)}" for e, s in shares.items()) or "-"


def _sections(doc: dict[str, Any]) -> list[tuple[str, str, list[str], list[Row]]]:
    """(title, note, header, rows) for every table of the report, in reading order."""
    product = doc["product"]
    outcome_rows: list[Row] = []
    flag_rows: list[Row] = []
    for profile in doc["profiles"]:
        for o in profile["outcomes"]:
            sign = "<=" if o["atMost"] else ">="
            outcome_rows.append(
                [profile["name"], o["statement"], o["element"], o["state"], _pct(o["figure"]),
                 f"{sign} {_pct(o['threshold'])}", _pct(o["unknown"]), "; ".join(o["evidence"])]
            )  # fmt: skip
        for f in profile["redFlags"]:
            flag_rows.append(
                [profile["name"], f["flag"], f["lot"] or "-", _shares(f["shares"]),
                 "managed: " + ", ".join(f["records"]) if f["managed"] else "no record",
                 f["evidence"]]
            )  # fmt: skip
    record_rows: list[Row] = [
        [r["id"], r["flag"], r["lot"] or "-", r["decision"], r["rationale"], r["decidedOn"],
         r["reviewBy"] or "-"]
        for r in doc["records"]
    ]  # fmt: skip
    columns = doc["smelterListColumns"]
    smelter_rows: list[Row] = [[row[c] for c in columns] for row in doc["smelterList"]]
    origin_rows: list[Row] = []
    for table in doc["originByElement"]:
        approx = " (approximate)" if table["approximate"] else ""
        for kind in ("primary", "recycled"):
            for r in table[kind]:
                origin_rows.append(
                    [table["element"] + approx, kind, r["countryName"], _kg(r["kg"]),
                     _pct(r["share"])]
                )  # fmt: skip
        unknown = table["unknown"]
        if unknown["share"] > 0:
            origin_rows.append(
                [table["element"], "unknown", "-", _kg(unknown["kg"]), _pct(unknown["share"])]
            )
    recycled_rows: list[Row] = [
        [r["element"], _pct(r["preConsumer"]), _pct(r["postConsumer"]), _pct(r["total"]),
         _kg(r["totalKg"]), _pct(r["unknown"])]
        for r in doc["recycledContent"]
    ]  # fmt: skip
    chain_rows: list[Row] = [
        [c["tier"], c["ownerName"], c["material"] or "(not opened)", c["facility"] or "-",
         c["country"] or "-", ", ".join(c["activities"]) or "-", c["lot"]]
        for c in doc["supplyChain"]
    ]  # fmt: skip
    risk_rows: list[Row] = [
        [r["kind"], r["lot"] or "-", _shares(r["shares"]), r["evidence"]] for r in doc["risks"]
    ]
    gap_rows: list[Row] = [
        [g["reason"], g["lot"], _shares(g["shares"]), g["detail"]] for g in doc["gaps"]
    ]
    gap_rows += [
        [f"NOT CHECKED: {u['check']}", u["lot"], "-", u["reason"]] for u in doc["notChecked"]
    ]
    element_kg = product.get("elementKg") or {}
    content = ", ".join(f"{e} {_kg(kg)} kg" for e, kg in element_kg.items())
    return [
        ("Outcomes", "Each defined outcome of each commodity profile, per element.",
         ["Commodity", "Outcome", "Element", "State", "Figure", "Threshold", "Unknown",
          "Evidence"], outcome_rows),
        ("Red flags", "A record never hides a flag: managed flags stay listed.",
         ["Commodity", "Flag", "Lot", "Share", "Risk management", "Evidence"], flag_rows),
        ("Risk-management records", "Signed with the organisation's key (OECD DDG step 3).",
         ["Record", "Flag", "Lot", "Decision", "Plan or reason", "Decided", "Review by"],
         record_rows),
        ("Smelters and refiners", doc["smelterListTemplate"], list(columns), smelter_rows),
        ("Country of origin per element", f"Product content: {content or 'not declared'}.",
         ["Element", "Feed", "Country", "kg", "Share"], origin_rows),
        ("Recycled content (EU 2023/1542 Article 8 classes)", "",
         ["Element", "Pre-consumer", "Post-consumer", "Total", "kg", "Unknown"], recycled_rows),
        ("Supply chain by tier", "Tier 0 is the product.",
         ["Tier", "Organisation", "Material", "Facility", "Country", "Activities", "Lot"],
         chain_rows),
        ("Risks flagged by the trace", "", ["Kind", "Lot", "Share", "Evidence"], risk_rows),
        ("Gaps and what remains unknown", "", ["Reason", "Lot", "Share", "Detail"], gap_rows),
    ]  # fmt: skip


def _title(doc: dict[str, Any]) -> tuple[str, str]:
    product = doc["product"]
    title = f"Due-diligence report: {product['material']} ({product['lot']})"
    meta = (
        f"Prepared by {doc['organisation']['name']} · trace as of {doc['asOf']} · "
        f"generated {doc['generatedAt']}"
    )
    if doc.get("allocationNote"):
        meta += f" · {doc['allocationNote']}"
    return title, meta


def to_markdown(doc: dict[str, Any]) -> str:
    """The report as GitHub-flavoured Markdown."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    title, meta = _title(doc)
    lines = [f"# {cell(title)}", "", cell(meta), ""]
    for heading, note, header, rows in _sections(doc):
        lines += [f"## {heading}", ""]
        if note:
            lines += [cell(note), ""]
        if not rows:
            lines += ["None.", ""]
            continue
        lines.append("| " + " | ".join(cell(h) for h in header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


_STYLE = """
body { font: 11px/1.4 "DejaVu Sans", Arial, sans-serif; margin: 24px; color: #111; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 18px 0 4px; }
p.meta, p.note { color: #444; margin: 2px 0 6px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.MET { background: #d9f2d9; } td.NOT_MET { background: #f8d4d4; }
td.UNKNOWN { background: #fff1c2; }
@page { size: A4 landscape; margin: 12mm; }
@media print { body { margin: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def to_html(doc: dict[str, Any]) -> str:
    """The report as one self-contained HTML page, laid out to print on A4 landscape."""
    esc: Callable[[object], str] = lambda value: html.escape(str(value), quote=True)  # noqa: E731
    title, meta = _title(doc)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">{esc(meta)}</p>',
    ]
    for heading, note, header, rows in _sections(doc):
        parts.append(f"<h2>{esc(heading)}</h2>")
        if note:
            parts.append(f'<p class="note">{esc(note)}</p>')
        if not rows:
            parts.append("<p>None.</p>")
            continue
        parts.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header))
        parts.append("</tr></thead><tbody>")
        for row in rows:
            cells = "".join(
                f'<td class="{esc(v)}">{esc(v)}</td>'
                if v in ("MET", "NOT_MET", "UNKNOWN")
                else f"<td>{esc(v)}</td>"
                for v in row
            )
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)
