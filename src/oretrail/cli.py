"""The ``oretrail`` command: run the demo, serve nodes and the gateway, trace, check seeds.

Every failure is one line on standard error, ``oretrail: <what went wrong>``, and
exit status 2; an interrupt is ``oretrail: interrupted`` and status 130; output
into a closed pipe stops quietly with status 141 (128 + SIGPIPE), as shell tools
do. ``--json`` output is JSON alone on standard output: progress and notices go to
standard error. Set ORETRAIL_DEBUG=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from oretrail import __version__
from oretrail.auth.callers import UserIdentity
from oretrail.auth.party_keys import (
    GATEWAY_PARTY,
    load_encryption_key,
    load_gateway_key,
    load_node_key,
)
from oretrail.auth.pinned import PinnedRegistry, load_pinned
from oretrail.bootstrap import (
    gateway_app,
    load_federation_config,
    node_app,
    node_security,
    run_federation,
    serve,
)
from oretrail.cli_args import EXIT_FAILED, OneLineParser, neo4j_uri, port_number, seconds
from oretrail.cli_auth import add_auth_commands, run_auth_command
from oretrail.cli_credential import add_credential_command, run_credential_command
from oretrail.cli_due_diligence import (
    add_due_diligence_commands,
    fetch_report,
    format_outcomes,
    run_due_diligence_command,
)
from oretrail.cli_epcis import add_epcis_commands, run_epcis_command
from oretrail.cli_graph import add_graph_commands, run_graph_command
from oretrail.cli_http import (
    CommandFailed,
    add_progress_argument,
    add_user_arguments,
    check_gateway_url,
    load_user,
    post_to_gateway,
    with_progress,
)
from oretrail.cli_passports import (
    add_export_commands,
    passport_summary,
    run_export_command,
    trace_with_passports,
)
from oretrail.cli_verify import NOT_VERIFIED, add_verify_command, run_verify
from oretrail.client import DEFAULT_TIMEOUT, GatewayClient, GatewayError
from oretrail.client_results import Trace
from oretrail.config import ModelSettings, default_config_dir
from oretrail.demo_viewer import offer_viewer
from oretrail.errors import OretrailError, SeedError
from oretrail.gateway.schema import build_gateway_schema
from oretrail.node.schema import build_node_schema
from oretrail.report import TRACE_QUERY, format_trace
from oretrail.standards.vc import sign_credential
from oretrail.store.seed_check import SeedCheck, check_seed_dir
from oretrail.verify import Verification

__all__ = ["main", "schema_sdl"]


# Exit statuses beside EXIT_FAILED (2): 130 for an interrupt (128 + SIGINT) and 141
# for a closed output pipe (128 + SIGPIPE).
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

DEMO_LOT = "urn:oretrail:lot:nordvolt:PACK-2026-0412"
DEMO_EXPOSURE_FACILITY = "urn:oretrail:facility:kasulo-coop:kasulo-site"

EXPOSED_QUERY = """
query Exposed($facility: ID) { exposedProducts(facility: $facility) }
"""
DEMO_OEM = "nordvolt"
# The products whose due-diligence outcomes the demo prints: the pack batch with
# traced copper foil and the drive units with NdFeB magnets (issue 15).
DEMO_DUE_DILIGENCE = (
    "urn:oretrail:lot:nordvolt:PACK-2026-0419",
    "urn:oretrail:lot:nordvolt:EDU-2026-0412",
)
DEMO_COMPETITOR = "rivalauto"
DEMO_NGO = "transparency-watch"


DEMO_LINE = "nordvolt-packs-2026"
DEMO_APPROVED: list[tuple[str, dict[str, str]]] = [
    ("cobalt-origin-countries", {"productLine": DEMO_LINE}),
    ("artisanal-share", {"productLine": DEMO_LINE}),
    ("refiner-audit-coverage", {"productLine": DEMO_LINE}),
    ("recycled-content", {"productLine": DEMO_LINE, "element": "Co"}),
    ("recycled-content", {"productLine": DEMO_LINE, "element": "Ni"}),
]


def _aggregate_text(body: dict[str, Any]) -> str:
    if body.get("errors"):
        return "refused: " + "; ".join(e.get("message", "?") for e in body["errors"])
    aggregate = next(iter(body["data"]["transparency"].values()))
    shown = ", ".join(f"{g['name']} {g['share'] * 100:.1f} %" for g in aggregate["groups"])
    return shown or "nothing publishable (every group too small or dominated)"


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="oretrail",
        description="Trace the critical minerals in a product back to the mines, across "
        "companies that each keep control of their own data.",
    )
    parser.add_argument("--version", action="version", version=f"oretrail {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config directory (default: $ORETRAIL_CONFIG, ./config, or the checkout's config/)",
    )
    # Subcommands' parsers are OneLineParsers too (argparse makes them of the parent's class).
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )

    demo = commands.add_parser(
        "demo",
        help="run a whole federation on this machine and trace the sample battery pack",
        description="Start every sample participant's node and the gateway on 127.0.0.1 "
        "(free ports), trace the sample battery pack, print the report, and stop everything.",
    )
    demo.add_argument("--lot", default=DEMO_LOT, help=f"lot to trace (default: {DEMO_LOT})")
    demo.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="judge certificates on this date, YYYY-MM-DD (default: today)",
    )
    demo.add_argument("--json", action="store_true", help="print the raw JSON answer")
    demo.add_argument(
        "--viewer",
        metavar="DIR",
        type=Path,
        default=None,
        help="after the report, keep serving and offer the trace viewer: write a development "
        "user key and certificate into DIR to load in the page (Ctrl-C stops)",
    )
    demo.add_argument(
        "--neo4j",
        metavar="URI",
        type=neo4j_uri,
        default=None,
        help="run every node and the gateway's model on this Neo4j (e.g. bolt://127.0.0.1:7687); "
        "the seed data is loaded into it first. Default: the embedded store",
    )

    serve_cmd = commands.add_parser(
        "serve",
        help="run a node or the gateway until interrupted",
        description="Run one service in the foreground.",
    )
    services = serve_cmd.add_subparsers(dest="service", required=True, metavar="SERVICE")
    node = services.add_parser(
        "node",
        help="serve one participant's node",
        description="Serve one participant's data from its seed file.",
    )
    node.add_argument("--org", required=True, help="participant id in the registry")
    node.add_argument(
        "--seed",
        type=Path,
        default=None,
        help="seed file (default: the registry's seed for this participant)",
    )
    node.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    node.add_argument(
        "--port",
        type=port_number,
        default=None,
        help="port (default: the port of the registry's endpoint)",
    )
    node.add_argument("--dev", action="store_true", help="enable the GraphiQL page")
    node.add_argument(
        "--neo4j",
        metavar="URI",
        type=neo4j_uri,
        default=None,
        help="serve from this Neo4j (load it first with `oretrail graph load`) "
        "instead of the embedded store",
    )
    gateway = services.add_parser(
        "gateway", help="serve the gateway", description="Serve the caller-facing gateway."
    )
    gateway.add_argument("--host", default=None, help="address to bind (default from gateway.toml)")
    gateway.add_argument(
        "--port", type=port_number, default=None, help="port (default from gateway.toml)"
    )
    gateway.add_argument("--dev", action="store_true", help="enable the GraphiQL page")
    for service in (node, gateway):
        service.add_argument(
            "--keys",
            type=Path,
            default=Path("var/keys"),
            help="key directory from `oretrail keys generate` (default var/keys); the "
            "service opens only its own private key there",
        )
        service.add_argument(
            "--pinned",
            type=Path,
            default=None,
            help="this service's own pinned registry of members' public keys (default "
            "<keys>/<org or gateway>/pinned.json, written by `oretrail keys export`)",
        )
    node.add_argument(
        "--log-dir",
        type=Path,
        default=Path("var/logs"),
        help="where the node's access log <org>.log goes (default var/logs)",
    )

    trace = commands.add_parser(
        "trace",
        help="trace a lot through a running gateway",
        description="Ask a running gateway to trace a lot upstream.",
    )
    trace.add_argument("lot", help="lot id, urn:oretrail:lot:<organisation>:<local-id>")
    trace.add_argument(
        "--gateway",
        default="http://127.0.0.1:8100/graphql",
        help="gateway GraphQL URL (default http://127.0.0.1:8100/graphql)",
    )
    trace.add_argument("--max-depth", type=int, default=None, help="input hops to follow")
    trace.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="judge certificates on this date, YYYY-MM-DD",
    )
    trace.add_argument(
        "--json", action="store_true", help="print the raw JSON answer (JSON alone on stdout)"
    )
    trace.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for the gateway's answer (default {DEFAULT_TIMEOUT:g})",
    )
    add_progress_argument(trace)
    trace.add_argument(
        "--evidence",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the trace's evidence bundle (the nodes' signed answers) to FILE "
        "and check it, as `oretrail verify FILE` does, and against the request signed here",
    )
    trace.add_argument(
        "--pinned",
        type=Path,
        default=None,
        help="with --evidence: your own pinned registry copy to check the nodes' keys "
        "against (default: the snapshot the gateway sends, noted as such)",
    )
    add_user_arguments(trace)

    seed = commands.add_parser(
        "seed",
        help="work with seed files",
        description="Seed files hold each participant's sample data.",
    )
    seed_cmds = seed.add_subparsers(dest="seed_command", required=True, metavar="ACTION")
    check = seed_cmds.add_parser(
        "check",
        help="validate seed files against the registry",
        description="Validate every seed file in a directory and check "
        "that every link names a registered organisation. Reports every problem "
        "in one run (exit status 2 if any), and warns of lots shipped or consumed "
        "beyond their quantity.",
    )
    check.add_argument(
        "directory",
        type=Path,
        nargs="?",
        default=None,
        help="seed directory (default: graph/seed next to the config)",
    )
    schema = commands.add_parser(
        "schema",
        help="print the GraphQL schema (SDL) of the gateway or of a node",
        description="Print the schema a service answers, as GraphQL SDL: every type, field "
        "and argument described. The same text is committed in docs/schema/.",
    )
    schema.add_argument("service", choices=("gateway", "node"), help="gateway or node")
    add_graph_commands(commands)
    add_auth_commands(commands)
    add_verify_command(commands)
    add_epcis_commands(commands, add_export_commands(commands))
    add_due_diligence_commands(commands)
    add_credential_command(commands)
    return parser


def schema_sdl(service: str) -> str:
    """The GraphQL SDL of the gateway's or a node's schema, ending with a newline."""
    schema = build_gateway_schema() if service == "gateway" else build_node_schema()
    return schema.as_str() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        status = _dispatch(args)
        # Flushed here, not at exit, so that a reader gone by now is met below.
        sys.stdout.flush()
        return status
    except SeedError as exc:
        more = len(exc.problems) - 1
        also = f" (and {more} more: `oretrail seed check` lists them all)" if more > 0 else ""
        return _failed(f"{exc.problems[0] if exc.problems else exc}{also}")
    except (OretrailError, CommandFailed) as exc:
        return _failed(str(exc))
    except KeyboardInterrupt:
        print("oretrail: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as exc:
        # A file or a socket the command needed: the OS says which and why.
        where = f"{exc.filename}: " if exc.filename else ""
        return _failed(f"{where}{exc.strerror or exc}")
    except Exception as exc:
        if os.environ.get("ORETRAIL_DEBUG"):
            raise
        return _failed(
            f"unexpected error ({type(exc).__name__}: {exc}); "
            "set ORETRAIL_DEBUG=1 to see where, and please report it"
        )


def _failed(message: str) -> int:
    """The one line a failure prints: newlines inside a message are folded into it."""
    line = " ".join(message.split("\n")).strip()
    with contextlib.suppress(BrokenPipeError):
        print(f"oretrail: {line}", file=sys.stderr, flush=True)
    return EXIT_FAILED


def _closed_pipe() -> int:
    """Whoever read our output stopped reading (``| head``): stop quietly, as shell tools do.

    Standard output is pointed at /dev/null so that the interpreter's final flush
    does not fail again and print a warning (Python docs, "Note on SIGPIPE").
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _seed_check(check: SeedCheck) -> int:
    """Print every warning and problem the check found (stderr); 2 if any problem."""
    for warning in check.warnings:
        print(f"oretrail: warning: {warning}", file=sys.stderr)
    for problem in check.problems:
        print(f"oretrail: {problem}", file=sys.stderr)
    warned = f", {_count(len(check.warnings), 'warning')}" if check.warnings else ""
    if check.problems:
        print(
            f"oretrail: {_count(len(check.problems), 'problem')} in the seed files{warned}; "
            "fix them and check again",
            file=sys.stderr,
        )
        return 2
    lots = sum(len(s.lots) for s in check.seeds.values())
    print(f"{check.files} seed files, {lots} lots: all valid{warned}")
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _dispatch(args: argparse.Namespace) -> int:
    config_dir: Path = args.config or default_config_dir()
    if args.command == "demo":
        return asyncio.run(
            _demo(
                config_dir,
                args.lot,
                args.as_of,
                neo4j=args.neo4j,
                as_json=args.json,
                viewer=args.viewer,
            )
        )
    if args.command == "trace":
        url = check_gateway_url(args.gateway)
        user = load_user(args.user, args.token_file)
        pinned = None if args.pinned is None else load_pinned(args.pinned)
        call = _query_trace(
            url,
            user,
            args.lot,
            args.max_depth,
            args.as_of,
            timeout=args.timeout,
            evidence=args.evidence is not None,
            pinned=pinned,
        )
        traced = asyncio.run(
            with_progress(f"tracing {args.lot} through {url}", call, asked=args.progress)
        )
        trace = dict(traced.raw)
        bundle = trace.pop("evidence", None)
        print(json.dumps(trace, indent=2) if args.json else format_trace(trace))
        if args.evidence is not None:
            return _write_evidence(args.evidence, bundle, traced.verification)
        return 0
    if args.command == "verify":
        return run_verify(args)
    if args.command == "credential":
        return run_credential_command(args, load_federation_config(config_dir).registry)
    if args.command == "schema":
        sys.stdout.write(schema_sdl(args.service))
        return 0
    if args.command == "graph":
        return run_graph_command(args, config_dir)
    if args.command == "import" or (args.command == "export" and args.export_format == "epcis"):
        return run_epcis_command(args, config_dir)
    if args.command == "export":
        return run_export_command(args)
    if args.command in {"report", "risk-record"}:
        return run_due_diligence_command(args, load_federation_config(config_dir).registry)
    if args.command in {"keys", "request", "node", "approved"}:
        return run_auth_command(args, config_dir)
    if args.command == "seed":
        directory = args.directory or config_dir.parent / "graph" / "seed"
        config = load_federation_config(config_dir)
        return _seed_check(check_seed_dir(directory, config.registry.participants))
    config = load_federation_config(config_dir)
    if args.service == "node":
        participant = config.registry.get(args.org)
        if not participant.endpoint:
            raise CommandFailed(
                f"{participant.id} has no endpoint in the registry: it runs no node"
            )
        port = args.port or _endpoint_port(participant.endpoint)
        log_dir = args.log_dir
        # The node opens its own node key and its own pinned registry: nothing else.
        pinned = load_pinned(args.pinned or args.keys / participant.id / "pinned.json")
        node_key = load_node_key(args.keys, participant.id)
        sealing = load_encryption_key(args.keys, participant.id)
        security = node_security(participant, node_key, pinned, config, log_dir, sealing)
        app = node_app(participant, security, seed=args.seed, neo4j_uri=args.neo4j, dev=args.dev)
        asyncio.run(serve(app, args.host, port))
        return 0
    host = args.host or config.settings.host
    port = args.port or config.settings.port
    pinned = load_pinned(args.pinned or args.keys / GATEWAY_PARTY / "pinned.json")
    app = gateway_app(config, load_gateway_key(args.keys), pinned, dev=args.dev)
    asyncio.run(serve(app, host, port))
    return 0


def _endpoint_port(endpoint: str) -> int:
    """The port a registry endpoint names, or its scheme's (80 for http, 443 for https)."""
    parts = urlsplit(endpoint)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _write_evidence(path: Path, bundle: object, found: Verification | None) -> int:
    """Write the evidence bundle (kept whole: a failed check still leaves the file to study)
    and report its check (done by the client); 1 when it does not verify."""
    if not isinstance(bundle, dict) or found is None:
        raise CommandFailed("the gateway returned no evidence bundle with the trace")
    try:
        path.write_text(json.dumps(bundle, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CommandFailed(f"{path}: cannot write the evidence: {exc.strerror}") from None
    print(f"oretrail: evidence written to {path}", file=sys.stderr)
    for note in found.notes:
        print(f"oretrail: note: {note}", file=sys.stderr)
    for gap in found.unvouched:
        print(f"oretrail: gap only the gateway vouches for: {gap}", file=sys.stderr)
    if found.ok:
        print(
            f"oretrail: evidence verifies ({found.answers_checked} signed answers, "
            "the figures above recomputed from them)",
            file=sys.stderr,
        )
        return 0
    for problem in found.problems:
        print(f"oretrail: evidence: {problem}", file=sys.stderr)
    return NOT_VERIFIED


async def _query_trace(
    url: str,
    user: UserIdentity,
    lot: str,
    depth: int | None,
    as_of: date | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    evidence: bool = False,
    pinned: PinnedRegistry | None = None,
) -> Trace:
    """The gateway's trace of ``lot`` (``Trace.raw``: its JSON answer, what the report
    formats); with ``evidence``, its bundle under ``raw["evidence"]``, checked."""
    async with GatewayClient(url, user, timeout=timeout, pinned=pinned) as gateway:
        return await gateway.trace(lot, max_depth=depth, as_of=as_of, evidence=evidence)


async def _demo(
    config_dir: Path,
    lot: str,
    as_of: date | None,
    *,
    neo4j: str | None,
    as_json: bool,
    viewer: Path | None = None,
) -> int:
    started = time.monotonic()
    config = load_federation_config(config_dir)
    seeded = frozenset(p.id for p in config.registry.participants.values() if p.seed)
    where = f"Neo4j at {neo4j}" if neo4j else "the embedded store"
    print(
        f"Starting {len(seeded)} participant nodes and the gateway on 127.0.0.1, on {where} ...",
        file=sys.stderr,
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="oretrail-demo-") as scratch:
        model = (
            ModelSettings(store="neo4j", neo4j_uri=neo4j)
            if neo4j
            else ModelSettings(store="memory", data_dir=Path(scratch))
        )
        config = replace(config, settings=replace(config.settings, model=model))
        nodes_on_neo4j = seeded if neo4j else frozenset()
        async with run_federation(config, neo4j_uri=neo4j, neo4j_nodes=nodes_on_neo4j) as fed:
            print(
                f"Gateway at {fed.gateway_url}; {DEMO_OEM} traces {lot}",
                file=sys.stderr,
                flush=True,
            )
            oem = fed.user(DEMO_OEM)
            trace, passports = await trace_with_passports(
                fed.gateway_url, oem, TRACE_QUERY, lot, as_of
            )
            # Signed on the OEM's side with its organisation key, as `oretrail export` does.
            signed = sign_credential(
                passports["productPassport"], fed.keys.member(DEMO_OEM).org_key
            )
            diligence = [
                await fetch_report(fed.gateway_url, oem, product, None, as_of)
                for product in DEMO_DUE_DILIGENCE
            ]
            async with GatewayClient(fed.gateway_url, oem) as gateway:
                exposed = await gateway.execute(EXPOSED_QUERY, {"facility": DEMO_EXPOSURE_FACILITY})
            ngo = fed.user(DEMO_NGO)
            published = {}
            for query_id, variables in DEMO_APPROVED:
                published[query_id, variables.get("element", "")] = await post_to_gateway(
                    fed.gateway_url, ngo, {"documentId": query_id, "variables": variables}
                )
            refusals = []
            for org in (DEMO_COMPETITOR, DEMO_NGO):
                try:
                    await _query_trace(fed.gateway_url, fed.user(org), lot, None, as_of)
                    refusals.append((org, "NOT REFUSED: the trace was answered"))
                except GatewayError as exc:
                    refusals.append((org, f"refused: {exc}"))
            if viewer is not None:
                print(f"\n{format_trace(trace)}\n", flush=True)
                await offer_viewer(fed, viewer, DEMO_OEM)
    if as_json:
        answer = {"trace": trace, **exposed, "refusals": dict(refusals), "dueDiligence": diligence}
        print(json.dumps(answer, indent=2))
        return 0
    print()
    print(format_trace(trace))
    print()
    print(passport_summary(passports, signed))
    print()
    print("Due diligence by commodity (docs/due-diligence.md)")
    for document in diligence:
        print(format_outcomes(document))
    print()
    print(f"Exposure: {DEMO_OEM}'s traced products holding material from {DEMO_EXPOSURE_FACILITY}")
    for product in exposed["exposedProducts"]:
        print(f"  {product}")
    print()
    print(
        f"{DEMO_NGO} runs the approved transparency queries over {DEMO_LINE} "
        "for the last closed quarter (published: groups of at least k organisations, "
        "none above 80 %, no complement of a hidden one)"
    )
    for (query_id, element), body in published.items():
        print(f"  {query_id}{' ' + element if element else ''}: {_aggregate_text(body)}")
    print()
    print("Other callers asking for the same trace")
    for org, outcome in refusals:
        print(f"  {org}: {outcome}")
    print()
    print(f"Done in {time.monotonic() - started:.1f} s; all servers stopped.")
    return 0
