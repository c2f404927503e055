"""The node's witnessed log of the shipment records that authorise grants (Trust 6).

A node honours a continuation grant, or opens a root to a customer, because its
own shipment records say the lot was shipped to the granter or the caller (Trust
3 and 4). Those records are protected as its access log is: before an answer that
consulted a shipment record leaves, the record is a leaf of a second Merkle log,
``<org>.shipments.log`` (origin ``oretrail.node/<org>/shipments``, signed
checkpoints by the node key), and the answer's access-log entry names the
shipments log's size and root then (``"shipments": {"size", "root"}``), so the
receipts callers hold for their answers pin the shipment records too. A record
added later to justify an answer already given, or removed or changed after it
justified one, shows in ``oretrail node audit`` against the checkpoints and
receipts others hold.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from typing import Any

from oretrail.auth.access_log import AccessLog
from oretrail.auth.checkpoint import parse_checkpoint
from oretrail.auth.witness import canonical_json
from oretrail.domain.model import Shipment

__all__ = ["ShipmentLog", "shipment_record"]


def shipment_record(shipment: Shipment) -> dict[str, Any]:
    """A shipment record as its leaf holds it."""
    return {
        "lot": shipment.lot,
        "from": shipment.from_org,
        "to": shipment.to_org,
        "shipped_on": shipment.shipped_on.isoformat(),
        "quantity": {"value": shipment.quantity.value, "unit": shipment.quantity.unit},
    }


def _key(record: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(record)).digest()


class ShipmentLog:
    """Logs each distinct shipment record once, the first time a decision consults it."""

    def __init__(self, log: AccessLog) -> None:
        self.log = log
        # Hashes of the records logged: grows with the node's shipments, never with
        # the requests it answers.
        self._logged: set[bytes] | None = None
        self._lock = asyncio.Lock()

    async def witness(self, shipments: Iterable[Shipment]) -> dict[str, Any]:
        """Log the records not yet logged; once they are durable, the shipments log's
        state as ``{"size": <entries>, "root": <base64 root>}`` of one signed checkpoint."""
        async with self._lock:
            if self._logged is None:
                self._logged = {_key(entry["shipment"]) for entry in self.log.records()}
            fresh: dict[bytes, dict[str, Any]] = {}
            for shipment in shipments:
                record = shipment_record(shipment)
                key = _key(record)
                if key not in self._logged:
                    fresh[key] = record
            if fresh:
                await asyncio.gather(*(self.log.append({"shipment": r}) for r in fresh.values()))
                self._logged.update(fresh)
            checkpoint, _, _ = parse_checkpoint(self.log.checkpoint)
            return {"size": checkpoint.size, "root": checkpoint.root_b64}
