"""A battery's carbon footprint, rolled up from the footprints of the traced lots.

Each lot's footprint is a cradle-to-gate figure in a unit of the closed list
(``kgCO2e/kg``: per kg of the lot; ``kgCO2e/kWh``: per kWh of the lot's rated
capacity). A lot's **absolute** footprint is the figure times its mass or its rated
capacity, in kg CO2e. The part of an input's absolute footprint a consumer takes on is
the share of the input lot it consumed (mass consumed / the input's mass), and shares
multiply down a path, as in the mass allocation of ISO 14067.

Lots declared per kWh are battery production (cells, modules, packs): the rollup goes
through them to their inputs. The first lots declared per kg on each path are the
materials: together they are the raw-material stage (Battery Pass lifecycle stage
``RawMaterialExtraction``, DIN DKE SPEC 99100 6.3.3); the battery's own declared
footprint less that stage is ``MainProduction`` (6.3.4). A lot on the way whose
footprint is withheld or not declared cannot be rolled up: it is named, and the
stages are then not split, because the raw-material stage would be understated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from oretrail.domain.lotgraph import TracedLot
from oretrail.standards.dpp_sources import TracedProduct

__all__ = ["Contribution", "FootprintRollup", "NotRolledUp", "absolute_footprint", "roll_up"]

PER_KG = "kgCO2e/kg"
PER_KWH = "kgCO2e/kWh"


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one traced lot brings into the product: the share of the lot consumed into
    it and the kg CO2e of its cradle-to-gate footprint that share carries."""

    lot: str
    owner: str
    footprint: float
    unit: str
    share_of_lot: float
    kg_co2e: float
    material: bool  # a material (declared per kg), not battery production


@dataclass(frozen=True, slots=True)
class NotRolledUp:
    lot: str
    owner: str
    reason: str


@dataclass(slots=True)
class FootprintRollup:
    """The product's declared footprint, what its inputs bring, and what is missing.

    ``per_kwh`` and ``absolute_kg`` are the product's own declared figure as kg CO2e per
    kWh of rated capacity and in kg CO2e; ``raw_materials_kg`` is the raw-material
    stage, None unless every path reached a material's footprint.
    """

    per_kwh: float | None
    absolute_kg: float | None
    capacity_kwh: float | None
    contributions: list[Contribution] = field(default_factory=list)
    not_rolled_up: list[NotRolledUp] = field(default_factory=list)

    @property
    def raw_materials_kg(self) -> float | None:
        if self.not_rolled_up or not any(c.material for c in self.contributions):
            return None
        return sum(c.kg_co2e for c in self.contributions if c.material)


def absolute_footprint(lot: TracedLot) -> float | None:
    """The lot's cradle-to-gate footprint in kg CO2e; None when a figure is not shown."""
    if lot.carbon_footprint is None:
        return None
    if lot.carbon_footprint_unit == PER_KG and lot.quantity_kg is not None:
        return lot.carbon_footprint * lot.quantity_kg
    if lot.carbon_footprint_unit == PER_KWH and lot.rated_capacity_kwh is not None:
        return lot.carbon_footprint * lot.rated_capacity_kwh
    return None


def roll_up(product: TracedProduct) -> FootprintRollup:
    """The footprint rollup of the product (module docstring for the rules)."""
    root = product.root
    absolute = absolute_footprint(root)
    capacity = root.rated_capacity_kwh
    per_kwh = None if absolute is None or not capacity else absolute / capacity
    rollup = FootprintRollup(per_kwh, absolute, capacity)
    if absolute is None or root.carbon_footprint_unit != PER_KWH:
        return rollup
    walk = _Walk(product, rollup)
    walk.run(root)
    return rollup


@dataclass(slots=True)
class _Walk:
    """Breadth-first from the root through battery production to the first materials."""

    product: TracedProduct
    rollup: FootprintRollup
    shares: dict[str, float] = field(default_factory=dict)

    def run(self, root: TracedLot) -> None:
        self.shares[root.id] = 1.0
        frontier = [root.id]
        seen: set[str] = set()
        while frontier:
            consumer = self.product.graph.lots[frontier.pop(0)]
            if consumer.id in seen:
                continue
            seen.add(consumer.id)
            for link in consumer.inputs:
                if self.visit(consumer, link.lot, link.kilograms):
                    frontier.append(link.lot)

    def visit(self, consumer: TracedLot, input_id: str, kilograms: float | None) -> bool:
        """Record what one input brings; True when the walk goes on through it."""
        product, rollup = self.product, self.rollup
        lot = product.graph.lots.get(input_id)
        owner = product.graph.owner_of(input_id)
        if lot is None:
            rollup.not_rolled_up.append(NotRolledUp(input_id, owner, "the trace could not open it"))
            return False
        if kilograms is None or lot.quantity_kg is None:
            reason = "the quantity consumed or the lot's quantity is withheld"
            rollup.not_rolled_up.append(NotRolledUp(input_id, owner, reason))
            return False
        share = self.shares[consumer.id] * kilograms / lot.quantity_kg
        absolute = absolute_footprint(lot)
        if absolute is None:
            reason = (
                f"{owner} withholds its footprint from the caller"
                if "emissions" in lot.withheld
                else "it declares no footprint"
            )
            rollup.not_rolled_up.append(NotRolledUp(input_id, owner, reason))
            return False
        assert lot.carbon_footprint is not None
        assert lot.carbon_footprint_unit is not None
        material = lot.carbon_footprint_unit == PER_KG
        rollup.contributions.append(
            Contribution(
                lot.id,
                lot.owner,
                lot.carbon_footprint,
                lot.carbon_footprint_unit,
                share,
                absolute * share,
                material,
            )
        )
        if material:
            return False
        # Battery production: follow it to its materials.
        self.shares[lot.id] = self.shares.get(lot.id, 0.0) + share
        return True
