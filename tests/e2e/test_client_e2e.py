"""oretrail.client.GatewayClient against real servers: typed results, signing, timeouts."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import date

import pytest

from oretrail.bootstrap import Federation
from oretrail.client import GatewayClient, GatewayError, GatewayUnreachable
from tests.conftest import PACK

pytestmark = pytest.mark.e2e

LOT = "urn:oretrail:lot:"
KASULO = f"{LOT}kasulo-coop:HG-2026-007"
CONVERTER = f"{LOT}coastal-lithium:LH-2026-061"
AS_OF = date(2026, 11, 26)


@pytest.fixture
def stuck_url() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"


async def test_a_trace_comes_back_typed(federation: Federation) -> None:
    async with GatewayClient(federation.gateway_url, federation.user("nordvolt")) as gateway:
        trace = await gateway.trace(PACK, as_of=AS_OF)
    assert (trace.root, trace.as_of) == (PACK, AS_OF)
    assert trace.elements == ("C", "Co", "Li", "Ni")
    # Cathode: 2.4 t primary of 2.9 t cobalt sulfate; the trader's 3.00 t of Co holds
    # 0.76 t from Kasulo's ASM concentrate: Kasulo's share of the pack's Co is the product.
    kasulo = next(o for o in trace.origins if o.lot == KASULO)
    assert kasulo.shares["Co"] == pytest.approx(2.4 / 2.9 * 0.76 / 3.00)
    assert (kasulo.country, kasulo.artisanal, kasulo.cahra) == ("CD", True, True)
    # Coastal Lithium claims 1,650 kg Li; its inputs supply 1,129.95 kg (see test_trace_e2e).
    assert trace.coverage["Li"] == pytest.approx(1129.95 / 1650)
    gap = next(g for g in trace.gaps if g.lot == CONVERTER)
    assert gap.reason == "UNSUPPORTED_CLAIM"
    assert gap.shares["Li"] == pytest.approx(520.05 / 1650)
    assert any(r.kind == "CAHRA_ORIGIN" and r.lot == KASULO for r in trace.risks)
    assert trace.raw["root"] == PACK  # what the text report formats


async def test_the_history_and_participants_come_back_typed(federation: Federation) -> None:
    async with GatewayClient(federation.gateway_url, federation.user("nordvolt")) as gateway:
        await gateway.trace(PACK, as_of=AS_OF)
        history = await gateway.trace_history(lot=PACK, limit=1)
        participants = {p.id: p for p in await gateway.participants()}
    assert [(r.root, r.as_of) for r in history] == [(PACK, AS_OF)]
    assert participants["nordvolt"].roles == ("PACK", "OEM")
    assert participants["kasulo-coop"].country == "CD"


async def test_an_approved_query_comes_back_as_an_aggregate(federation: Federation) -> None:
    variables = {"productLine": "nordvolt-packs-2026"}
    ngo = federation.user("transparency-watch")
    async with GatewayClient(federation.gateway_url, ngo) as gateway:
        aggregate = await gateway.approved("cobalt-origin-countries", variables)
    # The line's cobalt (517.05 kg) is all Congolese but the recycled part: 0.5/2.9 of
    # the first pack's 247.05 kg and 1/3 of the second's 270 kg. The recyclers (two in
    # Norway, one in Germany) are too few per country to publish
    # (tests/e2e/test_transparency_e2e.py computes every figure).
    shares = {g.name: g.share for g in aggregate.groups}
    assert shares == pytest.approx({"CD": 1 - (247.05 * 0.5 / 2.9 + 270 / 3) / 517.05})
    assert (aggregate.k, aggregate.dominance) == (3, 0.8)


async def test_a_refusal_is_a_gateway_error_with_its_code(federation: Federation) -> None:
    async with GatewayClient(federation.gateway_url, federation.user("nordvolt")) as gateway:
        with pytest.raises(GatewayError, match="does not start with") as refused:
            await gateway.trace("PACK-2026-0412")
    assert (refused.value.code, refused.value.status) == ("BAD_INPUT", 200)
    # An NGO may run approved queries only: the gateway refuses before anything runs.
    async with GatewayClient(
        federation.gateway_url, federation.user("transparency-watch")
    ) as gateway:
        with pytest.raises(GatewayError) as forbidden:
            await gateway.trace(PACK)
    assert (forbidden.value.code, forbidden.value.status) == ("FORBIDDEN", 403)


async def test_a_stuck_gateway_is_unreachable_within_the_timeout(
    federation: Federation, stuck_url: str
) -> None:
    started = time.monotonic()
    async with GatewayClient(stuck_url, federation.user("nordvolt"), timeout=0.5) as gateway:
        with pytest.raises(GatewayUnreachable, match=r"did not answer within 0\.5 s"):
            await gateway.participants()
    assert time.monotonic() - started < 3


async def test_a_gateway_that_is_down_is_unreachable(federation: Federation) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/graphql"
    async with GatewayClient(url, federation.user("nordvolt")) as gateway:
        with pytest.raises(GatewayUnreachable, match="cannot reach the gateway"):
            await gateway.participants()
