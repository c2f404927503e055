"""Global lot ids: urn:oretrail:lot:<org>:<local-id>."""

from __future__ import annotations

import pytest

from oretrail.domain.model import LotRef, is_local_id, parse_lot_id
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


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("CH-2026-014", True),
        ("a.b_c-9", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("kasulo-coop:HG-1", False),
        ("HG 1", False),
        (7, False),
        (None, False),
    ],
)
def test_a_local_id_is_checked_as_the_part_after_the_organisation(
    text: object, valid: bool
) -> None:
    assert is_local_id(text) is valid
    if isinstance(text, str) and text:
        # The same verdict as parsing the full id of a valid organisation.
        try:
            parse_lot_id(f"urn:oretrail:lot:kasulo-coop:{text}")
        except InvalidLotId:
            assert not valid
        else:
            assert valid
