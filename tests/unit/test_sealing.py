"""Sealed figures: only the audience node opens them, and nothing but the plain header."""

from __future__ import annotations

import json

import pytest
from jwcrypto import jwe, jwk

from oretrail.auth.sealing import EncryptionKey, open_sealed, seal
from oretrail.errors import TokenRejected

KEY = EncryptionKey.generate("boreal-cobalt")


def test_figures_sealed_to_a_node_open_only_with_its_key() -> None:
    sealed = seal({"C1/S1": 2_900.0}, KEY.public_jwk())
    assert open_sealed(sealed, KEY) == {"C1/S1": 2_900.0}
    with pytest.raises(TokenRejected, match="cannot be opened"):
        open_sealed(sealed, EncryptionKey.generate("other"))


def hand_sealed(plaintext: bytes, **header: str) -> str:
    protected = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": KEY.kid, **header}
    token = jwe.JWE(plaintext, protected=json.dumps(protected))
    token.add_recipient(jwk.JWK(**KEY.public_jwk()))
    sealed: str = token.serialize(compact=True)
    return sealed


def test_compressed_figures_are_refused_before_they_are_inflated() -> None:
    # 2 MB of zeros deflate to a few kilobytes: a zip bomb for a node that inflates it.
    bomb = hand_sealed(('{"a/b": [' + "0," * 1_000_000 + "0]}").encode(), zip="DEF")
    assert len(bomb) < 64 * 1024
    with pytest.raises(TokenRejected, match="header this node does not accept"):
        open_sealed(bomb, KEY)


@pytest.mark.parametrize(
    "figures",
    [b'{"a/b": -1}', b'{"a/b": 0}', b'{"a/b": "1"}', b"[1]", b'{"a/b": 1e999}'],
)
def test_sealed_figures_must_be_positive_kilograms(figures: bytes) -> None:
    with pytest.raises(TokenRejected):
        open_sealed(hand_sealed(figures), KEY)


def test_garbage_is_refused() -> None:
    for garbage in (None, "", "a.b.c", "é.é.é.é.é", "x" * 70_000):
        with pytest.raises(TokenRejected):
            open_sealed(garbage, KEY)
