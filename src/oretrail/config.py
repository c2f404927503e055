"""Typed settings read from config/*.toml: the participant registry and gateway settings.

Every problem is a :class:`ConfigError` that names the file and the entry. Keys a
file does not know are refused (a typo such as ``prot = 8100`` would otherwise
leave the default in force silently), and so are values of the wrong type or out
of range (``node_timeout = -1``).
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oretrail.domain.model import ORG_SLUG, Custody, Role
from oretrail.errors import ConfigError, UnknownParticipant

__all__ = [
    "NEO4J_SCHEMES",
    "GatewaySettings",
    "ModelSettings",
    "Participant",
    "Registry",
    "ResiliencePolicy",
    "RiskSettings",
    "checkout_root",
    "default_config_dir",
    "default_graph_dir",
    "load_gateway_settings",
    "load_registry",
]


# The URI schemes of the Neo4j driver's Bolt protocol (neo4j.com driver manual,
# "Connection URI"); the driver's HTTP schemes need packages oretrail does not ship.
NEO4J_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})


def checkout_root() -> Path:
    """The source checkout this package runs from (an editable install)."""
    return Path(__file__).resolve().parents[2]


def default_graph_dir() -> Path:
    """``$ORETRAIL_GRAPH``, else ./graph, else the graph/ of the source checkout."""
    env = os.environ.get("ORETRAIL_GRAPH")
    if env:
        return Path(env)
    here = Path.cwd() / "graph"
    if (here / "server" / "pom.xml").is_file():
        return here
    return checkout_root() / "graph"


def default_config_dir() -> Path:
    """``$ORETRAIL_CONFIG``, else ./config, else the config/ of the source checkout."""
    env = os.environ.get("ORETRAIL_CONFIG")
    if env:
        return Path(env)
    here = Path.cwd() / "config"
    if (here / "registry.toml").is_file():
        return here
    return checkout_root() / "config"


@dataclass(frozen=True, slots=True)
class Participant:
    """One organisation in the consortium and where its node answers."""

    id: str
    name: str
    roles: tuple[Role, ...]
    country: str
    endpoint: str  # "" for a member that runs no node (an NGO, a caller-only OEM)
    seed: Path | None = None
    jwks_url: str | None = None


@dataclass(frozen=True, slots=True)
class Registry:
    participants: Mapping[str, Participant]

    def get(self, org: str) -> Participant:
        try:
            return self.participants[org]
        except KeyError:
            raise UnknownParticipant(f"organisation {org!r} is not in the registry") from None

    def roles(self) -> dict[str, tuple[Role, ...]]:
        return {p.id: p.roles for p in self.participants.values()}

    def with_endpoints(self, endpoints: Mapping[str, str]) -> Registry:
        """A copy whose listed participants answer at other endpoints (demo, tests)."""
        return Registry(
            {
                org: replace(p, endpoint=endpoints.get(org, p.endpoint))
                for org, p in self.participants.items()
            }
        )


@dataclass(frozen=True, slots=True)
class RiskSettings:
    mass_balance_tolerance: float = 0.02
    min_coverage: float = 0.95
    required_custody: Custody | None = None
    cahra_regions: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Where the gateway keeps its supply-chain model."""

    # "memory": the embedded store, journalled under data_dir (None: not persisted);
    # "neo4j": the Neo4j server at neo4j_uri.
    store: str = "memory"
    data_dir: Path | None = Path("var/gateway")
    neo4j_uri: str = "bolt://127.0.0.1:7687"


@dataclass(frozen=True, slots=True)
class ResiliencePolicy:
    """How the gateway treats slow, failing and hostile nodes."""

    trace_deadline: float = 20.0  # seconds for a whole trace
    node_timeout: float = 5.0  # seconds for one call to one node
    retries: int = 2  # extra attempts of a read after a transient failure
    backoff: float = 0.05  # first backoff in seconds, doubled per attempt, jittered
    retry_budget: float = 0.2  # retries allowed per trace, as a share of its requests (+3)
    breaker_failures: int = 5  # consecutive failures that open a node's circuit
    breaker_cooldown: float = 10.0  # seconds before an open circuit lets one call try
    node_concurrency: int = 8  # calls in flight to one node from this gateway
    max_lots: int = 10_000  # lots one trace may request
    # Queued ids wait for answers still in flight at a shallower depth (which may add
    # ids for the same node), so that siblings share one request: at most this share
    # of the time the request that revealed them took, and at least coalesce_window.
    coalesce_share: float = 0.75
    coalesce_window: float = 0.010


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8100
    default_depth: int = 20
    max_depth: int = 50
    node_timeout: float = 5.0
    risk: RiskSettings = field(default_factory=RiskSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    resilience: ResiliencePolicy = field(default_factory=ResiliencePolicy)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


PARTICIPANT_KEYS = frozenset({"id", "name", "roles", "country", "endpoint", "seed", "jwks_url"})


def _refuse_unknown(table: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    """ConfigError naming the first key of ``table`` not in ``known``."""
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")


def load_registry(path: Path) -> Registry:
    """Read the participant registry; seed paths are resolved relative to the file."""
    raw = _read_toml(path)
    _refuse_unknown(raw, frozenset({"participants"}), str(path))
    entries = raw.get("participants")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[participants]] entries")
    participants: dict[str, Participant] = {}
    for index, entry in enumerate(entries):
        where = f"{path}: participants[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table")
        org = entry.get("id")
        if not isinstance(org, str) or not ORG_SLUG.fullmatch(org):
            raise ConfigError(f"{where}: id {org!r} is not an organisation slug")
        if org in participants:
            raise ConfigError(f"{where}: organisation {org!r} is listed twice")
        _refuse_unknown(entry, PARTICIPANT_KEYS, f"{path}: participants[{index}] ({org})")
        endpoint = entry.get("endpoint", "")
        if not isinstance(endpoint, str) or (
            endpoint and urlsplit(endpoint).scheme not in {"http", "https"}
        ):
            raise ConfigError(f"{where}: endpoint {endpoint!r} is not an http(s) URL")
        jwks_url = entry.get("jwks_url")
        if jwks_url is not None and (
            not isinstance(jwks_url, str) or urlsplit(jwks_url).scheme not in {"http", "https"}
        ):
            raise ConfigError(f"{where}: jwks_url {jwks_url!r} is not an http(s) URL")
        try:
            roles = tuple(Role(r) for r in entry.get("roles", []))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        seed = entry.get("seed")
        participants[org] = Participant(
            id=org,
            name=str(entry.get("name", org)),
            roles=roles,
            country=str(entry.get("country", "")),
            endpoint=endpoint,
            seed=(path.parent / seed).resolve() if isinstance(seed, str) else None,
            jwks_url=jwks_url,
        )
    return Registry(participants)


# Every key gateway.toml may hold, by table.
GATEWAY_KEYS: Mapping[str, frozenset[str]] = {
    "gateway": frozenset(
        {
            "host",
            "port",
            "default_depth",
            "max_depth",
            "node_timeout",
            "trace_deadline",
            "max_lots",
            "coalesce_share",
            "coalesce_window",
        }
    ),
    "risk": frozenset({"mass_balance_tolerance", "min_coverage", "required_custody", "cahra_list"}),
    "model": frozenset({"store", "data_dir", "neo4j_uri"}),
}


class _Table:
    """One table of a settings file; each read checks type and range and names file and key."""

    def __init__(self, path: Path, name: str, raw: Mapping[str, Any]) -> None:
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
        self.where = f"{path}: [{name}]"
        _refuse_unknown(table, GATEWAY_KEYS[name], self.where)
        self.table: Mapping[str, Any] = table

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where} {key} = {self.table[key]!r}: {problem}")

    def text(self, key: str, default: str) -> str:
        value = self.table.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, "must be a non-empty string")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.table.get(key, default)
        if type(value) is not int or not low <= value <= high:
            raise self.fail(key, f"must be a whole number from {low} to {high}")
        return value

    def number(
        self, key: str, default: float, low: float, high: float, *, above_low: bool = False
    ) -> float:
        value = self.table.get(key, default)
        ok = type(value) in (int, float) and math.isfinite(value)
        ok = ok and (low < value if above_low else low <= value) and value <= high
        if not ok:
            span = f"more than {low:g} and at most" if above_low else f"from {low:g} to"
            raise self.fail(key, f"must be a number {span} {high:g}")
        return float(value)


def load_gateway_settings(path: Path) -> GatewaySettings:
    """Read gateway.toml; a missing file means all defaults.

    Raises ConfigError naming the file, the table and the key of an unknown key, a
    value of the wrong type, or one out of range.
    """
    if not path.exists():
        return GatewaySettings()
    raw = _read_toml(path)
    _refuse_unknown(raw, frozenset(GATEWAY_KEYS), str(path))
    gateway = _Table(path, "gateway", raw)
    risk = _Table(path, "risk", raw)
    model = _Table(path, "model", raw)
    defaults = GatewaySettings()
    policy = ResiliencePolicy()
    store = model.text("store", defaults.model.store)
    if store not in {"memory", "neo4j"}:
        raise model.fail("store", 'must be "memory" or "neo4j"')
    uri = model.text("neo4j_uri", defaults.model.neo4j_uri)
    if urlsplit(uri).scheme not in NEO4J_SCHEMES:
        raise model.fail("neo4j_uri", "is not a Neo4j Bolt URI (e.g. bolt://127.0.0.1:7687)")
    required = risk.table.get("required_custody")
    if required is not None and required not in set(Custody):
        raise risk.fail("required_custody", f"must be one of {', '.join(Custody)}")
    cahra = (
        _load_cahra(path.parent / risk.text("cahra_list", ""))
        if "cahra_list" in risk.table
        else frozenset()
    )
    max_depth = gateway.integer("max_depth", defaults.max_depth, 1, 1000)
    node_timeout = gateway.number("node_timeout", defaults.node_timeout, 0, 3600, above_low=True)
    settings = GatewaySettings(
        host=gateway.text("host", defaults.host),
        port=gateway.integer("port", defaults.port, 1, 65535),
        default_depth=gateway.integer("default_depth", defaults.default_depth, 1, max_depth),
        max_depth=max_depth,
        node_timeout=node_timeout,
        risk=RiskSettings(
            mass_balance_tolerance=risk.number(
                "mass_balance_tolerance", defaults.risk.mass_balance_tolerance, 0, 1
            ),
            min_coverage=risk.number("min_coverage", defaults.risk.min_coverage, 0, 1),
            required_custody=None if required is None else Custody(required),
            cahra_regions=cahra,
        ),
        resilience=replace(
            policy,
            trace_deadline=gateway.number(
                "trace_deadline", policy.trace_deadline, 0, 3600, above_low=True
            ),
            node_timeout=node_timeout,
            max_lots=gateway.integer("max_lots", policy.max_lots, 1, 10_000_000),
            coalesce_share=gateway.number("coalesce_share", policy.coalesce_share, 0, 1),
            coalesce_window=gateway.number("coalesce_window", policy.coalesce_window, 0, 1),
        ),
        model=ModelSettings(
            store=store,
            data_dir=Path(model.text("data_dir", ""))
            if "data_dir" in model.table
            else defaults.model.data_dir,
            neo4j_uri=uri,
        ),
    )
    return settings


def _load_cahra(path: Path) -> frozenset[tuple[str, str]]:
    raw = _read_toml(path)
    regions = raw.get("regions", [])
    if not isinstance(regions, list):
        raise ConfigError(f"{path}: regions must be a list")
    try:
        return frozenset((str(r["country"]), str(r["region"])) for r in regions)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: every region needs country and region ({exc})") from None
