"""The registry of approved transparency queries, and the approvals that make them runnable.

An approved query is a GraphQL document with metadata (id, purpose, typed and
bounded parameters, minimum group size k, who must approve it), one TOML file per
query under config/approved/. Each approver signs a digest of the document and its
metadata with its Ed25519 key; the signatures live in ``<id>.approvals.json``
beside it. The gateway verifies every approval at start and refuses to start if a
document is unapproved or was changed after it was approved.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature

from oretrail.auth.declarations import PERIOD_KINDS, declaration_digest, encode_declaration
from oretrail.auth.keys import KeyRing, SigningKey
from oretrail.auth.policy import FIELD_GROUPS
from oretrail.auth.tokens import org_issuer
from oretrail.domain.disclosure import MIN_K
from oretrail.errors import ConfigError, InvalidInput

__all__ = [
    "ApprovedQuery",
    "ApprovedRegistry",
    "Parameter",
    "Transparency",
    "load_approved",
    "load_product_lines",
    "load_signed_roots",
    "roots_key",
    "save_signed_roots",
]

TYPES = {"String": str, "Int": int, "Float": float}
# Field groups no approved query may declare (DESIGN.md, Trust 5; docs/transparency.md).
NEVER_DECLARED = frozenset({"facility", "suppliers", "customers"})


@dataclass(frozen=True, slots=True)
class Parameter:
    """A typed parameter with bounds: a set of allowed values, or a numeric range."""

    name: str
    type: str
    values: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value: object) -> None:
        expected = TYPES[self.type]
        if isinstance(value, bool) or not isinstance(value, expected):
            raise InvalidInput(f"variable {self.name!r} must be a {self.type}")
        if isinstance(value, float) and not math.isfinite(value):
            # NaN passes every comparison with a bound; no approved figure takes it.
            raise InvalidInput(f"variable {self.name!r} must be a finite number")
        if self.values is not None and value not in self.values:
            allowed = ", ".join(map(str, self.values))
            raise InvalidInput(f"variable {self.name!r} must be one of: {allowed}")
        if self.minimum is not None and value < self.minimum:  # type: ignore[operator]
            raise InvalidInput(f"variable {self.name!r} must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:  # type: ignore[operator]
            raise InvalidInput(f"variable {self.name!r} must be at most {self.maximum}")


@dataclass(frozen=True, slots=True)
class ApprovedQuery:
    id: str
    purpose: str
    document: str
    k: int
    approvers: tuple[str, ...]
    parameters: Mapping[str, Parameter]
    source: Path
    # The field groups nodes may give for it, and its reporting period (Trust 5).
    fields: tuple[str, ...] = ()
    period: str = "quarter"
    approvals: dict[str, str] = field(default_factory=dict)

    def declaration(self) -> dict[str, Any]:
        """The document and every piece of metadata that shapes what it publishes."""
        return {
            "id": self.id,
            "purpose": self.purpose,
            "document": self.document,
            "k": self.k,
            "approvers": list(self.approvers),
            "parameters": {
                n: [p.type, None if p.values is None else list(p.values), p.minimum, p.maximum]
                for n, p in sorted(self.parameters.items())
            },
            "fields": sorted(self.fields),
            "period": self.period,
        }

    def digest(self) -> bytes:
        """What approvers sign: SHA-256 of the declaration's RFC 8785 canonical JSON."""
        return hashlib.sha256(rfc8785.dumps(self.declaration())).digest()

    def pinned_digest(self) -> str:
        """The digest as node policies list it (``sha256:<base64url>``)."""
        return declaration_digest(self.declaration())

    def forwarded(self) -> str:
        """The declaration as forwarded to nodes (auth.declarations)."""
        return encode_declaration(self.declaration())

    def variables(self, given: object) -> dict[str, Any]:
        """The caller's variables, checked against the declared types and bounds."""
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise InvalidInput("variables must be an object")
        unknown = set(given) - set(self.parameters)
        if unknown:
            raise InvalidInput(f"query {self.id} takes no variable {sorted(unknown)[0]!r}")
        for name, parameter in self.parameters.items():
            if name not in given:
                raise InvalidInput(f"query {self.id} needs variable {name!r}")
            parameter.check(given[name])
        return dict(given)


@dataclass(slots=True)
class ApprovedRegistry:
    queries: dict[str, ApprovedQuery] = field(default_factory=dict)

    def get(self, query_id: object) -> ApprovedQuery:
        if not isinstance(query_id, str) or query_id not in self.queries:
            raise InvalidInput(f"there is no approved query {str(query_id)[:80]!r}")
        return self.queries[query_id]

    def approve(self, key: SigningKey, org: str) -> list[str]:
        """Sign every query ``org`` must approve (the approvers' own tool, and the demo's)."""
        signed = []
        for query in self.queries.values():
            if org in query.approvers:
                signature = key.private.sign(query.digest())
                query.approvals[org] = base64.urlsafe_b64encode(signature).decode("ascii")
                signed.append(query.id)
        return signed

    def verify(self, ring: KeyRing) -> None:
        """Refuse any query with a missing, unknown or non-matching approval."""
        issuers = {key.issuer: key for key in ring.keys.values()}
        for query in self.queries.values():
            for org in query.approvers:
                signature = query.approvals.get(org)
                where = f"{query.source}: approved query {query.id!r}"
                if signature is None:
                    raise ConfigError(f"{where} is not approved by {org}")
                key = issuers.get(org_issuer(org))
                if key is None:
                    raise ConfigError(f"{where}: no trusted key for approver {org}")
                try:
                    key.public.verify(base64.urlsafe_b64decode(signature), query.digest())
                except (InvalidSignature, ValueError):
                    raise ConfigError(
                        f"{where}: the approval by {org} does not match the document; "
                        "it was changed after approval, or the signature is not theirs"
                    ) from None

    def save_approvals(self) -> None:
        for query in self.queries.values():
            path = query.source.with_suffix(".approvals.json")
            path.write_text(
                json.dumps(query.approvals, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )


def load_approved(directory: Path) -> ApprovedRegistry:
    """Every ``*.toml`` under config/approved/, with the approvals saved beside each."""
    registry = ApprovedRegistry()
    if not directory.is_dir():
        return registry
    for path in sorted(directory.glob("*.toml")):
        query = _read(path)
        if query.id in registry.queries:
            raise ConfigError(f"{path}: approved query id {query.id!r} is used twice")
        approvals = path.with_suffix(".approvals.json")
        if approvals.exists():
            try:
                saved = json.loads(approvals.read_text(encoding="utf-8"))
            except ValueError:
                raise ConfigError(f"{approvals}: not valid JSON") from None
            query.approvals.update({str(k): str(v) for k, v in saved.items()})
        registry.queries[query.id] = query
    return registry


def _read(path: Path) -> ApprovedQuery:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read approved query: {exc}") from None
    try:
        k = int(raw["k"])
        approvers = tuple(str(a) for a in raw["approvers"])
        fields = tuple(str(f) for f in raw["fields"])
        period = str(raw.get("period", "quarter"))
        query = ApprovedQuery(
            id=str(raw["id"]),
            purpose=str(raw["purpose"]),
            document=str(raw["document"]),
            k=k,
            approvers=approvers,
            parameters={
                name: _parameter(path, name, spec)
                for name, spec in raw.get("parameters", {}).items()
            },
            source=path,
            fields=fields,
            period=period,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: approved query lacks or mistypes {exc}") from None
    if k < MIN_K:
        raise ConfigError(
            f"{path}: k must be at least {MIN_K} (DESIGN.md, Trust 5: a group is published "
            "only with at least 3 contributing organisations)"
        )
    unknown = sorted(set(fields) - set(FIELD_GROUPS))
    if unknown or not fields:
        raise ConfigError(
            f"{path}: fields must list field groups of {', '.join(FIELD_GROUPS)}"
            + (f"; unknown {unknown[0]!r}" if unknown else "")
        )
    never = sorted(set(fields) & NEVER_DECLARED)
    if never:
        raise ConfigError(
            f"{path}: an approved query may not declare {never[0]!r}: facility detail, "
            "supplier names and customers never leave a node for a transparency query"
        )
    if period not in PERIOD_KINDS:
        raise ConfigError(f"{path}: period must be one of {', '.join(PERIOD_KINDS)}")
    if not approvers:
        raise ConfigError(f"{path}: an approved query needs at least one approver")
    return query


def _parameter(path: Path, name: str, spec: Any) -> Parameter:
    if not isinstance(spec, dict) or spec.get("type") not in TYPES:
        raise ConfigError(f"{path}: parameter {name!r} needs a type of {', '.join(TYPES)}")
    values = spec.get("values")
    if values is None and spec.get("minimum") is None and spec.get("maximum") is None:
        raise ConfigError(
            f"{path}: parameter {name!r} needs bounds (values, or minimum "
            "and maximum) so that varying it cannot single anyone out"
        )
    return Parameter(
        name,
        spec["type"],
        None if values is None else tuple(values),
        spec.get("minimum"),
        spec.get("maximum"),
    )


@dataclass(frozen=True, slots=True)
class Transparency:
    """Approved queries and the product lines they may run over."""

    queries: ApprovedRegistry
    product_lines: Mapping[str, tuple[str, ...]]
    # Each line's root list per reporting period as its owner signed it (auth.roots),
    # forwarded to nodes; keyed by :func:`roots_key`.
    signed_roots: dict[str, str] = field(default_factory=dict)

    def products(self, line: str) -> tuple[str, ...]:
        try:
            return self.product_lines[line]
        except KeyError:
            raise InvalidInput(f"there is no product line {line[:80]!r}") from None

    def signed_root_list(self, line: str, period: str) -> str:
        """The owner's root list of ``line`` for ``period`` (``FIRST/LAST`` dates)."""
        self.products(line)
        try:
            return self.signed_roots[roots_key(line, period)]
        except KeyError:
            raise InvalidInput(
                f"product line {line[:80]!r} has no root list signed by its owner for the "
                f"reporting period {period}; run `oretrail approved sign-roots --org OWNER`"
            ) from None


def roots_key(line: str, period: str) -> str:
    """Where a line's signed root list for one period is kept: ``<line>@<period>``."""
    return f"{line}@{period}"


def load_product_lines(path: Path) -> dict[str, tuple[str, ...]]:
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read product lines: {exc}") from None
    lines = raw.get("lines", {})
    if not isinstance(lines, dict):
        raise ConfigError(f"{path}: [lines.<name>] tables expected")
    out = {}
    for name, line in lines.items():
        products = line.get("products") if isinstance(line, dict) else None
        if not isinstance(products, list) or not products:
            raise ConfigError(f"{path}: line {name!r} needs a non-empty products list")
        out[str(name)] = tuple(str(p) for p in products)
    return out


def load_signed_roots(path: Path) -> dict[str, str]:
    """Product lines' signed root lists saved by ``oretrail approved sign-roots``, by
    :func:`roots_key`."""
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read signed root lists: {exc}") from None
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(f"{path}: expected an object of product line -> signed list")
    return {str(k): v for k, v in raw.items()}


def save_signed_roots(path: Path, transparency: Transparency) -> None:
    path.write_text(json.dumps(transparency.signed_roots, indent=2) + "\n", encoding="utf-8")
