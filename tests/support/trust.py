"""Helpers for attacking the trust chain on real servers: a sample copy to edit, and direct
calls to a node as a hostile gateway (which holds the gateway key) would make them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from oretrail.auth.gateway_auth import gateway_token
from oretrail.auth.principal import HEADER_CERTIFICATE, HEADER_GATEWAY
from oretrail.auth.tokens import token_hash
from oretrail.bootstrap import Federation, FederationConfig, load_federation_config

__all__ = ["ask_node", "edited_sample", "lots_query"]

ROOT = Path(__file__).resolve().parents[2]

LOTS = (
    "query($ids: [ID!]!, $grants: [String!]) { lots(ids: $ids, grants: $grants) "
    "{ answers { id status detail lot { material facility { region } } } "
    "continuations { owner lots grant } } }"
)


def lots_query() -> str:
    return LOTS


def edited_sample(
    tmp_path: Path,
    edits: Mapping[str, Callable[[str], str]] | None = None,
    files: Mapping[str, str] | None = None,
) -> FederationConfig:
    """The sample config and seeds copied under ``tmp_path``, each file in ``edits``
    (a path relative to the repository) rewritten by its function, and ``files`` added."""
    for folder in ("config", "graph/seed"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for relative, text in (files or {}).items():
        (tmp_path / relative).write_text(text, encoding="utf-8")
    for relative, edit in (edits or {}).items():
        path = tmp_path / relative
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    config = load_federation_config(tmp_path / "config")
    model = replace(config.settings.model, store="memory", data_dir=tmp_path / "model")
    return replace(config, settings=replace(config.settings, model=model), graph_dir=ROOT / "graph")


async def ask_node(
    federation: Federation,
    org: str,
    request: str | None,
    certificate: str | None,
    variables: Mapping[str, Any],
    *,
    query: str = LOTS,
    gateway: str | None = "mint",
    extra: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """POST to ``org``'s node as the gateway would, with whatever credentials are given.

    ``gateway="mint"`` signs a valid gateway token with the federation's gateway key for
    this request: what a hostile gateway operator can always do.
    """
    headers: dict[str, str] = dict(extra or {})
    if request is not None:
        headers["Authorization"] = f"Bearer {request}"
    if certificate is not None:
        headers[HEADER_CERTIFICATE] = certificate
    if gateway == "mint":
        headers[HEADER_GATEWAY] = gateway_token(
            federation.keys.gateway, org, token_hash(request or "")
        )
    elif gateway is not None:
        headers[HEADER_GATEWAY] = gateway
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            federation.node_urls[org],
            json={"query": query, "variables": dict(variables)},
            headers=headers,
        ) as response,
    ):
        return response.status, await response.json()


def statuses(body: Any) -> list[tuple[str, str]]:
    """(id, status) of each answer of a lots answer."""
    return [(a["id"], a["status"]) for a in body["data"]["lots"]["answers"]]


def grants_in(body: Any) -> Sequence[str]:
    return [c["grant"] for c in body["data"]["lots"]["continuations"]]
