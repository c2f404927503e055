"""The gateway's authentication to nodes: a short-lived, audience-bound, single-use token.

``typ: gw+jwt``, signed by the gateway key: ``iss`` = ``sub`` = the gateway, ``aud``
= one node, lifetime 60 s, a single-use ``jti``, and ``req`` = the hash of the
caller's signed request it travels with. It proves only that the call comes
from the federation's gateway; a node believes nothing else the gateway says
(who the caller is comes from the caller's own signature). See
docs/decisions.md for why a token rather than mutual TLS.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from oretrail.auth.keys import SigningKey
from oretrail.auth.tokens import (
    GATEWAY,
    KeySource,
    ReplayCache,
    VerifyPolicy,
    mint,
    node_audience,
    verify,
)
from oretrail.errors import TokenRejected

__all__ = ["GATEWAY_TOKEN_LIFETIME", "GATEWAY_TYP", "gateway_token", "verify_gateway_token"]

GATEWAY_TYP = "gw+jwt"
GATEWAY_TOKEN_LIFETIME = 60


def gateway_token(key: SigningKey, node: str, request_hash: str) -> str:
    """The gateway's token for one call to ``node``'s node, bound to one signed request."""
    if key.issuer != GATEWAY:
        raise TokenRejected("only the gateway's key authenticates the gateway")
    claims = {"sub": GATEWAY, "aud": node_audience(node), "req": request_hash}
    return mint(key, GATEWAY_TYP, claims, lifetime=GATEWAY_TOKEN_LIFETIME)


async def verify_gateway_token(
    token: object,
    gateway_keys: KeySource,
    node: str,
    request_hash: str,
    replay: ReplayCache,
    *,
    clock: Callable[[], float] = time.time,
) -> None:
    """Refuse (TokenRejected) unless the gateway signed this call for this node and request."""
    policy = VerifyPolicy(GATEWAY_TYP, node_audience(node), GATEWAY_TOKEN_LIFETIME, single_use=True)
    try:
        claims = await verify(token, policy, gateway_keys, replay=replay, clock=clock)
    except TokenRejected as exc:
        raise TokenRejected(f"gateway authentication: {exc}") from None
    if claims["iss"] != GATEWAY or claims["sub"] != GATEWAY:
        raise TokenRejected("gateway authentication is not signed by the gateway")
    if claims.get("req") != request_hash:
        raise TokenRejected("gateway authentication names another signed request")
