"""``oretrail node audit``: check a node's witnessed log against what others hold.

The node's operator holds the node key and could rewrite its own log and
re-sign every checkpoint; what it cannot rewrite are the receipts and
checkpoints that callers, gateways and witnesses already hold. So the audit
(DESIGN.md, Trust 6) fails, naming the first problem, unless:

- the entries are contiguous (entry ``n`` says ``seq`` ``n``) and each is JSON;
- the node hashes file matches the entries (it is what proofs are served from);
- every stored checkpoint is the log's, matches the root of the entries it
  covers, and verifies with a key given, never with one older than a key an
  earlier checkpoint used (keys are given oldest first: a retired key signs
  nothing new);
- nothing follows the last checkpoint, and a log has at least one;
- every receipt or checkpoint supplied from elsewhere verifies (and a signed
  answer beside a receipt is the node's and names it), is covered by the log
  (its tree is a prefix of the log's: an RFC 9162 consistency proof), and a
  receipt's leaf is the log's entry at its index;
- no two checkpoints, stored or supplied, of one size differ;
- the log exists and is not empty while a receipt or checkpoint for it exists;
- for an access log whose entries name states of the shipments log (the shipment
  records their decisions rested on), ``<org>.shipments.log`` passes these same
  checks and its tree at each such size has the root the entry names.

The entries are read once, in order, and nothing grows with the log's length
but the checkpoints' sizes and roots.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from oretrail.auth.access_log import LogTampered, checkpoints_path, hashes_path
from oretrail.auth.checkpoint import Checkpoint, CheckpointRejected, log_origin, verify_checkpoint
from oretrail.auth.merkle import (
    FileHashes,
    ProofError,
    consistency_proof,
    leaf_hash,
    stored_hash_count,
    stored_hashes_for,
    tree_hash,
    verify_consistency,
)
from oretrail.auth.witness import EvidenceRejected, Receipt, verify_answer, verify_receipt
from oretrail.errors import OretrailError

__all__ = ["AuditReport", "audit_log", "origin_of", "shipments_log_path"]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What a passed audit covered."""

    origin: str
    entries: int
    checkpoints: int
    receipts: int
    witnessed: int


def origin_of(path: Path) -> str:
    """The origin of the log at ``path``: ``<org>.log`` is ``oretrail.node/<org>``,
    ``<org>.<name>.log`` is ``oretrail.node/<org>/<name>`` (the shipments log)."""
    org, _, name = path.name.removesuffix(".log").partition(".")
    return log_origin(org, name or None)


def _verify_with(
    note: object, keys: Sequence[Ed25519PublicKey], origin: str
) -> tuple[Checkpoint, int]:
    """The checkpoint and the position of the given key that signed it."""
    problem: CheckpointRejected | None = None
    for position, key in enumerate(keys):
        try:
            return verify_checkpoint(note, key, origin), position
        except CheckpointRejected as exc:
            problem = exc
    assert problem is not None
    raise problem


def _found_receipts(value: Any, answer: object = None) -> Iterator[tuple[dict[str, Any], object]]:
    """Every receipt-shaped object anywhere in a JSON document (a bundle, a response...),
    with the signed answer beside it when it sits in an evidence object."""
    if isinstance(value, dict):
        if {"index", "leaf", "checkpoint", "proof"} <= value.keys():
            yield value, answer
        for name, item in value.items():
            beside = value.get("answer") if name == "receipt" else None
            yield from _found_receipts(item, beside)
    elif isinstance(value, list):
        for item in value:
            yield from _found_receipts(item)


def _check_answer(token: object, receipt: Receipt, key: Ed25519PublicKey) -> None:
    """A signed answer beside a receipt is the node's and names that receipt."""
    answer = verify_answer(token, key)
    if answer.index != receipt.index or answer.leaf != receipt.leaf.hex():
        raise EvidenceRejected(
            f"the signed answer beside the receipt for leaf {receipt.index} names another leaf"
        )


def _read_note(file: Path) -> str:
    """A checkpoint file: the note as served at /log/checkpoint, or JSON holding it."""
    text = file.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        try:
            note = json.loads(text).get("checkpoint")
        except (ValueError, AttributeError, RecursionError):
            note = None
        if not isinstance(note, str):
            raise LogTampered(f'{file}: JSON without a "checkpoint" note')
        return note
    return text


def _external(
    origin: str,
    keys: Sequence[Ed25519PublicKey],
    receipt_files: Sequence[Path],
    witness_files: Sequence[Path],
) -> tuple[list[Receipt], list[Checkpoint]]:
    receipts: list[Receipt] = []
    witnessed: list[Checkpoint] = []
    for file in receipt_files:
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
            found = list(_found_receipts(document))
        except (OSError, ValueError) as exc:
            raise LogTampered(f"{file}: cannot read receipts: {exc}") from None
        except RecursionError:  # nesting deeper than the reader (or the walk) goes
            raise LogTampered(f"{file}: cannot read receipts: nested too deep") from None
        for raw, answer in found:
            note = raw.get("checkpoint")
            if not isinstance(note, str) or note.split("\n", 1)[0] != origin:
                continue  # another node's receipt
            problem: OretrailError | None = None
            for key in keys:
                try:
                    receipt = verify_receipt(raw, key, origin)
                    if answer is not None:
                        _check_answer(answer, receipt, key)
                    receipts.append(receipt)
                    problem = None
                    break
                except EvidenceRejected as exc:
                    problem = exc
            if problem is not None:
                raise LogTampered(f"{file}: {problem}")
    for file in witness_files:
        try:
            witnessed.append(_verify_with(_read_note(file), keys, origin)[0])
        except OSError as exc:
            raise LogTampered(f"{file}: cannot read the checkpoint: {exc}") from None
        except CheckpointRejected as exc:
            raise LogTampered(f"{file}: {exc}") from None
    return receipts, witnessed


def _stored_checkpoints(
    path: Path, origin: str, keys: Sequence[Ed25519PublicKey]
) -> list[Checkpoint]:
    file = checkpoints_path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError:
        raise LogTampered(f"{file}: missing: the log has no signed checkpoint") from None
    stored: list[Checkpoint] = []
    newest_key = 0
    for number, line in enumerate(lines, start=1):
        try:
            note = json.loads(line)["checkpoint"]
            checkpoint, position = _verify_with(note, keys, origin)
        except (ValueError, KeyError, TypeError):
            raise LogTampered(f"{file}: line {number} is not a checkpoint record") from None
        except CheckpointRejected as exc:
            raise LogTampered(f"{file}: line {number}: {exc}") from None
        if position < newest_key:
            raise LogTampered(
                f"{file}: line {number}: the checkpoint of size {checkpoint.size} is signed by "
                "a key retired before an earlier checkpoint"
            )
        newest_key = position
        if stored and checkpoint.size < stored[-1].size:
            raise LogTampered(
                f"{file}: line {number}: the log shrank from {stored[-1].size} to "
                f"{checkpoint.size} entries"
            )
        stored.append(checkpoint)
    if not stored:
        raise LogTampered(f"{file}: empty: the log has no signed checkpoint")
    return stored


def _no_split_view(checkpoints: Sequence[tuple[str, Checkpoint]]) -> None:
    by_size: dict[int, tuple[str, Checkpoint]] = {}
    for where, checkpoint in checkpoints:
        seen = by_size.setdefault(checkpoint.size, (where, checkpoint))
        if seen[1].root != checkpoint.root:
            raise LogTampered(
                f"two different checkpoints of size {checkpoint.size}: {seen[0]} and {where}"
            )


def _check_entries(
    path: Path, hashes: FileHashes, signed: int, wanted: set[int], shipments: dict[int, str]
) -> tuple[int, dict[int, bytes]]:
    """Stream the entries: contiguous, JSON, matching the hashes file. Their count, and
    the leaf hashes at the ``wanted`` indexes; the shipments log states they name are
    added to ``shipments`` (size to base64 root)."""
    leaves: dict[int, bytes] = {}
    count = 0
    with path.open("rb") as lines:
        for n, raw in enumerate(lines):
            line = raw.removesuffix(b"\n")
            try:
                entry = json.loads(line)
            except ValueError:
                raise LogTampered(f"{path}: entry {n} (line {n + 1}) is not JSON") from None
            if not isinstance(entry, dict) or entry.get("seq") != n:
                seq = entry.get("seq") if isinstance(entry, dict) else None
                raise LogTampered(
                    f"{path}: line {n + 1} has sequence {seq!r}, expected {n}: "
                    "entries were removed, inserted or reordered"
                )
            if n >= signed:
                raise LogTampered(
                    f"{path}: entry {n} follows the last checkpoint (size {signed}): "
                    "it was added without being signed"
                )
            state = entry.get("shipments")
            if isinstance(state, dict):
                size, root = state.get("size"), state.get("root")
                if not isinstance(size, int) or not isinstance(root, str):
                    raise LogTampered(f"{path}: entry {n} names a malformed shipments state")
                if shipments.setdefault(size, root) != root:
                    raise LogTampered(
                        f"{path}: entry {n} names a shipments log of size {size} with another "
                        "root than an earlier entry: the shipment records were rewritten"
                    )
            leaf = leaf_hash(line)
            if n in wanted:
                leaves[n] = leaf
            first = stored_hash_count(n)
            expected = stored_hashes_for(n, leaf, hashes)
            try:
                held = hashes.read(range(first, first + len(expected)))
            except ProofError:
                held = []
            if held != expected:
                raise LogTampered(
                    f"{hashes_path(path)}: does not match entry {n}: the entries or the "
                    "hashes were changed"
                )
            count = n + 1
    return count, leaves


def audit_log(
    path: Path,
    keys: Sequence[Ed25519PublicKey],
    receipt_files: Sequence[Path] = (),
    witness_files: Sequence[Path] = (),
) -> AuditReport:
    """Audit the log at ``path``; LogTampered names the first check that fails."""
    if not keys:
        raise LogTampered("no key to check the checkpoints with (pass --key)")
    origin = origin_of(path)
    receipts, witnessed = _external(origin, keys, receipt_files, witness_files)
    held = [c.size for c in witnessed] + [r.size for r in receipts]
    if not path.exists():
        if held:
            raise LogTampered(
                f"{path}: missing, but a receipt or checkpoint of size {max(held)} for it "
                "exists: the log was deleted"
            )
        raise LogTampered(f"{path}: missing: no log to audit")
    stored = _stored_checkpoints(path, origin, keys)
    _no_split_view(
        [*((f"stored checkpoint #{i + 1}", c) for i, c in enumerate(stored))]
        + [(f"the receipt for entry {r.index}", _as_checkpoint(r, origin)) for r in receipts]
        + [("a supplied checkpoint", c) for c in witnessed]
    )
    try:
        hashes = FileHashes(hashes_path(path), readonly=True)
    except OSError:
        raise LogTampered(f"{hashes_path(path)}: missing: the log's node hashes") from None
    try:
        last = stored[-1]
        shipments: dict[int, str] = {}
        wanted = {r.index for r in receipts}
        count, leaves = _check_entries(path, hashes, last.size, wanted, shipments)
        if count == 0 and held and max(held) > 0:
            raise LogTampered(
                f"{path}: empty, but a receipt or checkpoint of size {max(held)} for it exists"
            )
        for i, checkpoint in enumerate(stored):
            _covered(path, hashes, count, checkpoint, f"stored checkpoint #{i + 1}")
        if hashes.count() != stored_hash_count(count):
            raise LogTampered(f"{hashes_path(path)}: holds hashes beyond the log's {count} entries")
        for checkpoint in witnessed:
            _consistent(path, hashes, checkpoint, last, "a supplied checkpoint")
        for receipt in receipts:
            where = f"the receipt for entry {receipt.index}"
            _consistent(path, hashes, _as_checkpoint(receipt, origin), last, where)
            if leaves.get(receipt.index) != receipt.leaf:
                raise LogTampered(f"{path}: entry {receipt.index} is not the one {where} names")
    finally:
        hashes.close()
    if shipments:
        _check_shipments(path, keys, shipments)
    return AuditReport(origin, count, len(stored), len(receipts), len(witnessed))


def shipments_log_path(path: Path) -> Path:
    """The shipments log beside the access log ``<org>.log``: ``<org>.shipments.log``."""
    return path.with_name(path.name.removesuffix(".log") + ".shipments.log")


def _check_shipments(path: Path, keys: Sequence[Ed25519PublicKey], states: dict[int, str]) -> None:
    """The shipments log verifies, and holds every state the access log's entries name."""
    shipments = shipments_log_path(path)
    if not shipments.exists():
        raise LogTampered(
            f"{shipments}: missing, but entries of {path.name} rest on shipment records in it"
        )
    audit_log(shipments, keys)
    held = FileHashes(hashes_path(shipments), readonly=True)
    try:
        for size, root in sorted(states.items()):
            if size > _size(held) or tree_hash(size, held) != base64.b64decode(root):
                raise LogTampered(
                    f"{shipments}: its first {size} records are not those the access log's "
                    "answers rested on: the shipment records were changed"
                )
    finally:
        held.close()


def _size(hashes: FileHashes) -> int:
    """How many leaves a hashes file holds (the inverse of stored_hash_count)."""
    lo, hi = 0, hashes.count()
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if stored_hash_count(mid) <= hashes.count():
            lo = mid
        else:
            hi = mid - 1
    return lo


def _as_checkpoint(receipt: Receipt, origin: str) -> Checkpoint:
    return Checkpoint(origin, receipt.size, receipt.root, receipt.checkpoint)


def _covered(
    path: Path, hashes: FileHashes, count: int, checkpoint: Checkpoint, where: str
) -> None:
    if checkpoint.size > count:
        raise LogTampered(
            f"{path}: holds {count} entries but {where} covers {checkpoint.size}: "
            "entries were removed"
        )
    if tree_hash(checkpoint.size, hashes) != checkpoint.root:
        raise LogTampered(
            f"{path}: the first {checkpoint.size} entries do not match {where}: "
            "entries were changed"
        )


def _consistent(
    path: Path, hashes: FileHashes, held: Checkpoint, last: Checkpoint, where: str
) -> None:
    """``held`` (from elsewhere) is a prefix of the log: proved from the log's own hashes."""
    if held.size > last.size:
        raise LogTampered(
            f"{path}: its last checkpoint covers {last.size} entries but {where} covers "
            f"{held.size}: the log was truncated or rolled back"
        )
    try:
        proof = consistency_proof(held.size, last.size, hashes)
        verify_consistency(held.size, last.size, held.root, last.root, proof)
    except ProofError:
        raise LogTampered(
            f"{path}: {where} (size {held.size}) is not a prefix of the log (size {last.size}): "
            "the log was rewritten"
        ) from None
