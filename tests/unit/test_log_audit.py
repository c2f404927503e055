"""`node audit` catches every rewrite of a node's log, even one re-signed with the node
key, given the receipts and checkpoints that callers and witnesses hold (Trust 6).

The operator holds the node key, so every attack here that re-chains the log uses
the node's own AccessLog to write a fresh, self-consistent log: only what others
hold can tell it from the original.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from oretrail.auth.access_log import AccessLog, LogTampered, checkpoints_path, hashes_path
from oretrail.auth.checkpoint import log_origin, parse_checkpoint
from oretrail.auth.keys import SigningKey, generate_signing_key
from oretrail.auth.log_audit import audit_log
from oretrail.auth.tokens import node_issuer
from oretrail.auth.witness import Receipt, sign_answer

ORG = "kasulo-coop"
ORIGIN = log_origin(ORG)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key(node_issuer(ORG), "kasulo-node-1")


def record(n: int) -> dict[str, Any]:
    return {"caller": f"user-{n}", "org": "nordvolt", "query": "lots", "lots": [], "n": n}


class Held:
    """What others hold of a log: each answer's receipt, and a witness's checkpoint."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.receipts: list[dict[str, Any]] = []
        self.checkpoints: list[Path] = []

    def receipt_file(self, *indexes: int) -> Path:
        path = self.directory / f"receipts-{'-'.join(map(str, indexes))}.json"
        # Shaped like an evidence bundle: receipts nested anywhere are found.
        answers = [{"evidence": {"receipt": self.receipts[i]}} for i in indexes]
        path.write_text(json.dumps({"answers": answers}), encoding="utf-8")
        return path

    def witness(self, note: str) -> Path:
        path = self.directory / f"checkpoint-{len(self.checkpoints)}.txt"
        path.write_text(note, encoding="utf-8")
        self.checkpoints.append(path)
        return path


async def write_log(
    path: Path, key: SigningKey, records: Sequence[dict[str, Any]], held: Held | None = None
) -> AccessLog:
    """A log of ``records``, appended one at a time (one checkpoint each)."""
    log = AccessLog(path, key, ORIGIN)
    for r in records:
        receipt = await log.append(r)
        if held is not None:
            held.receipts.append(receipt.to_json())
    log.close()
    return log


async def rechain(path: Path, key: SigningKey, records: Sequence[dict[str, Any]]) -> None:
    """The operator's rewrite: the log removed and written anew, re-signed with its key."""
    for file in (path, hashes_path(path), checkpoints_path(path)):
        file.unlink(missing_ok=True)
    await write_log(path, key, records)


@pytest.fixture
async def logged(key: SigningKey, tmp_path: Path) -> tuple[Path, Held]:
    """Six entries, the receipt of each, and a witness's copy of the last checkpoint."""
    held = Held(tmp_path)
    path = tmp_path / "node" / f"{ORG}.log"
    log = await write_log(path, key, [record(n) for n in range(6)], held)
    held.witness(log.checkpoint)
    return path, held


def audit(path: Path, key: SigningKey, held: Held, receipts: Sequence[int] = ()) -> None:
    files = [held.receipt_file(*receipts)] if receipts else []
    audit_log(path, [key.private.public_key()], files, held.checkpoints)


async def test_an_untouched_log_passes_with_everything_held(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    path, held = logged
    report = audit_log(
        path, [key.private.public_key()], [held.receipt_file(0, 3, 5)], held.checkpoints
    )
    # 6 entries; the empty tree's checkpoint and one per append: 7 checkpoints.
    assert (report.entries, report.checkpoints, report.receipts, report.witnessed) == (6, 7, 3, 1)


async def test_truncation_is_caught_by_the_logs_own_checkpoint(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    path, held = logged
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:4]))
    # Checkpoint #n covers n - 1 entries: #6, of size 5, is the first beyond the 4 left.
    with pytest.raises(LogTampered, match="holds 4 entries but stored checkpoint #6 covers 5"):
        audit(path, key, held)


async def test_truncation_with_the_checkpoints_rewritten_is_caught_by_a_receipt(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    """Entries 4 and 5 cut, with their checkpoints and hashes: the log is self-consistent."""
    path, held = logged
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:4]))
    lines = checkpoints_path(path).read_text().splitlines(keepends=True)
    checkpoints_path(path).write_text("".join(lines[:5]))  # sizes 0..4
    hashes_path(path).write_bytes(hashes_path(path).read_bytes()[: 32 * 7])  # 4 + 2 + 1
    audit_log(path, [key.private.public_key()])  # alone, it passes
    held.checkpoints.clear()
    with pytest.raises(LogTampered, match="receipt for entry 5 covers 6: the log was truncated"):
        audit(path, key, held, receipts=[5])


async def test_an_entry_appended_without_signing_is_caught(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    path, held = logged
    forged = {"seq": 6, "at": "2026-01-01T00:00:00+00:00", **record(99)}
    with path.open("a", encoding="utf-8") as entries:
        entries.write(json.dumps(forged, separators=(",", ":"), sort_keys=True) + "\n")
    with pytest.raises(LogTampered, match="entry 6 follows the last checkpoint"):
        audit(path, key, held)


async def test_a_forged_entry_inserted_and_re_signed_is_caught_by_receipts(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    path, held = logged
    records = [record(n) for n in range(6)]
    records.insert(2, record(99))
    await rechain(path, key, records)
    audit_log(path, [key.private.public_key()])  # alone, it passes
    held.checkpoints.clear()
    # The receipt of entry 3 was in a tree of 4 entries; the new log's tree of 4 differs.
    with pytest.raises(LogTampered, match="two different checkpoints of size 4"):
        audit(path, key, held, receipts=[3])


async def test_an_edit_with_everything_re_chained_is_caught_by_a_witness(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    path, held = logged
    records = [record(n) for n in range(6)]
    records[2]["caller"] = "someone-else"
    await rechain(path, key, records)
    audit_log(path, [key.private.public_key()])
    with pytest.raises(LogTampered, match="two different checkpoints of size 6"):
        audit(path, key, held)


async def test_deleted_entries_re_chained_are_caught_by_receipts(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    path, held = logged
    await rechain(path, key, [record(n) for n in range(6) if n != 1])
    held.checkpoints.clear()
    with pytest.raises(LogTampered, match="receipt for entry 5 covers 6"):
        audit(path, key, held, receipts=[5])
    with pytest.raises(LogTampered, match="two different checkpoints of size 3"):
        audit(path, key, held, receipts=[2])


async def test_a_roll_back_to_an_older_checkpoint_is_caught(
    key: SigningKey, tmp_path: Path
) -> None:
    """The files restored from a copy taken at 3 entries, then new entries appended."""
    held = Held(tmp_path)
    path = tmp_path / "node" / f"{ORG}.log"
    await write_log(path, key, [record(n) for n in range(3)], held)
    backup = tmp_path / "backup"
    shutil.copytree(path.parent, backup)
    log = await write_log(path, key, [record(n) for n in range(3, 6)], held)
    held.witness(log.checkpoint)
    shutil.rmtree(path.parent)
    shutil.copytree(backup, path.parent)
    with pytest.raises(LogTampered, match="a supplied checkpoint covers 6: the log was truncated"):
        audit(path, key, held)
    # Appending other entries after the roll-back forks the log at size 6.
    await write_log(path, key, [record(n) for n in range(30, 33)])
    with pytest.raises(LogTampered, match="two different checkpoints of size 6"):
        audit(path, key, held)


async def test_an_emptied_log_is_caught_while_a_receipt_exists(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    path, held = logged
    await rechain(path, key, [])
    audit_log(path, [key.private.public_key()])  # an empty log alone passes
    held.checkpoints.clear()
    with pytest.raises(LogTampered, match="empty, but a receipt or checkpoint of size 1"):
        audit(path, key, held, receipts=[0])


async def test_a_deleted_log_is_caught_while_a_receipt_exists(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    path, held = logged
    shutil.rmtree(path.parent)
    with pytest.raises(LogTampered, match="missing, but a receipt or checkpoint of size 6"):
        audit(path, key, held, receipts=[5])


async def test_two_checkpoints_of_one_size_are_caught(
    logged: tuple[Path, Held], key: SigningKey, tmp_path: Path
) -> None:
    """The node showed another witness a different tree of the same size (a split view)."""
    path, held = logged
    other = await write_log(
        tmp_path / "fork" / f"{ORG}.log", key, [record(n + 10) for n in range(6)]
    )
    held.witness(other.checkpoint)
    with pytest.raises(LogTampered, match="two different checkpoints of size 6"):
        audit(path, key, held)


async def test_a_checkpoint_by_another_key_is_caught(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    path, _ = logged
    stranger = generate_signing_key(node_issuer(ORG), "someone-else")
    with pytest.raises(LogTampered, match="carries no signature by this key"):
        audit_log(path, [stranger.private.public_key()])


async def test_a_retired_key_signs_nothing_new(key: SigningKey, tmp_path: Path) -> None:
    """Keys are given oldest first: a checkpoint by an older key after a newer one fails."""
    path = tmp_path / f"{ORG}.log"
    new = generate_signing_key(node_issuer(ORG), "kasulo-node-2")
    await write_log(path, key, [record(0)])
    await write_log(path, new, [record(1)])  # the key rotated: sizes 0, 1 by the old
    old_public, new_public = key.private.public_key(), new.private.public_key()
    audit_log(path, [old_public, new_public])
    await write_log(path, key, [record(2)])  # the retired key signs again
    with pytest.raises(LogTampered, match="line 4: the checkpoint of size 3 is signed by a key"):
        audit_log(path, [old_public, new_public])


async def test_the_cli_fails_with_one_line_and_exit_status_2(
    logged: tuple[Path, Held], key: SigningKey, tmp_path: Path
) -> None:
    """Run as an operator would, in a process of its own (blocking is fine in a test)."""
    path, held = logged
    jwks = tmp_path / "node.jwks.json"
    jwks.write_text(json.dumps({"keys": [key.trusted().jwk()]}), encoding="utf-8")
    command = [sys.executable, "-m", "oretrail", "node", "audit", str(path), "--key", str(jwks)]
    command += ["--receipts", str(held.receipt_file(5)), "--witness", *map(str, held.checkpoints)]
    ok = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)  # noqa: ASYNC221
    assert ok.returncode == 0, ok.stderr
    assert "6 entries, 7 checkpoints verified; 1 receipts and 1 checkpoints" in ok.stdout
    await rechain(path, key, [record(n) for n in range(5)])
    failed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)  # noqa: ASYNC221
    assert failed.returncode == 2
    [line] = failed.stderr.strip().splitlines()
    assert "receipt for entry 5 covers 6" in line or "supplied checkpoint covers 6" in line


async def test_a_signed_answer_beside_a_receipt_must_name_it(
    logged: tuple[Path, Held], key: SigningKey
) -> None:
    """In an evidence object, the answer is checked with the receipt it travels with."""
    path, held = logged
    receipt = held.receipts[2]
    leaf = bytes.fromhex(receipt["leaf"])
    checkpoint, _, _ = parse_checkpoint(receipt["checkpoint"])
    stored = Receipt(2, leaf, receipt["checkpoint"], checkpoint.size, checkpoint.root, ())
    good = sign_answer(key, None, "00" * 32, stored)
    other = sign_answer(key, None, "00" * 32, replace(stored, index=1))
    bundle = held.directory / "bundle.json"
    bundle.write_text(json.dumps({"evidence": {"answer": good, "receipt": receipt}}))
    audit_log(path, [key.private.public_key()], [bundle])
    bundle.write_text(json.dumps({"evidence": {"answer": other, "receipt": receipt}}))
    with pytest.raises(LogTampered, match="names another leaf"):
        audit_log(path, [key.private.public_key()], [bundle])
