"""A period's answer is kept only when every node behind the line answered.

The first run of an approved query in a period computes the answer every later
run returns. If a node is down then, its lots are gaps and the figures would be
kept without them for good (a caller who can time its run, or knock a node over,
could fix a skewed answer). Real servers, real HTTP; one node answers 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from oretrail.bootstrap import Federation, FederationConfig
from tests.conftest import served_federation
from tests.support.transparency import LINE, fresh_model, ngo, post

pytestmark = pytest.mark.e2e

DOWN = "kambove-mining"  # the largest of the CD mines behind the sample's cobalt


async def unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    """A node that starts but answers every request 503."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 503, "headers": []})
    await send({"type": "http.response.body", "body": b"down", "more_body": False})


@pytest.fixture(scope="module")
def federation(
    sample_config: FederationConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    config = fresh_model(sample_config, tmp_path_factory.mktemp("gaps-model"))
    with served_federation(config, replace_apps={DOWN: unavailable}) as running:
        yield running


async def test_a_run_while_a_node_is_down_is_refused_not_kept(federation: Federation) -> None:
    payload: dict[str, Any] = {"documentId": "cobalt-origin-countries", "variables": LINE}
    for _ in range(2):  # refused again: nothing was kept by the first run
        status, body = await post(federation, ngo(federation), payload)
        assert status == 200
        assert body.get("errors"), body
        message = body["errors"][0]["message"]
        # It names no organisation: which node failed would say who supplies the line.
        assert "kambove" not in message.lower(), message
