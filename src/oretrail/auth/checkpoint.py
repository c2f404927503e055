"""C2SP signed checkpoints of a node's Merkle logs (https://c2sp.org/tlog-checkpoint).

A checkpoint is a signed note (https://c2sp.org/signed-note)::

    oretrail.node/<org>\\n
    <tree size, decimal>\\n
    <root hash, standard base64>\\n
    \\n
    — oretrail.node/<org> <base64(4-byte key id || 64-byte Ed25519 signature)>\\n

The signature covers the text above the blank line, its final newline
included. The key name is the origin; the key id is the first 4 bytes of
SHA-256(name || 0x0A || 0x01 || public key), 0x01 naming Ed25519 in the
signed-note spec. Signature lines by other keys are allowed and ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from oretrail.errors import OretrailError

__all__ = [
    "Checkpoint",
    "CheckpointRejected",
    "key_id",
    "log_origin",
    "parse_checkpoint",
    "sign_checkpoint",
    "verify_checkpoint",
]

# The signature line's lead: an em dash and a space (signed-note spec).
_DASH = "\u2014 "
_ED25519 = b"\x01"
# A checkpoint is a few hundred bytes; anything much longer is not one of ours.
MAX_NOTE_BYTES = 16 * 1024
# No log of ours holds 2**63 entries (auth.merkle's proofs stop at 63 levels).
MAX_TREE_SIZE = 2**63 - 1
_MAX_SIZE_DIGITS = len(str(MAX_TREE_SIZE))


class CheckpointRejected(OretrailError):
    """A checkpoint that cannot be parsed, or whose signature does not verify."""

    code = "LOG_TAMPERED"


def log_origin(org: str, log: str | None = None) -> str:
    """The origin line of a node's log: ``oretrail.node/<org>`` (``/<log>`` for others)."""
    return f"oretrail.node/{org}" + (f"/{log}" if log else "")


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    """The signed-note key id of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519 + _raw(public)).digest()[:4]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A parsed checkpoint: the log's origin, its size, its root, and the note text."""

    origin: str
    size: int
    root: bytes
    note: str

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.root).decode("ascii")


def sign_checkpoint(origin: str, size: int, root: bytes, key: Ed25519PrivateKey) -> str:
    """The signed note of a log's state, signed by ``key`` under the origin's name."""
    body = f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"
    signature = key.sign(body.encode("utf-8"))
    blob = base64.b64encode(key_id(origin, key.public_key()) + signature).decode("ascii")
    return f"{body}\n{_DASH}{origin} {blob}\n"


def parse_checkpoint(note: object) -> tuple[Checkpoint, str, list[tuple[str, bytes]]]:
    """(checkpoint, signed text, signatures as (name, key id || signature)), unverified."""
    if not isinstance(note, str) or not note.endswith("\n"):
        raise CheckpointRejected("a checkpoint is note text ending with a newline")
    if len(note.encode("utf-8", "replace")) > MAX_NOTE_BYTES:
        raise CheckpointRejected("the checkpoint is too long to be one")
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointRejected("the checkpoint has no blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    lines = text.split("\n")[:-1]
    if len(lines) < 3:
        raise CheckpointRejected("a checkpoint's text has an origin, a size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    # ASCII digits only: str.isdigit() also takes "\u00b2" (which int() refuses) and
    # other scripts' digits; and at most 2**63 - 1, so int() never meets a huge number.
    if (
        not (size_text.isascii() and size_text.isdigit())
        or (size_text != "0" and size_text.startswith("0"))
        or len(size_text) > _MAX_SIZE_DIGITS
        or int(size_text) > MAX_TREE_SIZE
    ):
        raise CheckpointRejected(f"checkpoint size {size_text[:30]!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointRejected("the checkpoint's root hash is not base64") from None
    if len(root) != 32:
        raise CheckpointRejected("the checkpoint's root hash is not 32 bytes")
    signatures = []
    for line in signature_block.split("\n")[:-1]:
        name, _, blob = line.removeprefix(_DASH).rpartition(" ")
        if not line.startswith(_DASH) or not name:
            raise CheckpointRejected("a checkpoint signature line is malformed")
        try:
            signatures.append((name, base64.b64decode(blob, validate=True)))
        except (binascii.Error, ValueError):
            raise CheckpointRejected("a checkpoint signature is not base64") from None
    return Checkpoint(origin, int(size_text), root, note), text, signatures


def verify_checkpoint(note: object, public: Ed25519PublicKey, origin: str) -> Checkpoint:
    """The checkpoint, if it is ``origin``'s and ``public`` signed it under that name.

    Raises CheckpointRejected naming what failed: the text, the origin, or the
    signature (none by this key, or one that does not verify).
    """
    checkpoint, text, signatures = parse_checkpoint(note)
    if checkpoint.origin != origin:
        raise CheckpointRejected(
            f"the checkpoint is of log {checkpoint.origin[:80]!r}, not {origin!r}"
        )
    wanted = key_id(origin, public)
    ours = [blob for name, blob in signatures if name == origin and blob[:4] == wanted]
    if not ours:
        raise CheckpointRejected(
            f"the checkpoint of size {checkpoint.size} carries no signature by this key"
        )
    for blob in ours:
        try:
            public.verify(blob[4:], text.encode("utf-8"))
            return checkpoint
        except InvalidSignature:
            continue
    raise CheckpointRejected(
        f"the checkpoint of size {checkpoint.size} has a signature that does not verify"
    )
