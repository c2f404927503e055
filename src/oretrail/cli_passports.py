"""``oretrail export dpp`` and ``oretrail export battery-passport``: a traced lot's passports.

The command runs the trace through the gateway as ``oretrail trace`` does, takes the
passport the gateway built (unsigned: the gateway holds no member's key), and signs it
on the caller's side with its organisation's key as a ``vc+jwt`` (standards.vc). The
demo prints :func:`passport_summary` of both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from graphql import FieldNode, NameNode, OperationDefinitionNode, parse, print_ast

from oretrail.auth.callers import UserIdentity
from oretrail.auth.party_keys import load_org_key
from oretrail.cli_http import (
    CommandFailed,
    add_progress_argument,
    add_user_arguments,
    load_user,
    post_to_gateway,
    with_progress,
)
from oretrail.standards.vc import sign_credential

__all__ = [
    "PASSPORTS_QUERY",
    "add_export_commands",
    "passport_summary",
    "query_passports",
    "run_export_command",
    "trace_with_passports",
    "with_passports",
]

DEFAULT_KEYS = Path("var/keys")

PASSPORTS_QUERY = """
query Passports($lot: ID!, $maxDepth: Int, $asOf: Date) {
  trace(lot: $lot, maxDepth: $maxDepth, asOf: $asOf) { productPassport batteryPassport }
}
"""

# Command name -> the trace's field holding that passport.
_FIELDS = {"dpp": "productPassport", "battery-passport": "batteryPassport"}


def add_export_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    export = commands.add_parser(
        "export",
        help="export in standard formats: a traced lot's passports, a store as EPCIS",
        description="dpp, battery-passport: trace a lot through a running gateway and "
        "export what it found, signed by your organisation's key. epcis: write a "
        "participant's node store as an EPCIS 2.0 document.",
    )
    formats = export.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    helps = {
        "dpp": "UNTP Digital Product Passport (0.6.1) as a W3C VC 2.0, vc+jwt",
        "battery-passport": "EU battery passport data (Battery Pass 1.2.0) as a VC 2.0, vc+jwt",
    }
    for name, text in helps.items():
        command = formats.add_parser(
            name,
            help=text,
            description=f"Trace LOT and print its {text}, signed with your organisation's "
            "key (the compact JWS), or with --unsigned the credential as JSON.",
        )
        command.add_argument("lot", help="lot id, urn:oretrail:lot:<organisation>:<local-id>")
        command.add_argument(
            "--gateway",
            default="http://127.0.0.1:8100/graphql",
            help="gateway GraphQL URL (default http://127.0.0.1:8100/graphql)",
        )
        command.add_argument("--max-depth", type=int, default=None, help="input hops to follow")
        command.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="judge certificates on this date, YYYY-MM-DD",
        )
        add_user_arguments(command)
        add_progress_argument(command)
        command.add_argument(
            "--keys",
            type=Path,
            default=DEFAULT_KEYS,
            help="key directory holding your organisation's key <org>/org.pem "
            f"(default {DEFAULT_KEYS})",
        )
        command.add_argument(
            "--unsigned", action="store_true", help="print the unsigned credential as JSON"
        )
        command.add_argument(
            "--out", type=Path, default=None, help="write to this file instead of stdout"
        )
    return formats  # other formats (epcis) join the same `export` command


def run_export_command(args: argparse.Namespace) -> int:
    user = load_user(args.user, args.token_file)
    # The key is opened first: a missing key fails before any trace is run.
    org_key = None if args.unsigned else load_org_key(args.keys, user.org)
    queried = query_passports(args.gateway, user, args.lot, args.max_depth, args.as_of)
    passports = asyncio.run(
        with_progress(f"tracing {args.lot} for its passport", queried, asked=args.progress)
    )
    credential = passports[_FIELDS[args.export_format]]
    if not isinstance(credential, dict):
        raise CommandFailed(f"the gateway returned no {args.export_format} for {args.lot}")
    text = (
        json.dumps(credential, indent=2, ensure_ascii=False)
        if org_key is None
        else sign_credential(credential, org_key)
    )
    if args.out is None:
        print(text)
    else:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def with_passports(query: str) -> str:
    """``query`` with both passport fields added to its ``trace`` selection, so that one
    trace answers the report and the passports (the demo)."""
    document = parse(query)
    definitions = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            definitions.append(definition)
            continue
        selections = tuple(
            _with_passport_fields(s) if isinstance(s, FieldNode) and s.name.value == "trace" else s
            for s in definition.selection_set.selections
        )
        selection_set = replace(definition.selection_set, selections=selections)
        definitions.append(replace(definition, selection_set=selection_set))
    return print_ast(replace(document, definitions=tuple(definitions)))


def _with_passport_fields(trace: FieldNode) -> FieldNode:
    assert trace.selection_set is not None
    added = tuple(FieldNode(name=NameNode(value=name)) for name in _FIELDS.values())
    selections = (*trace.selection_set.selections, *added)
    return replace(trace, selection_set=replace(trace.selection_set, selections=selections))


async def trace_with_passports(
    url: str, user: UserIdentity, query: str, lot: str, as_of: date | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One trace of ``lot`` answering ``query``'s trace fields and both passports: the
    trace without them, and the passports."""
    variables = {"lot": lot, "maxDepth": None, "asOf": as_of.isoformat() if as_of else None}
    payload = {"query": with_passports(query), "variables": variables}
    document = await post_to_gateway(url, user, payload)
    if document.get("errors"):
        raise CommandFailed("; ".join(e.get("message", "?") for e in document["errors"]))
    trace: dict[str, Any] = document["data"]["trace"]
    passports = {field: trace.pop(field) for field in _FIELDS.values()}
    return trace, passports


async def query_passports(
    url: str, user: UserIdentity, lot: str, depth: int | None, as_of: date | None
) -> dict[str, Any]:
    """Both passports of a trace of ``lot`` as the gateway returns them (unsigned)."""
    variables = {"lot": lot, "maxDepth": depth, "asOf": as_of.isoformat() if as_of else None}
    document = await post_to_gateway(url, user, {"query": PASSPORTS_QUERY, "variables": variables})
    if document.get("errors"):
        raise CommandFailed("; ".join(e.get("message", "?") for e in document["errors"]))
    trace: dict[str, Any] = document["data"]["trace"]
    return trace


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def passport_summary(passports: dict[str, Any], signed: str | None = None) -> str:
    """A few lines on both passports of a trace: what a reader checks first."""
    dpp = passports.get("productPassport") or {}
    subject = dpp.get("credentialSubject") or {}
    lines = [f"Passports of {subject.get('id', '?')}, issued by {dpp.get('issuer', {}).get('id')}"]
    if signed is not None:
        lines.append(f"  UNTP DPP 0.6.1 as vc+jwt, {len(signed)} bytes, signed by its issuer")
    by_element: dict[str, list[str]] = {}
    for material in subject.get("materialsProvenance", []):
        where = material.get("originCountry", "not traced")
        by_element.setdefault(material["name"].split(",")[0], []).append(
            f"{where} {material.get('massFraction', 0) * 100:.2f} %"
            + (
                f" ({_pct(material['recycledMassFraction'])} recycled)"
                if material.get("recycledMassFraction")
                else ""
            )
        )
    lines.append("  materials provenance (mass fraction of the product):")
    lines += [f"    {name}: {', '.join(parts)}" for name, parts in by_element.items()]
    ratios = ", ".join(
        f"{t['valueChainProcess'].split(':')[0]} {_pct(t['verifiedRatio'])}"
        for t in subject.get("traceabilityInformation", [])
    )
    lines.append(f"  verified ratio (coverage): {ratios}")
    claims = subject.get("conformityClaim", [])
    failing = [c["id"].rsplit(":", 1)[-1] for c in claims if not c["conformance"]]
    lines.append(
        f"  conformity claims: {len(claims)}, all unverified certificate records"
        + (f"; not conforming: {', '.join(failing)}" if failing else "")
    )
    battery = (passports.get("batteryPassport") or {}).get("credentialSubject") or {}
    recycled = ", ".join(
        f"{r['recycledMaterial']} {r['postConsumerShare']:.1f} % post / "
        f"{r['preConsumerShare']:.1f} % pre"
        for r in battery.get("circularity", {}).get("recycledContent", [])
    )
    lines.append(f"  EU battery passport: recycled content (Art. 8): {recycled}")
    footprint = battery.get("carbonFootprint")
    rollup = battery.get("carbonFootprintRollup") or {}
    if footprint:
        brought = sum(i["inProduct"] for i in rollup.get("inputs", []))
        lines.append(
            f"  carbon footprint {footprint['batteryCarbonFootprint']:.1f} kgCO2e/kWh "
            f"({footprint['absoluteCarbonFootprint']:,.0f} kgCO2e for the lot's "
            f"{rollup.get('ratedCapacityKwh', 0):,.0f} kWh); its traced inputs bring "
            f"{brought:,.0f} kgCO2e; not rolled up: {len(rollup.get('notRolledUp', []))} lot(s)"
        )
    else:
        lines.append("  carbon footprint: not declared by the battery's maker")
    return "\n".join(lines)
