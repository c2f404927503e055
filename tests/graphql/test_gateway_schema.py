"""The gateway schema executed in-process with a fake node client: bad input, masking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import strawberry

from oretrail.auth.keys import generate_signing_key
from oretrail.auth.principal import HEADER_GATEWAY
from oretrail.auth.requests import SignedRequest
from oretrail.auth.tokens import GATEWAY
from oretrail.client import request_context
from oretrail.config import GatewaySettings, Participant
from oretrail.gateway.context import Caller
from oretrail.gateway.node_client import LotReply
from oretrail.gateway.schema import GatewayContext, build_gateway_schema
from oretrail.store.model_memory import MemoryModelStore
from tests.unit.fakes import FakeNodeClient, registry_of
from tests.unit.lotgraphs import lid, lot

ROOT = lid("oem", "P1")
MINE = lid("mine", "M1")
TRACE = (
    "query($lot: ID!, $depth: Int) { trace(lot: $lot, maxDepth: $depth) { root "
    "origins { lot } gaps { lot reason } } }"
)


GATEWAY_KEY = generate_signing_key(GATEWAY, "gateway-test")
OEM = ("oem", frozenset({"OEM"}))
NGO = ("ngo", frozenset({"NGO"}))


def caller_for(who: tuple[str, frozenset[str]], query: str, variables: Any) -> Caller:
    """The caller as the gateway knows it once its request for this query verified."""
    context = request_context({"query": query, "variables": variables})
    request = SignedRequest("t", "c", "h" * 43, who[0], f"a@{who[0]}", "x", "j", 2**40, context)
    return Caller(request, who[1])


def context(client: Any, caller: Caller) -> GatewayContext:
    return GatewayContext(
        registry=registry_of("oem", "mine"),
        client=client,
        settings=GatewaySettings(default_depth=10, max_depth=50),
        model=MemoryModelStore(),
        caller=caller,
        signing_key=GATEWAY_KEY,
    )


def healthy() -> FakeNodeClient:
    return FakeNodeClient(
        [lot(ROOT, contents={"Co": 0.1}, inputs=((MINE, 100),)), lot(MINE, contents={"Co": 0.1})]
    )


async def run(
    client: Any, query: str, caller: tuple[str, frozenset[str]] = OEM, **variables: Any
) -> Any:
    schema: strawberry.Schema = build_gateway_schema()
    who = caller_for(caller, query, variables)
    return await schema.execute(
        query, variable_values=variables, context_value=context(client, who)
    )


async def test_a_trace_returns_origins() -> None:
    result = await run(healthy(), TRACE, lot=ROOT)
    assert result.errors is None
    assert result.data["trace"]["origins"] == [{"lot": MINE}]


@pytest.mark.parametrize(
    ("variables", "code", "message"),
    [
        ({"lot": "PACK-1"}, "BAD_INPUT", "does not start with 'urn:oretrail:lot:'"),
        ({"lot": "urn:oretrail:lot:oem:"}, "BAD_INPUT", "may hold only"),
        ({"lot": "urn:oretrail:lot:nobody:P1"}, "UNKNOWN_PARTICIPANT", "'nobody' is not in"),
        ({"lot": "urn:oretrail:lot:oem:NOPE"}, "UNKNOWN_LOT", "is not known to its owner 'oem'"),
        ({"lot": ROOT, "depth": 0}, "BAD_INPUT", "maxDepth 0 is out of range"),
        ({"lot": ROOT, "depth": 10**6}, "BAD_INPUT", "maxDepth 1000000 is out of range"),
        ({"lot": ROOT, "depth": -1}, "BAD_INPUT", "between 1 and 50"),
    ],
)
async def test_bad_trace_input_gets_a_typed_error_naming_the_problem(
    variables: dict[str, Any], code: str, message: str
) -> None:
    result = await run(healthy(), TRACE, **variables)
    assert result.data is None
    assert result.errors is not None
    assert len(result.errors) == 1
    assert result.errors[0].extensions == {"code": code}
    assert message in result.errors[0].message


async def test_an_unexpected_failure_is_masked() -> None:
    class Broken(FakeNodeClient):
        async def fetch_lots(
            self,
            node: Participant,
            ids: Sequence[str],
            credential: object = None,
            timeout: float | None = None,
        ) -> dict[str, LotReply]:
            raise RuntimeError("secret internal detail at /srv/app.py line 12")

    result = await run(Broken([]), TRACE, lot=ROOT)
    assert result.errors is not None
    assert result.errors[0].message == "Unexpected error; it has been logged."
    assert "secret" not in str(result.errors[0].formatted)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("", "exactly one of lot or facility"),
        (f'lot: "{ROOT}", facility: "urn:oretrail:facility:oem:x"', "exactly one of"),
        ('facility: "plant-7"', "is not urn:oretrail:facility:"),
        ('lot: "urn:oretrail:lot:oem:P1", maxDepth: 0', "maxDepth 0 is out of range"),
    ],
)
async def test_bad_exposure_input_gets_a_clear_error(arguments: str, message: str) -> None:
    call = f"exposure({arguments})" if arguments else "exposure"
    result = await run(healthy(), f"{{ {call} {{ products }} }}")
    assert result.errors is not None
    assert message in result.errors[0].message
    assert result.errors[0].extensions == {"code": "BAD_INPUT"}


async def test_exposure_follows_consumption_to_the_products() -> None:
    result = await run(healthy(), f'{{ exposure(lot: "{MINE}") {{ products reached }} }}')
    assert result.errors is None
    assert result.data["exposure"] == {"products": [ROOT], "reached": [MINE, ROOT]}


async def test_each_node_request_carries_the_callers_request_and_a_fresh_gateway_token() -> None:
    client = healthy()
    result = await run(client, TRACE, lot=ROOT)
    assert result.errors is None
    headers = [c.headers for c in client.credentials if c is not None]
    assert len(headers) == len(client.calls) == 2
    assert {h["Authorization"] for h in headers} == {"Bearer t"}
    assert len({h[HEADER_GATEWAY] for h in headers}) == 2


async def test_a_trace_of_a_root_the_caller_did_not_sign_is_refused() -> None:
    schema: strawberry.Schema = build_gateway_schema()
    signed_for_mine = caller_for(OEM, TRACE, {"lot": MINE})
    result = await schema.execute(
        TRACE, variable_values={"lot": ROOT}, context_value=context(healthy(), signed_for_mine)
    )
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "FORBIDDEN"}
    assert "names the roots" in result.errors[0].message


async def test_an_ngo_caller_may_not_trace() -> None:
    result = await run(healthy(), TRACE, caller=NGO, lot=ROOT)
    assert result.errors[0].extensions == {"code": "FORBIDDEN"}
    assert "approved transparency queries only" in result.errors[0].message
