"""The access log is hash-chained: edits, reordering and truncation are detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oretrail.auth.access_log import AccessLog, LogTampered, verify_log


async def written_log(tmp_path: Path, count: int = 4) -> Path:
    path = tmp_path / "node.log"
    log = AccessLog(path)
    for n in range(count):
        await log.append(
            {
                "caller": f"user-{n}",
                "org": "nordvolt",
                "purpose": "trace",
                "txn": f"t{n}",
                "query": "lots",
                "lots": [],
            }
        )
    return path


def rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def test_an_untouched_log_verifies_and_a_reopened_log_continues_the_chain(
    tmp_path: Path,
) -> None:
    path = await written_log(tmp_path)
    assert [e["caller"] for e in verify_log(path)] == ["user-0", "user-1", "user-2", "user-3"]
    await AccessLog(path).append(
        {"caller": "later", "org": "x", "purpose": "p", "txn": "t", "query": "lots", "lots": []}
    )
    assert [e["seq"] for e in verify_log(path)] == [0, 1, 2, 3, 4]


async def test_an_edited_entry_is_detected(tmp_path: Path) -> None:
    path = await written_log(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["caller"] = "someone-else"
    lines[1] = json.dumps(entry)
    rewrite(path, lines)
    with pytest.raises(LogTampered, match="line 2 was edited"):
        verify_log(path)


async def test_reordered_entries_are_detected(tmp_path: Path) -> None:
    path = await written_log(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    rewrite(path, lines)
    with pytest.raises(LogTampered, match="removed or reordered"):
        verify_log(path)


async def test_a_removed_entry_is_detected(tmp_path: Path) -> None:
    path = await written_log(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    del lines[1]
    rewrite(path, lines)
    with pytest.raises(LogTampered, match="removed or reordered"):
        verify_log(path)


async def test_a_truncated_log_is_detected_by_its_head(tmp_path: Path) -> None:
    path = await written_log(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    rewrite(path, lines[:2])
    with pytest.raises(LogTampered, match="truncated"):
        verify_log(path)


async def test_a_lone_surrogate_in_a_callers_sub_is_logged_escaped_and_the_log_verifies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "node.log"
    log = AccessLog(path)
    hostile = "mallory\ud800"  # a JSON "\ud800" escape with no low half: not UTF-8 encodable
    entry = await log.append(
        {"caller": hostile, "org": "nordvolt", "purpose": "trace", "txn": "t\udfff", "lots": []}
    )
    # Each lone surrogate becomes the six characters backslash, u and four hex digits.
    assert entry["caller"] == "mallory\\ud800"
    assert entry["txn"] == "t\\udfff"
    await log.append({"caller": "next", "org": "nordvolt", "purpose": "trace", "lots": []})
    assert [e["caller"] for e in verify_log(path)] == ["mallory\\ud800", "next"]
    # Reopened, the chain continues after the escaped entry.
    assert AccessLog(path).seq == 1


async def test_a_lone_surrogate_in_a_key_or_a_nested_list_is_escaped_too() -> None:
    log = AccessLog()
    entry = await log.append({"lots": [{"id": "urn:oretrail:lot:x:\ud83d", "\udc00": 1}]})
    assert entry["lots"] == [{"id": "urn:oretrail:lot:x:\\ud83d", "\\udc00": 1}]
