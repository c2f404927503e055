"""Synthetic federations for the fan-out benchmark: tiers of organisations and lots.

Tier 0 holds one product lot of organisation ``oem``; tier t (1..tiers) holds
``lots_per_tier`` lots spread over ``orgs_per_tier`` organisations; each lot of
tier t consumes ``fan_in`` lots of tier t+1 (the product consumes ``root_inputs``
lots of tier 1). Seed files, the registry and permissive policies are written to
a directory, in the same formats as the sample federation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Topology", "write_federation"]

POLICY = """[[rules]]
relation = "self"
groups = ["*"]

[[rules]]
relation = "customer"
groups = ["*"]

[[rules]]
relation = "downstream"
groups = ["*"]
"""


@dataclass(frozen=True, slots=True)
class Topology:
    tiers: int = 10
    orgs_per_tier: int = 3
    lots_per_tier: int = 600
    root_inputs: int = 60
    fan_in: int = 6
    seed: int = 11

    def org(self, tier: int, index: int) -> str:
        return "oem" if tier == 0 else f"t{tier}o{index % self.orgs_per_tier}"

    def lot(self, tier: int, index: int) -> str:
        return f"urn:oretrail:lot:{self.org(tier, index)}:L{tier}-{index}"

    @property
    def root(self) -> str:
        return self.lot(0, 0)

    def inputs(self) -> dict[str, list[str]]:
        """Each lot's input lots."""
        rng = random.Random(self.seed)
        links: dict[str, list[str]] = {}
        below = range(self.lots_per_tier)
        links[self.root] = [self.lot(1, i) for i in rng.sample(below, self.root_inputs)]
        for tier in range(1, self.tiers):
            for index in below:
                picks = rng.sample(below, self.fan_in)
                links[self.lot(tier, index)] = [self.lot(tier + 1, i) for i in picks]
        return links

    def orgs(self) -> list[str]:
        return ["oem"] + [
            self.org(t, i) for t in range(1, self.tiers + 1) for i in range(self.orgs_per_tier)
        ]


def write_federation(topology: Topology, directory: Path) -> Path:
    """Write seed/, policies/, registry.toml and gateway.toml; return the config dir."""
    links = topology.inputs()
    config = directory / "config"
    seeds = directory / "seed"
    (config / "policies").mkdir(parents=True, exist_ok=True)
    seeds.mkdir(parents=True, exist_ok=True)
    lots_by_org: dict[str, list[tuple[int, int]]] = {}
    lots_by_org["oem"] = [(0, 0)]
    for tier in range(1, topology.tiers + 1):
        for index in range(topology.lots_per_tier):
            lots_by_org.setdefault(topology.org(tier, index), []).append((tier, index))
    # Each input lot is shipped to each organisation whose lots consume it, 1 t per
    # consuming lot: the shipment records that back the continuation grants.
    shipped: dict[str, dict[str, int]] = {}
    for consumer, inputs_of in links.items():
        buyer = consumer.split(":")[3]
        for lot in inputs_of:
            counts = shipped.setdefault(lot, {})
            counts[buyer] = counts.get(buyer, 0) + 1
    registry = []
    last_tier = {topology.org(topology.tiers, i) for i in range(topology.orgs_per_tier)}
    for org in topology.orgs():
        # The last tier's lots have no inputs: they are mined there (origins).
        activity = "EXTRACTION" if org in last_tier else "PROCESSING_REFINING"
        lines = [
            f'[organisation]\nid = "{org}"\nname = "{org}"\nroles = ["REFINER"]\n'
            f'country = "FI"\n\n[[facilities]]\nid = "site"\nname = "site"\n'
            f'kind = "plant"\nactivities = ["{activity}"]\ncountry = "FI"\nregion = "R"\n\n'
            # A current third-party audit, as a refiner on a clean chain would hold.
            f'[[certificates]]\nid = "RMAP-{org}"\nsubject = "site"\nissuer = "auditor"\n'
            f'standard = "RMAP"\nscope = "refiner assessment"\nvalid_from = 2025-01-01\n'
            f"valid_to = 2030-12-31\n"
        ]
        for tier, index in lots_by_org[org]:
            lot_id = topology.lot(tier, index)
            inputs = ", ".join(
                f'{{ lot = "{i}", quantity = {{ value = 1, unit = "t" }} }}'
                for i in links.get(lot_id, [])
            )
            lines.append(
                f'[[lots]]\nid = "L{tier}-{index}"\nmaterial = "m{tier}"\n'
                # Inputs supply 1 t each; a lot keeps its mass balance with any fan-in.
                f'quantity = {{ value = 1, unit = "t" }}\nproduced_at = 2026-01-01\n'
                f'facility = "site"\ncustody = "MASS_BALANCE"\ncontents = {{ Co = 0.1 }}\n'
                f"inputs = [{inputs}]\n"
            )
            for buyer, tonnes in sorted(shipped.get(lot_id, {}).items()):
                lines.append(
                    f'[[shipments]]\nlot = "{lot_id}"\nto = "{buyer}"\ndate = 2026-01-01\n'
                    f'quantity = {{ value = {tonnes}, unit = "t" }}\n'
                )
        (seeds / f"{org}.toml").write_text("\n".join(lines), encoding="utf-8")
        (config / "policies" / f"{org}.toml").write_text(POLICY, encoding="utf-8")
        registry.append(
            f'[[participants]]\nid = "{org}"\nname = "{org}"\nroles = ["REFINER"]\n'
            f'country = "FI"\nendpoint = "http://127.0.0.1:1/graphql"\n'
            f'seed = "../seed/{org}.toml"\n'
        )
    (config / "registry.toml").write_text("\n".join(registry), encoding="utf-8")
    (config / "gateway.toml").write_text(
        "[gateway]\nmax_depth = 50\nnode_timeout = 30.0\ntrace_deadline = 300.0\n"
        'max_lots = 100000\n\n[model]\nstore = "memory"\n'
        f'data_dir = "{directory / "model"}"\n',
        encoding="utf-8",
    )
    return config
