"""A node's witnessed log: an append-only RFC 9162 Merkle log with signed checkpoints.

Every request for data a node answers or refuses is one leaf (DESIGN.md, Trust
6); its record is canonical JSON (RFC 8785) with the entry's sequence number
(``seq``, its leaf index) and time (``at``). A log at ``PATH`` is three files:

- ``PATH``: one entry per line, the leaf's exact bytes;
- ``PATH.hashes``: the tree's node hashes (:mod:`oretrail.auth.merkle`);
- ``PATH.checkpoints``: one JSON line ``{"checkpoint": <signed note>}`` per commit.

Appends are group-committed: entries that arrive while a commit is being
written wait for the next one, which writes them all, fsyncs the three files
once, and signs one checkpoint (C2SP, :mod:`oretrail.auth.checkpoint`) over the
new size. :meth:`AccessLog.append` returns only after its entry and the
checkpoint covering it are durable, with the receipt (leaf index, checkpoint,
inclusion proof): an answer never leaves before its leaf is on disk. The
process keeps no entry and no node hash in memory, so memory use is flat in
the log's length; without a path (tests, the demo) everything stays in memory.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oretrail.auth.checkpoint import CheckpointRejected, parse_checkpoint, sign_checkpoint
from oretrail.auth.keys import SigningKey
from oretrail.auth.merkle import (
    FileHashes,
    HashStore,
    MemoryHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    stored_hash_count,
    stored_hashes_for,
    tree_hash,
)
from oretrail.auth.witness import Receipt, canonical_json
from oretrail.errors import OretrailError

__all__ = ["AccessLog", "LogTampered", "checkpoints_path", "hashes_path", "read_entries"]


class LogTampered(OretrailError):
    """A log that does not verify, or that cannot be used; the message says where."""

    code = "LOG_TAMPERED"


def hashes_path(path: Path) -> Path:
    return path.with_name(path.name + ".hashes")


def checkpoints_path(path: Path) -> Path:
    return path.with_name(path.name + ".checkpoints")


def read_entries(path: Path) -> Iterator[dict[str, Any]]:
    """The entries of a log file, one at a time (nothing verified: see ``log_audit``)."""
    with path.open("rb") as lines:
        for line in lines:
            yield json.loads(line)


class _Files:
    """The three files of a log on disk, each written with O_APPEND and fsynced per commit."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.leaves = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.checkpoints = os.open(
            checkpoints_path(path), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644
        )
        self.hashes = FileHashes(hashes_path(path))
        # The files' names must be durable too, or a crash could lose a whole new log.
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def close(self) -> None:
        os.close(self.leaves)
        os.close(self.checkpoints)
        self.hashes.close()


def _write_all(fd: int, data: bytes) -> None:
    written = 0
    while written < len(data):
        written += os.write(fd, data[written:])


def _complete_lines(fd: int) -> int:
    """How many whole lines a file holds; a last line cut short by a crash is dropped."""
    size = os.fstat(fd).st_size
    count, offset, last_newline = 0, 0, 0
    while offset < size:
        chunk = os.pread(fd, 1 << 20, offset)
        count += chunk.count(b"\n")
        at = chunk.rfind(b"\n")
        if at >= 0:
            last_newline = offset + at + 1
        offset += len(chunk)
    if last_newline != size:
        os.ftruncate(fd, last_newline)
    return count


def _last_line(fd: int) -> bytes | None:
    size = os.fstat(fd).st_size
    tail = os.pread(fd, min(size, 64 * 1024), max(0, size - 64 * 1024)).rstrip(b"\n")
    return tail.rsplit(b"\n", 1)[-1] if tail else None


class AccessLog:
    """A node's witnessed log; without ``path`` it lives in memory (tests, demo).

    ``origin`` names the log in its checkpoints (``oretrail.node/<org>``); ``key``
    is the node key that signs them.
    """

    def __init__(self, path: Path | None, key: SigningKey, origin: str) -> None:
        self.path = path
        self.origin = origin
        self._key = key
        self._files = None if path is None else _Files(path)
        self._hashes: HashStore = MemoryHashes() if self._files is None else self._files.hashes
        self._lines: list[bytes] = []
        self._pending: list[tuple[bytes, asyncio.Future[Receipt]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._broken: BaseException | None = None
        self.size = 0
        self.checkpoint = ""
        self._recover()
        self._next = self.size

    def _recover(self) -> None:
        """Pick up where the files end; refuse a log whose last checkpoint it cannot meet."""
        files = self._files
        if files is None:
            self._sign(0)
            return
        count = _complete_lines(files.leaves)
        hashes = files.hashes
        if hashes.count() > stored_hash_count(count):
            hashes.truncate(stored_hash_count(count))
        if hashes.count() < stored_hash_count(count):  # a crash between the two writes
            done = self._leaves_hashed(count)
            hashes.truncate(stored_hash_count(done))
            for n, line in enumerate(self._lines_from(done), start=done):
                hashes.append(stored_hashes_for(n, leaf_hash(line), hashes))
            hashes.sync()
        self.size = count
        last = _last_line(files.checkpoints)
        if last is None:
            self._sign(count)
            return
        try:
            checkpoint, _, _ = parse_checkpoint(json.loads(last)["checkpoint"])
        except (ValueError, KeyError, TypeError, CheckpointRejected) as exc:
            raise LogTampered(f"{files.path}: the last checkpoint is damaged: {exc}") from None
        if checkpoint.size > count:
            raise LogTampered(
                f"{files.path}: holds {count} entries but its last checkpoint covers "
                f"{checkpoint.size}: entries were removed"
            )
        if tree_hash(checkpoint.size, hashes) != checkpoint.root:
            raise LogTampered(
                f"{files.path}: its first {checkpoint.size} entries do not match its last "
                "checkpoint: entries were changed"
            )
        self.checkpoint = checkpoint.note
        if checkpoint.size < count:  # answers cut off by a crash: their leaves count
            self._sign(count)

    def _leaves_hashed(self, count: int) -> int:
        """The most leaves whose hashes the hashes file holds in full."""
        lo, hi = 0, count
        have = self._hashes.count()
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if stored_hash_count(mid) <= have:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _lines_from(self, start: int) -> Iterator[bytes]:
        assert self.path is not None
        with self.path.open("rb") as lines:
            for n, line in enumerate(lines):
                if n >= start:
                    yield line.rstrip(b"\n")

    def _sign(self, size: int) -> None:
        """Sign a checkpoint of the first ``size`` entries and make it durable."""
        root = tree_hash(size, self._hashes)
        note = sign_checkpoint(self.origin, size, root, self._key.private)
        if self._files is not None:
            line = json.dumps({"checkpoint": note}, ensure_ascii=False) + "\n"
            _write_all(self._files.checkpoints, line.encode("utf-8"))
            os.fsync(self._files.checkpoints)
        self.size = size
        self.checkpoint = note

    async def append(self, record: Mapping[str, Any]) -> Receipt:
        """Log one entry; returns once it and a checkpoint covering it are durable.

        Raises LogTampered if an earlier commit failed (the node then answers
        nothing it cannot log).
        """
        if self._broken is not None:
            raise LogTampered(f"the access log failed and takes no entries: {self._broken}")
        entry = {"seq": self._next, "at": datetime.now(UTC).isoformat(), **record}
        self._next += 1
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._pending.append((canonical_json(entry), future))
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_pending())
        # A caller that goes away does not take its entry back: it is written anyway.
        return await asyncio.shield(future)

    async def _commit_pending(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                lines = [line for line, _ in batch]
                try:
                    if self._files is None:
                        receipts = self._commit(lines)
                    else:
                        receipts = await asyncio.to_thread(self._commit, lines)
                except Exception as exc:  # noqa: BLE001 - every waiting answer hears it
                    self._broken = exc
                    failure = LogTampered(f"the access log could not be written: {exc}")
                    for _, future in [*batch, *self._pending]:
                        if not future.done():
                            future.set_exception(failure)
                    self._pending = []
                    return
                for (_, future), receipt in zip(batch, receipts, strict=True):
                    if not future.done():
                        future.set_result(receipt)
        finally:
            self._committer = None

    def _commit(self, lines: list[bytes]) -> list[Receipt]:
        """Write a batch of entries, sync, sign one checkpoint; their receipts."""
        start = self.size
        leaves = [leaf_hash(line) for line in lines]
        for n, leaf in enumerate(leaves, start=start):
            self._hashes.append(stored_hashes_for(n, leaf, self._hashes))
        if self._files is None:
            self._lines.extend(lines)
        else:
            _write_all(self._files.leaves, b"".join(line + b"\n" for line in lines))
            os.fsync(self._files.leaves)
            self._files.hashes.sync()
        size = start + len(lines)
        self._sign(size)
        checkpoint, _, _ = parse_checkpoint(self.checkpoint)
        return [
            Receipt(
                n,
                leaf,
                self.checkpoint,
                size,
                checkpoint.root,
                tuple(inclusion_proof(n, size, self._hashes)),
            )
            for n, leaf in enumerate(leaves, start=start)
        ]

    def consistency(self, old: int, new: int) -> list[bytes]:
        """RFC 9162 consistency proof between two committed sizes."""
        if not 0 <= old <= new <= self.size:
            raise LogTampered(f"no consistency proof from {old} to {new}: the log has {self.size}")
        return consistency_proof(old, new, self._hashes)

    def records(self) -> list[dict[str, Any]]:
        """Every committed entry, read back (from disk when the log has a path)."""
        if self.path is None:
            return [json.loads(line) for line in self._lines]
        return list(read_entries(self.path))

    def close(self) -> None:
        if self._files is not None:
            self._files.close()
