"""``oretrail keys``, ``oretrail request``, ``oretrail approved`` and ``oretrail node audit``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from oretrail.auth.access_log import read_entries
from oretrail.auth.callers import UserIdentity
from oretrail.auth.keys import save_signing_key, trusted_key_from_jwk
from oretrail.auth.log_audit import audit_log
from oretrail.auth.party_keys import (
    GATEWAY_PARTY,
    generate_gateway_key,
    generate_member_keys,
    load_org_key,
    public_registry,
    save_member_keys,
)
from oretrail.auth.roots import sign_root_list
from oretrail.bootstrap import load_federation_config
from oretrail.cli_args import seconds
from oretrail.cli_http import add_user_arguments, load_user, post_to_gateway
from oretrail.client import DEFAULT_TIMEOUT, signed_headers
from oretrail.domain.model import parse_lot_id
from oretrail.domain.transparency import last_closed_period
from oretrail.errors import ConfigError
from oretrail.gateway.approved import roots_key, save_signed_roots

__all__ = ["add_auth_commands", "run_auth_command"]

DEFAULT_KEYS = Path("var/keys")


def add_auth_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser(
        "keys",
        help="each party's own keys, user certificates, and pinned registries",
        description="Make and export Ed25519 keys. Each party's private keys go in a folder of "
        "its own under the key directory; a service opens only its own.",
    )
    keys_actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    generate = keys_actions.add_parser(
        "generate",
        help="generate keys for the gateway and members (one folder each)",
        description="Write <dir>/<org>/org.pem and node.pem for each member named (default: "
        "every registered member) and <dir>/gateway/gateway.pem for the gateway, each with "
        "its public .jwks.json. Parties that already have keys are left alone.",
    )
    generate.add_argument(
        "--dir", type=Path, default=DEFAULT_KEYS, help=f"key directory (default {DEFAULT_KEYS})"
    )
    generate.add_argument(
        "--party",
        action="append",
        default=None,
        help="'gateway' or a member id (repeatable; default: the gateway and every member)",
    )
    generate.add_argument("--force", action="store_true", help="replace the named parties' keys")
    export = keys_actions.add_parser(
        "export",
        help="write a pinned registry from the public keys",
        description="Read only the public key files under the key directory and write a pinned "
        "registry (members' keys, roles and endpoints from the registry, the gateway's key) "
        "for each party named, at <dir>/<party>/pinned.json, or to --out.",
    )
    export.add_argument(
        "--dir", type=Path, default=DEFAULT_KEYS, help=f"key directory (default {DEFAULT_KEYS})"
    )
    export.add_argument("--party", action="append", default=None, help="party to write for")
    export.add_argument("--out", type=Path, default=None, help="write one file here instead")
    certify = keys_actions.add_parser(
        "certify",
        help="give a user a key certified by its organisation (at most 12 hours)",
        description="Generate a user key and sign its certificate with the organisation's key; "
        "writes <dir>/<org>/users/<sub>.pem and .cert. Pass the .pem to --user.",
    )
    certify.add_argument("--org", required=True, help="the user's organisation")
    certify.add_argument("--sub", required=True, help="the user, e.g. ann@nordvolt")
    certify.add_argument("--hours", type=float, default=8.0, help="validity, at most 12")
    certify.add_argument(
        "--dir", type=Path, default=DEFAULT_KEYS, help=f"key directory (default {DEFAULT_KEYS})"
    )

    request = commands.add_parser(
        "request",
        help="sign a request to the gateway, for curl",
        description="Sign a request for exactly one GraphQL payload with your user key and print "
        "the headers to send it with (valid 5 minutes, accepted once).",
    )
    request_actions = request.add_subparsers(
        dest="request_command", required=True, metavar="ACTION"
    )
    sign = request_actions.add_parser(
        "sign",
        help="print the signed headers for a payload",
        description='Read the JSON payload ({"query": ..., "variables": ...} or '
        '{"documentId": ..., "variables": ...}) from FILE or standard input and print '
        "one header per line, ready for curl -H.",
    )
    sign.add_argument("payload", nargs="?", default="-", help="payload file (default: stdin)")
    add_user_arguments(sign)

    node = commands.add_parser(
        "node", help="work with a node's records", description="Inspect what a node recorded."
    )
    node_actions = node.add_subparsers(dest="node_command", required=True, metavar="ACTION")
    audit = node_actions.add_parser(
        "audit",
        help="verify a node's witnessed log and list who saw what",
        description="Verify a node's Merkle access log (or its shipments log) against its "
        "signed checkpoints and against receipts and checkpoints held elsewhere "
        "(DESIGN.md, Trust 6), then list each request: who, on whose behalf, which lots, "
        "which field groups were given and withheld, and why. Exit status 2, with one line "
        "naming what failed, if any check fails.",
    )
    audit.add_argument("log", type=Path, help="the node's log file (<org>.log)")
    audit.add_argument(
        "--receipts",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="JSON files holding receipts (answers, evidence bundles): each must be covered",
    )
    audit.add_argument(
        "--witness",
        type=Path,
        nargs="+",
        default=[],
        metavar="CHECKPOINT_FILE",
        help="checkpoints held elsewhere (as served at /log/checkpoint): each must be covered",
    )
    audit.add_argument(
        "--key",
        type=Path,
        action="append",
        default=[],
        metavar="PUBKEY",
        help="the node's public key set (JWKS), oldest first when repeated "
        f"(default {DEFAULT_KEYS}/<org>/node.jwks.json)",
    )
    audit.add_argument("--json", action="store_true", help="print the entries as JSON lines")

    approved = commands.add_parser(
        "approved",
        help="approved transparency queries",
        description="List, approve and run the approved transparency queries of config/approved.",
    )
    approved_actions = approved.add_subparsers(
        dest="approved_command", required=True, metavar="ACTION"
    )
    approved_actions.add_parser(
        "list",
        help="list approved queries and their approvals",
        description="Show each approved query: purpose, k, "
        "parameters, approvers and whether each has signed.",
    )
    approve = approved_actions.add_parser(
        "approve",
        help="sign every query a member must approve",
        description="Sign the digest of each query naming the member as approver with its key "
        "and write <id>.approvals.json beside it.",
    )
    approve.add_argument("--org", required=True, help="the approving member")
    approve.add_argument(
        "--keys", type=Path, default=DEFAULT_KEYS, help=f"key directory (default {DEFAULT_KEYS})"
    )
    run = approved_actions.add_parser(
        "run",
        help="run an approved query by id through a running gateway",
        description="Send documentId and variables (name=value) to the gateway; print the JSON.",
    )
    run.add_argument("id", help="approved query id")
    run.add_argument("variables", nargs="*", metavar="NAME=VALUE", help="query variables")
    run.add_argument(
        "--gateway",
        default="http://127.0.0.1:8100/graphql",
        help="gateway GraphQL URL (default http://127.0.0.1:8100/graphql)",
    )
    add_user_arguments(run)
    run.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for the gateway's answer (default {DEFAULT_TIMEOUT:g})",
    )
    roots = approved_actions.add_parser(
        "sign-roots",
        help="sign the root lists of a member's product lines",
        description="Sign, with the member's organisation key, the list of root lots of each "
        "product line whose products it owns for the last closed calendar quarter, and write "
        "them to config/product_lines.roots.json.",
    )
    roots.add_argument("--org", required=True, help="the product lines' owner")
    roots.add_argument(
        "--keys", type=Path, default=DEFAULT_KEYS, help=f"key directory (default {DEFAULT_KEYS})"
    )


def run_auth_command(args: argparse.Namespace, config_dir: Path) -> int:
    if args.command == "approved":
        return _approved(args, config_dir)
    if args.command == "keys":
        return _keys(args, config_dir)
    if args.command == "request":
        payload_bytes = (
            sys.stdin.buffer.read() if args.payload == "-" else Path(args.payload).read_bytes()
        )
        try:
            payload = json.loads(payload_bytes.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError("the payload is not UTF-8 text") from None
        except ValueError as exc:
            raise ConfigError(f"the payload is not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise ConfigError("the payload must be a JSON object")
        for name, value in signed_headers(load_user(args.user, args.token_file), payload).items():
            print(f"{name}: {value}")
        return 0
    report = audit_log(args.log, _audit_keys(args), args.receipts, args.witness)
    print(
        f"{args.log}: {report.entries} entries, {report.checkpoints} checkpoints verified; "
        f"{report.receipts} receipts and {report.witnessed} checkpoints from elsewhere covered"
    )
    for entry in read_entries(args.log):
        if "lots" not in entry:  # a shipments log
            print(json.dumps(entry, ensure_ascii=False))
            continue
        if args.json:
            print(json.dumps(entry, ensure_ascii=False))
            continue
        print(
            f"#{entry.get('seq')} {entry.get('at')} {entry.get('caller')} ({entry.get('org')}) "
            f"{entry.get('query')} purpose={entry.get('purpose')} txn={entry.get('txn')}"
        )
        for lot in entry["lots"]:
            given = ", ".join(lot.get("given") or []) or "nothing"
            reason = f" - {lot['reason']}" if lot.get("reason") else ""
            print(f"    {lot['status']:<9} {lot['lot']}: gave {given}{reason}")
    return 0


def _audit_keys(args: argparse.Namespace) -> list[Ed25519PublicKey]:
    """The node's public keys, oldest first, from JWKS files."""
    files: list[Path] = args.key
    if not files:
        org = args.log.name.split(".", 1)[0]
        files = [DEFAULT_KEYS / org / "node.jwks.json"]
    keys: list[Ed25519PublicKey] = []
    for file in files:
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
            jwks = (
                document["keys"]
                if isinstance(document, dict) and "keys" in document
                else [document]
            )
            keys.extend(trusted_key_from_jwk("node", jwk).public for jwk in jwks)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{file}: not a public key set (JWKS): {exc}") from None
    return keys


def _approved(args: argparse.Namespace, config_dir: Path) -> int:
    config = load_federation_config(config_dir)
    queries = config.transparency.queries
    if args.approved_command == "list":
        for query in queries.queries.values():
            print(f"{query.id}  (k = {query.k})")
            print(f"    {query.purpose}")
            # What node policies pin under [approved_queries], and what nodes give for it.
            print(f"    declaration {query.pinned_digest()}, one answer per {query.period}")
            print(f"    fields given: {', '.join(query.fields)}")
            for name, parameter in query.parameters.items():
                bounds = (
                    ", ".join(map(str, parameter.values))
                    if parameter.values
                    else f"{parameter.minimum}..{parameter.maximum}"
                )
                print(f"    ${name}: {parameter.type} in {bounds}")
            for org in query.approvers:
                state = "signed" if org in query.approvals else "NOT SIGNED"
                print(f"    approver {org}: {state}")
        return 0
    if args.approved_command == "approve":
        participant = config.registry.get(args.org)
        signed = queries.approve(load_org_key(args.keys, participant.id), participant.id)
        queries.save_approvals()
        print(f"{participant.id} approved: {', '.join(signed) if signed else 'nothing to sign'}")
        return 0
    if args.approved_command == "sign-roots":
        participant = config.registry.get(args.org)
        key = load_org_key(args.keys, participant.id)
        signed_lines = []
        # For the last closed calendar quarter: the period approved queries answer.
        period = last_closed_period(datetime.now(UTC)).label
        for line, products in config.transparency.product_lines.items():
            if all(parse_lot_id(p).org == participant.id for p in products):
                config.transparency.signed_roots[roots_key(line, period)] = sign_root_list(
                    key, line, products, period
                )
                signed_lines.append(f"{line} ({period})")
        save_signed_roots(config_dir / "product_lines.roots.json", config.transparency)
        print(f"{participant.id} signed the root lists of: {', '.join(signed_lines) or 'nothing'}")
        return 0
    user = load_user(args.user, args.token_file)
    variables = {}
    for item in args.variables:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"variable {item!r} is not NAME=VALUE")
        variables[name] = value
    body = asyncio.run(
        post_to_gateway(
            args.gateway,
            user,
            {"documentId": args.id, "variables": variables},
            timeout=args.timeout,
        )
    )
    print(json.dumps(body, indent=2))
    return 0 if "errors" not in body else 2


def _keys(args: argparse.Namespace, config_dir: Path) -> int:
    config = load_federation_config(config_dir)
    members = list(config.registry.participants)
    if args.keys_command == "generate":
        parties = args.party or [GATEWAY_PARTY, *members]
        written = 0
        for party in parties:
            if party != GATEWAY_PARTY:
                config.registry.get(party)
            folder = args.dir / party
            if any(folder.glob("*.pem")) and not args.force:
                print(f"{party}: keys exist in {folder}, left alone (--force replaces them)")
                continue
            if party == GATEWAY_PARTY:
                save_signing_key(generate_gateway_key(), folder, "gateway")
            else:
                save_member_keys(generate_member_keys(party), args.dir)
            written += 1
            print(f"{party}: keys written to {folder}")
        print(f"{written} of {len(parties)} parties given new keys")
        return 0
    if args.keys_command == "export":
        roles = {org: [str(r) for r in p.roles] for org, p in config.registry.participants.items()}
        endpoints = {org: p.endpoint for org, p in config.registry.participants.items()}
        document = json.dumps(public_registry(args.dir, roles, endpoints), indent=2) + "\n"
        for party in args.party or ():
            if party != GATEWAY_PARTY:
                config.registry.get(party)
        targets = (
            [args.out]
            if args.out
            else [args.dir / p / "pinned.json" for p in args.party or [GATEWAY_PARTY, *members]]
        )
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(document, encoding="utf-8")
            print(f"wrote {target}")
        return 0
    participant = config.registry.get(args.org)
    if not 0 < args.hours <= 12:
        raise ConfigError(f"--hours {args.hours} must be more than 0 and at most 12")
    user = UserIdentity.generate(
        load_org_key(args.dir, participant.id), args.sub, lifetime=int(args.hours * 3600)
    )
    pem = user.save(args.dir / participant.id / "users")
    print(f"{pem} (certificate beside it, valid {args.hours:g} h)")
    return 0
