"""Node policies: default deny; rules grant field groups by relation, organisation or role.

A policy is a file per node under config/policies/, owned by that participant::

    [[rules]]
    relation = "downstream"            # self, customer, downstream, transparency, auditor
    groups = ["identity", "origin", "contents", "inputs"]
    orgs = ["nordvolt"]                # optional: only these caller organisations
    roles = ["OEM"]                    # optional: only callers with one of these roles
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from oretrail.errors import ConfigError

__all__ = ["FIELD_GROUPS", "Policy", "Relation", "Rule", "load_policy"]

# What each field group covers, for the docs and for error messages.
FIELD_GROUPS = {
    "identity": "lot id, owner, material, production date, custody model",
    "origin": "facility country, region, activities, artisanal and CAHRA flags; "
    "transit points of the lot's shipments",
    "facility": "facility id, name, kind and coordinates",
    "quantities": "lot quantity and the quantity of each input",
    "contents": "element contents and recycled shares",
    "inputs": "input lot ids and continuation grants",
    "suppliers": "the owner named on each input link",
    "certificates": "certificates of the facility and organisation",
    "emissions": "carbon footprint",
}


class Relation(StrEnum):
    """How a caller stands to a lot."""

    SELF = "self"  # the caller's organisation owns the lot
    CUSTOMER = "customer"  # the lot was shipped to the caller's organisation
    DOWNSTREAM = "downstream"  # reached through a valid chain of continuation grants
    TRANSPARENCY = "transparency"  # an approved transparency query
    AUDITOR = "auditor"  # the caller's organisation is a registered auditor
    # Not a rule relation: the node approved the transparency query being run, so
    # its own lots may start it; what is shown still follows the transparency rule.
    APPROVER = "approver"


@dataclass(frozen=True, slots=True)
class Rule:
    relation: Relation
    groups: frozenset[str]
    orgs: frozenset[str] | None = None
    roles: frozenset[str] | None = None

    def applies(self, relations: Collection[Relation], org: str, roles: Collection[str]) -> bool:
        return (
            self.relation in relations
            and (self.orgs is None or org in self.orgs)
            and (self.roles is None or any(r in self.roles for r in roles))
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """Default deny: a caller sees the union of the groups its matching rules grant."""

    rules: tuple[Rule, ...] = ()

    def granted(
        self, relations: Collection[Relation], org: str, roles: Collection[str]
    ) -> frozenset[str]:
        groups: set[str] = set()
        for rule in self.rules:
            if rule.applies(relations, org, roles):
                groups |= rule.groups
        return frozenset(groups)


def load_policy(path: Path) -> Policy:
    """Read a policy file; every problem names the file and the rule."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: policy file does not exist (default deny needs a file "
            "to say so: an empty one denies everything)"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read policy: {exc}") from None
    rules = raw.get("rules", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{path}: rules must be a list of [[rules]] tables")
    return Policy(tuple(_rule(path, i, r) for i, r in enumerate(rules)))


def _rule(path: Path, index: int, raw: object) -> Rule:
    where = f"{path}: rules[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    try:
        relation = Relation(str(raw.get("relation")))
    except ValueError:
        allowed = ", ".join(r.value for r in Relation)
        raise ConfigError(
            f"{where}: relation {raw.get('relation')!r} is not one of {allowed}"
        ) from None
    groups = _names(where, raw.get("groups"), "groups")
    if groups == frozenset({"*"}):
        groups = frozenset(FIELD_GROUPS)
    unknown = groups - set(FIELD_GROUPS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field groups {sorted(unknown)}; known: {', '.join(FIELD_GROUPS)}"
        )
    orgs = raw.get("orgs")
    roles = raw.get("roles")
    return Rule(
        relation=relation,
        groups=groups,
        orgs=None if orgs is None else _names(where, orgs, "orgs"),
        roles=None if roles is None else _names(where, roles, "roles"),
    )


def _names(where: str, value: object, key: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return frozenset(_strip(value))


def _strip(values: Iterable[str]) -> Iterable[str]:
    return (v.strip() for v in values)
