"""How the `oretrail` command talks to a running gateway: who signs its requests
(--user, --token-file, $ORETRAIL_USER) and the progress it shows while it waits."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import tomllib
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jwt

from oretrail.auth.callers import USER_CERT_TYP, UserIdentity
from oretrail.auth.keys import load_signing_key
from oretrail.auth.tokens import org_of
from oretrail.client import DEFAULT_TIMEOUT, GatewayClient
from oretrail.errors import ConfigError

__all__ = [
    "CommandFailed",
    "add_progress_argument",
    "add_user_arguments",
    "check_gateway_url",
    "load_token_file",
    "load_user",
    "post_to_gateway",
    "with_progress",
]

_T = TypeVar("_T")

# The keys a token file may hold (docs/api.md, "The CLI: --user or --token-file").
TOKEN_FILE_KEYS = frozenset({"key", "certificate"})


class CommandFailed(Exception):
    """A command could not do its job; the message is shown to the user as is."""


def check_gateway_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; CommandFailed naming it otherwise."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise CommandFailed(f"--gateway {url[:200]!r} is not a URL: {exc}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise CommandFailed(
            f"--gateway {url[:200]!r} is not an http(s) URL (e.g. http://127.0.0.1:8100/graphql)"
        )
    return url


async def post_to_gateway(
    url: str,
    user: UserIdentity,
    payload: dict[str, Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """The gateway's JSON answer, errors included (oretrail.client.GatewayClient.post).

    ``timeout`` (seconds) bounds everything, so a gateway that is down or stuck is
    reported within it (GatewayUnreachable, one line).
    """
    check_gateway_url(url)
    async with GatewayClient(url, user, timeout=timeout) as gateway:
        _, document = await gateway.post(payload)
    return document


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    """``--progress``: progress lines on stderr also when it is not a terminal."""
    parser.add_argument(
        "--progress",
        action="store_true",
        help="say every second on stderr how long the trace has run, also when stderr is "
        "not a terminal (on a terminal it always does)",
    )


async def with_progress(what: str, call: Awaitable[_T], *, asked: bool = False) -> _T:
    """Await ``call``, saying every second on stderr how long it has taken: on a
    terminal as one line rewritten in place; elsewhere only when ``asked``
    (--progress), as one line per second (``oretrail: <what> ... <n> s``), so that
    logs and tests see it. Standard output is never touched."""
    terminal = sys.stderr.isatty()
    if not (terminal or asked):
        return await call
    task = asyncio.ensure_future(call)
    started = time.monotonic()
    try:
        while not (await asyncio.wait({task}, timeout=1.0))[0]:
            # Whole seconds elapsed, rounded down: a late wake-up still says 1 s first.
            line = f"oretrail: {what} ... {int(time.monotonic() - started)} s"
            if terminal:
                print(f"\r{line}", end="", file=sys.stderr, flush=True)
            else:
                print(line, file=sys.stderr, flush=True)
    finally:
        task.cancel()
        if terminal:
            print("\r\033[K", end="", file=sys.stderr, flush=True)  # clear the progress line
    return task.result()


def add_user_arguments(parser: argparse.ArgumentParser) -> None:
    """``--user PEM`` or ``--token-file FILE``: who signs the command's requests."""
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--user",
        type=Path,
        default=None,
        help="your user key (.pem, with its .cert beside it) from `oretrail keys certify` "
        "(default: $ORETRAIL_USER)",
    )
    who.add_argument(
        "--token-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="a TOML file naming your user key and its certificate (key = ..., "
        "certificate = ...; docs/api.md); each request is still signed here",
    )


def load_user(path: Path | None, token_file: Path | None = None) -> UserIdentity:
    """The caller's user key and certificate: from ``token_file``, ``path``, or
    $ORETRAIL_USER, in that order. CommandFailed (one line) when there is none."""
    if token_file is not None:
        return load_token_file(token_file)
    where = path or (Path(os.environ["ORETRAIL_USER"]) if os.environ.get("ORETRAIL_USER") else None)
    if where is None:
        raise CommandFailed(
            "a user key is needed: pass --user or --token-file, or set ORETRAIL_USER "
            "(development: `oretrail keys certify --org <member> --sub <you>`)"
        )
    return UserIdentity.load(where)


def load_token_file(path: Path) -> UserIdentity:
    """The user key and certificate a token file names.

    The file is TOML: ``key`` (the user's private key, PEM, as `oretrail keys certify`
    writes it) and optionally ``certificate`` (its organisation's user certificate,
    default: the key's path with ``.cert``); relative paths are read from the file's
    folder. It holds no bearer token: a signed request binds exactly one document and
    its variables (DESIGN.md, Trust 2), so the command signs each request itself.
    The user id is the certificate's ``sub``, read unverified (the gateway verifies).
    Raises CommandFailed naming the file (and key) for anything missing or malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandFailed(f"--token-file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandFailed(f"--token-file {path}: cannot read it: {exc}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CommandFailed(f"--token-file {path}: not TOML: {exc}") from None
    unknown = sorted(set(table) - TOKEN_FILE_KEYS)
    if unknown:
        raise CommandFailed(
            f"--token-file {path}: unknown key {unknown[0]!r} (expected key and certificate)"
        )
    key_path = _named_path(path, table, "key")
    if key_path is None:
        raise CommandFailed(f"--token-file {path}: no 'key' (the path of your user key)")
    cert_path = _named_path(path, table, "certificate") or key_path.with_suffix(".cert")
    try:
        key = load_signing_key(key_path)
    except ConfigError as exc:
        raise CommandFailed(f"--token-file {path}: {exc}") from None
    org = org_of(key.issuer)
    if org is None:
        raise CommandFailed(f"--token-file {path}: {key_path} is not a user key of an organisation")
    try:
        certificate = cert_path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandFailed(f"--token-file {path}: cannot read the certificate: {exc}") from None
    try:
        header = jwt.get_unverified_header(certificate)
        claims = jwt.decode(certificate, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise CommandFailed(f"--token-file {path}: {cert_path} is not a user certificate") from None
    sub = claims.get("sub")
    if header.get("typ") != USER_CERT_TYP or not isinstance(sub, str) or not sub:
        raise CommandFailed(f"--token-file {path}: {cert_path} is not a user certificate")
    return UserIdentity(org, sub, key, certificate)


def _named_path(token_file: Path, table: dict[str, Any], name: str) -> Path | None:
    value = table.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise CommandFailed(f"--token-file {token_file}: {name!r} must be a path (a string)")
    return token_file.parent / Path(value).expanduser()
