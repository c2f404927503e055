"""Signed requests and user certificates: only a caller's own certified key makes one."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from oretrail.auth.callers import USER_CERT_TYP, UserIdentity, certify_user, verify_certificate
from oretrail.auth.keys import SigningKey, thumbprint
from oretrail.auth.requests import (
    REQUEST_TYP,
    RequestContext,
    sign_request,
    variables_hash,
    verify_request,
)
from oretrail.auth.tokens import FEDERATION, ReplayCache, mint, org_issuer
from oretrail.errors import ConfigError, TokenRejected
from tests.unit.trust_fixtures import KEYS, PACK, pinned, user

TEXTS = {"purpose": "", "doc": "", "vars": ""}
CONTEXT = RequestContext(
    op="trace", roots=(PACK,), depth=20, as_of=datetime(2026, 11, 30, tzinfo=UTC), doc="d", vars="v"
)


async def test_a_certified_users_request_verifies_with_its_context() -> None:
    ann = user()
    request = await verify_request(sign_request(ann, CONTEXT), ann.certificate, pinned().org_keys)
    assert (request.org, request.sub) == ("nordvolt", "ann@nordvolt")
    assert request.context == CONTEXT


async def test_the_gateway_accepts_a_request_once() -> None:
    ann, replay = user(), ReplayCache()
    token = sign_request(ann, CONTEXT)
    await verify_request(token, ann.certificate, pinned().org_keys, replay=replay)
    with pytest.raises(TokenRejected, match="already used"):
        await verify_request(token, ann.certificate, pinned().org_keys, replay=replay)


async def test_a_request_signed_by_the_organisation_key_itself_is_refused() -> None:
    """Users sign with their own keys; the organisation key only certifies them."""
    ann = user()
    org_signed = mint(
        KEYS.member("nordvolt").org_key,
        REQUEST_TYP,
        {"sub": ann.sub, "aud": FEDERATION, "txn": "t", "ctx": CONTEXT.to_claims()},
        lifetime=60,
    )
    with pytest.raises(TokenRejected, match="not trusted"):
        await verify_request(org_signed, ann.certificate, pinned().org_keys)


async def test_a_certificate_from_another_organisations_key_is_refused() -> None:
    """rivalauto certifies a key as a nordvolt user: the issuer does not match its key."""
    rival_key = KEYS.member("rivalauto").org_key
    impostor = SigningKey(org_issuer("nordvolt"), rival_key.kid, rival_key.private)
    mallory = UserIdentity.generate(impostor, "mallory@nordvolt")
    with pytest.raises(TokenRejected, match="issuer does not match"):
        await verify_certificate(mallory.certificate, pinned().org_keys)


async def test_a_request_with_another_users_certificate_is_refused() -> None:
    ann, bob = user(), KEYS.user("nordvolt", "bob@nordvolt")
    with pytest.raises(TokenRejected, match="not trusted"):
        await verify_request(sign_request(ann, CONTEXT), bob.certificate, pinned().org_keys)


def test_a_certificate_lasts_at_most_twelve_hours() -> None:
    with pytest.raises(ConfigError, match="at most 43200"):
        KEYS.user("nordvolt", lifetime=12 * 3600 + 1)


async def test_a_hand_made_certificate_over_twelve_hours_is_refused() -> None:
    private = Ed25519PrivateKey.generate()
    key = SigningKey(org_issuer("nordvolt"), thumbprint(private.public_key()), private)
    claims = {"sub": "ann", "aud": FEDERATION, "cnf": {"jwk": key.trusted().jwk()}}
    long = mint(KEYS.member("nordvolt").org_key, USER_CERT_TYP, claims, lifetime=13 * 3600)
    with pytest.raises(TokenRejected, match="lifetime exceeds"):
        await verify_certificate(long, pinned().org_keys)


async def test_an_expired_certificate_is_refused() -> None:
    ann = KEYS.user("nordvolt", lifetime=60)
    later = time.time() + 3600
    with pytest.raises(TokenRejected, match="expired"):
        await verify_certificate(ann.certificate, pinned().org_keys, clock=lambda: later)


async def test_an_interactive_request_lasts_at_most_five_minutes() -> None:
    ann = user()
    long = sign_request(ann, CONTEXT, lifetime=301)
    with pytest.raises(TokenRejected, match="at most 300"):
        await verify_request(long, ann.certificate, pinned().org_keys)


async def test_an_expired_request_is_refused() -> None:
    ann = user()
    token = sign_request(ann, CONTEXT, lifetime=10)
    later = time.time() + 60
    with pytest.raises(TokenRejected, match="expired"):
        await verify_request(token, ann.certificate, pinned().org_keys, clock=lambda: later)


def test_a_certificate_key_id_is_the_keys_thumbprint() -> None:
    ann = user()
    assert ann.key.kid == thumbprint(ann.key.private.public_key())
    assert certify_user(KEYS.member("nordvolt").org_key, "x", ann.key.trusted())


@pytest.mark.parametrize(
    "ctx",
    [
        None,
        {"op": "delete", "roots": [], "depth": 1},
        {"op": "trace", "roots": "urn:x", "depth": 1},
        {"op": "trace", "roots": [], "depth": -1},
        {"op": "trace", "roots": [], "depth": True},
        {"op": "trace", "roots": [], "depth": 1, "as_of": "yesterday", **TEXTS},
        {"op": "trace", "roots": [], "depth": 1, "as_of": "2026-11-30T00:00:00", **TEXTS},
    ],
)
async def test_a_request_without_a_usable_context_is_refused(ctx: object) -> None:
    ann = user()
    claims = {"sub": ann.sub, "aud": FEDERATION, "txn": "t", "ctx": ctx}
    token = mint(ann.key, REQUEST_TYP, claims, lifetime=60)
    with pytest.raises(TokenRejected, match="signed request"):
        await verify_request(token, ann.certificate, pinned().org_keys)


def test_variables_are_hashed_over_rfc_8785_canonical_json() -> None:
    # Key order and number spelling do not change the hash; values do.
    assert variables_hash({"b": 1.0, "a": "x"}) == variables_hash({"a": "x", "b": 1})
    assert variables_hash({"a": "x"}) != variables_hash({"a": "y"})
    assert variables_hash(None) == variables_hash({})
