"""Signed answers and receipts: the shapes of the wire contract, and their checks."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oretrail.auth.checkpoint import (
    CheckpointRejected,
    key_id,
    log_origin,
    sign_checkpoint,
    verify_checkpoint,
)
from oretrail.auth.keys import SigningKey, generate_signing_key
from oretrail.auth.merkle import EMPTY_ROOT
from oretrail.auth.tokens import node_issuer
from oretrail.auth.witness import (
    EvidenceRejected,
    Receipt,
    canonical_json,
    request_hash,
    response_digest,
    sign_answer,
    verify_answer,
    verify_receipt,
)

ORIGIN = log_origin("nordvolt")


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key(node_issuer("nordvolt"), "nordvolt-node-1")


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=1000, deadline=None)
@given(JSON)
# Found by this test once: 2**53 as a float is "9007199254740992" in ECMAScript.
@example(9007199254740992.0)
@example(-9999999999999998.0)
@example(1e16)
def test_canonical_json_equals_the_rfc_8785_library(value: Any) -> None:
    """The fast path writes byte for byte what rfc8785 writes (surrogates aside)."""
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        return  # lone surrogates: escaped by both paths alike (not RFC 8785 input)
    assert canonical_json(value) == expected


def test_canonical_json_by_hand() -> None:
    """Keys sorted, no spaces, 1.0 written 1, 1e-7 in exponent form as ECMAScript does."""
    assert (
        canonical_json({"b": 1.0, "a": [1e-7, 0.5, "é"]}) == '{"a":[1e-7,0.5,"é"],"b":1}'.encode()
    )


def test_response_digest_covers_data_and_errors_only() -> None:
    body = {"data": {"x": 1}, "errors": [{"message": "m"}], "extensions": {"evidence": {}}}
    # SHA-256 over {"data":{"x":1},"errors":[{"message":"m"}]}, written by hand.
    expected = hashlib.sha256(b'{"data":{"x":1},"errors":[{"message":"m"}]}').hexdigest()
    assert response_digest(body) == expected
    assert response_digest({**body, "evidence": "ignored"}) == expected


def test_request_hash_is_the_hex_of_the_signed_requests_sha256() -> None:
    b64 = base64.urlsafe_b64encode(hashlib.sha256(b"a.b.c").digest()).rstrip(b"=").decode()
    assert request_hash(b64) == hashlib.sha256(b"a.b.c").hexdigest()
    assert request_hash(None) is None


def test_checkpoint_is_a_c2sp_signed_note(key: SigningKey) -> None:
    note = sign_checkpoint(ORIGIN, 0, EMPTY_ROOT, key.private)
    text, _, signature = note.partition("\n\n")
    # Origin, size, base64 of SHA-256("") = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.
    assert text == "oretrail.node/nordvolt\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert signature.startswith("\u2014 oretrail.node/nordvolt ")
    blob = base64.b64decode(signature.split(" ")[-1])
    public = key.private.public_key()
    raw = public.public_bytes_raw()
    # Key id: SHA-256(name || 0x0A || 0x01 || 32-byte key)[:4]; then a 64-byte signature.
    assert blob[:4] == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw).digest()[:4]
    assert blob[:4] == key_id(ORIGIN, public)
    assert len(blob) == 68
    public.verify(blob[4:], (text + "\n").encode())
    assert verify_checkpoint(note, public, ORIGIN).size == 0


def test_a_changed_checkpoint_is_rejected(key: SigningKey) -> None:
    note = sign_checkpoint(ORIGIN, 5, b"\x01" * 32, key.private)
    with pytest.raises(CheckpointRejected, match="does not verify"):
        verify_checkpoint(note.replace("\n5\n", "\n6\n"), key.private.public_key(), ORIGIN)
    with pytest.raises(CheckpointRejected, match=r"not 'oretrail\.node/other'"):
        verify_checkpoint(note, key.private.public_key(), log_origin("other"))


def one_leaf_receipt(key: SigningKey) -> Receipt:
    leaf = hashlib.sha256(b"\x00entry").digest()
    # A tree of one leaf: its root is the leaf hash and the proof is empty.
    note = sign_checkpoint(ORIGIN, 1, leaf, key.private)
    return Receipt(0, leaf, note, 1, leaf, ())


def test_a_signed_answer_and_its_receipt_verify(key: SigningKey) -> None:
    receipt = one_leaf_receipt(key)
    token = sign_answer(key, "ab" * 32, "cd" * 32, receipt)
    answer = verify_answer(token, key.private.public_key())
    assert (answer.index, answer.size, answer.leaf) == (0, 1, receipt.leaf.hex())
    assert answer.iss == node_issuer("nordvolt")
    assert verify_receipt(receipt.to_json(), key.private.public_key(), ORIGIN) == receipt
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "typ": "answer+jwt", "kid": "nordvolt-node-1"}


def test_a_receipt_for_another_leaf_is_rejected(key: SigningKey) -> None:
    receipt = one_leaf_receipt(key).to_json()
    receipt["leaf"] = "00" * 32
    with pytest.raises(EvidenceRejected, match="leaf 0 is not in the tree"):
        verify_receipt(receipt, key.private.public_key(), ORIGIN)


def test_an_answer_by_another_key_is_rejected(key: SigningKey) -> None:
    other = generate_signing_key(node_issuer("nordvolt"), "x")
    token = sign_answer(other, None, "cd" * 32, one_leaf_receipt(key))
    with pytest.raises(EvidenceRejected, match="does not verify"):
        verify_answer(token, key.private.public_key())
