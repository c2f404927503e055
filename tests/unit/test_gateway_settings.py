"""Gateway settings from gateway.toml: the shipped file, defaults, and refused values."""

from __future__ import annotations

from pathlib import Path

import pytest

from oretrail.config import load_gateway_settings, load_registry
from oretrail.errors import ConfigError
from tests.conftest import CONFIG_DIR


def test_the_shipped_settings_read_as_documented() -> None:
    settings = load_gateway_settings(CONFIG_DIR / "gateway.toml")
    assert settings.resilience.coalesce_window == 0.010
    assert settings.resilience.coalesce_share == 0.75
    assert settings.resilience.max_lots == 10_000
    assert settings.resilience.trace_deadline == 20.0


@pytest.mark.parametrize(
    ("table", "line", "refusal"),
    [
        (
            "gateway",
            "coalesce_window = -0.1",
            r"\[gateway\] coalesce_window = -0.1: .* from 0 to 1",
        ),
        ("gateway", "coalesce_window = 5", r"coalesce_window = 5: .* from 0 to 1"),
        ("gateway", 'coalesce_window = "soon"', r"coalesce_window = 'soon': must be a number"),
        ("gateway", "coalesce_share = 1.5", r"coalesce_share = 1.5: .* from 0 to 1"),
        # default_depth runs from 1 to max_depth, which is 50 when not set.
        ("gateway", "default_depth = 0", r"default_depth = 0: .* from 1 to 50"),
        ("gateway", "node_timeout = -1", r"node_timeout = -1: .* more than 0 and at most 3600"),
        ("gateway", "node_timeout = 0", r"node_timeout = 0: .* more than 0"),
        ("gateway", "trace_deadline = nan", r"trace_deadline = nan: must be a number"),
        ("gateway", "port = 99999", r"port = 99999: .* from 1 to 65535"),
        ("gateway", 'port = "8100"', r"port = '8100': must be a whole number"),
        ("gateway", "port = true", r"port = True: must be a whole number"),
        ("gateway", "max_lots = 0", r"max_lots = 0: .* from 1"),
        ("gateway", "prot = 18100", r"\[gateway\]: unknown key 'prot'"),
        ("risk", "min_coverage = 95", r"\[risk\] min_coverage = 95: .* from 0 to 1"),
        ("risk", "mass_balance_tolerence = 0.1", r"\[risk\]: unknown key 'mass_balance_tolerence'"),
        ("risk", 'required_custody = "LOOSE"', r"required_custody = 'LOOSE': must be one of"),
        ("model", 'store = "postgres"', r'store = .postgres.: must be "memory" or "neo4j"'),
        ("model", 'neo4j_uri = "http://x"', r"neo4j_uri = 'http://x': is not a Neo4j Bolt URI"),
        ("modle", 'store = "memory"', r"unknown key 'modle'"),
    ],
)
def test_a_bad_value_names_the_file_and_the_setting(
    tmp_path: Path, table: str, line: str, refusal: str
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(f"[{table}]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=refusal) as refused:
        load_gateway_settings(path)
    assert str(path) in str(refused.value)


def test_settings_read_non_default_values(tmp_path: Path) -> None:
    """Every value set is the value used (none of these is a default)."""
    path = tmp_path / "gateway.toml"
    path.write_text(
        "[gateway]\nport = 18100\nnode_timeout = 1.5\ntrace_deadline = 9\nmax_depth = 30\n"
        "default_depth = 7\n[risk]\nmin_coverage = 0.5\n[model]\nneo4j_uri = 'neo4j://db:7687'\n",
        encoding="utf-8",
    )
    settings = load_gateway_settings(path)
    assert settings.port == 18100
    assert settings.node_timeout == 1.5
    assert settings.resilience.node_timeout == 1.5
    assert settings.resilience.trace_deadline == 9.0
    assert (settings.default_depth, settings.max_depth) == (7, 30)
    assert settings.risk.min_coverage == 0.5
    assert settings.model.neo4j_uri == "neo4j://db:7687"


def test_an_unknown_key_in_the_registry_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(
        '[[participants]]\nid = "acme"\nroles = ["OEM"]\nendpiont = "http://x/graphql"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"participants\[0\] \(acme\): unknown key 'endpiont'"):
        load_registry(path)
