"""How the `oretrail` command talks to a running gateway."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oretrail.auth.callers import UserIdentity
from oretrail.client import DEFAULT_TIMEOUT, GatewayClient

__all__ = ["CommandFailed", "check_gateway_url", "load_user", "post_to_gateway"]


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


def load_user(path: Path | None) -> UserIdentity:
    """The caller's user key and certificate: ``path``, or $ORETRAIL_USER."""
    where = path or (Path(os.environ["ORETRAIL_USER"]) if os.environ.get("ORETRAIL_USER") else None)
    if where is None:
        raise CommandFailed(
            "a user key is needed: pass --user or set ORETRAIL_USER "
            "(development: `oretrail keys certify --org <member> --sub <you>`)"
        )
    return UserIdentity.load(where)
