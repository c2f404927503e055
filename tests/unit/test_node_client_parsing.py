"""Parsing a node's lots answer: lots of one answer share parsed facilities safely."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from oretrail.domain.lotgraph import GapReason
from oretrail.errors import NodeCallError
from oretrail.gateway.node_client import parse_lots

L = "urn:oretrail:lot:refiner:"
WITHHELD = {"code": "WITHHELD", "group": "facility"}


def facility(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "site",
        "name": "Site",
        "kind": "refinery",
        "country": "FI",
        "region": "Ostrobothnia",
        "latitude": 63.8,
        "longitude": 23.1,
        "artisanal": False,
        "cahra": False,
        "certificates": [],
    }
    base.update(fields)
    return base


CERTIFICATE = {
    "id": "RMAP-1",
    "subject": "site",
    "issuer": "auditor",
    "standard": "RMAP",
    "scope": "refiner",
    "validFrom": "2025-01-01",
    "validTo": "2027-12-31",
    "status": "ACTIVE",
}


def answer(*facilities: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    ids = [f"{L}R-{i}" for i in range(len(facilities))]
    lots = [
        {
            "id": lot_id,
            "status": "FOUND",
            "detail": None,
            "lot": {"id": lot_id, "owner": "refiner", "facility": place, "inputs": []},
        }
        for lot_id, place in zip(ids, facilities, strict=True)
    ]
    return ids, {"data": {"lots": {"answers": lots, "continuations": []}}}


def test_each_lot_keeps_its_own_facility_even_when_the_values_are_swapped() -> None:
    ids, document = answer(
        facility(id="a", name="b"),
        facility(id="b", name="a"),
        facility(id="a", name="b"),
    )
    replies = parse_lots("refiner", ids, document)
    places = [replies[i].lot.facility for i in ids]  # type: ignore[union-attr]
    assert [(p.id, p.name) for p in places if p] == [("a", "b"), ("b", "a"), ("a", "b")]


def test_lots_of_one_facility_with_different_certificates_keep_their_own() -> None:
    revoked = {**CERTIFICATE, "status": "REVOKED"}
    ids, document = answer(
        facility(certificates=[CERTIFICATE]),
        facility(certificates=[revoked]),
        facility(certificates=[]),
    )
    replies = parse_lots("refiner", ids, document)
    statuses = [[c.status for c in replies[i].lot.certificates] for i in ids]  # type: ignore[union-attr]
    assert statuses == [["ACTIVE"], ["REVOKED"], []]


def test_a_facility_with_unhashable_values_is_still_parsed_field_by_field() -> None:
    ids, document = answer(facility(name=["not", "a", "name"], region={"odd": 1}))
    place = parse_lots("refiner", ids, document)[ids[0]].lot.facility  # type: ignore[union-attr]
    assert place is not None
    assert (place.id, place.name, place.region) == ("site", "(withheld)", "")


def test_a_flag_sent_as_1_does_not_stand_for_a_true_flag_of_another_lot() -> None:
    ids, document = answer(facility(cahra=1), facility(cahra=True))
    replies = parse_lots("refiner", ids, document)
    flags = [replies[i].lot.facility.cahra for i in ids]  # type: ignore[union-attr]
    assert flags == [False, True]


@pytest.mark.parametrize(
    "errors",
    [
        5,
        True,
        "withheld",
        {"code": "WITHHELD"},
        # A WITHHELD error that names no answer: outside data.lots.answers[i].
        [{"message": "x", "path": ["lots", "continuations", 0], "extensions": WITHHELD}],
        [{"message": "x", "path": ["lots", "answers", "0"], "extensions": WITHHELD}],
        [{"message": "x", "path": ["lots", "answers"], "extensions": WITHHELD}],
        [{"message": "boom", "path": ["lots"]}],
    ],
)
def test_odd_errors_in_an_answer_make_it_invalid_not_a_crash(errors: object) -> None:
    ids, document = answer(facility())
    document["errors"] = errors
    with pytest.raises(NodeCallError) as refused:
        parse_lots("refiner", ids, document)
    assert refused.value.reason == GapReason.INVALID_RESPONSE


def test_a_withheld_field_error_marks_its_own_lot_only() -> None:
    ids, document = answer(facility(), facility())
    document["errors"] = [
        {"message": "x", "path": ["lots", "answers", 1, "lot", "facility"], "extensions": WITHHELD}
    ]
    replies = parse_lots("refiner", ids, document)
    assert [replies[i].lot.withheld for i in ids] == [frozenset(), {"facility"}]  # type: ignore[union-attr]


ODD_VALUES: list[Any] = [None, 5, -1, 1.5, float("nan"), True, "", "x", [], {}, [None], {"a": 1}]


def mutations(document: Any, rng: random.Random) -> Any:
    """A copy of ``document`` with one value below the top replaced by an odd one.

    (The top is always an object holding "data": the client checks that first.)
    """
    copy = json.loads(json.dumps(document))
    node: Any = copy
    path: list[str | int] = []
    while isinstance(node, dict | list) and node and (not path or rng.random() < 0.8):
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append(key)
        if not isinstance(node[key], dict | list) or not node[key]:
            break
        node = node[key]
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = rng.choice(ODD_VALUES)
    return copy


def test_no_malformed_answer_escapes_as_anything_but_a_node_call_error() -> None:
    ids, document = answer(facility(certificates=[CERTIFICATE]), facility())
    document["data"]["lots"]["answers"][0]["lot"].update(
        material="ore",
        custody="MASS_BALANCE",
        quantity={"value": 2, "unit": "t"},
        contents=[{"element": "Co", "fraction": 0.1}],
        recycledPreConsumer=0.0,
        inputs=[
            {
                "lot": "urn:oretrail:lot:mine:M1",
                "owner": "mine",
                "quantity": {"value": 1, "unit": "t"},
            }
        ],
    )
    document["data"]["lots"]["continuations"] = [
        {"owner": "mine", "lots": ["urn:oretrail:lot:mine:M1"], "grant": "g"}
    ]
    document["errors"] = [
        {"message": "x", "path": ["lots", "answers", 1, "lot", "contents"], "extensions": WITHHELD}
    ]
    rng = random.Random(20261126)
    outcomes = [outcome(ids, mutations(document, rng)) for _ in range(3000)]
    # Both kinds happen: harmless changes parse, harmful ones are refused as invalid.
    assert set(outcomes) == {"parsed", GapReason.INVALID_RESPONSE}
    assert min(outcomes.count("parsed"), outcomes.count(GapReason.INVALID_RESPONSE)) > 100


def outcome(ids: list[str], document: Any) -> str:
    """ "parsed", or the reason of the NodeCallError; anything else escapes the test."""
    try:
        parse_lots("refiner", ids, document)
    except NodeCallError as exc:
        return exc.reason
    return "parsed"
