"""Every hostile token a verifier must refuse, on a frozen clock, with no key fetched."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey

from oretrail.auth.callers import CERTIFICATE_MAX_LIFETIME, USER_CERT_TYP
from oretrail.auth.gateway_auth import GATEWAY_TOKEN_LIFETIME, GATEWAY_TYP
from oretrail.auth.grants import GRANT_MAX_BYTES, GRANT_MAX_LIFETIME, GRANT_TYP
from oretrail.auth.keys import (
    JwksSource,
    KeyRing,
    SigningKey,
    TrustedKey,
    generate_signing_key,
    trusted_key_from_jwk,
)
from oretrail.auth.pinned import STATEMENT_MAX_LIFETIME, STATEMENT_TYP
from oretrail.auth.requests import JOB_LIFETIME, REQUEST_TYP
from oretrail.auth.roots import ROOTS_MAX_LIFETIME, ROOTS_TYP
from oretrail.auth.tokens import (
    FEDERATION,
    GATEWAY,
    ReplayCache,
    StaticKeys,
    VerifyPolicy,
    mint,
    org_issuer,
    verify,
)
from oretrail.errors import ConfigError, TokenRejected

NOW = 1_800_000_000
ALICE = generate_signing_key(org_issuer("nordvolt"), "nordvolt-1")
MALLORY = generate_signing_key(org_issuer("rivalauto"), "rivalauto-1")
NODE = "urn:oretrail:node:boreal-cobalt"
# Every verifier, configured as the gateway and the nodes configure them.
VERIFIERS = {
    "user-certificate": VerifyPolicy(USER_CERT_TYP, FEDERATION, CERTIFICATE_MAX_LIFETIME, False),
    # The gateway accepts a signed request once; nodes see it once per hop.
    "request-at-gateway": VerifyPolicy(REQUEST_TYP, FEDERATION, JOB_LIFETIME, True),
    "request-at-node": VerifyPolicy(REQUEST_TYP, FEDERATION, JOB_LIFETIME, False),
    "gateway-at-node": VerifyPolicy(GATEWAY_TYP, NODE, GATEWAY_TOKEN_LIFETIME, True),
    # A grant names up to a thousand lots and may be presented again (a retry, or as
    # an ancestor of a later grant, addressed to another node: its audience is
    # checked by the chain, tests/unit/test_grants.py).
    "grant-at-node": VerifyPolicy(
        GRANT_TYP, None, GRANT_MAX_LIFETIME, False, max_bytes=GRANT_MAX_BYTES
    ),
    "member-statement": VerifyPolicy(STATEMENT_TYP, FEDERATION, STATEMENT_MAX_LIFETIME, False),
    "root-list": VerifyPolicy(ROOTS_TYP, FEDERATION, ROOTS_MAX_LIFETIME, False),
}
ACCESS = VERIFIERS["request-at-gateway"]


class CountingKeys(StaticKeys):
    def __init__(self, *keys: SigningKey) -> None:
        ring = KeyRing()
        for key in keys:
            ring.add(key.trusted())
        super().__init__(ring)
        self.lookups = 0

    async def get(self, kid: str) -> TrustedKey | None:
        self.lookups += 1
        return await super().get(kid)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Current:
    policy: VerifyPolicy = ACCESS


CURRENT = Current()


@pytest.fixture(params=list(VERIFIERS), autouse=True)
def verifier(request: pytest.FixtureRequest) -> Iterator[VerifyPolicy]:
    """Every test here runs once per verifier: the gateway's and each of a node's two."""
    CURRENT.policy = VERIFIERS[request.param]
    yield CURRENT.policy
    CURRENT.policy = ACCESS


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ALICE.issuer,
        "sub": "alice@nordvolt",
        "aud": CURRENT.policy.audience or NODE,
        "iat": NOW - 10,
        "exp": NOW + 40,
        "jti": "j-1",
        "org": "nordvolt",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()


def forge(
    header: dict[str, Any],
    payload: dict[str, Any],
    sign: str = "ed25519",
    key: SigningKey = ALICE,
    secret: bytes = b"",
) -> str:
    """A JWS built by hand, so headers and algorithms can be anything an attacker likes."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if sign == "ed25519":
        signature = key.private.sign(signing_input.encode())
    elif sign == "hmac":
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    else:
        signature = b""
    return f"{signing_input}.{b64(signature)}"


def good_header(**overrides: Any) -> dict[str, Any]:
    header = {"alg": "EdDSA", "typ": CURRENT.policy.typ, "kid": ALICE.kid}
    header.update(overrides)
    return {k: v for k, v in header.items() if v is not DROP}


async def check(
    token: str,
    policy: VerifyPolicy | None = None,
    keys: Any = None,
    replay: ReplayCache | None = None,
    now: float = NOW,
) -> dict[str, Any]:
    """Verify with the current verifier; single-use ones get a fresh replay cache."""
    policy = policy or CURRENT.policy
    if replay is None and policy.single_use:
        replay = ReplayCache()
    return await verify(
        token, policy, keys or CountingKeys(ALICE, MALLORY), replay=replay, clock=lambda: now
    )


async def refused(token: str, reason: str, **kwargs: Any) -> None:
    with pytest.raises(TokenRejected, match=reason):
        await check(token, **kwargs)


async def test_a_token_longer_than_its_verifier_accepts_is_refused() -> None:
    # Padding in a claim: a signed, otherwise valid token just over the limit.
    padding = CURRENT.policy.max_bytes
    await refused(forge(good_header(), claims(pad="x" * padding)), "longer than")
    # Half as much padding is within the limit and accepted.
    assert (await check(forge(good_header(), claims(pad="x" * (padding // 2)))))["pad"]


async def test_a_well_formed_token_is_accepted() -> None:
    token = forge(good_header(), claims())
    assert (await check(token))["sub"] == "alice@nordvolt"
    policy = CURRENT.policy
    minted = mint(
        ALICE, policy.typ, {"sub": "a", "aud": policy.audience or NODE}, lifetime=60, now=NOW
    )
    assert (await check(minted))["iss"] == ALICE.issuer


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", None, ""])
async def test_alg_none_in_any_spelling_is_refused(alg: Any) -> None:
    await refused(forge(good_header(alg=alg), claims(), sign="none"), "algorithm")


def public_bytes(key: SigningKey, encoding: str) -> bytes:
    public = key.private.public_key()
    if encoding == "raw":
        return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if encoding == "pem":
        return public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return json.dumps(key.trusted().jwk()).encode()


@pytest.mark.parametrize("secret", ["raw", "pem", "jwk"])
async def test_hs256_signed_with_the_public_key_is_refused(secret: str) -> None:
    token = forge(
        good_header(alg="HS256"), claims(), sign="hmac", secret=public_bytes(ALICE, secret)
    )
    await refused(token, "algorithm 'HS256' is not accepted")


@pytest.mark.parametrize("alg", ["ES256", "RS256", "HS512", "PS256", "EdDSA ", "eddsa", "Ed25519"])
async def test_an_algorithm_other_than_the_keys_is_refused(alg: str) -> None:
    await refused(forge(good_header(alg=alg), claims()), "algorithm")


async def test_a_signature_on_the_wrong_curve_is_refused() -> None:
    ed448 = Ed448PrivateKey.generate()
    header, payload = good_header(), claims()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    token = f"{signing_input}.{b64(ed448.sign(signing_input.encode()))}"
    await refused(token, "signature does not verify|cannot be decoded")
    for crv in ("Ed448", "X25519", "P-256"):
        with pytest.raises(ConfigError, match="not an Ed25519"):
            trusted_key_from_jwk("x", {**ALICE.trusted().jwk(), "crv": crv})


@pytest.mark.parametrize("name", ["jku", "x5u", "jwk", "x5c"])
async def test_key_carrying_headers_are_refused_without_any_fetch(name: str) -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return {"keys": [MALLORY.trusted().jwk()]}

    value: Any = {
        "jku": "http://127.0.0.1:9/jwks.json",
        "x5u": "http://127.0.0.1:9/cert.pem",
        "jwk": MALLORY.trusted().jwk(),
        "x5c": ["MIIB..."],
    }[name]
    token = forge(good_header(**{name: value}, kid=MALLORY.kid), claims(), key=MALLORY)
    source = JwksSource({ALICE.issuer: "http://127.0.0.1:9/jwks.json"}, fetch)
    await refused(token, f"header '{name}' is not accepted", keys=source)
    assert fetched == []


@pytest.mark.parametrize(
    "kid",
    [
        "../../../etc/passwd",
        "' OR '1'='1' --",
        "k" * 10_240,
        123,
        None,
        ["nordvolt-1"],
        {"kid": "nordvolt-1"},
        "",
    ],
)
async def test_a_hostile_kid_is_refused_before_any_lookup(kid: Any) -> None:
    keys = CountingKeys(ALICE)
    await refused(
        forge(good_header(kid=kid), claims()), "key id|longer than|well-formed", keys=keys
    )
    assert keys.lookups == 0


async def test_a_valid_signature_by_another_partys_key_is_refused() -> None:
    # Mallory signs with her own trusted key but claims to be Alice's issuer.
    token = forge(good_header(kid=MALLORY.kid), claims(), key=MALLORY)
    await refused(token, "issuer does not match")
    # Mallory signs but names Alice's key id.
    await refused(forge(good_header(), claims(), key=MALLORY), "signature does not verify")


async def test_an_unknown_crit_header_is_refused() -> None:
    await refused(forge(good_header(crit=["exp-policy"]), claims()), "critical header|well-formed")


@pytest.mark.parametrize("typ", [DROP, "JWT", "jwt", "OTHER", "", 7])
async def test_a_missing_or_wrong_typ_is_refused(typ: Any) -> None:
    own = CURRENT.policy.typ
    if typ == "OTHER":  # a grant shown as a signed request, and the reverse
        typ = GRANT_TYP if own == REQUEST_TYP else REQUEST_TYP
    await refused(forge(good_header(typ=typ), claims()), f"token type is not {re.escape(own)}")


@pytest.mark.parametrize("claim", ["exp", "aud", "iss", "sub", "jti", "iat"])
async def test_a_missing_required_claim_is_refused(claim: str) -> None:
    await refused(forge(good_header(), claims(**{claim: DROP})), f"required claim '{claim}'")


async def test_expiry_on_a_frozen_clock_just_past_and_just_inside_the_leeway() -> None:
    token = forge(good_header(), claims(exp=NOW))
    leeway = CURRENT.policy.leeway
    assert (await check(token, now=NOW + leeway - 1))["exp"] == NOW
    await refused(token, "expired", now=NOW + leeway)


@pytest.mark.parametrize("claim", ["iat", "nbf"])
async def test_iat_or_nbf_in_the_future_is_refused(claim: str) -> None:
    token = forge(good_header(), claims(**{claim: NOW + 60, "exp": NOW + 120}))
    await refused(token, "future|not valid yet")
    leeway = CURRENT.policy.leeway
    inside = forge(good_header(), claims(**{claim: NOW + leeway, "exp": NOW + leeway + 30}))
    assert (await check(inside))["sub"] == "alice@nordvolt"


@pytest.mark.parametrize("exp", [str(NOW + 300), [NOW + 300], {"at": NOW + 300}, True, 1.8e9])
async def test_exp_of_the_wrong_type_is_refused(exp: Any) -> None:
    await refused(forge(good_header(), claims(exp=exp)), "not a number of seconds")


async def test_a_lifetime_over_the_maximum_is_refused() -> None:
    longest = CURRENT.policy.max_lifetime
    token = forge(good_header(), claims(iat=NOW, exp=NOW + longest + 1, jti="long"))
    await refused(token, f"lifetime exceeds {longest} s")
    within = forge(good_header(), claims(iat=NOW, exp=NOW + longest, jti="ok"))
    assert (await check(within))["jti"] == "ok"


@pytest.mark.parametrize(
    "aud",
    ["", [], "OTHER", ["OWN", "OTHER"], ["OTHER"], "OWN/", None, "urn:oretrail:node:boreal"],
)
async def test_a_wrong_audience_is_refused(aud: Any) -> None:
    own = CURRENT.policy.audience
    if own is None:
        # Grants: verify() requires one audience; the chain checks which (test_grants).
        if isinstance(aud, str) or aud == ["OTHER"]:
            return
        own = NODE
    other = GATEWAY if own != GATEWAY else "urn:oretrail:node:nordic-nickel"
    names = {"OWN": own, "OTHER": other, "OWN/": own + "/"}
    aud = [names.get(a, a) for a in aud] if isinstance(aud, list) else names.get(aud, aud)
    await refused(forge(good_header(), claims(aud=aud)), "audience")


@pytest.mark.parametrize(
    "iss",
    [
        "urn:oretrail:org:nordvolt-evil",
        "urn:oretrail:org:nordvol",
        "urn:oretrail:org:nordvolt/",
        "URN:ORETRAIL:ORG:NORDVOLT",
        " urn:oretrail:org:nordvolt",
        GATEWAY,
    ],
)
async def test_issuer_prefix_tricks_are_refused(iss: str) -> None:
    await refused(forge(good_header(), claims(iss=iss)), "issuer does not match")


async def test_a_replayed_jti_is_refused_by_single_use_verifiers() -> None:
    replay = ReplayCache()
    token = forge(good_header(), claims(exp=NOW + 30, jti="once"))
    assert (await check(token, replay=replay))["jti"] == "once"
    if CURRENT.policy.single_use:
        await refused(token, "already used", replay=replay)
    else:  # a caller's access token is a bearer token, reusable until it expires
        assert (await check(token, replay=replay))["jti"] == "once"


async def test_a_random_kid_flood_costs_one_fetch_per_cooldown() -> None:
    fetched: list[str] = []
    now = [0.0]

    async def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return {"keys": [ALICE.trusted().jwk()]}

    source = JwksSource(
        {ALICE.issuer: "http://127.0.0.1:9/jwks.json"}, fetch, cooldown=300, clock=lambda: now[0]
    )
    for n in range(1000):
        await refused(forge(good_header(kid=f"random-{n}"), claims()), "not trusted", keys=source)
    assert len(fetched) == 1
    assert (await check(forge(good_header(), claims()), keys=source))["sub"]
    now[0] = 301.0
    await refused(forge(good_header(kid="random-x"), claims()), "not trusted", keys=source)
    assert len(fetched) == 2


async def test_garbage_is_refused() -> None:
    for token in ["", "abc", "a.b.c", "a.b", "....", "e30.e30.", 42, None, b"x.y.z"]:
        await refused(token, "token|JWS|algorithm")  # type: ignore[arg-type]


@pytest.mark.parametrize("odd", ["\ud800", "é", "\x00", "\u2028"])
async def test_a_token_with_characters_outside_ascii_is_refused(odd: str) -> None:
    head, payload, signature = forge(good_header(), claims()).split(".")
    for token in (f"{head}.{payload[:-1]}{odd}.{signature}", f"{head}.{payload}.{signature}{odd}"):
        await refused(token, "well-formed|cannot be decoded|signature")


def segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "header",
    [
        segment(b"[" * 1500 + b"]" * 1500),  # nested deeper than the JSON decoder goes
        segment(b"\xff\xfe{}"),  # not UTF-8
        segment(b'{"alg": "EdDSA"'),  # cut short
        "e30*",  # a character outside base64url
        "e30=e30",  # padding inside the segment
        "e30=",  # padding at all: JWS segments are unpadded
        # Valid JSON in the standard alphabet ('/' where base64url has '_').
        segment(b'{"alg":"EdDSA","kid":"k?>"}').replace("_", "/"),
    ],
)
async def test_a_hostile_header_is_refused_as_malformed(header: str) -> None:
    body = forge(good_header(), claims())
    await refused(header + body[body.index(".") :], "well-formed")


@pytest.mark.parametrize("claim", ["sub", "jti"])
@pytest.mark.parametrize("odd", ["x\ud800", "\udfff", "a\nb", "tab\there"])
async def test_a_lone_surrogate_or_control_character_in_sub_or_jti_is_refused(
    claim: str, odd: str
) -> None:
    await refused(forge(good_header(), claims(**{claim: odd})), "lone surrogate or a control")
