"""How the `oretrail` command talks to a running gateway."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from oretrail.auth.callers import UserIdentity
from oretrail.client import signed_headers

__all__ = ["DEFAULT_TIMEOUT", "CommandFailed", "check_gateway_url", "load_user", "post_to_gateway"]

# Seconds the command waits for the gateway's whole answer. A trace is bounded by
# the gateway's own trace_deadline (20 s by default); this leaves it room to answer.
DEFAULT_TIMEOUT = 60.0


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
    """The gateway's JSON answer, errors included; CommandFailed if there is none.

    The request is signed by ``user`` for exactly this payload (oretrail.client).
    ``timeout`` (seconds) bounds everything: connecting, sending and the whole answer,
    so a gateway that is down or stuck is reported within it.
    """
    check_gateway_url(url)
    headers = signed_headers(user, payload)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(url, json=payload, headers=headers) as response,
        ):
            text = await response.text()
    except TimeoutError:
        raise CommandFailed(
            f"the gateway at {url} did not answer within {timeout:g} s (--timeout)"
        ) from None
    except aiohttp.ClientError as exc:
        raise CommandFailed(
            f"cannot reach the gateway at {url}: {exc or type(exc).__name__}"
        ) from None
    try:
        document = json.loads(text)
    except ValueError:
        raise CommandFailed(f"the gateway answered HTTP {response.status} without JSON") from None
    if not isinstance(document, dict):
        raise CommandFailed(f"the gateway answered HTTP {response.status} with no JSON object")
    return document


def load_user(path: Path | None) -> UserIdentity:
    """The caller's user key and certificate: ``path``, or $ORETRAIL_USER."""
    where = path or (Path(os.environ["ORETRAIL_USER"]) if os.environ.get("ORETRAIL_USER") else None)
    if where is None:
        raise CommandFailed(
            "a user key is needed: pass --user or set ORETRAIL_USER "
            "(development: `oretrail keys certify --org <member> --sub <you>`)"
        )
    return UserIdentity.load(where)
