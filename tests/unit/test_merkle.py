"""The Merkle tree equals an independent implementation: transparency-dev/merkle.

The vectors in tests/data/transparency_dev_merkle_vectors.json are copied, unchanged,
from https://github.com/transparency-dev/merkle (commit named in the file):
``testonly/constants.go`` (leaf inputs and the root of every tree size 0..8) and
every JSON case under ``testdata/inclusion`` and ``testdata/consistency`` (the
happy paths and their corruptions, with ``wantErr``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from oretrail.auth.merkle import (
    EMPTY_ROOT,
    FileHashes,
    MemoryHashes,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    stored_hash_count,
    stored_hashes_for,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "data" / "transparency_dev_merkle_vectors.json").read_text()
)
LEAVES = [bytes.fromhex(h) for h in VECTORS["leaf_inputs_hex"]]


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _proof(case: dict[str, Any]) -> list[bytes]:
    """A case's proof; Go's JSON writes an empty one as null."""
    return [_b64(p) for p in case["proof"] or []]


def _tree(count: int) -> MemoryHashes:
    store = MemoryHashes()
    for n, data in enumerate(LEAVES[:count]):
        store.append(stored_hashes_for(n, leaf_hash(data), store))
    return store


def test_hashing_is_rfc_9162_by_hand() -> None:
    """Leaf and node hashes prefix 0x00 and 0x01; the empty tree is SHA-256 of nothing."""
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    left, right = b"L" * 32, b"R" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert EMPTY_ROOT.hex().startswith("e3b0c442")
    # Two leaves: MTH = SHA-256(0x01 || SHA-256(0x00||a) || SHA-256(0x00||b)).
    two = _tree(2)
    expected = hashlib.sha256(
        b"\x01" + hashlib.sha256(b"\x00").digest() + hashlib.sha256(b"\x00\x00").digest()
    ).digest()
    assert tree_hash(2, two) == expected


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_size_equals_the_reference(size: int) -> None:
    """Roots of trees of 0..8 leaves equal testonly.RootHashes()."""
    assert tree_hash(size, _tree(size)).hex() == VECTORS["root_hashes_hex"][size]


def test_stored_hash_count_by_hand() -> None:
    """8 leaves store 8 leaf + 4 + 2 + 1 interior hashes = 15; 5 leaves store 5 + 2 + 1 = 8."""
    assert stored_hash_count(8) == 15
    assert stored_hash_count(5) == 8
    assert _tree(8).count() == 15


@pytest.mark.parametrize(
    "name", sorted(k for k in VECTORS["inclusion"] if k.endswith("happy-path.json"))
)
def test_inclusion_proofs_equal_the_reference(name: str) -> None:
    """Our proof for the reference's (index, size) is the reference's proof, hash by hash."""
    case = VECTORS["inclusion"][name]
    store = _tree(8)
    proof = inclusion_proof(case["leafIdx"], case["treeSize"], store)
    assert [base64.b64encode(h).decode() for h in proof] == (case["proof"] or [])
    assert tree_hash(case["treeSize"], store) == _b64(case["root"])


@pytest.mark.parametrize(
    "name", sorted(k for k in VECTORS["consistency"] if k.endswith("happy-path.json"))
)
def test_consistency_proofs_equal_the_reference(name: str) -> None:
    case = VECTORS["consistency"][name]
    store = _tree(8)
    proof = consistency_proof(case["size1"], case["size2"], store)
    assert [base64.b64encode(h).decode() for h in proof] == (case["proof"] or [])


@pytest.mark.parametrize("name", sorted(VECTORS["inclusion"]))
def test_inclusion_verification_agrees_with_the_reference(name: str) -> None:
    """Every reference case, corrupted or not, verifies exactly when wantErr is false."""
    case = VECTORS["inclusion"][name]
    args = (
        case["leafIdx"],
        case["treeSize"],
        _b64(case["leafHash"]),
        _proof(case),
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("name", sorted(VECTORS["consistency"]))
def test_consistency_verification_agrees_with_the_reference(name: str) -> None:
    case = VECTORS["consistency"][name]
    args = (
        case["size1"],
        case["size2"],
        _b64(case["root1"]),
        _b64(case["root2"]),
        _proof(case),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_file_store_gives_the_same_proofs_as_memory(tmp_path: Path) -> None:
    """Hashes written to a file and read back with pread prove what memory proves."""
    memory = MemoryHashes()
    on_disk = FileHashes(tmp_path / "log.hashes")
    for n in range(37):
        data = f"leaf {n}".encode()
        memory.append(stored_hashes_for(n, leaf_hash(data), memory))
        on_disk.append(stored_hashes_for(n, leaf_hash(data), on_disk))
    on_disk.sync()
    reopened = FileHashes(tmp_path / "log.hashes")
    assert reopened.count() == stored_hash_count(37)
    for size in (1, 16, 37):
        assert tree_hash(size, reopened) == tree_hash(size, memory)
        for index in (0, size // 2, size - 1):
            proof = inclusion_proof(index, size, reopened)
            assert proof == inclusion_proof(index, size, memory)
            verify_inclusion(
                index, size, leaf_hash(f"leaf {index}".encode()), proof, tree_hash(size, memory)
            )
        for old in (1, 7, size):
            verify_consistency(
                old,
                37,
                tree_hash(old, memory),
                tree_hash(37, memory),
                consistency_proof(old, 37, reopened),
            )
