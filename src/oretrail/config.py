"""Typed settings read from config/*.toml: the participant registry and gateway settings.

Every problem is a :class:`ConfigError` that names the file and the entry.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oretrail.domain.model import ORG_SLUG, Custody, Role
from oretrail.errors import ConfigError, UnknownParticipant

__all__ = [
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
    # GS1 identifiers (EPCIS import and export): the party's PGLN, and (facility's
    # local id, SGLN) for each of its facilities; pairs keep the record hashable.
    pgln: str | None = None
    sglns: tuple[tuple[str, str], ...] = ()


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


def load_registry(path: Path) -> Registry:
    """Read the participant registry; seed paths are resolved relative to the file."""
    raw = _read_toml(path)
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
        pgln, sglns = _gs1_identifiers(entry.get("gs1"), where)
        participants[org] = Participant(
            id=org,
            name=str(entry.get("name", org)),
            roles=roles,
            country=str(entry.get("country", "")),
            endpoint=endpoint,
            seed=(path.parent / seed).resolve() if isinstance(seed, str) else None,
            jwks_url=jwks_url,
            pgln=pgln,
            sglns=sglns,
        )
    _refuse_shared_gs1_identifiers(path, participants.values())
    return Registry(participants)


# GS1 EPC URIs (EPC Tag Data Standard): a company prefix and a reference that
# together have 12 digits, then (SGLN only) an extension.
_PGLN = re.compile(r"urn:epc:id:pgln:(\d{6,12})\.(\d{0,6})")
_SGLN = re.compile(r"urn:epc:id:sgln:(\d{6,12})\.(\d{0,6})\.([0-9A-Za-z]{1,20})")


def _gs1_identifiers(raw: object, where: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The ``gs1 = { pgln = ..., locations = { facility = sgln } }`` of an entry, checked:
    unknown keys and malformed identifiers are refused, never ignored."""
    if raw is None:
        return None, ()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: gs1 must be a table with pgln and locations")
    unknown = sorted(set(raw) - {"pgln", "locations"})
    if unknown:
        raise ConfigError(f"{where}: gs1 has unknown key(s) {', '.join(unknown)}")
    pgln = raw.get("pgln")
    if pgln is not None and not _is_gln(_PGLN, pgln):
        raise ConfigError(f"{where}: gs1 pgln {pgln!r} is not a PGLN (urn:epc:id:pgln:...)")
    locations = raw.get("locations", {})
    if not isinstance(locations, dict):
        raise ConfigError(f"{where}: gs1 locations must be a table of facility = SGLN")
    for facility, sgln in locations.items():
        if not _is_gln(_SGLN, sgln):
            raise ConfigError(
                f"{where}: gs1 location of {facility!r}: {sgln!r} is not an SGLN "
                "(urn:epc:id:sgln:...)"
            )
    return pgln, tuple(sorted(locations.items()))


def _is_gln(pattern: re.Pattern[str], value: object) -> bool:
    match = pattern.fullmatch(value) if isinstance(value, str) else None
    return match is not None and len(match[1]) + len(match[2]) == 12


def _refuse_shared_gs1_identifiers(path: Path, participants: Iterable[Participant]) -> None:
    """One GS1 identifier names one party or one facility, never two."""
    owners: dict[str, str] = {}
    for p in participants:
        named = ([p.pgln] if p.pgln else []) + [sgln for _, sgln in p.sglns]
        for identifier in named:
            if identifier in owners:
                raise ConfigError(
                    f"{path}: GS1 identifier {identifier} is given to both "
                    f"{owners[identifier]} and {p.id}"
                )
            owners[identifier] = p.id


def load_gateway_settings(path: Path) -> GatewaySettings:
    """Read gateway.toml; a missing file means all defaults."""
    if not path.exists():
        return GatewaySettings()
    raw = _read_toml(path)
    gateway = raw.get("gateway", {})
    risk = raw.get("risk", {})
    model = raw.get("model", {})
    defaults = GatewaySettings()
    if model.get("store", "memory") not in {"memory", "neo4j"}:
        raise ConfigError(f'{path}: [model] store must be "memory" or "neo4j"')
    try:
        required = risk.get("required_custody")
        cahra = (
            _load_cahra(path.parent / risk["cahra_list"]) if "cahra_list" in risk else frozenset()
        )
        settings = GatewaySettings(
            host=str(gateway.get("host", defaults.host)),
            port=int(gateway.get("port", defaults.port)),
            default_depth=int(gateway.get("default_depth", defaults.default_depth)),
            max_depth=int(gateway.get("max_depth", defaults.max_depth)),
            node_timeout=float(gateway.get("node_timeout", defaults.node_timeout)),
            risk=RiskSettings(
                mass_balance_tolerance=float(risk.get("mass_balance_tolerance", 0.02)),
                min_coverage=float(risk.get("min_coverage", 0.95)),
                required_custody=None if required is None else Custody(required),
                cahra_regions=cahra,
            ),
            resilience=ResiliencePolicy(
                trace_deadline=float(gateway.get("trace_deadline", 20.0)),
                node_timeout=float(gateway.get("node_timeout", defaults.node_timeout)),
                max_lots=int(gateway.get("max_lots", 10_000)),
                coalesce_share=float(gateway.get("coalesce_share", 0.75)),
                coalesce_window=float(gateway.get("coalesce_window", 0.010)),
            ),
            model=ModelSettings(
                store=str(model.get("store", "memory")),
                data_dir=Path(model["data_dir"])
                if "data_dir" in model
                else defaults.model.data_dir,
                neo4j_uri=str(model.get("neo4j_uri", defaults.model.neo4j_uri)),
            ),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not 1 <= settings.default_depth <= settings.max_depth:
        raise ConfigError(f"{path}: default_depth must be between 1 and max_depth")
    if not 0 <= settings.resilience.coalesce_window <= 1:
        raise ConfigError(f"{path}: coalesce_window must be between 0 and 1 second")
    if not 0 <= settings.resilience.coalesce_share <= 1:
        raise ConfigError(f"{path}: coalesce_share must be between 0 and 1")
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
