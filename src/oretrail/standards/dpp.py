"""The UNTP Digital Product Passport (UNTP 0.6.1) of a traced lot, as an unsigned VC 2.0.

What it states, and from what (docs/standards.md maps every field):

- ``product``: the root lot: id, material, batch (its local id), producer, facility,
  production date and country, mass (``KGM``, UN/ECE Recommendation 20).
- ``materialsProvenance``: one ``Material`` per element and origin country: the mass
  fraction of the product it is (the product's content of the element times the share
  traced to that country), its mass, and its recycled mass fraction; the share of an
  element not traced to an origin is one more ``Material`` with no origin country.
- ``traceabilityInformation``: one entry per element whose ``verifiedRatio`` is the
  trace's coverage of that element (the share attributed to identified origins).
- ``conformityClaim``: one per certificate shown on the path. A plain record the
  holder's node serves is said to be unverified; a certificate presented with an audit
  credential says how the gateway's check of it ended (VALID, REVOKED, FORGED...).
  ``conformance`` is whether the certificate was valid on the production date of every
  traced lot it concerns, and false for a credential that failed its check.

The issuer is the tracing organisation; it signs the credential with its own key
(``standards.vc``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from oretrail.domain.risks import AUDIT_STANDARDS
from oretrail.standards.dpp_sources import (
    ELEMENT_NAMES,
    TracedProduct,
    certificates_on_path,
    origin_groups,
    timestamp,
)
from oretrail.standards.vc import VC_CONTEXT

__all__ = ["UNTP_DPP_CONTEXT", "product_passport"]

UNTP_DPP_CONTEXT = "https://test.uncefact.org/vocabulary/untp/dpp/0.6.1/"
PASSPORT_URN = "urn:oretrail:passport:dpp:"

# Owners of the reference standards the sample's certificates name (UNTP Standard
# requires an issuing party); a certificate under any other standard names none.
_STANDARD_OWNERS: Mapping[str, tuple[str, str]] = {
    "RMAP": ("https://www.responsiblemineralsinitiative.org/", "Responsible Minerals Initiative"),
    "IRMA": ("https://responsiblemining.net/", "Initiative for Responsible Mining Assurance"),
    "ISO 14001": ("https://www.iso.org/", "International Organization for Standardization"),
    "ISO 17065": ("https://www.iso.org/", "International Organization for Standardization"),
}


def product_passport(product: TracedProduct, issued_at: datetime) -> dict[str, Any]:
    """The unsigned UNTP DPP credential of ``product`` (a JSON object), issued at
    ``issued_at`` (timezone-aware) by ``product.issuer``."""
    return {
        "@context": [VC_CONTEXT, UNTP_DPP_CONTEXT],
        "type": ["DigitalProductPassport", "VerifiableCredential"],
        "id": f"{PASSPORT_URN}{product.record_id}",
        "issuer": {"type": ["CredentialIssuer"], **product.issuer.as_untp()},
        "validFrom": timestamp(issued_at),
        "credentialSubject": {
            "type": ["ProductPassport"],
            "id": product.graph.root,
            "product": _product(product),
            "granularityLevel": "batch",
            "materialsProvenance": _materials(product),
            "traceabilityInformation": _traceability(product),
            "conformityClaim": _claims(product),
        },
    }


def _product(product: TracedProduct) -> dict[str, Any]:
    root = product.root
    local = root.id.rsplit(":", 1)[-1]
    described: dict[str, Any] = {
        "type": ["Product"],
        "id": root.id,
        "name": root.material,
        "batchNumber": local,
        "producedByParty": product.party(root.owner).as_untp(),
    }
    facility = root.facility
    if facility is not None and "facility" not in root.withheld:
        described["producedAtFacility"] = {"id": facility.id, "name": facility.name}
    if facility is not None and "origin" not in root.withheld:
        described["countryOfProduction"] = facility.country
    if root.produced_at is not None:
        described["productionDate"] = root.produced_at.isoformat()
    if root.quantity_kg is not None:
        described["dimensions"] = {
            "type": ["Dimension"],
            "weight": {"type": ["Measure"], "value": root.quantity_kg, "unit": "KGM"},
        }
    return described


def _element_name(element: str) -> str:
    return f"{ELEMENT_NAMES.get(element, element)} ({element})"


def _materials(product: TracedProduct) -> list[dict[str, Any]]:
    mass = product.root.quantity_kg
    materials = []
    for group in origin_groups(product):
        content = product.content(group.element)
        material: dict[str, Any] = {
            "type": ["Material"],
            "name": _element_name(group.element)
            + ("" if not group.approximate else ", share approximate (by mass)"),
        }
        if group.country is not None:
            material["originCountry"] = group.country
        _amounts(material, content, group.share, mass)
        if group.recycled_pre is not None and group.recycled_post is not None:
            material["recycledMassFraction"] = group.recycled_pre + group.recycled_post
        materials.append(material)
    for element in product.attribution.elements:
        untraced = 1.0 - product.attribution.coverage.get(element, 0.0)
        if untraced <= 1e-12:
            continue
        material = {"type": ["Material"], "name": f"{_element_name(element)}, origin not traced"}
        _amounts(material, product.content(element), untraced, mass)
        materials.append(material)
    return materials


def _amounts(
    material: dict[str, Any], content: float | None, share: float, mass: float | None
) -> None:
    """Mass fraction of the product and mass in kg, where the product's figures are shown."""
    if content is None:
        return
    material["massFraction"] = content * share
    if mass is not None:
        material["mass"] = {"type": ["Measure"], "value": mass * content * share, "unit": "KGM"}


def _traceability(product: TracedProduct) -> list[dict[str, Any]]:
    return [
        {
            "type": ["TraceabilityPerformance"],
            "valueChainProcess": f"{_element_name(element)}: from the product to its mines "
            "and recyclers",
            "verifiedRatio": product.attribution.coverage.get(element, 0.0),
            "traceabilityEvent": [
                {
                    "type": ["SecureLink", "Link"],
                    "linkURL": product.trace_uri,
                    "linkName": "oretrail trace record",
                    "linkType": "urn:oretrail:trace-record",
                }
            ],
        }
        for element in product.attribution.elements
    ]


def _topic(standard: str) -> str:
    """UNTP conformity topic of a certificate's standard (docs/standards.md)."""
    if standard.upper() in AUDIT_STANDARDS:
        return "social.rights"  # responsible-sourcing due diligence (OECD DDG, Annex II)
    if standard.upper().startswith("ISO 14001"):
        return "environment.emissions"
    return "governance.compliance"


def _verification_text(verification: str) -> str:
    """What the claim rests on: a plain record, or an audit credential and its check."""
    if verification == "UNVERIFIED":
        return (
            "Unverified: a plain certificate record served by the holder's node, not a "
            "verifiable credential."
        )
    if verification == "VALID":
        return (
            "Verified: an audit credential (vc+jwt) signed by a registered auditor, valid "
            "on the production dates and not revoked in its issuer's status list."
        )
    return f"Its audit credential did not pass its check ({verification})."


def _claims(product: TracedProduct) -> list[dict[str, Any]]:
    claims = []
    for certificate, lots in certificates_on_path(product):
        dates = [lot.produced_at for lot in lots if lot.produced_at is not None]
        issuer = product.party(certificate.issuer)
        holders = ", ".join(sorted({product.party(lot.owner).name for lot in lots}))
        claim: dict[str, Any] = {
            "type": ["Claim", "Declaration"],
            "id": f"urn:oretrail:certificate:{certificate.issuer}:{certificate.id}",
            "description": (
                f"{certificate.standard} certificate {certificate.id} ({certificate.scope}) "
                f"held by {holders}, issued by {issuer.name}, valid {certificate.valid_from} "
                f"to {certificate.valid_to}, status {certificate.status}. "
                f"{_verification_text(certificate.verification)}"
            ),
            "assessmentDate": certificate.valid_from.isoformat(),
            # A credential that failed its check (revoked, forged...) conforms to nothing.
            "conformance": certificate.verification in ("UNVERIFIED", "VALID")
            and bool(dates)
            and all(certificate.valid_on(day) for day in dates),
            "conformityTopic": _topic(certificate.standard),
        }
        owner = _STANDARD_OWNERS.get(certificate.standard.upper())
        if owner is not None:
            claim["referenceStandard"] = {
                "type": ["Standard"],
                "name": certificate.standard,
                "issuingParty": {"id": owner[0], "name": owner[1]},
            }
        claims.append(claim)
    return claims
