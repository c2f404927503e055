"""RFC 9162 Merkle trees whose node hashes live in append-only storage.

Hashing is RFC 9162 section 2.1.1 (the same as RFC 6962): a leaf hashes as
SHA-256(0x00 || data), an interior node as SHA-256(0x01 || left || right), and
the empty tree as SHA-256 of nothing. Inclusion and consistency proofs are the
RFC 9162 2.1.3 and 2.1.4 paths, ordered from the leaf (or the old tree) upward.

Node hashes are kept in the layout of Go's checksum database
(golang.org/x/mod/sumdb/tlog): one flat sequence of 32-byte hashes to which
appending leaf ``n`` adds its leaf hash and then the hash of every complete
subtree that leaf closes, so the sequence only ever grows at its end and each
complete subtree's hash sits at :func:`stored_hash_index`. A tree of ``n``
leaves holds fewer than ``2n`` hashes. Roots and proofs read at most two
hashes per level (``O(log n)`` reads), so a log keeps no node in memory: its
memory use is flat in its length. The index arithmetic and the proof
recursions follow tlog.go (BSD licence, The Go Authors); the tests hold the
results equal to transparency-dev/merkle's reference vectors.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from oretrail.errors import OretrailError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "FileHashes",
    "HashStore",
    "MemoryHashes",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "stored_hash_count",
    "stored_hash_index",
    "stored_hashes_for",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
# No tree of ours holds 2**63 leaves: a proof longer than this is not one.
MAX_PROOF_LENGTH = 63


class ProofError(OretrailError):
    """A Merkle proof that does not verify, or asks for a tree that cannot exist."""

    code = "LOG_TAMPERED"


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class HashStore(Protocol):
    """Where a tree's node hashes live, in :func:`stored_hash_index` order."""

    def read(self, indexes: Sequence[int]) -> list[bytes]: ...

    def append(self, hashes: Sequence[bytes]) -> None: ...

    def count(self) -> int: ...


class MemoryHashes:
    """Node hashes in memory (tests and the demo: grows with the tree)."""

    def __init__(self) -> None:
        self._data = bytearray()

    def read(self, indexes: Sequence[int]) -> list[bytes]:
        data = self._data
        return [bytes(data[i * HASH_SIZE : (i + 1) * HASH_SIZE]) for i in indexes]

    def append(self, hashes: Sequence[bytes]) -> None:
        self._data.extend(b"".join(hashes))

    def count(self) -> int:
        return len(self._data) // HASH_SIZE


class FileHashes:
    """Node hashes in an append-only file: 32 bytes each, read with ``pread``.

    Writes go straight to the file (no buffer in this process), so a read sees
    every hash appended before it; :meth:`sync` makes them durable.
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            self._fd = os.open(path, os.O_RDONLY)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            size = os.fstat(self._fd).st_size
            if size % HASH_SIZE:  # a write cut short by a crash: drop the partial hash
                os.ftruncate(self._fd, size - size % HASH_SIZE)
        self._count = os.fstat(self._fd).st_size // HASH_SIZE

    def read(self, indexes: Sequence[int]) -> list[bytes]:
        out = []
        for i in indexes:
            if not 0 <= i < self._count:
                raise ProofError(f"{self.path}: no node hash at position {i}")
            out.append(os.pread(self._fd, HASH_SIZE, i * HASH_SIZE))
        return out

    def append(self, hashes: Sequence[bytes]) -> None:
        data = b"".join(hashes)
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        self._count += len(hashes)

    def count(self) -> int:
        return self._count

    def truncate(self, count: int) -> None:
        os.ftruncate(self._fd, count * HASH_SIZE)
        self._count = count

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def _trailing_zeros(n: int) -> int:
    return (n & -n).bit_length() - 1


def _maxpow2(n: int) -> tuple[int, int]:
    """The largest power of two strictly below ``n`` (n > 1), and its exponent."""
    level = (n - 1).bit_length() - 1
    return 1 << level, level


def stored_hash_index(level: int, n: int) -> int:
    """Position of the ``n``-th hash of ``level`` (0: leaves) in the stored sequence."""
    for _ in range(level):
        n = 2 * n + 1
    index = 0
    while n > 0:
        index += n
        n >>= 1
    return index + level


def stored_hash_count(size: int) -> int:
    """How many hashes a tree of ``size`` leaves stores."""
    if size == 0:
        return 0
    count = stored_hash_index(0, size - 1) + 1
    i = size - 1
    while i & 1:
        count += 1
        i >>= 1
    return count


def stored_hashes_for(n: int, leaf: bytes, store: HashStore) -> list[bytes]:
    """The hashes to append when leaf ``n`` (hash ``leaf``) joins a tree of ``n`` leaves."""
    closes = _trailing_zeros(n + 1)
    indexes = [stored_hash_index(i, (n >> i) - 1) for i in range(closes)]
    indexes.reverse()
    old = store.read(indexes)
    hashes = [leaf]
    h = leaf
    for i in range(closes):
        h = node_hash(old[closes - 1 - i], h)
        hashes.append(h)
    return hashes


def _subtree_indexes(lo: int, hi: int, need: list[int]) -> None:
    """Positions of the complete subtrees that make up leaves [lo, hi), largest first."""
    while lo < hi:
        k, level = _maxpow2(hi - lo + 1)
        need.append(stored_hash_index(level, lo >> level))
        lo += k


def _subtree_hash(lo: int, hi: int, hashes: list[bytes], at: int) -> tuple[bytes, int]:
    """MTH(D[lo:hi]) from the hashes read for :func:`_subtree_indexes`, from ``at`` on."""
    count = 0
    while lo < hi:
        k, _ = _maxpow2(hi - lo + 1)
        count += 1
        lo += k
    h = hashes[at + count - 1]
    for i in range(count - 2, -1, -1):
        h = node_hash(hashes[at + i], h)
    return h, at + count


def tree_hash(size: int, store: HashStore) -> bytes:
    """The root hash of the first ``size`` leaves."""
    if size == 0:
        return EMPTY_ROOT
    need: list[int] = []
    _subtree_indexes(0, size, need)
    root, _ = _subtree_hash(0, size, store.read(need), 0)
    return root


def _inclusion_indexes(lo: int, hi: int, n: int, need: list[int]) -> None:
    if lo + 1 == hi:
        return
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        _inclusion_indexes(lo, lo + k, n, need)
        _subtree_indexes(lo + k, hi, need)
    else:
        _subtree_indexes(lo, lo + k, need)
        _inclusion_indexes(lo + k, hi, n, need)


def _inclusion(lo: int, hi: int, n: int, hashes: list[bytes], at: int) -> tuple[list[bytes], int]:
    if lo + 1 == hi:
        return [], at
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        proof, at = _inclusion(lo, lo + k, n, hashes, at)
        sibling, at = _subtree_hash(lo + k, hi, hashes, at)
    else:
        sibling, at = _subtree_hash(lo, lo + k, hashes, at)
        proof, at = _inclusion(lo + k, hi, n, hashes, at)
    proof.append(sibling)
    return proof, at


def inclusion_proof(index: int, size: int, store: HashStore) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ProofError(f"no leaf {index} in a tree of {size} leaves")
    need: list[int] = []
    _inclusion_indexes(0, size, index, need)
    proof, _ = _inclusion(0, size, index, store.read(need), 0)
    return proof


def _consistency_indexes(lo: int, hi: int, n: int, need: list[int]) -> None:
    if n == hi:
        if lo != 0:
            _subtree_indexes(lo, hi, need)
        return
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        _consistency_indexes(lo, lo + k, n, need)
        _subtree_indexes(lo + k, hi, need)
    else:
        _subtree_indexes(lo, lo + k, need)
        _consistency_indexes(lo + k, hi, n, need)


def _consistency(lo: int, hi: int, n: int, hashes: list[bytes], at: int) -> tuple[list[bytes], int]:
    if n == hi:
        if lo == 0:
            return [], at
        h, at = _subtree_hash(lo, hi, hashes, at)
        return [h], at
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        proof, at = _consistency(lo, lo + k, n, hashes, at)
        h, at = _subtree_hash(lo + k, hi, hashes, at)
    else:
        h, at = _subtree_hash(lo, lo + k, hashes, at)
        proof, at = _consistency(lo + k, hi, n, hashes, at)
    proof.append(h)
    return proof, at


def consistency_proof(old: int, new: int, store: HashStore) -> list[bytes]:
    """RFC 9162 consistency proof from the tree of ``old`` leaves to that of ``new``."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    need: list[int] = []
    _consistency_indexes(0, new, old, need)
    proof, _ = _consistency(0, new, old, store.read(need), 0)
    return proof


def _check_hashes(*hashes: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError("a hash in the proof is not 32 bytes")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to, or ProofError if its shape is wrong."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} cannot be in a tree of {size} leaves")
    if len(proof) > MAX_PROOF_LENGTH:
        raise ProofError("the inclusion proof is too long")
    _check_hashes(leaf, *proof)

    def run(path: Sequence[bytes], lo: int, hi: int) -> bytes:
        if lo + 1 == hi:
            if path:
                raise ProofError("the inclusion proof is longer than the tree is deep")
            return leaf
        if not path:
            raise ProofError("the inclusion proof is shorter than the tree is deep")
        k, _ = _maxpow2(hi - lo)
        if index < lo + k:
            return node_hash(run(path[:-1], lo, lo + k), path[-1])
        return node_hash(path[-1], run(path[:-1], lo + k, hi))

    return run(proof, 0, size)


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf ``index`` (hash ``leaf``) is in the tree of ``size`` with ``root``."""
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"leaf {index} is not in the tree of size {size} with this root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (``old``, ``old_root``) is a prefix of (``new``, ``new_root``)."""
    if not 0 <= old <= new:
        raise ProofError(f"size {old} cannot be a prefix of size {new}")
    if len(proof) > 2 * MAX_PROOF_LENGTH:
        raise ProofError("the consistency proof is too long")
    if old == 0 and old_root != EMPTY_ROOT:
        raise ProofError("the root of the empty tree is not SHA-256 of nothing")
    if old == new:
        if proof or old_root != new_root:
            raise ProofError(f"two different trees of size {old}")
        return
    _check_hashes(old_root, new_root, *proof)
    if old == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree is empty")
        return

    def run(path: Sequence[bytes], lo: int, hi: int) -> tuple[bytes, bytes]:
        if old == hi:
            if lo == 0:
                if path:
                    raise ProofError("the consistency proof is too long")
                return old_root, old_root
            if len(path) != 1:
                raise ProofError("the consistency proof has the wrong length")
            return path[0], path[0]
        if not path:
            raise ProofError("the consistency proof is too short")
        k, _ = _maxpow2(hi - lo)
        if old <= lo + k:
            oh, th = run(path[:-1], lo, lo + k)
            return oh, node_hash(th, path[-1])
        oh, th = run(path[:-1], lo + k, hi)
        return node_hash(path[-1], oh), node_hash(path[-1], th)

    got_old, got_new = run(proof, 0, new)
    if got_old != old_root or got_new != new_root:
        raise ProofError(f"the tree of size {old} is not a prefix of the tree of size {new}")
