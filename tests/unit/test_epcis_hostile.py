"""Whatever a document holds, reading it ends in records or in EpcisRefused: never in
another exception (a traceback is not a refusal)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oretrail.config import load_registry
from oretrail.standards.epcis_export import export_epcis
from oretrail.standards.epcis_import import EpcisRefused, read_epcis
from oretrail.standards.epcis_terms import Gs1Directory
from oretrail.store.seed import load_seed
from tests.conftest import CONFIG_DIR, SEED_DIR

ORG = "circulo-recycling"
DIRECTORY = Gs1Directory.from_registry(load_registry(CONFIG_DIR / "registry.toml"))
GOOD = export_epcis(
    load_seed(SEED_DIR / f"{ORG}.toml"), DIRECTORY, datetime(2026, 11, 30, tzinfo=UTC)
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["KGM", "TNE", "urn:oretrail:lot:circulo-recycling:BM-2026-033"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, as the keys and indexes that lead to it."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


PLACES = [p for p in paths(GOOD) if p]


def read(document: Any) -> None:
    try:
        read_epcis([("doc", json.dumps(document))], ORG, DIRECTORY)
    except EpcisRefused as refused:
        assert refused.problems  # noqa: PT017 - either outcome is fine, not a refusal alone


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(place=st.sampled_from(PLACES), value=json_values)
def test_any_value_anywhere_in_a_document_is_read_or_refused(
    place: tuple[Any, ...], value: Any
) -> None:
    document = copy.deepcopy(GOOD)
    target = document
    for step in place[:-1]:
        target = target[step]
    target[place[-1]] = value
    read(document)


@settings(max_examples=200, deadline=None)
@given(body=json_values, events=st.lists(json_values, max_size=3))
def test_any_body_and_any_events_are_read_or_refused(body: Any, events: list[Any]) -> None:
    read({"type": "EPCISDocument", "epcisHeader": body, "epcisBody": {"eventList": events}})
    read({"type": "EPCISQueryDocument", "epcisBody": body})
