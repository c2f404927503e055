"""Parsing a node's lots answer: lot by lot, one bad record one gap, shared facilities safe."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from oretrail.domain.lotgraph import GapReason
from oretrail.errors import InvalidNodeAnswer
from oretrail.gateway.node_client import LotReply, parse_lots

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
    with pytest.raises(InvalidNodeAnswer) as refused:
        parse_lots("refiner", ids, document)
    assert refused.value.reason == GapReason.INVALID_RESPONSE


def test_a_withheld_field_error_marks_its_own_lot_only() -> None:
    ids, document = answer(facility(), facility())
    document["errors"] = [
        {"message": "x", "path": ["lots", "answers", 1, "lot", "facility"], "extensions": WITHHELD}
    ]
    replies = parse_lots("refiner", ids, document)
    assert [replies[i].lot.withheld for i in ids] == [frozenset(), {"facility"}]  # type: ignore[union-attr]


def sound_lot(lot_id: str) -> dict[str, Any]:
    """A complete, well-formed record of the refiner's lot ``lot_id``, sharing no object."""
    record = {
        "id": lot_id,
        "owner": "refiner",
        "material": "cobalt sulfate",
        "custody": "MASS_BALANCE",
        "quantity": {"value": 2, "unit": "t"},
        "contents": [{"element": "Co", "fraction": 0.2}, {"element": "Ni", "fraction": 0.01}],
        "recycledPreConsumer": 0.0,
        "recycledPostConsumer": 0.1,
        "facility": facility(certificates=[CERTIFICATE]),
        "inputs": [
            {
                "lot": "urn:oretrail:lot:mine:M1",
                "owner": "mine",
                "quantity": {"value": 1500, "unit": "kg"},
            }
        ],
    }
    copy: dict[str, Any] = json.loads(json.dumps(record))
    return copy


def full_answer(count: int) -> tuple[list[str], dict[str, Any]]:
    ids = [f"{L}R-{i}" for i in range(count)]
    items = [{"id": i, "status": "FOUND", "detail": None, "lot": sound_lot(i)} for i in ids]
    continuations = [{"owner": "mine", "lots": ["urn:oretrail:lot:mine:M1"], "grant": "g"}]
    return ids, {"data": {"lots": {"answers": items, "continuations": continuations}}}


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(item: dict[str, Any]) -> None:
        node: Any = item
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


def _drop(*path: str | int) -> Callable[[dict[str, Any]], None]:
    def apply(item: dict[str, Any]) -> None:
        node: Any = item
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return apply


# Each makes one answer item malformed: a record no sound node sends.
MALFORMED: dict[str, Callable[[dict[str, Any]], None]] = {
    "Co fraction 1.5": _set(("lot", "contents", 0, "fraction"), 1.5),
    "negative fraction": _set(("lot", "contents", 1, "fraction"), -0.01),
    "fraction as text": _set(("lot", "contents", 0, "fraction"), "0.2"),
    "unknown element": _set(("lot", "contents", 0, "element"), "Cobalt"),
    "element in capitals": _set(("lot", "contents", 0, "element"), "CO"),
    "element twice": _set(("lot", "contents", 1, "element"), "Co"),
    "contents above 1": _set(("lot", "contents", 1, "fraction"), 0.9),
    "unit T": _set(("lot", "quantity", "unit"), "T"),
    "unit tonne": _set(("lot", "quantity", "unit"), "tonne"),
    "unit Kg": _set(("lot", "quantity", "unit"), "Kg"),
    "input unit pcs": _set(("lot", "inputs", 0, "quantity", "unit"), "pcs"),
    "zero quantity": _set(("lot", "quantity", "value"), 0),
    "negative quantity": _set(("lot", "quantity", "value"), -2),
    "quantity as true": _set(("lot", "quantity", "value"), True),
    "quantity without unit": _drop("lot", "quantity", "unit"),
    "another owner": _set(("lot", "owner"), "somebody-else"),
    "owner missing": _drop("lot", "owner"),
    "lot id missing": _drop("lot", "id"),
    "another lot given": _set(("lot", "id"), f"{L}OTHER"),
    "found without lot": _set(("lot",), None),
    "unknown status": _set(("status",), "MAYBE"),
    "status missing": _drop("status"),
    "not found with a lot": _set(("status",), "NOT_FOUND"),
    "unknown custody": _set(("lot", "custody"), "TRUST_ME"),
    "recycled above 1": _set(("lot", "recycledPostConsumer"), 1.5),
    "recycled shares above 1": _set(("lot", "recycledPreConsumer"), 0.95),
    "inputs not a list": _set(("lot", "inputs"), {"lot": "x"}),
    "input without lot": _drop("lot", "inputs", 0, "lot"),
    "certificate date": _set(("lot", "facility", "certificates", 0, "validTo"), "soon"),
    "lot not an object": _set(("lot",), "R-1"),
}


@pytest.mark.parametrize("malformation", sorted(MALFORMED))
def test_one_malformed_record_is_a_gap_for_that_lot_alone(malformation: str) -> None:
    ids, document = full_answer(3)
    MALFORMED[malformation](document["data"]["lots"]["answers"][1])
    replies = parse_lots("refiner", ids, document)
    assert set(replies) == set(ids)
    bad = replies[ids[1]]
    assert (bad.lot, bad.reason) == (None, GapReason.INVALID_RESPONSE)
    assert bad.detail is not None
    assert bad.detail.startswith(f"node refiner, lot {ids[1]}: ")
    # The sound lots of the same answer are opened, whole.
    for lot_id in (ids[0], ids[2]):
        opened = replies[lot_id].lot
        assert opened is not None
        assert opened.id == lot_id
        assert opened.quantity_kg == 2000.0  # 2 t
        assert opened.contents == {"Co": 0.2, "Ni": 0.01}
        assert [(i.lot, i.kilograms, i.grant) for i in opened.inputs] == [
            ("urn:oretrail:lot:mine:M1", 1500.0, "g")
        ]


@pytest.mark.parametrize("unit", ["T", "tonne", "Kg", "KG", "ton", "tonnes", " t", "lb", ""])
def test_a_unit_off_the_closed_list_is_refused_naming_the_unit(unit: str) -> None:
    ids, document = full_answer(1)
    document["data"]["lots"]["answers"][0]["lot"]["quantity"]["unit"] = unit
    reply = parse_lots("refiner", ids, document)[ids[0]]
    assert reply.reason is GapReason.INVALID_RESPONSE
    assert f"unit {unit!r} is not one of the mass units 'kg', 't'" in (reply.detail or "")


def test_kilograms_and_tonnes_are_the_mass_units() -> None:
    ids, document = full_answer(2)
    document["data"]["lots"]["answers"][1]["lot"]["quantity"] = {"value": 2500, "unit": "kg"}
    replies = parse_lots("refiner", ids, document)
    # 2 t = 2,000 kg; 2,500 kg stays 2,500 kg.
    assert [replies[i].lot.quantity_kg for i in ids] == [2000.0, 2500.0]  # type: ignore[union-attr]


def test_an_id_left_out_of_the_answer_is_a_gap_for_that_id_alone() -> None:
    ids, document = full_answer(3)
    del document["data"]["lots"]["answers"][1]
    replies = parse_lots("refiner", ids, document)
    assert replies[ids[1]].reason is GapReason.INVALID_RESPONSE
    assert "gave no answer" in (replies[ids[1]].detail or "")
    assert [replies[i].lot is not None for i in ids] == [True, False, True]


def test_an_id_answered_twice_is_a_gap_for_that_id_and_unasked_ids_open_nothing() -> None:
    ids, document = full_answer(3)
    items = document["data"]["lots"]["answers"]
    items.append(json.loads(json.dumps(items[0])))
    stranger = f"{L}NOT-ASKED"
    items.append({"id": stranger, "status": "FOUND", "detail": None, "lot": sound_lot(stranger)})
    replies = parse_lots("refiner", ids, document)
    assert set(replies) == set(ids)
    assert replies[ids[0]].reason is GapReason.INVALID_RESPONSE
    assert "twice" in (replies[ids[0]].detail or "")
    assert [replies[i].lot is not None for i in ids] == [False, True, True]


def test_an_error_naming_one_answer_sinks_that_answer_only() -> None:
    ids, document = full_answer(3)
    document["errors"] = [{"message": "resolver failed", "path": ["lots", "answers", 2, "lot"]}]
    replies = parse_lots("refiner", ids, document)
    assert [replies[i].reason for i in ids] == [None, None, GapReason.INVALID_RESPONSE]


def test_the_nodes_own_reasons_are_typed_gaps() -> None:
    ids, document = full_answer(3)
    items = document["data"]["lots"]["answers"]
    items[0].update(status="NOT_FOUND", lot=None, detail="no such lot")
    items[1].update(status="WITHHELD", lot=None, detail=None)
    replies = parse_lots("refiner", ids, document)
    assert [(replies[i].reason, replies[i].detail) for i in ids] == [
        (GapReason.NOT_FOUND, "no such lot"),
        (GapReason.WITHHELD, "refiner: WITHHELD"),
        (None, None),
    ]


@pytest.mark.parametrize(
    "document",
    [
        {"data": {"lots": {"answers": "not a list", "continuations": []}}},
        {"data": {"lots": {"answers": [], "continuations": "no"}}},
        {"data": {"lots": None}},
        {"data": {}},
        {"data": None},
    ],
)
def test_an_answer_unusable_as_a_whole_fails_the_call(document: dict[str, Any]) -> None:
    with pytest.raises(InvalidNodeAnswer):
        parse_lots("refiner", [f"{L}R-0"], document)


def test_fuzz_bad_records_for_some_lots_are_one_gap_each_and_the_rest_open() -> None:
    """Seeded: per answer, some lots malformed and some left out; every other lot opens."""
    rng = random.Random(20261130)
    names = sorted(MALFORMED)
    pristine_ids, pristine = full_answer(8)
    expected = parse_lots("refiner", pristine_ids, pristine)
    bad_seen = 0
    for _ in range(400):
        ids, document = full_answer(8)
        items = document["data"]["lots"]["answers"]
        bad = set(rng.sample(ids, rng.randint(0, 4)))
        for index, lot_id in enumerate(ids):
            if lot_id in bad:
                MALFORMED[rng.choice(names)](items[index])
        left_out = {i for i in ids if i not in bad and rng.random() < 0.1}
        kept = [item for item in items if item["id"] not in left_out]
        rng.shuffle(kept)  # order carries no meaning
        document["data"]["lots"]["answers"] = kept
        replies = parse_lots("refiner", ids, document)
        assert set(replies) == set(ids)
        for lot_id in ids:
            if lot_id in bad | left_out:
                assert replies[lot_id].lot is None
                assert replies[lot_id].reason is GapReason.INVALID_RESPONSE
            else:
                assert replies[lot_id] == expected[lot_id]
        bad_seen += len(bad)
    assert bad_seen > 500  # the fuzz really sent bad records (about 2 per answer)


ODD_VALUES: list[Any] = [None, 5, -1, 1.5, float("nan"), True, "", "x", [], {}, [None], {"a": 1}]


def mutations(document: Any, rng: random.Random) -> tuple[Any, list[str | int]]:
    """A copy of ``document`` with one value below the top replaced by an odd one, and
    the path of that value.

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
    return copy, path


def test_no_malformed_answer_escapes_and_a_change_inside_one_answer_touches_no_other() -> None:
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
    pristine = parse_lots("refiner", ids, document)
    rng = random.Random(20261126)
    outcomes: list[str] = []
    for _ in range(3000):
        mutated, path = mutations(document, rng)
        replies = outcome(ids, mutated)
        if replies is None:
            outcomes.append("whole answer refused")
            continue
        # A change inside answers[i] can only touch lot i; every other lot is as before.
        inside = path[:3] == ["data", "lots", "answers"] and len(path) > 3
        touched = {ids[path[3]]} if inside and type(path[3]) is int else set(ids)
        if inside:
            assert all(replies[i] == pristine[i] for i in ids if i not in touched), path
        outcomes.extend(
            "lot refused" if replies[i].reason is GapReason.INVALID_RESPONSE else "lot parsed"
            for i in touched
        )
    # All three kinds happen, each often.
    assert min(outcomes.count(kind) for kind in set(outcomes)) > 100
    assert set(outcomes) == {"whole answer refused", "lot refused", "lot parsed"}


def outcome(ids: list[str], document: Any) -> dict[str, LotReply] | None:
    """The replies, or None when the whole answer is refused as invalid; nothing else escapes."""
    try:
        return parse_lots("refiner", ids, document)
    except InvalidNodeAnswer:
        return None
