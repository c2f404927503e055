"""MemoryModelStore: the gateway's model in memory, kept across restarts by a journal.

Every write is appended to ``<data_dir>/model.jsonl`` as one JSON line and
fsync'ed before the call returns, then applied in memory; opening the store
replays the journal. A torn last line (a crash in the middle of a write) is the
one write that was never acknowledged, so it is dropped; damage anywhere else is
an error.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from oretrail.errors import StoreError
from oretrail.store.model_port import (
    ModelEdge,
    ModelFacility,
    ModelLot,
    OverAllocation,
    ParticipantRecord,
    SupplyLink,
    TraceRecord,
    TraceSummary,
    supply_links,
)

__all__ = ["MemoryModelStore"]

JOURNAL = "model.jsonl"


class MemoryModelStore:
    """A ModelStore in memory; with ``data_dir`` every write is journalled to disk first."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._journal = None if data_dir is None else data_dir / JOURNAL
        self._participants: dict[str, ParticipantRecord] = {}
        self._lots: dict[str, ModelLot] = {}
        self._edges: dict[tuple[str, str], float] = {}
        # Indexes kept as records arrive, so queries never scan every link.
        self._consumers: dict[str, set[str]] = defaultdict(set)
        self._allocated: dict[str, float] = defaultdict(float)
        self._outputs: dict[str, int] = defaultdict(int)
        self._roots: dict[str, set[str]] = defaultdict(set)
        self._supplies: set[SupplyLink] = set()
        self._traces: list[TraceSummary] = []
        self._write_lock = asyncio.Lock()
        if self._journal is not None:
            data_dir_ = self._journal.parent
            data_dir_.mkdir(parents=True, exist_ok=True)
            self._replay(self._journal)

    def _replay(self, journal: Path) -> None:
        if not journal.exists():
            return
        lines = journal.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            try:
                entry = json.loads(line)
            except ValueError:
                if number == len(lines):
                    break  # torn final write: never acknowledged, so never committed
                raise StoreError(f"{journal}: line {number} is damaged") from None
            self._apply(entry)

    def _apply(self, entry: dict[str, Any]) -> None:
        if entry["kind"] == "participants":
            for p in entry["participants"]:
                record = ParticipantRecord(
                    p["id"], p["name"], tuple(p["roles"]), p["country"], p["endpoint"]
                )
                self._participants[record.id] = record
        elif entry["kind"] == "trace":
            self._apply_trace(_decode_trace(entry["trace"]))

    def _apply_trace(self, record: TraceRecord) -> None:
        for seen in record.lots:
            self._lots[seen.id] = _merged(self._lots.get(seen.id), seen)
        for edge in record.edges:
            key = (edge.consumer, edge.input)
            previous = self._edges.get(key)
            if previous is None:
                self._outputs[edge.input] += 1
                self._consumers[edge.input].add(edge.consumer)
            self._allocated[edge.input] += edge.kilograms - (previous or 0.0)
            self._edges[key] = edge.kilograms
        self._supplies.update(supply_links(record))
        self._traces.append(record.summary)
        self._roots[record.summary.caller].add(record.summary.root)

    async def _commit(self, entry: dict[str, Any]) -> None:
        async with self._write_lock:
            if self._journal is not None:
                line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
                await asyncio.to_thread(_append_durably, self._journal, line)
            self._apply(entry)

    async def ping(self) -> None:
        return None

    async def register_participants(self, participants: Sequence[ParticipantRecord]) -> None:
        await self._commit(
            {"kind": "participants", "participants": [asdict(p) for p in participants]}
        )

    async def participants(self) -> list[ParticipantRecord]:
        return sorted(self._participants.values(), key=lambda p: p.id)

    async def record_trace(self, record: TraceRecord) -> None:
        await self._commit({"kind": "trace", "trace": _encode_trace(record)})

    async def trace_history(
        self, *, root: str | None, caller: str | None, limit: int
    ) -> list[TraceSummary]:
        found = [
            t
            for t in self._traces
            if (root is None or t.root == root) and (caller is None or t.caller == caller)
        ]
        found.sort(key=lambda t: t.id)
        found.sort(key=lambda t: t.at, reverse=True)
        return found[:limit]

    async def supply_network(self, material: str | None) -> list[SupplyLink]:
        links = [s for s in self._supplies if material is None or s.material == material]
        return sorted(links, key=lambda s: (s.material, s.supplier, s.customer))

    async def exposed_products(
        self, *, lot: str | None, facility: str | None, caller: str | None
    ) -> list[str]:
        start = (
            {lot}
            if lot is not None
            else {x.id for x in self._lots.values() if x.facility and x.facility.id == facility}
        )
        reached, frontier = set(start), list(start)
        while frontier:
            for consumer in self._consumers.get(frontier.pop(), ()):
                if consumer not in reached:
                    reached.add(consumer)
                    frontier.append(consumer)
        if caller is not None:
            roots = self._roots.get(caller, set())
        else:
            roots = set().union(*self._roots.values()) if self._roots else set()
        return sorted(reached & roots)

    async def over_allocations(self, tolerance: float) -> list[OverAllocation]:
        found = []
        for lot_id, used in self._allocated.items():
            lot = self._lots.get(lot_id)
            if (
                lot is not None
                and lot.quantity_kg is not None
                and (used > lot.quantity_kg * (1 + tolerance))
            ):
                found.append(
                    OverAllocation(lot_id, lot.owner, lot.quantity_kg, used, self._outputs[lot_id])
                )
        return sorted(found, key=lambda o: o.lot)


def _merged(known: ModelLot | None, seen: ModelLot) -> ModelLot:
    """A lot as a later trace saw it, keeping what an earlier trace knew and this one did not."""
    if known is None:
        return seen
    return ModelLot(
        seen.id,
        seen.owner,
        seen.material or known.material,
        seen.quantity_kg if seen.quantity_kg is not None else known.quantity_kg,
        seen.facility or known.facility,
    )


def _append_durably(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as journal:
        journal.write(line)
        journal.flush()
        os.fsync(journal.fileno())


def _encode_trace(record: TraceRecord) -> dict[str, Any]:
    encoded = asdict(record)
    encoded["summary"]["at"] = record.summary.at.isoformat()
    encoded["summary"]["as_of"] = record.summary.as_of.isoformat()
    return encoded


def _decode_trace(raw: dict[str, Any]) -> TraceRecord:
    summary = TraceSummary.from_dict(raw["summary"])
    lots = tuple(
        ModelLot(
            lot["id"],
            lot["owner"],
            lot["material"],
            lot["quantity_kg"],
            None if lot["facility"] is None else ModelFacility(**lot["facility"]),
        )
        for lot in raw["lots"]
    )
    edges = tuple(ModelEdge(**e) for e in raw["edges"])
    return TraceRecord(summary, lots, edges)
