"""Approved queries: loading, approvals, and typed, bounded variables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from oretrail.auth.keys import KeyRing, generate_signing_key
from oretrail.auth.tokens import org_issuer
from oretrail.errors import ConfigError, InvalidInput
from oretrail.gateway.approved import load_approved
from tests.conftest import CONFIG_DIR

OEM = generate_signing_key(org_issuer("nordvolt"), "nordvolt-1")
RIVAL = generate_signing_key(org_issuer("rivalauto"), "rivalauto-1")


def ring() -> KeyRing:
    keys = KeyRing()
    keys.add(OEM.trusted())
    keys.add(RIVAL.trusted())
    return keys


def test_the_sample_queries_verify_once_their_approver_signs() -> None:
    registry = load_approved(CONFIG_DIR / "approved")
    assert len(registry.queries) >= 4
    with pytest.raises(ConfigError, match="is not approved by nordvolt"):
        registry.verify(ring())
    registry.approve(OEM, "nordvolt")
    registry.verify(ring())


def test_an_altered_document_stops_verification_naming_the_file() -> None:
    registry = load_approved(CONFIG_DIR / "approved")
    registry.approve(OEM, "nordvolt")
    query = registry.queries["cobalt-origin-countries"]
    altered = dataclasses.replace(query, document=query.document.replace('"Co"', '"Ni"'))
    registry.queries[query.id] = altered
    with pytest.raises(ConfigError, match=r"cobalt-origin-countries.toml.*changed after approval"):
        registry.verify(ring())


def test_an_approval_signed_by_another_party_is_refused() -> None:
    registry = load_approved(CONFIG_DIR / "approved")
    registry.approve(RIVAL, "nordvolt")  # the rival signs in nordvolt's name
    with pytest.raises(ConfigError, match="not theirs"):
        registry.verify(ring())


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "needs variable 'productLine'"),
        ({"productLine": "rival-line"}, "must be one of: nordvolt-packs-2026"),
        ({"productLine": 7}, "must be a String"),
        ({"productLine": "nordvolt-packs-2026", "element": "Co"}, "takes no variable 'element'"),
        ([], "must be an object"),
    ],
)
def test_variables_are_typed_and_bounded(variables: object, message: str) -> None:
    query = load_approved(CONFIG_DIR / "approved").get("cobalt-origin-countries")
    with pytest.raises(InvalidInput, match=message):
        query.variables(variables)


def test_a_query_file_without_bounds_or_with_k_below_two_is_refused(tmp_path: Path) -> None:
    source = (CONFIG_DIR / "approved" / "recycled-content.toml").read_text(encoding="utf-8")
    (tmp_path / "a.toml").write_text(
        source.replace('values = ["Co", "Li", "Ni"]', ""), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="needs bounds"):
        load_approved(tmp_path)
    (tmp_path / "a.toml").write_text(source.replace("k = 2", "k = 1"), encoding="utf-8")
    with pytest.raises(ConfigError, match="k must be at least 2"):
        load_approved(tmp_path)
