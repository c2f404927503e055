"""``oretrail keys``, ``oretrail token`` and ``oretrail node audit``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from oretrail.auth.access_log import verify_log
from oretrail.auth.federation_keys import FederationKeys
from oretrail.bootstrap import load_federation_config
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


def run_auth_command(args: argparse.Namespace, config_dir: Path) -> int:
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
