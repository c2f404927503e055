"""The UNTP product passport states only what the caller was shown, and stays valid."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from oretrail.domain.attribution import attribute
from oretrail.domain.lotgraph import LotGraph, TracedInput, TracedLot
from oretrail.domain.model import Activity, Certificate, Custody, Facility
from oretrail.standards.dpp import product_passport
from oretrail.standards.dpp_sources import Party, TracedProduct
from tests.support.standards_files import untp_validator, vc_validator

L = "urn:oretrail:lot:"
ROOT, MINE, SCRAP = f"{L}maker:P1", f"{L}mine:M1", f"{L}recycler:S1"


def site(org: str, country: str, activity: Activity) -> Facility:
    return Facility(
        f"urn:oretrail:facility:{org}:site", org, f"{org} site", "site", country, "region",
        activities=frozenset({activity}),
    )  # fmt: skip


def traced(lot_id: str, kg: float, co: float, facility: Facility, **extra: object) -> TracedLot:
    return TracedLot(
        id=lot_id, owner=lot_id.split(":")[3], material=f"material of {lot_id}",
        quantity_kg=kg, contents={"Co": co}, custody=Custody.SEGREGATED, facility=facility,
        produced_at=date(2026, 3, 1), **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def graph(scrap_withheld: frozenset[str] = frozenset()) -> LotGraph:
    """A 1,000 kg product at 10 % Co from 300 kg of ore at 20 % Co (60 kg) and 200 kg of
    black mass at 20 % Co (40 kg), all post-consumer."""
    made = LotGraph(ROOT)
    made.lots[ROOT] = traced(
        ROOT, 1000, 0.10, site("maker", "SE", Activity.MANUFACTURING),
        inputs=(TracedInput(MINE, "mine", 300), TracedInput(SCRAP, "recycler", 200)),
    )  # fmt: skip
    made.lots[MINE] = traced(
        MINE, 300, 0.20, site("mine", "CD", Activity.EXTRACTION),
        recycled_pre_consumer=0.0, recycled_post_consumer=0.0,
    )  # fmt: skip
    made.lots[SCRAP] = traced(
        SCRAP, 200, 0.20, site("recycler", "NO", Activity.SCRAP_COLLECTION),
        recycled_pre_consumer=0.0, recycled_post_consumer=1.0, withheld=scrap_withheld,
    )  # fmt: skip
    return made


def passport(made: LotGraph) -> dict[str, object]:
    product = TracedProduct(made, attribute(made), "r1", Party("maker", "Maker AB"), {})
    return product_passport(product, datetime(2026, 11, 26, 12, 0, 0, 123, tzinfo=UTC))


def test_cobalt_from_two_countries_with_its_recycled_fraction() -> None:
    credential = passport(graph())
    assert untp_validator("dpp").is_valid(credential)
    assert vc_validator().is_valid(credential)
    assert credential["validFrom"] == "2026-11-26T12:00:00Z"
    subject = credential["credentialSubject"]
    assert isinstance(subject, dict)
    # 60 kg of 100 kg Co from CD: 0.6 x 10 % = 6 % of the product, 60 kg; 40 kg from NO:
    # 4 %, 40 kg, all of it post-consumer recycled.
    got = [
        (m.get("originCountry"), m["massFraction"], m["mass"]["value"], m["recycledMassFraction"])
        for m in subject["materialsProvenance"]
    ]
    assert got == [
        ("CD", pytest.approx(0.06), pytest.approx(60.0), 0.0),
        ("NO", pytest.approx(0.04), pytest.approx(40.0), 1.0),
    ]
    assert [t["verifiedRatio"] for t in subject["traceabilityInformation"]] == [1.0]


def test_a_withheld_origin_has_no_country_and_withheld_recycled_shares_no_fraction() -> None:
    made = graph(frozenset({"origin", "contents"}))
    made.lots[SCRAP] = replace(
        made.lots[SCRAP], recycled_pre_consumer=None, recycled_post_consumer=None
    )
    credential = passport(made)
    assert untp_validator("dpp").is_valid(credential)
    subject = credential["credentialSubject"]
    assert isinstance(subject, dict)
    withheld = [m for m in subject["materialsProvenance"] if "originCountry" not in m]
    # The recycler's share is still attributed (its origin status is withheld, so it is a
    # WITHHELD gap): 40 % of the Co is not traced to an origin.
    assert [(m["name"], m["massFraction"]) for m in withheld] == [
        ("cobalt (Co), origin not traced", pytest.approx(0.04))
    ]


@pytest.mark.parametrize(
    ("verification", "conforms", "words"),
    [
        ("UNVERIFIED", True, "Unverified: a plain certificate record"),
        ("VALID", True, "Verified: an audit credential (vc+jwt)"),
        ("REVOKED", False, "did not pass its check (REVOKED)"),
        ("FORGED", False, "did not pass its check (FORGED)"),
    ],
)
def test_a_conformity_claim_says_what_its_certificate_rests_on(
    verification: str, conforms: bool, words: str
) -> None:
    # The mine's audit runs 2025-01-01 to 2027-12-31: its lot, made 2026-03-01, is inside.
    audit = Certificate(
        "RMAP-1", "mine:site", "assurance", "RMAP", "smelter audit",
        date(2025, 1, 1), date(2027, 12, 31), verification=verification,
    )  # fmt: skip
    made = graph()
    made.lots[MINE] = replace(made.lots[MINE], certificates=(audit,))
    [claim] = passport(made)["credentialSubject"]["conformityClaim"]  # type: ignore[index]
    assert claim["conformance"] is conforms
    assert words in claim["description"]
