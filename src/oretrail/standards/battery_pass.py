"""EU battery passport data (Battery Pass data model 1.2.0) of a traced battery lot.

Four aspects of the Battery Pass model, each shaped as its official JSON schema,
carried in an unsigned VC 2.0 the tracing organisation signs (``standards.vc``):

- ``supplyChainDueDiligence``: links to the trace record (the supply-chain report a
  passport links to) and to the product passport, whose conformity claims are the
  third-party assurances shown on the path.
- ``materialComposition``: the product's mass (grams, as the model says) of each
  traced element, the component it sits in, its CAS number, and whether it is a
  critical raw material (Regulation (EU) 2024/1252, Annex II).
- ``circularity``: recycled content per Regulation (EU) 2023/1542 Article 8 for
  cobalt, lithium, nickel and lead: pre- and post-consumer shares **in percent** of
  the product's content of each, from the recycled shares of the traced origins.
- ``carbonFootprint``: the battery's declared footprint per kWh, its absolute
  footprint, and the lifecycle stages the rollup of the lots' footprints can split
  (``standards.battery_pass_footprint``).

Properties the model requires that a trace does not know (battery chemistry,
hazardous substances, dismantling documents, spare parts, safety and end-of-life
information, the footprint's performance class and study) are left out and listed in
``notCovered``; docs/standards.md says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from oretrail.domain.lotgraph import TracedLot
from oretrail.standards.battery_pass_footprint import FootprintRollup, roll_up
from oretrail.standards.dpp import PASSPORT_URN as DPP_URN
from oretrail.standards.dpp_sources import ELEMENT_NAMES, TracedProduct, timestamp
from oretrail.standards.vc import VC_CONTEXT

__all__ = ["ARTICLE_8_MATERIALS", "CAS_NUMBERS", "NOT_COVERED", "battery_passport"]

PASSPORT_URN = "urn:oretrail:passport:battery:"

# Recycled content of Article 8 of Regulation (EU) 2023/1542, by element symbol, as the
# model's RecycledMaterial enumeration names them.
ARTICLE_8_MATERIALS: Mapping[str, str] = {
    "Co": "Cobalt",
    "Li": "Lithium",
    "Ni": "Nickel",
    "Pb": "Lead",
}

# CAS registry numbers of the elements (graphite for carbon, as in battery anodes).
CAS_NUMBERS: Mapping[str, str] = {
    "Co": "7440-48-4",
    "Ni": "7440-02-0",
    "Li": "7439-93-2",
    "Mn": "7439-96-5",
    "C": "7782-42-5",
    "Cu": "7440-50-8",
    "Al": "7429-90-5",
    "Fe": "7439-89-6",
    "P": "7723-14-0",
    "Pb": "7439-92-1",
    "Nd": "7440-00-8",
    "Pr": "7440-10-0",
    "Dy": "7429-91-6",
    "Tb": "7440-27-9",
}

# Elements on the list of critical raw materials of Regulation (EU) 2024/1252, Annex II
# (cobalt, lithium, battery-grade nickel, natural graphite, manganese, copper, bauxite
# and aluminium, phosphorus, the rare earths for magnets).
CRITICAL_RAW_MATERIALS = frozenset({"Co", "Li", "Ni", "C", "Mn", "Cu", "Al", "P"}) | frozenset(
    {"Nd", "Pr", "Dy", "Tb"}
)

NOT_COVERED: Mapping[str, tuple[str, ...]] = {
    "supplyChainDueDiligence": ("supplyChainIndicies",),
    "materialComposition": ("batteryChemistry", "hazardousSubstances"),
    "circularity": (
        "dismantlingAndRemovalInformation",
        "sparePartSources",
        "safetyMeasures",
        "endOfLifeInformation",
        "renewableContent",
    ),
    "carbonFootprint": ("carbonFootprintPerformanceClass", "carbonFootprintStudy"),
}


def battery_passport(product: TracedProduct, issued_at: datetime) -> dict[str, Any]:
    """The unsigned battery passport credential of ``product`` (a JSON object)."""
    rollup = roll_up(product)
    subject: dict[str, Any] = {
        "type": ["BatteryPassport"],
        "id": product.graph.root,
        "granularity": "batch",
        "supplyChainDueDiligence": _due_diligence(product),
        "materialComposition": {"batteryMaterials": _materials(product)},
        "circularity": {"recycledContent": _recycled_content(product)},
    }
    not_covered = {aspect: list(names) for aspect, names in NOT_COVERED.items()}
    footprint = _carbon_footprint(rollup)
    if footprint is None:
        root = product.root
        why = (
            "the battery declares no footprint"
            if root.carbon_footprint is None
            else "the lot states no rated capacity in kWh (the functional unit)"
        )
        not_covered["carbonFootprint"] = [f"the whole aspect: {why}"]
    else:
        subject["carbonFootprint"] = footprint
        subject["carbonFootprintRollup"] = _rollup_detail(rollup)
    subject["notCovered"] = not_covered
    return {
        "@context": [VC_CONTEXT],
        "type": ["VerifiableCredential", "BatteryPassportCredential"],
        "id": f"{PASSPORT_URN}{product.record_id}",
        "issuer": {"id": product.issuer.uri, "name": product.issuer.name},
        "validFrom": timestamp(issued_at),
        "credentialSubject": subject,
    }


def _due_diligence(product: TracedProduct) -> dict[str, Any]:
    """Links, as the model asks (format uri): the trace record behind the passport, and
    the product passport whose conformity claims list the third-party assurances."""
    return {
        "supplyChainDueDiligenceReport": product.trace_uri,
        "thirdPartyAussurances": f"{DPP_URN}{product.record_id}",
    }


def _component(product: TracedProduct, element: str) -> TracedLot:
    """The component an element sits in: down from the product while a lot has one
    input, then, where inputs divide (a cell's cathode and anode material), the input
    that brings most of the element."""
    lot = product.root
    seen = {lot.id}
    while True:
        opened = [link.lot for link in lot.inputs if link.lot in product.graph.lots]
        if len(opened) == 1 and opened[0] not in seen:
            seen.add(opened[0])
            lot = product.graph.lots[opened[0]]
            continue
        through = product.attribution.through
        carriers = sorted((through.get(i, {}).get(element, 0.0), i) for i in opened)
        if not carriers or carriers[-1][0] <= 0:
            return lot
        return product.graph.lots[carriers[-1][1]]


def _materials(product: TracedProduct) -> list[dict[str, Any]]:
    mass = product.root.quantity_kg
    materials = []
    for element in product.attribution.elements:
        content = product.content(element)
        if content is None or mass is None or element not in CAS_NUMBERS:
            continue
        component = _component(product, element)
        materials.append(
            {
                "batteryMaterialLocation": {
                    "componentName": component.material,
                    "componentId": component.id,
                },
                "batteryMaterialIdentifier": CAS_NUMBERS[element],
                "batteryMaterialName": ELEMENT_NAMES.get(element, element).capitalize(),
                # The model's unit is the gram.
                "batteryMaterialMass": mass * content * 1000.0,
                "isCriticalRawMaterial": element in CRITICAL_RAW_MATERIALS,
            }
        )
    return materials


def _recycled_content(product: TracedProduct) -> list[dict[str, Any]]:
    """Article 8 shares in percent of the product's content of each element: what its
    recycled origins supply. Untraced shares count as not recycled (a lower bound)."""
    content = []
    for element, name in ARTICLE_8_MATERIALS.items():
        if element not in product.attribution.elements:
            continue
        pre = post = 0.0
        for origin in product.attribution.origins:
            share = origin.shares.get(element, 0.0)
            lot = product.graph.lots[origin.lot]
            pre += share * (lot.recycled_pre_consumer or 0.0)
            post += share * (lot.recycled_post_consumer or 0.0)
        content.append(
            {
                "recycledMaterial": name,
                "preConsumerShare": min(100.0, pre * 100.0),
                "postConsumerShare": min(100.0, post * 100.0),
            }
        )
    return content


def _carbon_footprint(rollup: FootprintRollup) -> dict[str, Any] | None:
    if rollup.per_kwh is None or rollup.absolute_kg is None or not rollup.capacity_kwh:
        return None
    stages = []
    raw = rollup.raw_materials_kg
    if raw is not None:
        raw_per_kwh = raw / rollup.capacity_kwh
        stages = [
            {"lifecycleStage": "RawMaterialExtraction", "carbonFootprint": raw_per_kwh},
            {"lifecycleStage": "MainProduction", "carbonFootprint": rollup.per_kwh - raw_per_kwh},
        ]
    return {
        "batteryCarbonFootprint": rollup.per_kwh,
        "carbonFootprintPerLifecycleStage": stages,
        "absoluteCarbonFootprint": rollup.absolute_kg,
    }


def _rollup_detail(rollup: FootprintRollup) -> dict[str, Any]:
    """How the figures were reached, with explicit units (not part of the Battery Pass
    model: oretrail's own account, for a reader to check)."""
    return {
        "unit": "kgCO2e",
        "ratedCapacityKwh": rollup.capacity_kwh,
        "declaredPerKwh": rollup.per_kwh,
        "declaredAbsolute": rollup.absolute_kg,
        "inputs": [
            {
                "lot": c.lot,
                "owner": c.owner,
                "declared": c.footprint,
                "declaredUnit": c.unit,
                "shareOfLot": c.share_of_lot,
                "inProduct": c.kg_co2e,
                "stage": "RawMaterialExtraction" if c.material else "MainProduction",
            }
            for c in rollup.contributions
        ],
        "notRolledUp": [
            {"lot": n.lot, "owner": n.owner, "reason": n.reason} for n in rollup.not_rolled_up
        ],
    }
