"""Node policies: default deny; rules grant field groups by relation, organisation or role.

A policy is a file per node under config/policies/, owned by that participant::

    [[rules]]
    relation = "downstream"            # self, customer, downstream, transparency, auditor
    groups = ["identity", "origin", "contents", "inputs"]
    orgs = ["nordvolt"]                # optional: only these caller organisations
    roles = ["OEM"]                    # optional: only callers with one of these roles

The file is read strictly (DESIGN, "Node policy"): a typo must never widen access,
so an unknown key, relation, field group or role, or a value of the wrong type,
is a ConfigError naming the file, the line (found by searching the text for the
key: tomllib reports no positions), the rule and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from oretrail.domain.model import ORG_SLUG, Role
from oretrail.errors import ConfigError

__all__ = [
    "FIELD_GROUPS",
    "POLICY_KEYS",
    "RULE_KEYS",
    "RULE_RELATIONS",
    "Policy",
    "Relation",
    "Rule",
    "load_policy",
]

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
    "customers": "whom a lot was shipped to, in answers to exposure requests",
}


class Relation(StrEnum):
    """How a caller stands to a lot."""

    SELF = "self"  # the caller's organisation owns the lot
    CUSTOMER = "customer"  # the lot was shipped to the caller's organisation
    DOWNSTREAM = "downstream"  # reached through a valid chain of continuation grants
    TRANSPARENCY = "transparency"  # an approved transparency query
    AUDITOR = "auditor"  # certificates this node holds name the caller's organisation as auditor
    SUPPLIER = "supplier"  # exposure: the caller's organisation shipped the asked lot to us


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
    # The approved transparency queries this node answers: id -> the digest of the one
    # declaration it answers under that id (auth.declarations; DESIGN.md, Trust 5).
    approved_queries: Mapping[str, str] = field(default_factory=dict)

    def granted(
        self, relations: Collection[Relation], org: str, roles: Collection[str]
    ) -> frozenset[str]:
        groups: set[str] = set()
        for rule in self.rules:
            if rule.applies(relations, org, roles):
                groups |= rule.groups
        return frozenset(groups)


# The only key a policy file has at its top level, and the keys of one rule.
POLICY_KEYS = ("rules", "approved_queries")
_QUERY_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_DIGEST = re.compile(r"sha256:[A-Za-z0-9_-]{43}")
RULE_KEYS = ("relation", "groups", "orgs", "roles")
# Relations the node derives for itself, which no rule may name.
_DERIVED_RELATIONS = frozenset({"approver"})
RULE_RELATIONS = tuple(r for r in Relation if r.value not in _DERIVED_RELATIONS)
ALL_GROUPS = "*"


def load_policy(path: Path) -> Policy:
    """Read a policy file strictly; every problem names the file, line, rule and key.

    Raises ConfigError for a missing or unreadable file, invalid TOML, a top-level
    key other than ``rules`` and ``approved_queries`` (a table of query id to the
    ``sha256:`` digest of the declaration answered), and in a rule: a key other than ``relation``,
    ``groups``, ``orgs`` and ``roles``, a missing ``relation`` or ``groups``, a
    relation, field group or role outside its closed list, an organisation that is
    not a registry slug, an empty list, or a value of the wrong type.
    """
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: policy file does not exist (default deny needs a file "
            "to say so: an empty one denies everything)"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read policy: {exc}") from None
    source = _Source(path, text)
    for key in raw:
        if key not in POLICY_KEYS:
            raise source.error(
                None, key, f"unknown key {key!r}; a policy file has only {_listed(POLICY_KEYS)}"
            )
    rules = raw.get("rules", [])
    if not isinstance(rules, list):
        raise source.error(None, "rules", "rules must be a list of [[rules]] tables")
    approved = raw.get("approved_queries", {})
    if not isinstance(approved, dict) or not all(
        _QUERY_ID.fullmatch(q) and isinstance(d, str) and _DIGEST.fullmatch(d)
        for q, d in approved.items()
    ):
        raise source.error(
            None,
            "approved_queries",
            'approved_queries must be a table of approved query id = "sha256:<digest of its '
            'declaration>" (`oretrail approved list` shows each digest)',
        )
    return Policy(tuple(_rule(source, i, r) for i, r in enumerate(rules)), dict(approved))


def _rule(source: _Source, index: int, raw: object) -> Rule:
    if not isinstance(raw, dict):
        raise source.error(index, "rules", "must be a table")
    for key in raw:
        if key not in RULE_KEYS:
            raise source.error(
                index, key, f"unknown key {key!r}; a rule has only {_listed(RULE_KEYS)}"
            )
    relation = raw.get("relation")
    if relation is None:
        raise source.error(index, "relation", "the key 'relation' is required")
    if not isinstance(relation, str) or relation not in RULE_RELATIONS:
        raise source.error(
            index,
            "relation",
            f"relation {relation!r} is not one of {_listed(r.value for r in RULE_RELATIONS)}",
        )
    if "groups" not in raw:
        raise source.error(index, "groups", "the key 'groups' is required")
    groups = _names(source, index, raw, "groups")
    if ALL_GROUPS in groups:
        if len(groups) > 1:
            raise source.error(index, "groups", '"*" (every group) must stand alone')
        groups = frozenset(FIELD_GROUPS)
    _closed(source, index, "groups", groups, known=FIELD_GROUPS, kind="field group")
    orgs = None if "orgs" not in raw else _names(source, index, raw, "orgs")
    for org in sorted(orgs or ()):
        if not ORG_SLUG.fullmatch(org):
            raise source.error(
                index, "orgs", f"organisation {org!r} is not a registry id (a lowercase slug)"
            )
    roles = None if "roles" not in raw else _names(source, index, raw, "roles")
    _closed(source, index, "roles", roles or frozenset(), known=list(Role), kind="role")
    return Rule(relation=Relation(relation), groups=groups, orgs=orgs, roles=roles)


def _names(source: _Source, index: int, raw: dict[str, object], key: str) -> frozenset[str]:
    value = raw[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise source.error(index, key, f"{key} must be a list of strings, not {value!r:.60}")
    if not value:
        # An empty list grants nothing or matches no one: surely not what was meant.
        raise source.error(index, key, f"{key} must name at least one")
    return frozenset(v.strip() for v in value)


def _closed(
    source: _Source,
    index: int,
    key: str,
    names: frozenset[str],
    *,
    known: Collection[str],
    kind: str,
) -> None:
    unknown = sorted(names - set(known))
    if unknown:
        raise source.error(index, key, f"unknown {kind} {unknown[0]!r}; known: {_listed(known)}")


def _listed(names: Iterable[object]) -> str:
    return ", ".join(str(n) for n in names)


@dataclass(frozen=True, slots=True)
class _Source:
    """The policy file's text, to point at the line a key is on."""

    path: Path
    text: str

    def error(self, index: int | None, key: str, problem: str) -> ConfigError:
        line = self.line_of(index, key)
        where = str(self.path) if line is None else f"{self.path}, line {line}"
        if index is not None:
            where += f", rules[{index}]"
        return ConfigError(f"{where}: {problem}")

    def line_of(self, index: int | None, key: str) -> int | None:
        """The line of ``key`` at the top level, or in the index-th [[rules]] table."""
        lines = self.text.splitlines()
        headers = [n for n, line in enumerate(lines) if _TABLE.match(line)]
        rule_header: int | None = None
        start, end = 0, headers[0] if headers else len(lines)
        if index is not None:
            rules = [n for n in headers if _RULES.match(lines[n])]
            if index < len(rules):
                rule_header = start = rules[index]
                end = next((n for n in headers if n > start), len(lines))
        assignment = re.compile(
            rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*[=.]"""
        )
        for number in range(start, end):
            if assignment.match(lines[number]):
                return number + 1
        if rule_header is not None:  # a key the rule lacks: point at the rule
            return rule_header + 1
        # Inline tables, dotted keys: the first mention of the key anywhere.
        mention = re.compile(rf"\b{re.escape(key)}\b")
        return next((n + 1 for n, line in enumerate(lines) if mention.search(line)), None)


_TABLE = re.compile(r"\s*\[")
_RULES = re.compile(r"\s*\[\[\s*rules\s*\]\]")
