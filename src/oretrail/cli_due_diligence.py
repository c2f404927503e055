"""`oretrail report` and `oretrail risk-record`: the due-diligence report and its records.

``report LOT`` asks a running gateway for the product's due-diligence report and
writes it as JSON, Markdown or printable HTML (``--screenshot`` renders the HTML in
headless Chromium to a PNG). ``risk-record sign`` signs a risk-management decision
with the organisation's key; ``risk-record submit`` hands the signed record to the
gateway, which keeps it for the signing organisation only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from oretrail.auth.callers import UserIdentity
from oretrail.auth.party_keys import load_org_key
from oretrail.auth.risk_records import sign_risk_record
from oretrail.cli_http import (
    CommandFailed,
    add_progress_argument,
    add_user_arguments,
    load_user,
    post_to_gateway,
    with_progress,
)
from oretrail.config import Registry
from oretrail.domain.risk_management import MANAGEABLE_FLAGS, Decision
from oretrail.due_diligence.render import to_html, to_markdown

__all__ = [
    "DUE_DILIGENCE_QUERY",
    "add_due_diligence_commands",
    "fetch_report",
    "format_outcomes",
    "render_screenshot",
    "run_due_diligence_command",
]

DEFAULT_GATEWAY = "http://127.0.0.1:8100/graphql"
DEFAULT_KEYS = Path("var/keys")

DUE_DILIGENCE_QUERY = """
query DueDiligence($lot: ID!, $maxDepth: Int, $asOf: Date) {
  dueDiligence(lot: $lot, maxDepth: $maxDepth, asOf: $asOf) { product document }
}
"""
RECORD_MUTATION = """
mutation Record($record: String!) {
  recordRiskDecision(record: $record) { id org flag lot decision reviewBy }
}
"""


def add_due_diligence_commands(commands: Any) -> None:
    """Add `report` and `risk-record` to the `oretrail` command's subparsers."""
    report = commands.add_parser(
        "report",
        help="the due-diligence report of a product, through a running gateway",
        description="Trace a product through a running gateway and write its due-diligence "
        "report: outcomes per commodity, red flags and records, the RMI smelter list, "
        "origins per element, recycled content, gaps (docs/due-diligence.md).",
    )
    report.add_argument("lot", help="the product's lot id, urn:oretrail:lot:<org>:<local-id>")
    report.add_argument("--gateway", default=DEFAULT_GATEWAY, help="gateway GraphQL URL")
    report.add_argument("--max-depth", type=int, default=None, help="input hops to follow")
    report.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="judge audits on this date"
    )
    report.add_argument(
        "--format", choices=("markdown", "html", "json"), default="markdown", help="output format"
    )
    report.add_argument("--output", type=Path, default=None, help="write here (default: stdout)")
    report.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        help="also render the HTML page in headless Chromium to this PNG",
    )
    add_user_arguments(report)
    add_progress_argument(report)

    record = commands.add_parser(
        "risk-record",
        help="sign and submit risk-management records (OECD DDG step 3)",
        description="A decision on one flag of your traces, signed with your organisation key.",
    )
    actions = record.add_subparsers(dest="record_command", required=True, metavar="ACTION")
    sign = actions.add_parser("sign", help="sign a decision with the organisation key")
    sign.add_argument("--org", required=True, help="your organisation (its key signs)")
    sign.add_argument("--flag", required=True, choices=sorted(MANAGEABLE_FLAGS))
    sign.add_argument("--lot", default=None, help="the lot the flag is about")
    sign.add_argument("--decision", required=True, choices=[d.value for d in Decision])
    sign.add_argument(
        "--rationale", required=True, help="the mitigation plan, or the reason for the decision"
    )
    sign.add_argument("--decided-on", type=date.fromisoformat, default=None)
    sign.add_argument("--review-by", type=date.fromisoformat, default=None)
    sign.add_argument("--keys", type=Path, default=DEFAULT_KEYS, help="key directory")
    submit = actions.add_parser("submit", help="hand a signed record to the gateway")
    submit.add_argument("record", type=Path, help="file holding the signed record")
    submit.add_argument("--gateway", default=DEFAULT_GATEWAY, help="gateway GraphQL URL")
    add_user_arguments(submit)


def run_due_diligence_command(args: argparse.Namespace, registry: Registry) -> int:
    if args.command == "report":
        user = load_user(args.user, args.token_file)
        fetched = fetch_report(args.gateway, user, args.lot, args.max_depth, args.as_of)
        document = asyncio.run(
            with_progress(f"tracing {args.lot} for its report", fetched, asked=args.progress)
        )
        rendered = _render(document, args.format)
        if args.output is None:
            print(rendered)
        else:
            args.output.write_text(rendered, encoding="utf-8")
        if args.screenshot is not None:
            render_screenshot(to_html(document), args.screenshot)
        return 0
    if args.record_command == "sign":
        participant = registry.get(args.org)
        token = sign_risk_record(
            load_org_key(args.keys, participant.id),
            flag=args.flag,
            lot=args.lot,
            decision=args.decision,
            rationale=args.rationale,
            decided_on=args.decided_on or date.today(),
            review_by=args.review_by,
        )
        print(token)
        return 0
    user = load_user(args.user, args.token_file)
    token = args.record.read_text(encoding="utf-8").strip()
    answer = asyncio.run(
        post_to_gateway(
            args.gateway, user, {"query": RECORD_MUTATION, "variables": {"record": token}}
        )
    )
    if answer.get("errors"):
        raise CommandFailed("; ".join(e.get("message", "?") for e in answer["errors"]))
    kept = answer["data"]["recordRiskDecision"]
    print(f"kept record {kept['id']}: {kept['decision']} on {kept['flag']} {kept['lot'] or ''}")
    return 0


async def fetch_report(
    url: str, user: UserIdentity, lot: str, depth: int | None, as_of: date | None
) -> dict[str, Any]:
    """The report document of ``lot``; the gateway's errors become CommandFailed."""
    variables = {"lot": lot, "maxDepth": depth, "asOf": as_of.isoformat() if as_of else None}
    answer = await post_to_gateway(
        url, user, {"query": DUE_DILIGENCE_QUERY, "variables": variables}
    )
    if answer.get("errors"):
        raise CommandFailed("; ".join(e.get("message", "?") for e in answer["errors"]))
    document: dict[str, Any] = answer["data"]["dueDiligence"]["document"]
    return document


def _render(document: dict[str, Any], form: str) -> str:
    if form == "json":
        return json.dumps(document, indent=2, ensure_ascii=False)
    if form == "html":
        return to_html(document)
    return to_markdown(document)


def format_outcomes(document: dict[str, Any]) -> str:
    """One line per defined outcome and element: state, figure and threshold."""
    lines = [f"Outcomes of {document['product']['lot']} ({document['product']['material']})"]
    for profile in document["profiles"]:
        for o in profile["outcomes"]:
            sign = "<=" if o["atMost"] else ">="
            unknown = f", {o['unknown'] * 100:.2f} % unknown" if o["unknown"] > 0 else ""
            lines.append(
                f"  {o['state']:<8} {profile['commodity']:<17} {o['element']:<3} "
                f"{o['kind']:<19} {o['figure'] * 100:6.2f} % (needs {sign} "
                f"{o['threshold'] * 100:.0f} %{unknown})"
            )
    return "\n".join(lines)


def render_screenshot(page: str, target: Path, *, width: int = 1600, height: int = 2000) -> None:
    """Render an HTML page in headless Chromium (``$ORETRAIL_CHROMIUM`` or ``chromium`` on
    the PATH) and write a PNG screenshot; CommandFailed when Chromium is missing or fails."""
    browser = os.environ.get("ORETRAIL_CHROMIUM") or shutil.which("chromium")
    if browser is None:
        raise CommandFailed("no Chromium found: install Debian's chromium or set ORETRAIL_CHROMIUM")
    with tempfile.TemporaryDirectory(prefix="oretrail-report-") as scratch:
        source = Path(scratch) / "report.html"
        source.write_text(page, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={scratch}/profile",
            f"--window-size={width},{height}",
            f"--screenshot={target.resolve()}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=120, check=False)  # noqa: S603
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CommandFailed(f"Chromium could not render the report: {exc}") from None
    if done.returncode != 0 or not target.exists():
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise CommandFailed(f"Chromium could not render the report: {' '.join(tail)}")
