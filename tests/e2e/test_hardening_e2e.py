"""Hostile requests at every HTTP edge: a clear 4xx with a JSON error, then service as usual.

Each case is sent to the gateway and to a node of the served sample federation, with
and without a caller's token (the edge refuses before it authenticates), and is
followed by a normal trace through the gateway and its nodes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from oretrail.auth.callers import UserIdentity
from oretrail.auth.gateway_auth import gateway_token
from oretrail.auth.principal import HEADER_CERTIFICATE, HEADER_GATEWAY
from oretrail.auth.requests import RequestContext, sign_request
from oretrail.auth.tokens import token_hash
from oretrail.body_guard import MAX_BODY_BYTES, NODE_MAX_BODY_BYTES
from oretrail.bootstrap import Federation
from oretrail.client import signed_headers
from oretrail.errors import OretrailError
from oretrail.report import TRACE_QUERY
from tests.conftest import CONFIG_DIR, PACK, ROOT, graphql, oem_token

pytestmark = pytest.mark.e2e

NODE = "kasulo-coop"
FORTY_MB = 40 * 1024 * 1024
PARTICIPANTS = json.dumps({"query": "{ participants { id } }"}).encode()


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    text: str


async def post(
    url: str,
    data: bytes | AsyncIterator[bytes],
    *,
    token: str | UserIdentity | dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Answer:
    """POST raw bytes (or a stream), returning the status and the body, decoded if JSON.

    A user signs a request for the body when it is a JSON object (else for a plain
    query: the edge refuses such bodies before it authenticates); a dict is sent as
    headers; a string as a raw bearer token.
    """
    headers = {"Content-Type": content_type}
    if isinstance(token, UserIdentity):
        try:
            payload = json.loads(data) if isinstance(data, bytes) else None
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            payload = {"query": "{ participants { id } }"}
        try:
            headers.update(signed_headers(token, payload))
        except OretrailError:  # nothing can be signed over a lone surrogate (RFC 8785)
            headers.update(signed_headers(token, {"query": "{ participants { id } }"}))
    elif isinstance(token, dict):
        headers.update(token)
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers=headers) as response,
    ):
        text = await response.text()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return Answer(response.status, body, text)


def assert_refused(answer: Answer, status: int, code: str, *words: str) -> str:
    """A GraphQL-style JSON error with this status and code, and no trace of a traceback."""
    assert answer.status == status, answer.text
    assert "traceback" not in answer.text.lower(), answer.text
    assert isinstance(answer.body, dict), answer.text
    [error] = answer.body["errors"]
    assert error["extensions"]["code"] == code, answer.text
    message: str = error["message"]
    for word in words:
        assert word in message, message
    return message


async def assert_still_serving(federation: Federation) -> None:
    """A normal trace of the sample pack succeeds: gateway and nodes serve as before."""
    body = await graphql(
        federation.gateway_url,
        TRACE_QUERY,
        {"lot": PACK, "asOf": "2026-11-26"},
        token=oem_token(federation),
    )
    assert "errors" not in body, body
    # The pack reaches its seven origins (tests/e2e/test_trace_e2e.py names them).
    assert len(body["data"]["trace"]["origins"]) == 7


def node_token(
    federation: Federation, org: str = NODE, sub: str = "analyst@nordvolt"
) -> dict[str, str]:
    """The headers the gateway forwards to one node: a nordvolt user's signed request,
    its certificate, and a gateway token for this node."""
    user = federation.keys.user("nordvolt", sub)
    request = sign_request(user, RequestContext(op="trace", roots=(PACK,)))
    return {
        "Authorization": f"Bearer {request}",
        HEADER_CERTIFICATE: user.certificate,
        HEADER_GATEWAY: gateway_token(federation.keys.gateway, org, token_hash(request)),
    }


def url_of(federation: Federation, target: str) -> str:
    return federation.gateway_url if target == "gateway" else federation.node_urls[NODE]


DEEP = 100_000
# Each body is refused with 400 BAD_INPUT; the words are in the message.
HOSTILE_BODIES = {
    "nested 100,000 deep": (
        b'{"query": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        "nests deeper than",
    ),
    "invalid UTF-8 bytes": (b"\xff\xfe" + PARTICIPANTS, "not valid UTF-8"),
    # 0xC3 opens a two-byte sequence that "(" (0x28) cannot continue: byte 31 is 0xC3
    # ('{"query": "{ participants { id ' is 31 bytes: 0 to 30).
    "invalid UTF-8 in a string": (
        b'{"query": "{ participants { id \xc3\x28 } }"}',
        "not valid UTF-8 (at byte 31)",
    ),
    # U+D800 encoded as bytes (CESU-8): json.loads(bytes) would let it through.
    "an encoded surrogate in a string": (
        b'{"query": "{ participants { id } }", "operationName": "\xed\xa0\x80"}',
        "not valid UTF-8",
    ),
    "a lone surrogate in the query text": (
        b'{"query": "{ participants { id } } # \\ud800"}',
        "lone surrogate",
    ),
    "a lone surrogate in the variables": (
        b'{"query": "query($lot: ID!) { trace(lot: $lot) { root } }", '
        b'"variables": {"lot": "urn:oretrail:lot:nordvolt:\\udc00"}}',
        "lone surrogate",
    ),
    "a lone surrogate in a key": (
        b'{"query": "{ participants { id } }", "variables": {"\\udbff": 1}}',
        "lone surrogate",
    ),
    "not JSON": (b'{"query": ', "not JSON"),
    "NaN, which JSON does not have": (b'{"query": "{ participants { id } }", "x": NaN}', "NaN"),
    "a number of 10,000 digits": (
        b'{"query": "{ participants { id } }", "x": ' + b"9" * 10_000 + b"}",
        "number too long",
    ),
    # Once strawberry's crash (a JSON scalar has no .get) or its plain-text answers.
    "a bare JSON scalar": (b"1", "one JSON object"),
    "null": (b"null", "one JSON object"),
    "a batch": (b"[" + PARTICIPANTS + b"]", "batches are not accepted"),
    "a query that is not a string": (
        b'{"query": ["{ participants { id } }"]}',
        "query must be a string",
    ),
    "variables that are not an object": (
        b'{"query": "{ participants { id } }", "variables": [1]}',
        "variables must be a JSON object",
    ),
    "no query at all": (b'{"variables": {}}', "no GraphQL document"),
}


@pytest.mark.parametrize("authenticated", [True, False], ids=["with-token", "no-token"])
@pytest.mark.parametrize("target", ["gateway", "node"])
@pytest.mark.parametrize("case", list(HOSTILE_BODIES))
async def test_a_hostile_body_gets_400_and_the_service_keeps_serving(
    federation: Federation, case: str, target: str, authenticated: bool
) -> None:
    body, words = HOSTILE_BODIES[case]
    token = oem_token(federation) if authenticated else None
    answer = await post(url_of(federation, target), body, token=token)
    assert_refused(answer, 400, "BAD_INPUT", words)
    await assert_still_serving(federation)


async def slow_stream(total: int, sent: list[int]) -> AsyncIterator[bytes]:
    """``total`` bytes in 64 KiB chunks, 1 ms apart (>= 0.64 s for 40 MB), counted."""
    chunk = b" " * 65536
    while sent[0] < total:
        sent[0] += len(chunk)
        yield chunk
        await asyncio.sleep(0.001)


@pytest.mark.parametrize("authenticated", [True, False], ids=["with-token", "no-token"])
@pytest.mark.parametrize(
    ("target", "limit"), [("gateway", MAX_BODY_BYTES), ("node", NODE_MAX_BODY_BYTES)]
)
async def test_a_40_mb_stream_gets_413_long_before_it_is_sent(
    federation: Federation, target: str, limit: int, authenticated: bool
) -> None:
    sent = [0]
    token = oem_token(federation) if authenticated else None
    started = time.monotonic()
    answer = await post(url_of(federation, target), slow_stream(FORTY_MB, sent), token=token)
    elapsed = time.monotonic() - started
    assert_refused(answer, 413, "BAD_INPUT", f"larger than {limit} bytes")
    # Refused once the limit was passed: the client had not sent the rest yet
    # (40 MB takes >= 0.64 s at this pace; 4 MiB is 64 chunks).
    assert sent[0] < FORTY_MB, sent[0]
    assert elapsed < 5, elapsed
    await assert_still_serving(federation)


@pytest.mark.parametrize("target", ["gateway", "node"])
async def test_a_declared_40_mb_body_is_refused_before_any_of_it_is_read(
    federation: Federation, target: str
) -> None:
    # Only the headers are sent: an answer proves the server did not wait for the body.
    url = urlsplit(url_of(federation, target))
    assert url.hostname is not None
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(
            f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {FORTY_MB}\r\n\r\n".encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        payload = await asyncio.wait_for(reader.readexactly(length), timeout=5)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413 "), head
    assert json.loads(payload)["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    await assert_still_serving(federation)


@pytest.mark.parametrize("target", ["gateway", "node"])
async def test_a_body_that_is_not_json_gets_415(federation: Federation, target: str) -> None:
    answer = await post(
        url_of(federation, target),
        b"query=%7B+participants+%7B+id+%7D+%7D",
        token=oem_token(federation),
        content_type="application/x-www-form-urlencoded",
    )
    assert_refused(answer, 415, "BAD_INPUT", "application/json")
    latin = await post(
        url_of(federation, target), PARTICIPANTS, content_type="application/json; charset=latin-1"
    )
    assert_refused(latin, 415, "BAD_INPUT", "UTF-8")
    await assert_still_serving(federation)


TEN_INCLUDES = "{ participants { id" + " @include(if: true)" * 10 + " } }"


async def test_ten_repeated_directives_get_one_error_at_the_gateway(
    federation: Federation,
) -> None:
    answer = await post(
        federation.gateway_url,
        json.dumps({"query": TEN_INCLUDES}).encode(),
        token=oem_token(federation),
    )
    # A document that fails validation is answered like any other invalid document
    # (GraphQL over HTTP, application/json): no data, and here one error, not nine.
    assert answer.status in {200, 400}, answer.text
    assert answer.body["data"] is None
    message = assert_refused(
        Answer(400, answer.body, answer.text), 400, "BAD_INPUT", "@include", "at most once"
    )
    assert "more than" not in message
    await assert_still_serving(federation)


async def test_ten_repeated_directives_get_one_error_at_a_node(federation: Federation) -> None:
    answer = await post(
        federation.node_urls[NODE],
        json.dumps({"query": "{ organisation { id" + " @skip(if: false)" * 10 + " } }"}).encode(),
        token=node_token(federation),
    )
    assert answer.status in {200, 400}, answer.text
    assert answer.body["data"] is None
    assert_refused(Answer(400, answer.body, answer.text), 400, "BAD_INPUT", "@skip")
    await assert_still_serving(federation)


@pytest.mark.parametrize("sub", ["mallory\ud800", "\udfff", "a\udbff\udbffb"])
async def test_a_token_whose_sub_holds_a_lone_surrogate_gets_401(
    federation: Federation, sub: str
) -> None:
    at_gateway = await post(
        federation.gateway_url,
        PARTICIPANTS,
        token=federation.keys.user("nordvolt", sub),
    )
    assert_refused(at_gateway, 401, "UNAUTHENTICATED", "lone surrogate")
    at_node = await post(
        federation.node_urls[NODE],
        json.dumps({"query": "{ organisation { id } }"}).encode(),
        token=node_token(federation, sub=sub),
    )
    assert_refused(at_node, 401, "UNAUTHENTICATED", "lone surrogate")
    await assert_still_serving(federation)


async def test_a_lone_surrogate_as_a_graphql_escape_is_a_syntax_error(
    federation: Federation,
) -> None:
    # The JSON is clean (a backslash, then "ud800"); GraphQL's own string escape
    # would make the lone surrogate, and the parser refuses it (GraphQL spec, 2021+).
    query = '{ trace(lot: "urn:oretrail:lot:nordvolt:\\ud800") { root } }'
    answer = await post(
        federation.gateway_url, json.dumps({"query": query}).encode(), token=oem_token(federation)
    )
    assert answer.status in {200, 400}, answer.text
    assert answer.body["data"] is None
    [error] = answer.body["errors"]
    assert "Invalid Unicode escape sequence" in error["message"]
    await assert_still_serving(federation)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_a_token_whose_sub_holds_a_surrogate_encoded_as_bytes_gets_401(
    federation: Federation,
) -> None:
    # Python's json reads bytes with "surrogatepass", so a signature-valid token whose
    # sub is "x" + ED A0 80 (U+D800 in CESU-8) would reach the verifier as a lone surrogate.
    user = federation.user("nordvolt")
    signed = signed_headers(user, {"query": "{ participants { id } }"})
    header, payload, _ = signed["Authorization"].removeprefix("Bearer ").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw = json.dumps({**claims, "sub": "x@@"}).encode().replace(b"x@@", b"x\xed\xa0\x80")
    signing_input = f"{header}.{b64url(raw)}"
    signature = user.key.private.sign(signing_input.encode())
    answer = await post(
        federation.gateway_url,
        PARTICIPANTS,
        token={
            "Authorization": f"Bearer {signing_input}.{b64url(signature)}",
            HEADER_CERTIFICATE: user.certificate,
        },
    )
    assert_refused(answer, 401, "UNAUTHENTICATED", "lone surrogate")
    await assert_still_serving(federation)


@pytest.mark.parametrize("target", ["gateway", "node"])
async def test_a_token_in_any_header_holding_a_lone_surrogate_gets_401(
    federation: Federation, target: str
) -> None:
    # Certificates and signed requests travel in headers of their own, not only as bearer.
    hostile = federation.keys.user("nordvolt", "\udc00").certificate
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url_of(federation, target),
            data=PARTICIPANTS,
            headers={"Content-Type": "application/json", "Oretrail-User-Certificate": hostile},
        ) as response,
    ):
        answer = Answer(response.status, await response.json(), "")
    message = assert_refused(answer, 401, "UNAUTHENTICATED", "lone surrogate")
    assert "'oretrail-user-certificate'" in message
    await assert_still_serving(federation)


async def forbidden_fields(federation: Federation, token: UserIdentity, query: str) -> set[str]:
    """The fields refused FORBIDDEN, whether at the HTTP edge (403) or by the schema."""
    answer = await post(federation.gateway_url, json.dumps({"query": query}).encode(), token=token)
    assert answer.status in {200, 403}, answer.text
    if answer.status == 403:
        # Refused whole: an NGO or auditor may send approved queries only.
        assert_refused(answer, 403, "FORBIDDEN")
        return {"*"}
    assert answer.body.get("data") is None, answer.text
    assert {e["extensions"]["code"] for e in answer.body["errors"]} == {"FORBIDDEN"}
    return {e["path"][0] for e in answer.body["errors"]}


MODEL_FIELDS = (
    "{ participants { id } traceHistory { id } "
    'exposedProducts(lot: "urn:oretrail:lot:kasulo-coop:HG-2026-007") }'
)
QUERIES_AND_FIELDS = [
    ("{ participants { id } }", {"participants"}),
    ("{ traceHistory { id } }", {"traceHistory"}),
    ('{ exposedProducts(lot: "urn:oretrail:lot:kasulo-coop:HG-2026-007") }', {"exposedProducts"}),
]


# Roles come from the registry only (a signed request carries none to claim): the
# registered NGO and auditor are refused; a request claiming roles changes nothing.
@pytest.mark.parametrize("org", ["transparency-watch", "assurance-partners"])
async def test_callers_without_a_registered_tracing_role_read_nothing_of_the_model(
    federation: Federation, org: str
) -> None:
    token = federation.user(org)
    for query, fields in QUERIES_AND_FIELDS:
        refused = await forbidden_fields(federation, token, query)
        assert refused in ({"*"}, fields), (query, refused)
    # The pack's maker, with its registered roles, still reads them.
    body = await graphql(federation.gateway_url, MODEL_FIELDS, token=oem_token(federation))
    assert "errors" not in body, body
    assert "nordvolt" in {p["id"] for p in body["data"]["participants"]}


def test_a_node_with_a_mistyped_policy_key_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    policy = config / "policies" / "boreal-cobalt.toml"
    text = policy.read_text(encoding="utf-8")
    # The self rule, meant for boreal-cobalt only, with the organisations key mistyped:
    # read loosely, it would grant every group to every caller's own lots.
    assert '[[rules]]\nrelation = "self"\n' in text
    policy.write_text(
        text.replace(
            '[[rules]]\nrelation = "self"\n',
            '[[rules]]\nrelation = "self"\norganisations = ["boreal-cobalt"]\n',
        ),
        encoding="utf-8",
    )
    line = text.splitlines().index('relation = "self"') + 2  # 1-based, the line after it
    keys = tmp_path / "keys"
    run = [sys.executable, "-m", "oretrail"]
    for step in (["generate"], ["export"]):
        made = subprocess.run(
            [*run, "keys", *step, "--dir", str(keys)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert made.returncode == 0, made.stderr
    serve = subprocess.run(
        [
            *run,
            "--config",
            str(config),
            "serve",
            "node",
            "--org",
            "boreal-cobalt",
            "--port",
            "1",
            "--keys",
            str(keys),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert serve.returncode == 2, serve.stdout + serve.stderr
    assert f"{policy}, line {line}, rules[0]: unknown key 'organisations'" in serve.stderr
    assert "Traceback" not in serve.stderr
