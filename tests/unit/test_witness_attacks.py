"""Hostile checkpoints, receipts and proofs: each is refused with a typed error, never a
traceback, and no malformed one verifies (auth.checkpoint, auth.witness, auth.merkle)."""

from __future__ import annotations

import hashlib

import pytest

from oretrail.auth.checkpoint import CheckpointRejected, log_origin, parse_checkpoint
from oretrail.auth.keys import SigningKey, generate_signing_key
from oretrail.auth.merkle import (
    EMPTY_ROOT,
    ProofError,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)
from oretrail.auth.tokens import node_issuer
from oretrail.auth.witness import EvidenceRejected, verify_receipt

ORIGIN = log_origin("nordvolt")
ROOT_B64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="  # base64 of SHA-256("")
A = hashlib.sha256(b"\x00a").digest()  # leaf hash of "a"
B = hashlib.sha256(b"\x00b").digest()  # leaf hash of "b"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key(node_issuer("nordvolt"), "nordvolt-node-1")


@pytest.mark.parametrize(
    "size",
    [
        "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
        "\uff15",  # fullwidth five: int() reads 5, but it is not the decimal the spec asks
        "\u0665",  # Arabic-Indic five
        "9" * 5000,  # past Python's 4,300-digit int() limit
        "18446744073709551616",  # 2**64: no log holds that many entries
    ],
)
def test_a_checkpoint_size_that_is_not_an_ascii_decimal_is_refused(size: str) -> None:
    note = f"{ORIGIN}\n{size}\n{ROOT_B64}\n\n\u2014 {ORIGIN} AAAA\n"
    with pytest.raises(CheckpointRejected, match="size"):
        parse_checkpoint(note)


def test_a_receipt_under_a_checkpoint_with_a_non_ascii_size_is_refused_as_evidence(
    key: SigningKey,
) -> None:
    """What the verifier sees from a hostile gateway: EvidenceRejected, not ValueError."""
    note = f"{ORIGIN}\n\u00b2\n{ROOT_B64}\n\n\u2014 {ORIGIN} AAAA\n"
    receipt = {"index": 0, "leaf": A.hex(), "checkpoint": note, "proof": []}
    with pytest.raises(EvidenceRejected):
        verify_receipt(receipt, key.private.public_key(), ORIGIN)


def test_inclusion_proof_edge_cases() -> None:
    # A tree of two leaves a, b: root = H(0x01 || a || b); b's proof is [a].
    root = node_hash(A, B)
    verify_inclusion(1, 2, B, [A], root)
    with pytest.raises(ProofError):
        verify_inclusion(2, 2, B, [A], root)  # index == size
    with pytest.raises(ProofError):
        verify_inclusion(0, 0, A, [], EMPTY_ROOT)  # no leaf in the empty tree
    with pytest.raises(ProofError):
        verify_inclusion(-1, 2, B, [A], root)
    with pytest.raises(ProofError):
        verify_inclusion(1, 2, B, [], root)  # too short
    with pytest.raises(ProofError):
        verify_inclusion(1, 2, B, [A, A], root)  # longer than the tree is deep
    with pytest.raises(ProofError):
        verify_inclusion(1, 2, B, [A[:31]], root)  # not a hash
    with pytest.raises(ProofError):
        root_from_inclusion(2**70, 2**70 + 1, A, [A] * 64)  # oversize proof
    # A one-leaf tree's root is its leaf, with an empty proof; another leaf is not in it.
    verify_inclusion(0, 1, A, [], A)
    with pytest.raises(ProofError):
        verify_inclusion(0, 1, B, [], A)


def test_consistency_proof_edge_cases() -> None:
    root2 = node_hash(A, B)
    # Tree {a} is a prefix of {a, b}: the proof is [b] (RFC 9162 2.1.4.1).
    verify_consistency(1, 2, A, root2, [B])
    with pytest.raises(ProofError):
        verify_consistency(2, 1, root2, A, [B])  # old > new
    with pytest.raises(ProofError):
        verify_consistency(0, 2, A, root2, [])  # the empty tree's root is SHA-256("")
    verify_consistency(0, 2, EMPTY_ROOT, root2, [])
    with pytest.raises(ProofError):
        verify_consistency(0, 2, EMPTY_ROOT, root2, [B])  # from empty: no proof
    with pytest.raises(ProofError):
        verify_consistency(2, 2, root2, A, [])  # one size, two roots
    with pytest.raises(ProofError):
        verify_consistency(2, 2, root2, root2, [B])  # one size needs no proof
    with pytest.raises(ProofError):
        verify_consistency(1, 2, A, root2, [B, B])  # too long
    with pytest.raises(ProofError):
        verify_consistency(1, 2**80, A, root2, [B] * 127)  # oversize
    with pytest.raises(ProofError):
        verify_consistency(1, 2, B, root2, [B])  # another old tree
