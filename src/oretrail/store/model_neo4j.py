"""Neo4jModelStore: the gateway's supply-chain model in Neo4j, by named Cypher queries.

Each recording organisation's view is kept apart: its links are ``CONSUMED``
relationships carrying its id (``org``), and what its traces saw of a lot is a
``LotView`` node keyed ``<org>|<lot id>``. The rules are the port's (model_port.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from oretrail.domain.risk_management import RiskRecord
from oretrail.store.cypher import CypherRunner, Transaction
from oretrail.store.model_port import (
    UNKNOWN_MATERIAL,
    OverAllocation,
    ParticipantRecord,
    SupplyLink,
    TraceRecord,
    TraceSummary,
    decode_risk_record,
    encode_risk_record,
    known_material,
    record_links,
)

__all__ = ["Neo4jModelStore"]


class Neo4jModelStore:
    """A ModelStore on one Neo4j driver; each trace is recorded in one transaction."""

    def __init__(self, runner: CypherRunner) -> None:
        self._runner = runner

    async def ping(self) -> None:
        await self._runner.ping()

    async def register_participants(self, participants: Sequence[ParticipantRecord]) -> None:
        await self._runner.write(
            "model/upsert_participants",
            participants=[
                {
                    "id": p.id,
                    "name": p.name,
                    "roles": list(p.roles),
                    "country": p.country,
                    "endpoint": p.endpoint,
                }
                for p in participants
            ],
        )

    async def participants(self) -> list[ParticipantRecord]:
        rows = await self._runner.read("model/participants")
        return [
            ParticipantRecord(p["id"], p["name"], tuple(p["roles"]), p["country"], p["endpoint"])
            for p in (r["participant"] for r in rows)
        ]

    async def record_trace(self, record: TraceRecord) -> None:
        s = record.summary
        lots = [
            {
                "id": lot.id,
                "owner": lot.owner,
                "material": known_material(lot.material),
                "quantity_kg": lot.quantity_kg,
                "facility": None if lot.facility is None else lot.facility.id,
            }
            for lot in record.lots
        ]
        facilities = [
            {
                "lot": lot.id,
                "id": f.id,
                "org": f.org,
                "name": f.name,
                "kind": f.kind,
                "country": f.country,
                "region": f.region,
            }
            for lot in record.lots
            if (f := lot.facility) is not None
        ]
        edges = [
            {"consumer": consumer, "input": input_, "kg": kilograms}
            for (consumer, input_), kilograms in record_links(record).items()
        ]
        trace = {
            "id": s.id,
            "root": s.root,
            "caller": s.caller,
            "at": s.at.isoformat(),
            "as_of": s.as_of.isoformat(),
            "max_depth": s.max_depth,
            "elements": list(s.elements),
            "coverage": list(s.coverage),
            "origins": list(s.origins),
            "gaps": s.gaps,
            "receipts": list(s.receipts),
        }

        async def work(tx: Transaction) -> None:
            await tx.run("model/merge_lots", lots=lots, org=s.caller)
            await tx.run("model/merge_facilities", facilities=facilities)
            await tx.run("model/merge_edges", edges=edges, org=s.caller)
            await tx.run("model/create_trace", trace=trace)

        await self._runner.in_transaction("recording a trace", work)

    async def trace_history(
        self, *, root: str | None, caller: str | None, limit: int
    ) -> list[TraceSummary]:
        rows = await self._runner.read("model/trace_history", root=root, caller=caller, limit=limit)
        return [TraceSummary.from_dict(r["trace"]) for r in rows]

    async def supply_network(self, material: str | None, *, caller: str) -> list[SupplyLink]:
        rows = await self._runner.read(
            "model/supply_network", material=material, org=caller, unknown=UNKNOWN_MATERIAL
        )
        return [SupplyLink(r["supplier"], r["customer"], r["material"]) for r in rows]

    async def exposed_products(
        self, *, lot: str | None, facility: str | None, caller: str
    ) -> list[str]:
        if lot is not None:
            rows = await self._runner.read("model/exposed_products_of_lot", lot=lot, caller=caller)
        else:
            rows = await self._runner.read(
                "model/exposed_products_of_facility", facility=facility, caller=caller
            )
        return [r["product"] for r in rows]

    async def over_allocations(self, tolerance: float, *, caller: str) -> list[OverAllocation]:
        own = await self._runner.read("model/over_allocations", tolerance=tolerance, org=caller)
        owned = await self._runner.read(
            "model/over_allocations_owned", tolerance=tolerance, org=caller
        )
        found = [
            OverAllocation(r["lot"], r["owner"], r["quantity_kg"], r["allocated_kg"], r["outputs"])
            for r in own
        ] + [
            OverAllocation(r["lot"], r["owner"], r["quantity_kg"], r["allocated_kg"], None)
            for r in owned
        ]
        return sorted(found, key=lambda o: o.lot)

    async def record_risk_decision(self, record: RiskRecord) -> None:
        await self._runner.write("model/merge_risk_record", record=encode_risk_record(record))

    async def risk_records(self, *, org: str) -> list[RiskRecord]:
        rows = await self._runner.read("model/risk_records", org=org)
        return [decode_risk_record(r["record"]) for r in rows]

    async def transparency_answer(self, key: str) -> str | None:
        rows = await self._runner.read("model/transparency_answer", key=key)
        return str(rows[0]["answer"]) if rows else None

    async def keep_transparency_answer(self, key: str, answer: str) -> str:
        rows = await self._runner.write("model/keep_transparency_answer", key=key, answer=answer)
        return str(rows[0]["answer"])
