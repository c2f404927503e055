"""``oretrail verify EVIDENCE``: check a trace's evidence bundle without trusting the gateway."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from oretrail.auth.pinned import PinnedRegistry, load_pinned
from oretrail.cli_http import CommandFailed
from oretrail.verify import Verification, verify_evidence

__all__ = ["NOT_VERIFIED", "add_verify_command", "read_bundle", "report_verification", "run_verify"]

# Exit status when the evidence was read but does not verify (2 stays "could not run").
NOT_VERIFIED = 1


def add_verify_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = commands.add_parser(
        "verify",
        help="check a trace's evidence bundle (signatures, receipts, figures)",
        description="Check every node's signed answer and log receipt in an evidence bundle "
        "(written by `oretrail trace --evidence FILE`), that every input was followed or "
        "reported as a gap, and recompute the trace's figures from the signed answers. "
        "Exit status 0: it verifies; 1: it does not (each problem printed); 2: it could "
        "not be checked.",
    )
    verify.add_argument("evidence", type=Path, help="the evidence bundle (JSON)")
    verify.add_argument(
        "--pinned",
        type=Path,
        default=None,
        help="your own pinned registry copy (public keys), e.g. <keys>/<org>/pinned.json; "
        "without it the bundle's snapshot, supplied by the gateway, is used (noted)",
    )
    verify.add_argument(
        "--request",
        type=Path,
        default=None,
        help="a file holding the signed request you sent (the compact JWS, as `oretrail "
        "request sign` prints it): the bundle must answer that request, not another "
        "caller's trace of the same lot",
    )
    verify.add_argument("--json", action="store_true", help="print the findings as JSON")


def read_bundle(path: Path) -> dict[str, Any]:
    """The bundle in ``path``; CommandFailed names the file and what is wrong."""
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandFailed(f"{path}: cannot read the evidence: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CommandFailed(f"{path}: the evidence is not JSON: {exc}") from None
    if not isinstance(bundle, dict):
        raise CommandFailed(f"{path}: the evidence is not a JSON object")
    return bundle


def run_verify(args: argparse.Namespace) -> int:
    bundle = read_bundle(args.evidence)
    pinned: PinnedRegistry | None = None if args.pinned is None else load_pinned(args.pinned)
    request = None if args.request is None else _read_request(args.request)
    found = verify_evidence(bundle, pinned=pinned, request_token=request)
    if request is None:
        found.notes.append(
            "the bundle was not checked against a request you signed (--request): it may "
            "answer another caller's trace of the same lot"
        )
    return report_verification(found, as_json=args.json)


def _read_request(path: Path) -> str:
    """The signed request in ``path``: a compact JWS, the header lines `oretrail request
    sign` prints, or JSON headers; CommandFailed names the file otherwise."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandFailed(f"{path}: cannot read the signed request: {exc}") from None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "authorization":
            text = value.strip().removeprefix("Bearer ").strip()
            break
    if text.startswith("{"):
        try:
            headers = json.loads(text)
        except (ValueError, RecursionError):
            raise CommandFailed(f"{path}: not a signed request nor JSON headers") from None
        bearer = headers.get("Authorization") if isinstance(headers, dict) else None
        text = bearer.removeprefix("Bearer ").strip() if isinstance(bearer, str) else ""
    if text.count(".") != 2 or not text.isascii() or " " in text:
        raise CommandFailed(f"{path}: not a signed request (a compact JWS)")
    return text


def report_verification(found: Verification, *, as_json: bool = False) -> int:
    """Print ``found``: JSON on stdout, or lines (problems and notes on stderr)."""
    if as_json:
        print(
            json.dumps(
                {
                    "verified": found.ok,
                    "answersChecked": found.answers_checked,
                    "problems": found.problems,
                    "unvouchedGaps": found.unvouched,
                    "notes": found.notes,
                },
                indent=2,
            )
        )
        return 0 if found.ok else NOT_VERIFIED
    for note in found.notes:
        print(f"oretrail: note: {note}", file=sys.stderr)
    for gap in found.unvouched:
        print(f"oretrail: gap only the gateway vouches for: {gap}", file=sys.stderr)
    if found.ok:
        print(
            f"evidence verifies: {found.answers_checked} signed node answers checked; "
            "the figures recomputed from them equal the gateway's"
        )
        return 0
    for problem in found.problems:
        print(f"oretrail: {problem}", file=sys.stderr)
    print(f"evidence does NOT verify: {len(found.problems)} problem(s)")
    return NOT_VERIFIED
