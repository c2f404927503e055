"""Global lot ids: urn:oretrail:lot:<org>:<local-id>."""

from __future__ import annotations

import pytest

from oretrail.domain.model import LotRef, parse_lot_id
from oretrail.errors import InvalidLotId


def test_a_well_formed_id_names_its_owner() -> None:
    ref = parse_lot_id("urn:oretrail:lot:kasulo-coop:HG-2026-007")
    assert ref == LotRef("kasulo-coop", "HG-2026-007")
    assert str(ref) == "urn:oretrail:lot:kasulo-coop:HG-2026-007"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "does not start with"),
        ("HG-2026-007", "does not start with"),
        ("urn:oretrail:lot:kasulo-coop", "no local id"),
        ("urn:oretrail:lot:Kasulo:HG-1", "not a slug"),
        ("urn:oretrail:lot:-bad-:HG-1", "not a slug"),
        ("urn:oretrail:lot:kasulo-coop:HG 1", "may hold only"),
        ("urn:oretrail:lot:kasulo-coop:HG:1", "may hold only"),
        ("urn:oretrail:lot:kasulo-coop:" + "x" * 300, "longer than 256"),
        ("urn:oretrail:lot:kasulo-coop:'; DROP TABLE lots; --", "may hold only"),
    ],
)
def test_a_malformed_id_is_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(InvalidLotId, match=problem):
        parse_lot_id(text)
