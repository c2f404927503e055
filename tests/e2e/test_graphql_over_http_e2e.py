"""GraphQL over HTTP on real servers: each media type, each kind of failure, gateway and node.

With ``Accept: application/graphql-response+json`` a document that fails to parse or
validate, or variables that fail coercion, get 400 and no ``data`` entry; with
``application/json`` (or no Accept header) they get 200 and ``"data": null``, as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest

from oretrail.auth.gateway_auth import gateway_token
from oretrail.auth.principal import HEADER_CERTIFICATE, HEADER_GATEWAY
from oretrail.auth.requests import RequestContext, sign_request
from oretrail.auth.tokens import token_hash
from oretrail.bootstrap import Federation
from oretrail.graphql_http import GRAPHQL_RESPONSE, JSON
from tests.conftest import PACK, signed

pytestmark = pytest.mark.e2e

ASK_NEW = {"Accept": f"{GRAPHQL_RESPONSE}, {JSON};q=0.9"}
ASK_JSON = {"Accept": JSON}

# One document per kind of request error, and the variables that go with it.
GATEWAY_FAILURES = {
    "parse": ("{ participants { id ", {}),
    "validation": ("{ participants { nosuchfield } }", {}),
    "coercion": (
        "query($limit: Int!) { traceHistory(limit: $limit) { id } }",
        {"limit": "twenty"},
    ),
}
NODE_FAILURES = {
    "parse": ("{ organisation { id ", {}),
    "validation": ("{ organisation { nosuchfield } }", {}),
    "coercion": ("query($ids: [ID!]!) { lots(ids: $ids) { answers { id } } }", {"ids": None}),
}


async def post(
    url: str, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[int, str, dict[str, Any]]:
    """(status, media type, decoded body) of a POST of ``payload`` as JSON."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=dict(payload), headers=dict(headers)) as response,
    ):
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        return response.status, media_type, json.loads(await response.text())


def node_headers(federation: Federation, org: str = "nordvolt") -> dict[str, str]:
    """A nordvolt user's signed trace request for the pack, sent as the gateway sends it."""
    user = federation.user("nordvolt")
    context = RequestContext(op="trace", roots=(PACK,), depth=20, doc="d", vars="v")
    request = sign_request(user, context)
    return {
        "Authorization": f"Bearer {request}",
        HEADER_CERTIFICATE: user.certificate,
        HEADER_GATEWAY: gateway_token(federation.keys.gateway, org, token_hash(request)),
    }


@pytest.mark.parametrize("failure", sorted(GATEWAY_FAILURES))
async def test_a_gateway_request_error_is_400_without_data_in_the_new_media_type(
    federation: Federation, failure: str
) -> None:
    query, variables = GATEWAY_FAILURES[failure]
    payload = {"query": query, "variables": variables}
    status, media_type, body = await post(
        federation.gateway_url, payload, {**ASK_NEW, **signed(federation, payload)}
    )
    assert (status, media_type) == (400, GRAPHQL_RESPONSE)
    assert "data" not in body
    assert body["errors"][0]["message"]


@pytest.mark.parametrize("failure", sorted(GATEWAY_FAILURES))
@pytest.mark.parametrize("accept", [ASK_JSON, {}, {"Accept": "*/*"}])
async def test_a_gateway_request_error_stays_200_with_null_data_in_json(
    federation: Federation, failure: str, accept: dict[str, str]
) -> None:
    query, variables = GATEWAY_FAILURES[failure]
    payload = {"query": query, "variables": variables}
    status, media_type, body = await post(
        federation.gateway_url, payload, {**accept, **signed(federation, payload)}
    )
    assert (status, media_type) == (200, JSON)
    assert body["data"] is None
    assert body["errors"]


@pytest.mark.parametrize("failure", sorted(NODE_FAILURES))
async def test_a_node_request_error_is_400_without_data_in_the_new_media_type(
    federation: Federation, failure: str
) -> None:
    query, variables = NODE_FAILURES[failure]
    payload = {"query": query, "variables": variables}
    url = federation.node_urls["nordvolt"]
    status, media_type, body = await post(url, payload, {**ASK_NEW, **node_headers(federation)})
    assert (status, media_type) == (400, GRAPHQL_RESPONSE)
    assert "data" not in body
    # The same document in JSON: 200 and data null, as older clients expect.
    status, media_type, body = await post(url, payload, {**ASK_JSON, **node_headers(federation)})
    assert (status, media_type) == (200, JSON)
    assert body["data"] is None


@pytest.mark.parametrize("accept", [ASK_NEW, ASK_JSON])
async def test_an_answer_is_200_with_data_in_either_media_type(
    federation: Federation, accept: dict[str, str]
) -> None:
    payload = {"query": "{ participants { id } }", "variables": {}}
    status, media_type, body = await post(
        federation.gateway_url, payload, {**accept, **signed(federation, payload)}
    )
    assert status == 200
    assert media_type == accept["Accept"].split(",")[0]
    assert {"id": "nordvolt"} in body["data"]["participants"]


@pytest.mark.parametrize("accept", [ASK_NEW, ASK_JSON])
async def test_a_field_error_is_200_with_null_data_in_either_media_type(
    federation: Federation, accept: dict[str, str]
) -> None:
    """The document executed: the trace's refusal is a field error, not a request error."""
    payload = {"query": '{ trace(lot: "not-a-lot") { root } }', "variables": {}}
    status, _, body = await post(
        federation.gateway_url, payload, {**accept, **signed(federation, payload)}
    )
    assert status == 200
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["trace"]
    assert body["errors"][0]["extensions"] == {"code": "BAD_INPUT"}


@pytest.mark.parametrize("accept", [ASK_NEW, ASK_JSON])
async def test_an_unauthenticated_request_is_401_in_the_media_type_asked(
    federation: Federation, accept: dict[str, str]
) -> None:
    payload = {"query": "{ participants { id } }", "variables": {}}
    for url in (federation.gateway_url, federation.node_urls["nordvolt"]):
        status, media_type, body = await post(url, payload, accept)
        assert (status, media_type) == (401, accept["Accept"].split(",")[0]), url
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
