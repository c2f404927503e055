"""Approved queries: loading, approvals, and typed, bounded variables."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest

from oretrail.auth.declarations import decode_declaration
from oretrail.auth.keys import KeyRing, generate_signing_key
from oretrail.auth.policy import load_policy
from oretrail.auth.tokens import org_issuer
from oretrail.errors import ConfigError, InvalidInput, TokenRejected
from oretrail.gateway.approved import Parameter, load_approved
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


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('values = ["Co", "Li", "Ni"]', ""), "needs bounds"),
        (("k = 3", "k = 2"), "k must be at least 3"),
        (
            ('"contents", "inputs"]', '"contents", "inputs", "facility"]'),
            "may not declare 'facility'",
        ),
        (('"contents", "inputs"]', '"contents", "inputs", "suppliers"]'), "'suppliers'"),
        (('"contents", "inputs"]', '"contents", "inputs", "sites"]'), "unknown 'sites'"),
        (('period = "quarter"', 'period = "week"'), "period must be one of quarter"),
        (('fields = ["identity"', 'fieldz = ["identity"'), "lacks or mistypes 'fields'"),
    ],
    ids=["no-bounds", "k-2", "facility", "suppliers", "unknown-group", "period", "no-fields"],
)
def test_a_query_file_that_could_leak_is_refused(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    source = (CONFIG_DIR / "approved" / "recycled-content.toml").read_text(encoding="utf-8")
    assert edit[0] in source
    (tmp_path / "a.toml").write_text(source.replace(*edit), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_approved(tmp_path)


def test_every_sample_node_pins_the_digest_of_each_declaration_it_answers() -> None:
    # A node answers a query only under the declaration whose digest its own policy
    # lists: when a declaration changes, every policy must be updated by its owner.
    registry = load_approved(CONFIG_DIR / "approved")
    digests = {q.id: q.pinned_digest() for q in registry.queries.values()}
    for path in sorted((CONFIG_DIR / "policies").glob("*.toml")):
        assert dict(load_policy(path).approved_queries) == digests, path.name


def test_the_declaration_nodes_check_is_what_approvers_sign() -> None:
    query = load_approved(CONFIG_DIR / "approved").get("refiner-audit-coverage")
    pinned = {query.id: query.pinned_digest()}
    declared = decode_declaration(query.forwarded(), pinned, query.id)
    assert declared.fields == {
        "identity",
        "origin",
        "quantities",
        "contents",
        "inputs",
        "certificates",
    }
    assert (declared.period, declared.k) == ("quarter", 3)
    # Approvers sign SHA-256 of the same canonical JSON the pinned digest names.
    assert query.pinned_digest() == "sha256:" + base64.urlsafe_b64encode(query.digest()).rstrip(
        b"="
    ).decode("ascii")
    # A declaration widened on the way (certificates -> facility too) is refused.
    widened = dataclasses.replace(query, fields=(*query.fields, "emissions"))
    with pytest.raises(TokenRejected, match="not the version this node's policy lists"):
        decode_declaration(widened.forwarded(), pinned, query.id)
    # ... and so is a declaration of another query presented under this id.
    other = load_approved(CONFIG_DIR / "approved").get("artisanal-share")
    with pytest.raises(TokenRejected):
        decode_declaration(other.forwarded(), pinned, query.id)
    with pytest.raises(TokenRejected, match="lists no approved query"):
        decode_declaration(query.forwarded(), {}, query.id)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_float_variable_outside_every_number_is_refused(value: float) -> None:
    # NaN compares false with both bounds, so a range check alone would let it through
    # (and a computation keyed by it would be a fresh one); infinities lie outside 0..1.
    with pytest.raises(InvalidInput, match="share"):
        Parameter("share", "Float", minimum=0.0, maximum=1.0).check(value)
