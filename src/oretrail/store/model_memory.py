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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from oretrail.domain.risk_management import RiskRecord
from oretrail.errors import StoreError
from oretrail.store.model_port import (
    UNKNOWN_MATERIAL,
    ModelEdge,
    ModelFacility,
    ModelLot,
    OverAllocation,
    ParticipantRecord,
    SupplyLink,
    TraceRecord,
    TraceSummary,
    best_known,
    decode_risk_record,
    encode_risk_record,
    known_material,
    record_links,
)

__all__ = ["MemoryModelStore"]

JOURNAL = "model.jsonl"


@dataclass(slots=True)
class _View:
    """What one organisation's traces recorded, with indexes kept as records arrive."""

    lots: dict[str, ModelLot] = field(default_factory=dict)
    links: dict[tuple[str, str], float | None] = field(default_factory=dict)
    consumers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    allocated: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    at_facility: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    roots: set[str] = field(default_factory=set)


class MemoryModelStore:
    """A ModelStore in memory; with ``data_dir`` every write is journalled to disk first."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._journal = None if data_dir is None else data_dir / JOURNAL
        self._participants: dict[str, ParticipantRecord] = {}
        # Each lot as best known over every trace: only its owner's totals read it.
        self._lots: dict[str, ModelLot] = {}
        self._owned: dict[str, set[str]] = defaultdict(set)
        # (consumer, input) -> the best known mass over every trace, for owners' totals.
        self._claims: dict[str, dict[str, float]] = defaultdict(dict)
        self._views: dict[str, _View] = defaultdict(_View)
        self._traces: list[TraceSummary] = []
        self._risk_records: dict[str, dict[str, RiskRecord]] = defaultdict(dict)
        # Transparency answers by key: the first kept for a key is the one answer.
        self._answers: dict[str, str] = {}
        self._write_lock = asyncio.Lock()
        self._answer_lock = asyncio.Lock()
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
        elif entry["kind"] == "risk_record":
            kept = decode_risk_record(entry["record"])
            self._risk_records[kept.org].setdefault(kept.id, kept)
        elif entry["kind"] == "transparency":
            self._answers.setdefault(entry["key"], entry["answer"])

    def _apply_trace(self, record: TraceRecord) -> None:
        view = self._views[record.summary.caller]
        for seen in record.lots:
            self._lots[seen.id] = _merged(self._lots.get(seen.id), seen)
            self._owned[seen.owner].add(seen.id)
            view.lots[seen.id] = _merged(view.lots.get(seen.id), seen)
            if seen.facility is not None:
                view.at_facility[seen.facility.id].add(seen.id)
        for (consumer, input_), kilograms in record_links(record).items():
            known = view.links.get((consumer, input_))
            kept = best_known(known, kilograms)
            view.links[(consumer, input_)] = kept
            view.consumers[input_].add(consumer)
            view.allocated[input_] += (kept or 0.0) - (known or 0.0)
            total = best_known(self._claims[input_].get(consumer), kilograms)
            if total is not None:
                self._claims[input_][consumer] = total
        view.roots.add(record.summary.root)
        self._traces.append(record.summary)

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

    async def record_risk_decision(self, record: RiskRecord) -> None:
        if record.id in self._risk_records[record.org]:
            return
        await self._commit({"kind": "risk_record", "record": encode_risk_record(record)})

    async def risk_records(self, *, org: str) -> list[RiskRecord]:
        kept = self._risk_records.get(org, {}).values()
        return sorted(kept, key=lambda r: (r.signed_at, r.id))

    async def transparency_answer(self, key: str) -> str | None:
        return self._answers.get(key)

    async def keep_transparency_answer(self, key: str, answer: str) -> str:
        async with self._answer_lock:
            if key not in self._answers:
                await self._commit({"kind": "transparency", "key": key, "answer": answer})
            return self._answers[key]

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

    async def supply_network(self, material: str | None, *, caller: str) -> list[SupplyLink]:
        view = self._views.get(caller)
        if view is None:
            return []
        links = set()
        for consumer, input_ in view.links:
            supplier, customer = view.lots.get(input_), view.lots.get(consumer)
            if supplier is None or customer is None or supplier.owner == customer.owner:
                continue
            link = SupplyLink(supplier.owner, customer.owner, supplier.material or UNKNOWN_MATERIAL)
            if material is None or link.material == material:
                links.add(link)
        return sorted(links, key=lambda s: (s.material, s.supplier, s.customer))

    async def exposed_products(
        self, *, lot: str | None, facility: str | None, caller: str
    ) -> list[str]:
        view = self._views.get(caller)
        if view is None:
            return []
        start = {lot} if lot is not None else set(view.at_facility.get(facility or "", ()))
        reached, frontier = set(start), list(start)
        while frontier:
            for consumer in view.consumers.get(frontier.pop(), ()):
                if consumer not in reached:
                    reached.add(consumer)
                    frontier.append(consumer)
        return sorted(reached & view.roots)

    async def over_allocations(self, tolerance: float, *, caller: str) -> list[OverAllocation]:
        found = {}
        view = self._views.get(caller)
        if view is not None:
            for lot_id, used in view.allocated.items():
                lot = view.lots.get(lot_id)
                if lot is None or lot.owner == caller or lot.quantity_kg is None:
                    continue
                if used > lot.quantity_kg * (1 + tolerance):
                    outputs = len(view.consumers[lot_id])
                    found[lot_id] = OverAllocation(
                        lot_id, lot.owner, lot.quantity_kg, used, outputs
                    )
        for lot_id in self._owned.get(caller, ()):
            quantity = self._lots[lot_id].quantity_kg
            used = sum(self._claims.get(lot_id, {}).values())
            if quantity is not None and used > quantity * (1 + tolerance):
                found[lot_id] = OverAllocation(lot_id, caller, quantity, used, None)
        return [found[lot_id] for lot_id in sorted(found)]


def _merged(known: ModelLot | None, seen: ModelLot) -> ModelLot:
    """A lot as a later trace saw it, keeping what an earlier trace knew and this one did not."""
    material = known_material(seen.material)
    if known is None:
        return ModelLot(seen.id, seen.owner, material, seen.quantity_kg, seen.facility)
    return ModelLot(
        seen.id,
        seen.owner,
        material or known.material,
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
