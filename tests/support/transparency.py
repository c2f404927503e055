"""Running approved transparency queries in tests, and reading what nodes logged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from oretrail.auth.access_log import AccessLog
from oretrail.auth.callers import UserIdentity
from oretrail.bootstrap import Federation, FederationConfig
from oretrail.client import signed_headers
from oretrail.gateway.approved import load_approved
from tests.conftest import CONFIG_DIR

__all__ = [
    "ALL_RUNS",
    "LINE",
    "declared_fields",
    "fresh_model",
    "log_entries",
    "ngo",
    "post",
    "run",
    "shares",
]

LINE = {"productLine": "nordvolt-packs-2026"}
# Every approved query with every element it takes on the sample.
ALL_RUNS: list[tuple[str, dict[str, str]]] = [
    ("cobalt-origin-countries", {}),
    ("artisanal-share", {}),
    ("refiner-audit-coverage", {}),
    ("recycled-content", {"element": "Co"}),
    ("recycled-content", {"element": "Ni"}),
    ("recycled-content", {"element": "Li"}),
]


def log_entries(log: AccessLog) -> list[dict[str, Any]]:
    """Every entry of a node's access log: the one place transparency tests read logs."""
    return list(log.records())


def declared_fields() -> dict[str, set[str]]:
    """The field groups each sample approved query declares, by id."""
    registry = load_approved(CONFIG_DIR / "approved")
    return {q.id: set(q.fields) for q in registry.queries.values()}


def fresh_model(config: FederationConfig, data_dir: Path) -> FederationConfig:
    """``config`` with a model store of its own: no answer kept by other tests' runs."""
    model = replace(config.settings.model, store="memory", data_dir=data_dir)
    return replace(config, settings=replace(config.settings, model=model))


async def post(
    federation: Federation,
    user: UserIdentity,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """POST ``payload`` with the user's own signed request for exactly it (or ``headers``)."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            federation.gateway_url,
            json=payload,
            headers=headers or signed_headers(user, payload),
        ) as response,
    ):
        return response.status, await response.json()


def ngo(federation: Federation) -> UserIdentity:
    return federation.user("transparency-watch")


async def run(federation: Federation, query_id: str, **variables: str) -> dict[str, Any]:
    """The published answer of an approved query, run by the sample NGO."""
    status, body = await post(
        federation, ngo(federation), {"documentId": query_id, "variables": {**LINE, **variables}}
    )
    assert status == 200, body
    assert "errors" not in body, body
    answer: dict[str, Any] = next(iter(body["data"]["transparency"].values()))
    return answer


def shares(answer: dict[str, Any]) -> dict[str, float]:
    return {g["name"]: g["share"] for g in answer["groups"]}
