"""A node's pinned registry changes only by its member's own signed statement."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from oretrail.auth.keys import generate_signing_key
from oretrail.auth.pinned import STATEMENT_TYP, load_pinned
from oretrail.auth.tokens import FEDERATION, mint, node_issuer, org_issuer
from oretrail.errors import ConfigError, TokenRejected
from tests.unit.trust_fixtures import KEYS, pinned


def statement(key_org: str, about: str, member: object, *, iat: float | None = None) -> str:
    key = KEYS.member(key_org).org_key
    claims = {"sub": org_issuer(about), "aud": FEDERATION, "member": member}
    return mint(key, STATEMENT_TYP, claims, lifetime=600, now=iat)


async def test_a_statement_signed_with_the_members_current_key_takes_effect() -> None:
    registry = pinned()
    new_key = generate_signing_key(org_issuer("nordvolt"), "nordvolt-rotated")
    await registry.apply_statement(
        statement("nordvolt", "nordvolt", {"org_keys": [new_key.trusted().jwk()], "roles": ["OEM"]})
    )
    assert await registry.org_keys.get("nordvolt-rotated") is not None
    assert await registry.org_keys.get(KEYS.member("nordvolt").org_key.kid) is None
    assert registry.roles("nordvolt") == {"OEM"}


async def test_a_statement_about_another_member_is_refused() -> None:
    registry = pinned()
    with pytest.raises(TokenRejected, match="its own signer"):
        await registry.apply_statement(statement("rivalauto", "nordvolt", {"roles": ["AUDITOR"]}))
    assert registry.roles("nordvolt") == {"OEM", "PACK"}


async def test_a_statement_signed_by_the_gateway_or_a_node_key_is_refused() -> None:
    registry = pinned()
    for key in (KEYS.gateway, KEYS.member("nordvolt").node_key):
        claims = {"sub": key.issuer, "aud": FEDERATION, "member": {"roles": ["AUDITOR"]}}
        token = mint(key, STATEMENT_TYP, claims, lifetime=60)
        with pytest.raises(TokenRejected):
            await registry.apply_statement(token)
    assert registry.roles("nordvolt") == {"OEM", "PACK"}


async def test_an_older_statement_never_undoes_a_newer_one() -> None:
    registry = pinned()
    now = time.time()
    newer = statement("nordvolt", "nordvolt", {"roles": ["OEM"]}, iat=now)
    older = statement("nordvolt", "nordvolt", {"roles": ["OEM", "AUDITOR"]}, iat=now - 10)
    await registry.apply_statement(newer)
    with pytest.raises(TokenRejected, match="not newer"):
        await registry.apply_statement(older)
    assert registry.roles("nordvolt") == {"OEM"}


@pytest.mark.parametrize(
    "member",
    [{}, {"gateway": []}, {"org_keys": []}, {"roles": "OEM"}, {"org_keys": [{"kty": "RSA"}]}],
)
async def test_a_statement_that_cannot_be_applied_is_refused(member: object) -> None:
    registry = pinned()
    with pytest.raises(TokenRejected):
        await registry.apply_statement(statement("nordvolt", "nordvolt", member))
    assert registry.roles("nordvolt") == {"OEM", "PACK"}


async def test_an_applied_statement_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "pinned.json"
    path.write_text(json.dumps(pinned().to_json()))
    registry = load_pinned(path)
    await registry.apply_statement(statement("nordvolt", "nordvolt", {"endpoint": "http://x"}))
    member = load_pinned(path).member("nordvolt")
    assert member is not None
    assert member.endpoint == "http://x"


def test_node_keys_are_pinned_under_their_own_issuer() -> None:
    member = pinned().member("boreal-cobalt")
    assert member is not None
    assert [k.issuer for k in member.node_keys] == [node_issuer("boreal-cobalt")]


@pytest.mark.parametrize(
    "body",
    ["[]", '{"members": [], "gateway": []}', '{"members": {"x": {"roles": [1]}}}', '{"extra": 1}'],
)
def test_a_broken_pinned_file_is_refused_naming_it(tmp_path: Path, body: str) -> None:
    path = tmp_path / "pinned.json"
    path.write_text(body)
    with pytest.raises(ConfigError, match=r"pinned\.json"):
        load_pinned(path)
