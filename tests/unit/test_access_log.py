"""The witnessed access log: receipts that verify, group commits, recovery after a crash."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from oretrail.auth.access_log import AccessLog, LogTampered, checkpoints_path, hashes_path
from oretrail.auth.checkpoint import log_origin, verify_checkpoint
from oretrail.auth.keys import SigningKey, generate_signing_key
from oretrail.auth.merkle import EMPTY_ROOT, leaf_hash
from oretrail.auth.tokens import node_issuer
from oretrail.auth.witness import verify_receipt

ORIGIN = log_origin("nordvolt")


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key(node_issuer("nordvolt"), "nordvolt-node-1")


def record(n: int) -> dict[str, object]:
    return {"caller": f"user-{n}", "org": "nordvolt", "query": "lots", "lots": []}


async def test_each_append_returns_a_receipt_that_verifies(key: SigningKey, tmp_path: Path) -> None:
    """Receipt n proves entry n (seq n) in a checkpoint the node key signed."""
    log = AccessLog(tmp_path / "nordvolt.log", key, ORIGIN)
    public = key.private.public_key()
    for n in range(5):
        receipt = await log.append(record(n))
        checked = verify_receipt(receipt.to_json(), public, ORIGIN)
        assert (checked.index, checked.size) == (n, n + 1)
    lines = (tmp_path / "nordvolt.log").read_bytes().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [0, 1, 2, 3, 4]
    # The leaf is the entry's exact bytes under the RFC 9162 leaf prefix.
    assert receipt.leaf == hashlib.sha256(b"\x00" + lines[4]).digest()
    assert log.records()[4]["caller"] == "user-4"


async def test_a_fresh_log_signs_the_empty_tree(key: SigningKey, tmp_path: Path) -> None:
    log = AccessLog(tmp_path / "nordvolt.log", key, ORIGIN)
    checkpoint = verify_checkpoint(log.checkpoint, key.private.public_key(), ORIGIN)
    assert (checkpoint.size, checkpoint.root) == (0, EMPTY_ROOT)


async def test_concurrent_appends_share_one_commit(key: SigningKey, tmp_path: Path) -> None:
    """Ten appends arriving together are written, synced and signed as one batch."""
    log = AccessLog(tmp_path / "nordvolt.log", key, ORIGIN)
    receipts = await asyncio.gather(*(log.append(record(n)) for n in range(10)))
    assert sorted(r.index for r in receipts) == list(range(10))
    assert {r.size for r in receipts} == {10}
    # The empty tree's checkpoint, then one for the batch.
    assert len(checkpoints_path(tmp_path / "nordvolt.log").read_text().splitlines()) == 2


async def test_a_reopened_log_continues_where_it_ended(key: SigningKey, tmp_path: Path) -> None:
    path = tmp_path / "nordvolt.log"
    first = AccessLog(path, key, ORIGIN)
    for n in range(3):
        await first.append(record(n))
    first.close()
    again = AccessLog(path, key, ORIGIN)
    receipt = await again.append(record(3))
    assert (receipt.index, receipt.size) == (3, 4)
    verify_receipt(receipt.to_json(), key.private.public_key(), ORIGIN)


async def test_a_crash_between_writes_is_repaired_on_opening(
    key: SigningKey, tmp_path: Path
) -> None:
    """Entries written but not hashed or checkpointed (a crash) are hashed and signed."""
    path = tmp_path / "nordvolt.log"
    log = AccessLog(path, key, ORIGIN)
    for n in range(3):
        await log.append(record(n))
    log.close()
    with path.open("ab") as entries:
        entries.write(b'{"seq":3,"query":"lots"}\n{"seq":4,"que')  # the last one cut short
    reopened = AccessLog(path, key, ORIGIN)
    # 4 whole entries: the 3 logged and the one written before the crash.
    assert reopened.size == 4
    assert verify_checkpoint(reopened.checkpoint, key.private.public_key(), ORIGIN).size == 4
    assert hashes_path(path).stat().st_size == 32 * 7  # 4 leaves + 2 + 1 interior hashes


async def test_a_log_that_lost_entries_refuses_to_open(key: SigningKey, tmp_path: Path) -> None:
    path = tmp_path / "nordvolt.log"
    log = AccessLog(path, key, ORIGIN)
    for n in range(3):
        await log.append(record(n))
    log.close()
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:2]))
    with pytest.raises(LogTampered, match="holds 2 entries but its last checkpoint covers 3"):
        AccessLog(path, key, ORIGIN)


async def test_a_lone_surrogate_is_logged_escaped(key: SigningKey) -> None:
    """A caller's string that UTF-8 cannot encode is escaped, never fatal."""
    log = AccessLog(None, key, ORIGIN)
    receipt = await log.append({"caller": "mallory\ud800"})
    assert log.records()[0]["caller"] == "mallory\\ud800"
    assert receipt.leaf == leaf_hash(
        b'{"at":"'
        + log.records()[0]["at"].encode()
        + b'",'
        + b'"caller":"mallory\\\\ud800","seq":0}'
    )
