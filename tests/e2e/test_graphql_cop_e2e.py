"""The probes of the graphql-cop security auditor, re-implemented against the gateway."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from oretrail.asgi import MAX_ALIASES, MAX_DIRECTIVES
from oretrail.bootstrap import Federation
from tests.conftest import signed

pytestmark = pytest.mark.e2e


async def send(
    federation: Federation,
    *,
    method: str = "POST",
    json_body: Any = None,
    data: Any = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """Status, content type and body text of one request signed by the OEM's user.

    A JSON object body is signed as it is; anything else carries a request signed for
    a plain query, so the probe meets every check after authentication too.
    """
    payload = json_body if isinstance(json_body, dict) else {"query": "{ participants { id } }"}
    all_headers = {**signed(federation, payload), **(headers or {})}
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            federation.gateway_url,
            json=json_body,
            data=data,
            params=params,
            headers=all_headers,
        ) as response,
    ):
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def refused(federation: Federation, query: str) -> str:
    """The first error message of a query the gateway must not execute."""
    status, _, text = await send(federation, json_body={"query": query})
    body = json.loads(text)
    assert status in {200, 400}, text
    assert body.get("data") is None, text
    assert body["errors"], text
    message: str = body["errors"][0]["message"]
    return message


async def test_101_aliases_are_refused(federation: Federation) -> None:
    aliases = " ".join(f"a{i}: participants {{ id }}" for i in range(101))
    message = await refused(federation, f"{{ {aliases} }}")
    assert str(MAX_ALIASES) in message


async def test_a_json_batch_of_ten_is_refused(federation: Federation) -> None:
    batch = [{"query": "{ participants { id } }"}] * 10
    status, _, text = await send(federation, json_body=batch)
    assert status == 400, text


async def only_error(federation: Federation, query: str) -> str:
    """The one error of a document refused whole: graphql-cop flags one error per use."""
    status, _, text = await send(federation, json_body={"query": query})
    body = json.loads(text)
    assert status in {200, 400}, text
    assert body.get("data") is None, text
    [error] = body["errors"]
    message: str = error["message"]
    return message


async def test_directive_overload_is_refused_with_one_error(federation: Federation) -> None:
    # graphql-cop's probe: one field, the same unknown directive ten times over.
    message = await only_error(federation, "{ __typename " + "@aa" * 10 + " }")
    assert "@aa is repeated at one location" in message
    await only_error(federation, "{ __typename " + "@aa" * 200 + " }")
    # A known directive repeated at one location.
    message = await only_error(
        federation, "{ participants { id" + " @include(if: true)" * 10 + " } }"
    )
    assert "@include is repeated at one location" in message
    # Valid directives, each at its own location, past the budget.
    fields = " ".join("id @include(if: true)" for _ in range(MAX_DIRECTIVES + 2))
    message = await only_error(federation, f"{{ participants {{ {fields} }} }}")
    assert f"more than {MAX_DIRECTIVES} directives" in message


async def test_introspection_is_refused(federation: Federation) -> None:
    message = await refused(federation, "{ __schema { types { name } } }")
    assert "introspection" in message.lower()


async def test_circular_introspection_is_refused(federation: Federation) -> None:
    circular = (
        "{ __schema { types { fields { type { fields { type { fields { type "
        "{ fields { type { name } } } } } } } } } } }"
    )
    await refused(federation, circular)


async def test_a_query_over_get_is_refused(federation: Federation) -> None:
    status, _, _ = await send(federation, method="GET", params={"query": "{ participants { id } }"})
    assert status == 405


async def test_a_mutation_over_get_is_refused(federation: Federation) -> None:
    status, _, _ = await send(federation, method="GET", params={"query": "mutation { anything }"})
    assert status == 405


async def test_a_form_encoded_post_is_refused(federation: Federation) -> None:
    # Forms are what a cross-site request can send without a preflight: never accepted.
    status, _, _ = await send(federation, data={"query": "{ participants { id } }"})
    assert status in {400, 415}


async def test_field_suggestions_are_not_given(federation: Federation) -> None:
    message = await refused(federation, "{ participant { id } }")
    assert "Did you mean" not in message
    assert "participants" not in message


async def test_no_ide_page_is_served(federation: Federation) -> None:
    status, content_type, text = await send(
        federation, method="GET", headers={"Accept": "text/html"}
    )
    assert status == 405
    assert "graphiql" not in text.lower()
    assert "text/html" not in content_type


async def test_no_tracing_extension_in_answers(federation: Federation) -> None:
    status, content_type, text = await send(
        federation, json_body={"query": "{ participants { id } }"}
    )
    assert status == 200
    assert content_type.startswith("application/json")
    body = json.loads(text)
    assert "tracing" not in json.dumps(body.get("extensions", {}))


async def test_no_exception_details_in_errors(federation: Federation) -> None:
    for query in (
        "{ participants { id }",
        "{ trace(lot: 5) { root } }",
        '{ trace(lot: "urn:oretrail:lot:nordvolt:x", maxDepth: -1) { root } }',
    ):
        _, _, text = await send(federation, json_body={"query": query})
        lowered = text.lower()
        assert "traceback" not in lowered
        assert "stacktrace" not in lowered
        assert '"exception"' not in lowered
