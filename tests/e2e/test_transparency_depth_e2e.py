"""An approved query's one answer per period is not the first caller's to shape.

The kept answer is keyed by query, variables and period; the trace depth comes from
the caller's signed request. A caller who signs a shallow depth for the first run
of a period would fix a truncated answer (no origins reached, so no groups) for
every later caller of that period. Real servers, real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from oretrail.auth.principal import HEADER_CERTIFICATE
from oretrail.auth.requests import sign_request
from oretrail.bootstrap import Federation, FederationConfig
from oretrail.client import request_context
from tests.conftest import served_federation
from tests.support.transparency import LINE, fresh_model, ngo, post, run, shares

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def federation(
    sample_config: FederationConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    config = fresh_model(sample_config, tmp_path_factory.mktemp("depth-model"))
    with served_federation(config) as running:
        yield running


async def test_a_shallow_first_run_cannot_fix_the_periods_answer(federation: Federation) -> None:
    user = ngo(federation)
    payload: dict[str, Any] = {"documentId": "cobalt-origin-countries", "variables": LINE}
    # Depth 1 reaches the packs and their cathodes only: no mine, so no origin.
    shallow = replace(request_context(payload), depth=1)
    headers = {
        "Authorization": f"Bearer {sign_request(user, shallow)}",
        HEADER_CERTIFICATE: user.certificate,
    }
    status, body = await post(federation, user, payload, headers)
    assert status == 200
    assert body.get("errors"), body  # refused, not answered and kept
    assert "depth" in body["errors"][0]["message"]
    # The period's answer is then the full one: the sample's cobalt comes from CD
    # mines behind at least three organisations (tests/e2e/test_transparency_e2e.py).
    answer = await run(federation, "cobalt-origin-countries")
    assert "CD" in shares(answer)
