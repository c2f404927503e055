"""A node's tamper-evident access log: hash-chained JSON lines with a separate head.

Each entry carries its sequence number, the hash of the entry before it and its
own hash over both and its content. Editing an entry breaks its hash; reordering
or deleting breaks the chain; cutting entries off the end is caught by the head
file, which records the last sequence number and hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oretrail.errors import OretrailError

__all__ = ["GENESIS", "AccessLog", "LogTampered", "verify_log"]

GENESIS = "0" * 64


class LogTampered(OretrailError):
    """The access log does not verify; the message says where."""

    code = "LOG_TAMPERED"


def _digest(entry: Mapping[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AccessLog:
    """Appends entries durably; without a path it keeps the chain in memory (tests, demo)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.seq = -1
        self.last = GENESIS
        self.entries: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        if self.path is not None and self.path.exists():
            entries = verify_log(self.path)
            if entries:
                self.seq, self.last = entries[-1]["seq"], entries[-1]["hash"]

    async def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Append one entry; strings that are not Unicode text are escaped, never fatal.

        A caller's ``sub`` or a lot id may hold a lone surrogate (``"\\ud800"`` from a
        JSON escape), which UTF-8 cannot encode: such a code point is written as the
        six characters ``\\ud800``, so the request is still logged, and the entry
        still verifies when read back.
        """
        async with self._lock:
            entry = {
                "seq": self.seq + 1,
                "at": datetime.now(UTC).isoformat(),
                "prev": self.last,
                **record,
            }
            try:
                entry["hash"] = _digest(entry)
            except UnicodeEncodeError:
                entry = _escaped(entry)
                entry["hash"] = _digest(entry)
            if self.path is not None:
                await asyncio.to_thread(_write, self.path, entry)
            self.seq, self.last = entry["seq"], entry["hash"]
            self.entries.append(entry)
            return entry


def _escaped(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) backslash-escaped."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, Mapping):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_escaped(v) for v in value]
    return value


def _write(path: Path, entry: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        log.flush()
        os.fsync(log.fileno())
    head = _head_path(path)
    temporary = head.with_suffix(".tmp")
    temporary.write_text(
        json.dumps({"seq": entry["seq"], "hash": entry["hash"]}) + "\n", encoding="utf-8"
    )
    os.replace(temporary, head)


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def verify_log(path: Path) -> list[dict[str, Any]]:
    """Every entry of a verified log, or LogTampered naming the first problem."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LogTampered(f"{path}: cannot read the access log: {exc}") from None
    entries: list[dict[str, Any]] = []
    previous = GENESIS
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            raise LogTampered(f"{path}: line {number} is not JSON") from None
        if not isinstance(entry, dict):
            raise LogTampered(f"{path}: line {number} is not an entry")
        if entry.get("seq") != number - 1:
            raise LogTampered(
                f"{path}: line {number} has sequence {entry.get('seq')!r}, "
                f"expected {number - 1}: entries were removed or reordered"
            )
        if entry.get("prev") != previous:
            raise LogTampered(f"{path}: line {number} does not follow the entry before it")
        if entry.get("hash") != _digest(entry):
            raise LogTampered(f"{path}: line {number} was edited (its hash does not match)")
        previous = entry["hash"]
        entries.append(entry)
    head = _head_path(path)
    if head.exists():
        try:
            recorded = json.loads(head.read_text(encoding="utf-8"))
        except ValueError:
            raise LogTampered(f"{head}: head file is damaged") from None
        last = entries[-1] if entries else {"seq": -1, "hash": GENESIS}
        if recorded.get("seq") != last["seq"] or recorded.get("hash") != last["hash"]:
            raise LogTampered(
                f"{path}: the log ends at entry {last['seq']} but its head "
                f"records entry {recorded.get('seq')}: it was truncated"
            )
    elif entries:
        raise LogTampered(f"{head}: head file is missing")
    return entries
