"""How the `oretrail` command talks to a running gateway."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

__all__ = ["CommandFailed", "post_to_gateway"]


class CommandFailed(Exception):
    """A command could not do its job; the message is shown to the user as is."""


async def post_to_gateway(url: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The gateway's JSON answer, errors included; CommandFailed if there is none."""
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"Authorization": f"Bearer {token}"}
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
