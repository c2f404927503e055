"""The sample federation exported to EPCIS 2.0 and imported into fresh stores traces to
the same figures as the TOML-seeded one, on real servers; every export validates
against the official EPCIS JSON Schema, and the fields we fill say what we expect."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from oretrail.bootstrap import FederationConfig
from oretrail.cli import main
from oretrail.config import Registry
from oretrail.report import TRACE_QUERY
from oretrail.store.seed import SeedData, load_seed
from tests.conftest import CONFIG_DIR, PACK, graphql, oem_token, served_federation
from tests.support.standards_files import epcis_schema_path

pytestmark = pytest.mark.e2e

AS_OF = "2026-11-26"


def export_all(config: FederationConfig, out: Path) -> dict[str, Path]:
    """`oretrail export epcis` of every seeded participant, one file each."""
    files = {}
    for org, participant in config.registry.participants.items():
        if participant.seed is None:
            continue
        files[org] = out / f"{org}.jsonld"
        status = main(
            ["--config", str(CONFIG_DIR), "export", "epcis", "--org", org, "--out", str(files[org])]
        )
        assert status == 0
    return files


def import_all(files: dict[str, Path], stores: Path) -> dict[str, Path]:
    """`oretrail import epcis` of each file into a fresh embedded store (no seed file yet)."""
    seeds = {}
    for org, path in files.items():
        seeds[org] = stores / f"{org}.toml"
        assert not seeds[org].exists()
        command = ["--config", str(CONFIG_DIR), "import", "epcis", str(path), "--org", org]
        status = main([*command, "--seed", str(seeds[org])])
        assert status == 0
    return seeds


def with_model_in(config: FederationConfig, data_dir: Path) -> FederationConfig:
    model = replace(config.settings.model, store="memory", data_dir=data_dir)
    return replace(config, settings=replace(config.settings, model=model))


async def trace_pack(config: FederationConfig) -> dict[str, Any]:
    with served_federation(config) as federation:
        body = await graphql(
            federation.gateway_url,
            TRACE_QUERY,
            {"lot": PACK, "asOf": AS_OF},
            token=oem_token(federation),
        )
    assert "errors" not in body, body
    trace: dict[str, Any] = body["data"]["trace"]
    return trace


def in_order(seed: SeedData) -> SeedData:
    """A seed's records in one order: a file's order of lots or facilities means nothing."""
    return replace(
        seed,
        facilities=tuple(sorted(seed.facilities, key=repr)),
        lots=tuple(sorted(seed.lots, key=repr)),
        shipments=tuple(sorted(seed.shipments, key=repr)),
        certificates=tuple(sorted(seed.certificates, key=repr)),
    )


def normalised(value: Any) -> Any:
    """Lists in a canonical order: nodes answer concurrently, so order carries no meaning."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [normalised(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


async def test_the_federation_imported_from_its_epcis_export_traces_to_the_same_figures(
    sample_config: FederationConfig, tmp_path: Path
) -> None:
    (tmp_path / "epcis").mkdir()
    (tmp_path / "stores").mkdir()
    # The CLI runs its own event loop: in a thread, as from a shell.
    files = await asyncio.to_thread(export_all, sample_config, tmp_path / "epcis")
    seeds = await asyncio.to_thread(import_all, files, tmp_path / "stores")
    # Nothing we model is lost: every participant's records are the seed file's.
    for org, path in seeds.items():
        original = sample_config.registry.get(org).seed
        assert original is not None
        assert in_order(replace(load_seed(path), source=original)) == in_order(
            load_seed(original)
        ), org
    imported = replace(
        sample_config,
        registry=Registry(
            {
                org: replace(p, seed=seeds.get(org, p.seed))
                for org, p in sample_config.registry.participants.items()
            }
        ),
    )
    seeded_trace = await trace_pack(with_model_in(sample_config, tmp_path / "model-seeded"))
    imported_trace = await trace_pack(with_model_in(imported, tmp_path / "model-imported"))
    assert normalised(imported_trace) == normalised(seeded_trace)
    # The figures themselves (tests/e2e/test_trace_e2e.py computes them by hand): seven
    # origins, and Coastal Lithium's unsupported 520.05 / 1,650 kg = 31.52 % of lithium.
    assert len(imported_trace["origins"]) == 7
    [gap] = imported_trace["gaps"]
    assert gap["reason"] == "UNSUPPORTED_CLAIM"
    lithium = next(s["share"] for s in gap["shares"] if s["element"] == "Li")
    assert lithium == pytest.approx(520.05 / 1650)


def test_every_export_validates_against_the_official_schema(
    sample_config: FederationConfig, tmp_path: Path
) -> None:
    schema = json.loads(epcis_schema_path().read_text(encoding="utf-8"))
    validator = Draft7Validator(schema, format_checker=FormatChecker())
    files = export_all(sample_config, tmp_path)
    # The 17 stores of the first pack's chain, 8 of issue 15's copper and rare-earth
    # chains and 6 of the product line's second pack: 31.
    assert len(files) == 31
    for org, path in files.items():
        document = json.loads(path.read_text(encoding="utf-8"))
        errors = [e.message for e in validator.iter_errors(document)]
        assert errors == [], org


def test_the_fields_we_fill_say_what_the_seed_says(
    sample_config: FederationConfig, tmp_path: Path
) -> None:
    """Boreal Cobalt (graph/seed/boreal-cobalt.toml, registry GS1 prefix 9520105): one
    refined lot made from 10 t of Copperbelt's hydroxide, one shipment of 2.4 t."""
    files = export_all(sample_config, tmp_path)
    document = json.loads(files["boreal-cobalt"].read_text(encoding="utf-8"))
    assert document["type"] == "EPCISDocument"
    assert document["schemaVersion"] == "2.0"
    assert document["sender"] == "urn:epc:id:pgln:9520105.00000"
    # Lots are written before shipments: its two lots (CS-2026-103 is the product line's
    # second pack's sulfate), then its two shipments.
    made, made_later, shipped, shipped_later = document["epcisBody"]["eventList"]
    assert made_later["outputQuantityList"][0]["epcClass"].endswith("CS-2026-103")
    assert shipped_later["quantityList"][0]["epcClass"].endswith("CS-2026-103")
    assert made["type"] == "TransformationEvent"
    assert made["bizStep"] == "urn:oretrail:bizstep:refining"
    assert made["eventTime"] == "2026-03-04T12:00:00Z"
    assert made["bizLocation"] == {"id": "urn:epc:id:sgln:9520105.00001.0"}
    assert made["inputQuantityList"] == [
        {
            "epcClass": "urn:oretrail:lot:copperbelt-trading:CH-2026-014",
            "quantity": 10.0,
            "uom": "TNE",
        }
    ]
    assert made["outputQuantityList"] == [
        {"epcClass": "urn:oretrail:lot:boreal-cobalt:CS-2026-102", "quantity": 14.0, "uom": "TNE"}
    ]
    assert made["ilmd"] == {
        "oretrail:material": "cobalt sulfate",
        "oretrail:custody": "MASS_BALANCE",
        "oretrail:contents": {"Co": 0.21},
        "oretrail:carbonFootprint": 6.2,
        "oretrail:carbonFootprintUnit": "kgCO2e/kg",
        "oretrail:recycledPreConsumer": 0.0,
        "oretrail:recycledPostConsumer": 0.0,
    }
    assert shipped["type"] == "ObjectEvent"
    assert (shipped["action"], shipped["bizStep"], shipped["disposition"]) == (
        "OBSERVE",
        "shipping",
        "in_transit",
    )
    assert shipped["eventTime"] == "2026-03-12T12:00:00Z"
    assert shipped["quantityList"] == [
        {"epcClass": "urn:oretrail:lot:boreal-cobalt:CS-2026-102", "quantity": 2.4, "uom": "TNE"}
    ]
    assert shipped["sourceList"] == [
        {"type": "owning_party", "source": "urn:epc:id:pgln:9520105.00000"}
    ]
    # helios-cathode is the registry's third participant: prefix 9520103.
    assert shipped["destinationList"] == [
        {"type": "owning_party", "destination": "urn:epc:id:pgln:9520103.00000"}
    ]
    [locations] = document["epcisHeader"]["epcisMasterData"]["vocabularyList"]
    assert locations["type"] == "urn:epcglobal:epcis:vtype:BusinessLocation"
    [refinery] = locations["vocabularyElementList"]
    attributes = {a["id"]: a["attribute"] for a in refinery["attributes"]}
    assert attributes["urn:epcglobal:cbv:mda#name"] == "Kokkola cobalt refinery"
    assert attributes["urn:epcglobal:cbv:mda#countryCode"] == "FI"
    assert attributes["urn:epcglobal:cbv:mda#state"] == "Central Ostrobothnia"
    assert attributes["urn:oretrail:epcis:activities"] == "PROCESSING_REFINING"
    assert attributes["urn:oretrail:epcis:certificate"] == {
        "id": "RMAP-2025-BCR-031",
        "issuer": "assurance-partners",
        "standard": "RMAP",
        "scope": "cobalt refiner assessment",
        "validFrom": "2025-05-01",
        "validTo": "2028-04-30",
        "status": "ACTIVE",
    }


def test_each_lot_is_written_with_the_business_step_of_what_made_it(
    sample_config: FederationConfig, tmp_path: Path
) -> None:
    """docs/standards.md, Business steps: Sulawesi HPAL (MINE, SMELTER) mines limonite at
    its Bahodopi mine and smelts it into MHP at Morowali; Nordic Battery Collection
    collects scrap; Nordvolt makes packs; every shipment is CBV shipping."""
    files = export_all(sample_config, tmp_path)

    def steps(org: str) -> list[tuple[str, str]]:
        document = json.loads(files[org].read_text(encoding="utf-8"))
        return [(e["type"], e["bizStep"]) for e in document["epcisBody"]["eventList"]]

    assert steps("sulawesi-hpal") == [
        ("ObjectEvent", "urn:oretrail:bizstep:mining"),
        ("TransformationEvent", "urn:oretrail:bizstep:smelting"),
        ("ObjectEvent", "shipping"),
    ]
    assert steps("nordic-battery-collection") == [
        ("ObjectEvent", "collecting"),
        ("ObjectEvent", "shipping"),
    ]
    # Nordvolt's four lots (two packs of the first line, the copper-foil pack and the
    # drive units) are each made from inputs, and it ships nothing.
    assert steps("nordvolt") == [("TransformationEvent", "commissioning")] * 4
