"""``oretrail keys``, ``oretrail token`` and ``oretrail node audit``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from oretrail.auth.access_log import verify_log
from oretrail.auth.federation_keys import FederationKeys
from oretrail.bootstrap import load_federation_config
from oretrail.cli_http import post_to_gateway
from oretrail.errors import ConfigError

__all__ = ["add_auth_commands", "run_auth_command"]

DEFAULT_KEYS = Path("var/keys")


def add_auth_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser(
        "keys",
        help="Ed25519 signing keys for the gateway and members",
        description="Manage the federation's signing keys.",
    )
    keys_actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    generate = keys_actions.add_parser(
        "generate",
        help="generate a key pair for the gateway and every registered member",
        description="Write <id>.pem (private, mode 600) and <id>.jwks.json (public) for the "
        "gateway and every participant in the registry.",
    )
    generate.add_argument(
        "--dir", type=Path, default=DEFAULT_KEYS, help=f"key directory (default {DEFAULT_KEYS})"
    )
    generate.add_argument("--force", action="store_true", help="replace existing keys")

    token = commands.add_parser(
        "token",
        help="development caller tokens",
        description="Mint caller tokens for development and tests.",
    )
    token_actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    issue = token_actions.add_parser(
        "issue",
        help="print a caller token signed by a member's key",
        description="Sign a caller token (typ at+jwt, aud = the gateway) as the member's own "
        "identity provider would. Roles default to the member's registered roles.",
    )
    issue.add_argument("--org", required=True, help="member organisation id")
    issue.add_argument("--sub", default=None, help="the person or system calling")
    issue.add_argument("--role", action="append", default=None, help="role (repeatable)")
    issue.add_argument("--lifetime", type=int, default=900, help="seconds (default 900)")
    issue.add_argument(
        "--keys", type=Path, default=DEFAULT_KEYS, help=f"key directory (default {DEFAULT_KEYS})"
    )

    node = commands.add_parser(
        "node", help="work with a node's records", description="Inspect what a node recorded."
    )
    node_actions = node.add_subparsers(dest="node_command", required=True, metavar="ACTION")
    audit = node_actions.add_parser(
        "audit",
        help="verify a node's hash-chained access log and list who saw what",
        description="Verify the chain of a node's access log (edits, reordering and "
        "truncation are detected) and list each request: who, on whose behalf, which lots, "
        "which field groups were given and withheld, and why.",
    )
    audit.add_argument("log", type=Path, help="the node's access log file")
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
    run.add_argument("--token", default=None, help="caller token (default: $ORETRAIL_TOKEN)")


def run_auth_command(args: argparse.Namespace, config_dir: Path) -> int:
    if args.command == "approved":
        return _approved(args, config_dir)
    if args.command == "keys":
        config = load_federation_config(config_dir)
        existing = args.dir / "gateway.pem"
        if existing.exists() and not args.force:
            raise ConfigError(f"{existing} exists; pass --force to replace every key")
        keys = FederationKeys.generate(config.registry.participants)
        written = keys.save(args.dir)
        print(
            f"wrote {len(written)} files to {args.dir} "
            f"(gateway and {len(config.registry.participants)} members)"
        )
        return 0
    if args.command == "token":
        config = load_federation_config(config_dir)
        participant = config.registry.get(args.org)
        keys = FederationKeys.load(args.keys, [participant.id])
        roles = args.role or [str(r) for r in participant.roles]
        print(keys.caller_token(participant.id, sub=args.sub, roles=roles, lifetime=args.lifetime))
        return 0
    entries = verify_log(args.log)
    print(f"{args.log}: {len(entries)} entries, chain verified")
    for entry in entries:
        if args.json:
            print(json.dumps(entry, ensure_ascii=False))
            continue
        print(
            f"#{entry['seq']} {entry['at']} {entry['caller']} ({entry['org']}) "
            f"{entry['query']} purpose={entry['purpose']} txn={entry['txn']}"
        )
        for lot in entry["lots"]:
            given = ", ".join(lot["given"]) or "nothing"
            reason = f" - {lot['reason']}" if lot.get("reason") else ""
            print(f"    {lot['status']:<9} {lot['lot']}: gave {given}{reason}")
    return 0


def _approved(args: argparse.Namespace, config_dir: Path) -> int:
    config = load_federation_config(config_dir)
    queries = config.transparency.queries
    if args.approved_command == "list":
        for query in queries.queries.values():
            print(f"{query.id}  (k = {query.k})")
            print(f"    {query.purpose}")
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
        keys = FederationKeys.load(args.keys, [participant.id])
        signed = queries.approve(keys.key(participant.id), participant.id)
        queries.save_approvals()
        print(f"{participant.id} approved: {', '.join(signed) if signed else 'nothing to sign'}")
        return 0
    token = args.token or os.environ.get("ORETRAIL_TOKEN")
    if not token:
        raise ConfigError("a caller token is needed: pass --token or set ORETRAIL_TOKEN")
    variables = {}
    for item in args.variables:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"variable {item!r} is not NAME=VALUE")
        variables[name] = value
    body = asyncio.run(
        post_to_gateway(args.gateway, token, {"documentId": args.id, "variables": variables})
    )
    print(json.dumps(body, indent=2))
    return 0 if "errors" not in body else 2
