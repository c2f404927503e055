"""A node's claim ledger: how much of each of its lots grants have claimed, per customer.

Every verified claim "the granter's lot L consumed q kg of our lot X" counts
against what our own records show we shipped of X to that granter (DESIGN.md,
Trust 4). Claims count once per distinct consuming lot: a later claim for the same
(X, granter, L) replaces the earlier one and never adds to it, so repeating,
resuming or replaying a trace never changes what is served. A claim that would
take the total past the shipped quantity (with tolerance) is refused, and X is
flagged over-claimed: no new claim on it is accepted after that; claims already
accepted keep being honoured, unchanged.

Every grant received is kept as evidence, and every accepted claim and flag is
appended to the ledger file (JSON lines) before it takes effect, so a restarted
node keeps counting where it stopped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oretrail.errors import ConfigError

__all__ = ["ClaimLedger", "ClaimOutcome"]


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """What the ledger decided about one claim, with the figures behind it (kg)."""

    accepted: bool
    claimed_kg: float
    limit_kg: float
    over_claimed: bool


class ClaimLedger:
    """Claims per (our lot, granter organisation, consuming lot), kept in a JSON-lines file."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._claims: dict[tuple[str, str], dict[str, float]] = {}
        self._over: set[str] = set()
        self._grants: set[str] = set()
        self._pending: list[str] = []
        if path is not None and path.exists():
            self._replay(path)

    def _replay(self, path: Path) -> None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the claim ledger: {exc}") from None
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
                if "claim" in record:
                    lot, granter, consumer, kilograms = record["claim"]
                    self._claims.setdefault((lot, granter), {})[consumer] = float(kilograms)
                elif "over" in record:
                    self._over.add(str(record["over"]))
                elif "grant" in record:
                    self._grants.add(str(record["hash"]))
            except (ValueError, TypeError, KeyError) as exc:
                raise ConfigError(f"{path}:{number}: not a ledger record: {exc}") from None

    def is_over_claimed(self, lot: str) -> bool:
        return lot in self._over

    def claimed(self, lot: str, granter: str) -> float:
        return sum(self._claims.get((lot, granter), {}).values())

    def keep_grant(self, digest: str, grant: str) -> None:
        """Keep a received grant as evidence (once per grant)."""
        if digest not in self._grants:
            self._grants.add(digest)
            self._append({"grant": grant, "hash": digest})

    def claim(
        self, lot: str, granter: str, consumer: str, kilograms: float, limit_kg: float
    ) -> ClaimOutcome:
        """Count ``granter``'s claim that ``consumer`` took ``kilograms`` of ``lot``.

        ``limit_kg`` is what our records show shipped of ``lot`` to ``granter``,
        tolerance included.
        """
        claims = self._claims.setdefault((lot, granter), {})
        before = claims.get(consumer)
        if before is not None and kilograms <= before:
            # Already accepted (a repeat, a resume, a replay): served as before.
            return ClaimOutcome(True, sum(claims.values()), limit_kg, lot in self._over)
        total = sum(claims.values()) - (before or 0.0) + kilograms
        if lot in self._over or total > limit_kg:
            if lot not in self._over:
                self._over.add(lot)
                self._append({"over": lot, "granter": granter, "claimed_kg": total})
            return ClaimOutcome(False, total, limit_kg, True)
        self._append({"claim": [lot, granter, consumer, kilograms]})
        claims[consumer] = kilograms
        return ClaimOutcome(True, total, limit_kg, False)

    def _append(self, record: dict[str, Any]) -> None:
        if self._path is not None:
            self._pending.append(json.dumps(record, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        """Write what this request added, with one fsync, before the node answers."""
        if self._path is None or not self._pending:
            return
        with self._path.open("a", encoding="utf-8") as out:
            out.write("".join(self._pending))
            out.flush()
            os.fsync(out.fileno())
        self._pending.clear()
