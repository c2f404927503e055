"""How the `oretrail` command talks to a running gateway."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aiohttp

from oretrail.auth.callers import UserIdentity
from oretrail.client import signed_headers

__all__ = ["CommandFailed", "load_user", "post_to_gateway"]


class CommandFailed(Exception):
    """A command could not do its job; the message is shown to the user as is."""


async def post_to_gateway(url: str, user: UserIdentity, payload: dict[str, Any]) -> dict[str, Any]:
    """The gateway's JSON answer, errors included; CommandFailed if there is none.

    The request is signed by ``user`` for exactly this payload (oretrail.client).
    """
    timeout = aiohttp.ClientTimeout(total=60)
    headers = signed_headers(user, payload)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json=payload, headers=headers) as response,
        ):
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
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
