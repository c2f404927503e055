"""Bad requests at the HTTP edge of the gateway and a node: clear 4xx answers, never a 500."""

from __future__ import annotations

import aiohttp
import pytest

from oretrail.bootstrap import Federation
from tests.conftest import graphql, oem_token, signed

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"query": 42}', "application/json"),
        (b'{"variables": {}}', "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
)
async def test_a_malformed_request_body_is_a_4xx(
    federation: Federation, body: bytes, content_type: str
) -> None:
    headers = {
        "Content-Type": content_type,
        **signed(federation, {"query": "{ participants { id } }"}),
    }
    for url in (federation.gateway_url, federation.node_urls["nordvolt"]):
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            assert 400 <= response.status < 500, (url, response.status)
            assert "Traceback" not in await response.text()


async def test_a_query_over_get_is_refused(federation: Federation) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            federation.gateway_url,
            params={"query": "{ participants { id } }"},
            headers=signed(federation, {"query": "{ participants { id } }"}),
        ) as response,
    ):
        assert 400 <= response.status < 500


async def test_a_bad_lot_id_over_http_is_a_typed_error_not_a_500(federation: Federation) -> None:
    body = await graphql(
        federation.gateway_url,
        '{ trace(lot: "../../etc/passwd") { root } }',
        token=oem_token(federation),
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_INPUT"}
    assert "does not start with 'urn:oretrail:lot:'" in body["errors"][0]["message"]


async def test_an_unknown_lot_over_http_names_the_lot(federation: Federation) -> None:
    lot = "urn:oretrail:lot:nordvolt:PACK-1999-0001"
    body = await graphql(
        federation.gateway_url, f'{{ trace(lot: "{lot}") {{ root }} }}', token=oem_token(federation)
    )
    assert body["errors"][0]["extensions"] == {"code": "UNKNOWN_LOT"}
    assert lot in body["errors"][0]["message"]
