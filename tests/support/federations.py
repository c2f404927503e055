"""Federations built at test time: the sample with an edit, or small generic seed sets.

Everything is written under the test's tmp_path; the repository's files are never
touched. Each helper returns a FederationConfig for ``tests.conftest.served_federation``.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path

from oretrail.auth.policy import FIELD_GROUPS
from oretrail.bootstrap import FederationConfig, load_federation_config

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["config_at", "edit_file", "generic_federation", "sample_copy"]


def sample_copy(tmp_path: Path) -> Path:
    """A copy of config/ and graph/seed/ under tmp_path; returns the copy's config dir."""
    target = tmp_path / "sample"
    shutil.copytree(ROOT / "config", target / "config")
    shutil.copytree(ROOT / "graph" / "seed", target / "graph" / "seed")
    return target / "config"


def edit_file(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in a file; fail loudly if it is not there once."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path} holds {old!r} {text.count(old)} times"
    path.write_text(text.replace(old, new), encoding="utf-8")


def config_at(config_dir: Path, tmp_path: Path) -> FederationConfig:
    """The federation under ``config_dir``, its gateway model journalled in tmp_path."""
    config = load_federation_config(config_dir)
    model = replace(config.settings.model, store="memory", data_dir=tmp_path / "model")
    return replace(config, settings=replace(config.settings, model=model))


def generic_federation(
    tmp_path: Path,
    seeds: Mapping[str, str],
    withhold: Mapping[str, Collection[str]] | None = None,
) -> FederationConfig:
    """Generic organisations from seed texts, registered as the sample registers its own,
    with permissive policies: every group to customers and downstream callers, less the
    groups ``withhold`` names for an organisation."""
    config_dir = sample_copy(tmp_path)
    seed_dir = config_dir.parent / "graph" / "seed"
    shutil.rmtree(seed_dir)
    seed_dir.mkdir()
    policies = config_dir / "policies"
    shutil.rmtree(policies)
    policies.mkdir()
    registry = []
    for org, text in seeds.items():
        (seed_dir / f"{org}.toml").write_text(text, encoding="utf-8")
        organisation = tomllib.loads(text)["organisation"]
        roles = ", ".join(f'"{r}"' for r in organisation["roles"])
        registry.append(
            f'[[participants]]\nid = "{org}"\nname = "{organisation["name"]}"\n'
            f'roles = [{roles}]\ncountry = "{organisation["country"]}"\n'
            f'endpoint = "http://127.0.0.1:1/graphql"\nseed = "../graph/seed/{org}.toml"\n'
        )
        hidden = set((withhold or {}).get(org, ()))
        groups = ", ".join(f'"{g}"' for g in FIELD_GROUPS if g not in hidden)
        rules = [("self", '"*"'), ("customer", groups), ("downstream", groups)]
        (policies / f"{org}.toml").write_text(
            "".join(f'[[rules]]\nrelation = "{r}"\ngroups = [{g}]\n\n' for r, g in rules),
            encoding="utf-8",
        )
    (config_dir / "registry.toml").write_text("\n".join(registry), encoding="utf-8")
    # The sample's approved queries and product lines name the sample's organisations.
    (config_dir / "product_lines.toml").write_text("", encoding="utf-8")
    for approved in (config_dir / "approved").glob("*.toml"):
        approved.unlink()
    return config_at(config_dir, tmp_path)
