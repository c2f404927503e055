"""``oretrail credential issue|revoke|verify``: audit certificates as verifiable credentials.

An auditor issues and revokes with its own organisation key, on its own side (the key
never leaves its key directory); anyone verifies with their own pinned registry copy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import date
from pathlib import Path

import aiohttp

from oretrail.auth.party_keys import load_org_key
from oretrail.auth.pinned import load_pinned
from oretrail.cli_http import CommandFailed
from oretrail.config import Registry
from oretrail.domain.model import Role
from oretrail.gateway.audit_credentials import AuditCredentials, StatusListCache, http_download
from oretrail.standards.audit_credentials import (
    CredentialStatus,
    decode_status_list,
    issue_audit_credential,
    revoked_indices,
    sign_status_list,
)
from oretrail.standards.vc import CredentialRejected, verify_credential

__all__ = ["NOT_VALID", "add_credential_command", "run_credential_command"]

DEFAULT_KEYS = Path("var/keys")
# Exit status when a credential was checked and is not VALID (2 stays "could not run").
NOT_VALID = 1


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_credential_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    credential = commands.add_parser(
        "credential",
        help="issue, revoke or verify an audit certificate as a verifiable credential",
        description="Audit certificates as W3C VC 2.0 credentials (vc+jwt) signed with the "
        "auditor's organisation key, revocable through the W3C Bitstring Status List the "
        "auditor's node publishes at /credentials/status/<name> (docs/standards.md, "
        "'Audit credentials').",
    )
    actions = credential.add_subparsers(dest="action", required=True)
    issue = actions.add_parser("issue", help="print a signed audit credential (vc+jwt)")
    issue.add_argument("--org", required=True, help="the auditor (a registered AUDITOR)")
    issue.add_argument("--keys", type=Path, default=DEFAULT_KEYS, help="key directory")
    issue.add_argument("--id", required=True, help="the certificate's id, e.g. RMAP-2025-BCR-031")
    issue.add_argument(
        "--facility", required=True, help="the audited facility's id (urn:oretrail:facility:...)"
    )
    issue.add_argument("--standard", required=True, help="the standard, e.g. RMAP")
    issue.add_argument("--scope", required=True, help="what the audit covered")
    issue.add_argument("--valid-from", type=_day, required=True, help="first day (YYYY-MM-DD)")
    issue.add_argument("--valid-until", type=_day, required=True, help="last day (YYYY-MM-DD)")
    issue.add_argument(
        "--status-list",
        required=True,
        help="URL of your status list: <your endpoint's origin>/credentials/status/<name>",
    )
    issue.add_argument("--index", type=int, required=True, help="this credential's bit in it")

    revoke = actions.add_parser(
        "revoke", help="set a credential's bit in your status list file (re-signed)"
    )
    revoke.add_argument("--org", required=True, help="the auditor")
    revoke.add_argument("--keys", type=Path, default=DEFAULT_KEYS, help="key directory")
    revoke.add_argument(
        "--list",
        type=Path,
        required=True,
        help="the status list file your node serves: <seed dir>/status/<org>/<name>.jwt "
        "(created when absent)",
    )
    revoke.add_argument("--status-list", required=True, help="the list's URL, as issued")
    revoke.add_argument("--index", type=int, required=True, help="the credential's bit")
    revoke.add_argument(
        "--ttl-ms",
        type=int,
        default=60_000,
        help="how long verifiers may cache the list, in ms (default 60000)",
    )

    verify = actions.add_parser("verify", help="check a credential: VALID, REVOKED, FORGED...")
    verify.add_argument("credential", type=Path, help="a file holding the vc+jwt")
    verify.add_argument(
        "--pinned", type=Path, required=True, help="your pinned registry copy (public keys)"
    )
    verify.add_argument(
        "--on", type=_day, default=None, help="the day to judge validity on (default today)"
    )


def run_credential_command(args: argparse.Namespace, registry: Registry) -> int:
    if args.action == "issue":
        _require_auditor(registry, args.org)
        token = issue_audit_credential(
            load_org_key(args.keys, args.org),
            certificate_id=args.id,
            facility=args.facility,
            standard=args.standard,
            scope=args.scope,
            valid_from=args.valid_from,
            valid_until=args.valid_until,
            status_list=args.status_list,
            status_index=args.index,
        )
        print(token)
        return 0
    if args.action == "revoke":
        _require_auditor(registry, args.org)
        return _revoke(args)
    return asyncio.run(_verify(args))


def _require_auditor(registry: Registry, org: str) -> None:
    if Role.AUDITOR not in registry.get(org).roles:
        raise CommandFailed(f"{org} is not a registered AUDITOR; it cannot issue audit credentials")


def _revoke(args: argparse.Namespace) -> int:
    key = load_org_key(args.keys, args.org)
    path: Path = args.list
    revoked: set[int] = set()
    if path.exists():
        try:
            current = verify_credential(path.read_text(encoding="ascii").strip(), key.trusted())
            subject = current.get("credentialSubject")
            encoded = subject.get("encodedList") if isinstance(subject, dict) else None
            revoked = set(revoked_indices(decode_status_list(str(encoded))))
        except (CredentialRejected, UnicodeDecodeError) as exc:
            raise CommandFailed(f"{path}: not a status list signed by {args.org}: {exc}") from None
    revoked.add(args.index)
    token = sign_status_list(key, args.status_list, revoked, ttl_ms=args.ttl_ms)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole, then renamed: the node never serves half a list.
    partial = path.with_suffix(".partial")
    partial.write_text(token + "\n", encoding="ascii")
    os.replace(partial, path)
    print(f"revoked index {args.index} in {args.status_list} ({len(revoked)} revoked in all)")
    return 0


async def _verify(args: argparse.Namespace) -> int:
    try:
        token = args.credential.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandFailed(f"{args.credential}: cannot read the credential: {exc}") from None
    pinned = load_pinned(args.pinned)
    async with aiohttp.ClientSession() as session:
        checker = AuditCredentials(pinned, StatusListCache(http_download(session)))
        result = await checker.check_one(token, args.on or date.today())
    print(f"{result.status}: {result.detail}")
    if result.certificate is not None:
        c = result.certificate
        print(
            f"  {c.standard} {c.id} for {c.subject} by {c.issuer}, "
            f"valid {c.valid_from} to {c.valid_to}",
            file=sys.stdout,
        )
    return 0 if result.status is CredentialStatus.VALID else NOT_VALID
