"""Neo4jModelStore: the gateway's supply-chain model in Neo4j, by named Cypher queries."""

from __future__ import annotations

from collections.abc import Sequence

from oretrail.store.cypher import CypherRunner, Transaction
from oretrail.store.model_port import (
    OverAllocation,
    ParticipantRecord,
    SupplyLink,
    TraceRecord,
    TraceSummary,
    supply_links,
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
                "material": lot.material,
                "quantity_kg": lot.quantity_kg,
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
            {"consumer": e.consumer, "input": e.input, "kg": e.kilograms} for e in record.edges
        ]
        supplies = [
            {"supplier": x.supplier, "customer": x.customer, "material": x.material}
            for x in supply_links(record)
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
        }

        async def work(tx: Transaction) -> None:
            await tx.run("model/merge_lots", lots=lots)
            await tx.run("model/merge_facilities", facilities=facilities)
            await tx.run("model/merge_edges", edges=edges)
            await tx.run("model/merge_supplies", supplies=supplies)
            await tx.run("model/create_trace", trace=trace)

        await self._runner.in_transaction("recording a trace", work)

    async def trace_history(
        self, *, root: str | None, caller: str | None, limit: int
    ) -> list[TraceSummary]:
        rows = await self._runner.read("model/trace_history", root=root, caller=caller, limit=limit)
        return [TraceSummary.from_dict(r["trace"]) for r in rows]

    async def supply_network(self, material: str | None) -> list[SupplyLink]:
        rows = await self._runner.read("model/supply_network", material=material)
        return [SupplyLink(r["supplier"], r["customer"], r["material"]) for r in rows]

    async def exposed_products(
        self, *, lot: str | None, facility: str | None, caller: str | None
    ) -> list[str]:
        if lot is not None:
            rows = await self._runner.read("model/exposed_products_of_lot", lot=lot, caller=caller)
        else:
            rows = await self._runner.read(
                "model/exposed_products_of_facility", facility=facility, caller=caller
            )
        return [r["product"] for r in rows]

    async def over_allocations(self, tolerance: float) -> list[OverAllocation]:
        rows = await self._runner.read("model/over_allocations", tolerance=tolerance)
        return [
            OverAllocation(r["lot"], r["owner"], r["quantity_kg"], r["allocated_kg"], r["outputs"])
            for r in rows
        ]
