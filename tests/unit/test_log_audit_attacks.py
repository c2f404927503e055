"""`node audit` against attacks the issue does not list: a forked log shown to two
witnesses, checkpoints with extra signature lines, a swapped key, hostile files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oretrail.auth.access_log import LogTampered, checkpoints_path
from oretrail.auth.checkpoint import key_id, sign_checkpoint
from oretrail.auth.keys import SigningKey, generate_signing_key
from oretrail.auth.log_audit import audit_log
from oretrail.auth.tokens import node_issuer
from tests.unit.test_log_audit import ORG, ORIGIN, Held, audit, rechain, record, write_log


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key(node_issuer(ORG), "kasulo-node-1")


async def test_a_fork_shown_to_two_witnesses_is_caught(key: SigningKey, tmp_path: Path) -> None:
    """Witness A saw 4 entries of one history; the node then forked at entry 2 and
    showed witness B 6 entries of another. B's checkpoint is consistent with the log the
    node keeps; A's is not a prefix of it."""
    held = Held(tmp_path)
    path = tmp_path / "node" / f"{ORG}.log"
    log = await write_log(path, key, [record(n) for n in range(4)])
    held.witness(log.checkpoint)
    await rechain(path, key, [*(record(n) for n in range(2)), *(record(10 + n) for n in range(4))])
    forked = await write_log(path, key, [])
    held.witness(forked.checkpoint)
    # The node's own stored checkpoints hold its size 4 too: a split view at that size.
    with pytest.raises(LogTampered, match="two different checkpoints of size 4"):
        audit(path, key, held)


async def test_a_stored_checkpoint_with_a_second_signature_by_another_key_still_counts(
    key: SigningKey, tmp_path: Path
) -> None:
    """A signature line by a key the auditor does not hold, even under the origin's name,
    neither makes a checkpoint valid nor lets a forged one through."""
    held = Held(tmp_path)
    path = tmp_path / "node" / f"{ORG}.log"
    await write_log(path, key, [record(n) for n in range(3)], held)
    stranger = generate_signing_key(node_issuer(ORG), "stranger")
    lines = checkpoints_path(path).read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    # The stranger's note for size 3 with another root, then the node's own signature
    # line copied under it: a valid signature over other text must not verify.
    forged = sign_checkpoint(ORIGIN, 3, b"\x07" * 32, stranger.private)
    ours = last["checkpoint"].rsplit("\n\n", 1)[1]
    lines[-1] = json.dumps({**last, "checkpoint": forged + ours})
    checkpoints_path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LogTampered, match="does not verify"):
        audit(path, key, held)
    assert key_id(ORIGIN, stranger.private.public_key()) != key_id(ORIGIN, key.private.public_key())


async def test_a_log_rewritten_under_a_swapped_key_is_caught_by_receipts(
    key: SigningKey, tmp_path: Path
) -> None:
    """The operator makes a new node key, rewrites its log with it and presents the new
    key (the auditor given both, oldest first): the callers' receipts under the old key
    are not a prefix of the rewritten log."""
    held = Held(tmp_path)
    path = tmp_path / "node" / f"{ORG}.log"
    await write_log(path, key, [record(n) for n in range(5)], held)
    swapped = generate_signing_key(node_issuer(ORG), "kasulo-node-2")
    await rechain(path, swapped, [record(n) for n in (0, 1, 3, 4)])  # entry 2 removed
    keys = [key.private.public_key(), swapped.private.public_key()]
    with pytest.raises(LogTampered):
        audit_log(path, keys, [held.receipt_file(2, 4)])
    # Given only the new key, the old receipts do not verify: also a failure, not a pass.
    with pytest.raises(LogTampered):
        audit_log(path, [swapped.private.public_key()], [held.receipt_file(2, 4)])


@pytest.mark.parametrize(
    "content",
    [
        "[" * 100_000 + "]" * 100_000,  # too deep for the JSON reader
        "[" * 990 + "]" * 990,  # readable, too deep to walk recursively
    ],
)
async def test_a_hostile_receipts_or_checkpoint_file_is_refused_with_a_reason(
    key: SigningKey, tmp_path: Path, content: str
) -> None:
    held = Held(tmp_path)
    path = tmp_path / "node" / f"{ORG}.log"
    await write_log(path, key, [record(0)], held)
    hostile = tmp_path / "hostile.json"
    hostile.write_text(content, encoding="utf-8")
    with pytest.raises(LogTampered, match=r"hostile\.json: cannot read"):
        audit_log(path, [key.private.public_key()], [hostile])
    with pytest.raises(LogTampered, match=r"hostile\.json"):
        audit_log(path, [key.private.public_key()], [], [hostile])
