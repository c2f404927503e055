"""The committed SDL files are the documented contract: they match the code, and describe it."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    build_schema,
    get_named_type,
)

from oretrail.cli import schema_sdl
from tests.conftest import ROOT

SCHEMA_DIR = ROOT / "docs" / "schema"
SERVICES = ("gateway", "node")


def sdl_file(service: str) -> Path:
    return SCHEMA_DIR / f"{service}.graphql"


@pytest.mark.parametrize("service", SERVICES)
def test_the_committed_sdl_is_the_code_s_schema(service: str) -> None:
    committed = sdl_file(service).read_text(encoding="utf-8")
    assert committed == schema_sdl(service), (
        f"docs/schema/{service}.graphql differs from the code: "
        f"run `oretrail schema {service} > docs/schema/{service}.graphql` and review the diff"
    )


def public_types(service: str) -> list[GraphQLNamedType]:
    """The schema's own types, read back from its SDL (no introspection types or built-in
    scalars)."""
    schema = build_schema(schema_sdl(service))
    builtin = {"String", "Int", "Float", "Boolean", "ID"}
    return [
        t
        for name, t in schema.type_map.items()
        if not name.startswith("__") and name not in builtin
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_no_public_type_name_carries_a_python_suffix(service: str) -> None:
    names = [t.name for t in public_types(service)]
    assert "Trace" in names or "Lot" in names  # the check sees the real types
    assert [n for n in names if n.endswith("Type")] == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_type_field_and_argument_is_described(service: str) -> None:
    undescribed = []
    for t in public_types(service):
        if not t.description:
            undescribed.append(t.name)
        if isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
            for name, field in t.fields.items():
                if not field.description:
                    undescribed.append(f"{t.name}.{name}")
                undescribed += [
                    f"{t.name}.{name}({arg})" for arg, a in field.args.items() if not a.description
                ]
        elif isinstance(t, GraphQLInputObjectType):
            undescribed += [f"{t.name}.{n}" for n, f in t.fields.items() if not f.description]
        elif isinstance(t, GraphQLEnumType):
            assert t.values  # an enum is described as a whole, its values by name
    assert undescribed == []


FRACTION_WORDS = ("share", "fraction", "coverage", "recycled", "unknown", "tolerance", "dominance")


def test_fractions_say_they_run_from_0_to_1() -> None:
    """Every Float field or argument named as a fraction or share says its range."""
    checked = []
    for service in SERVICES:
        for t in public_types(service):
            if not isinstance(t, GraphQLObjectType):
                continue
            for name, field in t.fields.items():
                numbers = [(name, field.type, field.description)]
                numbers += [(a, arg.type, arg.description) for a, arg in field.args.items()]
                for what, kind, text in numbers:
                    is_float = get_named_type(kind).name == "Float"
                    if is_float and any(w in what.lower() for w in FRACTION_WORDS):
                        checked.append(f"{t.name}.{what}")
                        assert "from 0 to 1" in (text or ""), f"{service} {t.name}.{what}"
    # 11 today: ElementShare.share, ElementCoverage.coverage and .unknown, Origin's two recycled
    # fractions, overAllocations(tolerance), TransparencyAnswer.dominance, PublishedGroup.share
    # (gateway); ElementContent.fraction and Lot's two recycled fractions (node).
    assert len(checked) >= 11, checked
