"""The pack's passports from a real trace over real HTTP: official schemas, hand-computed
figures, and signatures by the tracing organisation's own key.

Figures come from the seed files (graph/seed, docs/sample-data.md): the pack lot is
22.5 t with Ni 8.55 %, Co 1.098 %, Li 1.278 %, C 9.63 %.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft202012Validator

from oretrail.auth.party_keys import save_member_keys
from oretrail.bootstrap import Federation
from oretrail.cli_passports import PASSPORTS_QUERY
from oretrail.standards.battery_pass import NOT_COVERED
from oretrail.standards.vc import CredentialRejected, verify_credential
from tests.conftest import PACK, ROOT, graphql, oem_token
from tests.support.standards_files import battery_pass_validator, untp_validator, vc_validator

pytestmark = pytest.mark.e2e

AS_OF = "2026-11-26"
LOT = "urn:oretrail:lot:"
approx = pytest.approx


async def passports(federation: Federation) -> dict[str, Any]:
    body = await graphql(
        federation.gateway_url,
        PASSPORTS_QUERY,
        {"lot": PACK, "asOf": AS_OF},
        token=oem_token(federation),
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["trace"]
    return result


def errors_of(validator: Draft4Validator | Draft202012Validator, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def missing_required(validator: Draft4Validator, instance: Any) -> set[str]:
    """Properties the schema requires that the instance leaves out; fails on any other error."""
    missing: set[str] = set()
    for error in validator.iter_errors(instance):
        assert error.validator == "required", error.message
        missing |= {name for name in error.validator_value if name not in error.instance}
    return missing


async def test_the_product_passport_validates_against_untp_and_vc_schemas(
    federation: Federation,
) -> None:
    dpp = (await passports(federation))["productPassport"]
    assert errors_of(untp_validator("dpp"), dpp) == []
    assert errors_of(vc_validator(), dpp) == []
    assert dpp["issuer"] == {
        "type": ["CredentialIssuer"],
        "id": "urn:oretrail:org:nordvolt",
        "name": "Nordvolt Automotive AB",
    }
    product = dpp["credentialSubject"]["product"]
    assert product["id"] == PACK
    assert product["batchNumber"] == "PACK-2026-0412"
    assert product["productionDate"] == "2026-05-18"
    assert product["countryOfProduction"] == "SE"
    assert product["producedAtFacility"]["id"] == "urn:oretrail:facility:nordvolt:vastra-pack-plant"
    # 22.5 t = 22,500 kg (UN/ECE Rec. 20 code KGM).
    assert product["dimensions"]["weight"] == {"type": ["Measure"], "value": 22500.0, "unit": "KGM"}


async def test_materials_provenance_per_element_and_country(federation: Federation) -> None:
    subject = (await passports(federation))["productPassport"]["credentialSubject"]
    got = {
        (m["name"], m.get("originCountry")): (
            m["massFraction"],
            m["mass"]["value"],
            m.get("recycledMassFraction"),
        )
        for m in subject["materialsProvenance"]
    }
    assert got == {
        # C: all from Niassa (MZ), weighed by mass behind Huaxi's withheld contents:
        # 9.63 % of the pack, 22,500 kg x 0.0963 = 2,166.75 kg.
        ("carbon (graphite) (C), share approximate (by mass)", "MZ"): (
            approx(0.0963),
            approx(2166.75),
            0.0,
        ),
        # Co: the cathode's cobalt sulfates supply 2.4 t (Boreal, from CD) and 0.5 t
        # (Circulo, recycled, NO) at 21 % Co: 2.4/2.9 = 0.827586 and 0.5/2.9 = 0.172414.
        # CD: 0.01098 x 0.827586 = 0.0090869, x 22,500 kg = 204.455 kg.
        ("cobalt (Co)", "CD"): (approx(0.0090869, rel=1e-4), approx(204.455, rel=1e-4), 0.0),
        # NO: 0.01098 x 0.172414 = 0.0018931, 42.595 kg, all post-consumer black mass.
        ("cobalt (Co)", "NO"): (approx(0.0018931, rel=1e-4), approx(42.595, rel=1e-4), 1.0),
        # Li: 1,129.95 / 1,650 = 0.684818 reaches Yilgarn (AU): 0.01278 x 0.684818 =
        # 0.0087520, 196.919 kg; the other 0.315182 is not traced: 0.0040280, 90.631 kg.
        ("lithium (Li)", "AU"): (approx(0.0087520, rel=1e-4), approx(196.919, rel=1e-4), 0.0),
        ("lithium (Li), origin not traced", None): (
            approx(0.0040280, rel=1e-4),
            approx(90.631, rel=1e-4),
            None,
        ),
        # Ni: nickel sulfates 18 t (Nordic Nickel, from Sulawesi, ID) and 3.6 t (Circulo,
        # recycled, NO) at 22 % Ni: 18/21.6 = 0.833333 and 3.6/21.6 = 0.166667.
        # ID: 0.0855 x 0.833333 = 0.07125, 1,603.125 kg; NO: 0.01425, 320.625 kg.
        ("nickel (Ni)", "ID"): (approx(0.07125), approx(1603.125), 0.0),
        ("nickel (Ni)", "NO"): (approx(0.01425), approx(320.625), 1.0),
    }


async def test_traceability_states_coverage_as_the_verified_ratio(federation: Federation) -> None:
    subject = (await passports(federation))["productPassport"]["credentialSubject"]
    ratios = {
        t["valueChainProcess"].split(":")[0]: t["verifiedRatio"]
        for t in subject["traceabilityInformation"]
    }
    # Li: only 1,129.95 of the 1,650 kg Coastal Lithium claims are supplied: 68.48 %.
    assert ratios == {
        "carbon (graphite) (C)": approx(1.0),
        "cobalt (Co)": approx(1.0),
        "lithium (Li)": approx(1129.95 / 1650),
        "nickel (Ni)": approx(1.0),
    }


async def test_conformity_claims_are_the_certificates_on_the_path_all_unverified(
    federation: Federation,
) -> None:
    claims = (await passports(federation))["productPassport"]["credentialSubject"][
        "conformityClaim"
    ]
    by_id = {c["id"].rsplit(":", 1)[-1]: c for c in claims}
    # Every certificate of a facility on the pack's path (the auditor's own ISO 17065 is not).
    assert set(by_id) == {
        "ISO14001-2025-ACM-2",
        "RMAP-2025-BCR-031",
        "ISO14001-2025-CBR-4",
        "RMAP-2025-CLH-020",
        "ISO14001-2024-HCM-9",
        "IRMA-2025-KMB-014",
        "RMAP-2022-NNR-112",
        "RMAP-2025-SNH-007",
        "ISO14001-2024-TAM-1",
        "IRMA-2025-YLL-003",
    }
    assert all("Unverified" in c["description"] for c in claims)
    # Nordic Nickel's RMAP ran out on 2025-06-30, before its 2026 lot was produced.
    assert [i for i, c in by_id.items() if not c["conformance"]] == ["RMAP-2022-NNR-112"]
    assert by_id["RMAP-2022-NNR-112"]["conformityTopic"] == "social.rights"
    assert by_id["ISO14001-2024-HCM-9"]["conformityTopic"] == "environment.emissions"


async def test_the_battery_passport_aspects_validate_leaving_out_only_what_a_trace_cannot_know(
    federation: Federation,
) -> None:
    credential = (await passports(federation))["batteryPassport"]
    assert errors_of(vc_validator(), credential) == []
    subject = credential["credentialSubject"]
    for aspect, not_covered in NOT_COVERED.items():
        required_missing = missing_required(battery_pass_validator(aspect), subject[aspect])
        # Only properties listed as not covered may be missing, and are listed in the passport.
        assert required_missing <= set(not_covered), aspect
        assert subject["notCovered"][aspect] == list(not_covered)
    due_diligence = subject["supplyChainDueDiligence"]
    assert (
        missing_required(battery_pass_validator("supplyChainDueDiligence"), due_diligence) == set()
    )
    assert due_diligence["supplyChainDueDiligenceReport"].startswith("urn:oretrail:trace:")
    assert due_diligence["thirdPartyAussurances"] == credential["id"].replace("battery", "dpp")


async def test_material_composition_in_grams_with_cas_numbers_and_components(
    federation: Federation,
) -> None:
    subject = (await passports(federation))["batteryPassport"]["credentialSubject"]
    got = {
        m["batteryMaterialName"]: (
            m["batteryMaterialIdentifier"],
            m["batteryMaterialMass"],
            m["isCriticalRawMaterial"],
            m["batteryMaterialLocation"]["componentId"],
        )
        for m in subject["materialComposition"]["batteryMaterials"]
    }
    cam, anode = f"{LOT}helios-cathode:CAM-2026-0412", f"{LOT}terra-anode:AN-2026-019"
    assert got == {
        # 22,500 kg x 9.63 % = 2,166.75 kg = 2,166,750 g, in the anode material.
        "Carbon (graphite)": ("7782-42-5", approx(2_166_750), True, anode),
        # 22,500 kg x 1.098 % = 247.05 kg; x 1.278 % = 287.55 kg; x 8.55 % = 1,923.75 kg.
        "Cobalt": ("7440-48-4", approx(247_050), True, cam),
        "Lithium": ("7439-93-2", approx(287_550), True, cam),
        "Nickel": ("7440-02-0", approx(1_923_750), True, cam),
    }


async def test_recycled_content_per_article_8_in_percent(federation: Federation) -> None:
    subject = (await passports(federation))["batteryPassport"]["credentialSubject"]
    # Co: 0.5 / 2.9 = 17.24 % post-consumer (black mass); Ni: 3.6 / 21.6 = 16.67 %;
    # Li: none recycled; the pack declares no lead, so lead is not stated.
    shares = {
        r["recycledMaterial"]: (r["preConsumerShare"], r["postConsumerShare"])
        for r in subject["circularity"]["recycledContent"]
    }
    assert shares == {
        "Cobalt": (0.0, approx(17.241379)),
        "Lithium": (0.0, 0.0),
        "Nickel": (0.0, approx(16.666667)),
    }


async def test_the_carbon_footprint_rolls_up_what_the_caller_may_see(
    any_federation: Federation,
) -> None:
    subject = (await passports(any_federation))["batteryPassport"]["credentialSubject"]
    # The pack declares 72.0 kgCO2e/kWh for 3,750 kWh (50 x 75 kWh): 270,000 kgCO2e.
    # Its cells declare 61.0 kgCO2e/kWh for 3,750 kWh, all 13.5 t of them in the pack:
    # 228,750 kgCO2e. The cathode and anode makers withhold emissions from downstream
    # callers (their policies), so the raw-material stage cannot be split out.
    assert subject["carbonFootprint"] == {
        "batteryCarbonFootprint": approx(72.0),
        "carbonFootprintPerLifecycleStage": [],
        "absoluteCarbonFootprint": approx(270_000),
    }
    rollup = subject["carbonFootprintRollup"]
    inputs = [
        (i["lot"], i["declared"], i["declaredUnit"], i["inProduct"]) for i in rollup["inputs"]
    ]
    assert inputs == [(f"{LOT}aurora-cells:CELL-2026-1187", 61.0, "kgCO2e/kWh", approx(228_750))]
    assert {n["lot"] for n in rollup["notRolledUp"]} == {
        f"{LOT}helios-cathode:CAM-2026-0412",
        f"{LOT}terra-anode:AN-2026-019",
    }


def _export(federation: Federation, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    keys = tmp_path / "keys"
    save_member_keys(federation.keys.member("nordvolt"), keys)
    user = federation.user("nordvolt").save(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "oretrail", "export", *args, PACK, "--gateway",
         federation.gateway_url, "--as-of", AS_OF, "--user", str(user), "--keys", str(keys)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip


def test_export_dpp_signs_with_the_organisation_key_and_one_changed_byte_fails(
    federation: Federation, tmp_path: Path
) -> None:
    run = _export(federation, tmp_path, "dpp")
    assert run.returncode == 0, run.stderr
    token = run.stdout.strip()
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", token)
    org_key = federation.keys.member("nordvolt").org_key.trusted()
    credential = verify_credential(token, org_key)
    assert errors_of(untp_validator("dpp"), credential) == []
    assert credential["credentialSubject"]["id"] == PACK
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[len(raw) // 2] ^= 0x01
    changed = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(CredentialRejected):
        verify_credential(f"{header}.{changed}.{signature}", org_key)
    # Another member's key does not verify it.
    with pytest.raises(CredentialRejected):
        verify_credential(token, federation.keys.member("aurora-cells").org_key.trusted())


def test_export_battery_passport_signed_and_unsigned(
    federation: Federation, tmp_path: Path
) -> None:
    run = _export(federation, tmp_path, "battery-passport")
    assert run.returncode == 0, run.stderr
    credential = verify_credential(
        run.stdout.strip(), federation.keys.member("nordvolt").org_key.trusted()
    )
    assert credential["credentialSubject"]["carbonFootprint"]["batteryCarbonFootprint"] == 72.0
    unsigned = _export(federation, tmp_path / "u", "battery-passport", "--unsigned")
    assert unsigned.returncode == 0, unsigned.stderr
    assert '"batteryCarbonFootprint": 72.0' in unsigned.stdout


def test_export_without_the_organisation_key_says_where_it_looked(
    federation: Federation, tmp_path: Path
) -> None:
    user = federation.user("nordvolt").save(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "oretrail", "export", "dpp", PACK, "--gateway",
         federation.gateway_url, "--user", str(user), "--keys", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert "nordvolt/org.pem: no such key" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("command", ["dpp", "battery-passport"])
def test_each_export_has_help(command: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "oretrail", "export", command, "--help"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert run.returncode == 0
    assert "--unsigned" in run.stdout
