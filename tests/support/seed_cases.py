"""The hand-computed cases of ../shared/cases, set up as federations in a temporary folder.

Each case is a folder of seed files for generic organisations. A test copies one
into its own temporary directory with a registry that registers every organisation
of the seeds (as config/registry.toml registers the sample) and a permissive policy
per node, so the case's numbers depend on nothing but its seeds.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

from oretrail.bootstrap import FederationConfig, load_federation_config

__all__ = ["case_federation", "cases_dir", "copy_seeds"]

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config"
WORKSPACE_CASES = Path("/work/shared/cases")

PERMISSIVE_POLICY = """\
# Generated for a test: every relation sees every field group.
[[rules]]
relation = "self"
groups = ["*"]

[[rules]]
relation = "customer"
groups = ["*"]

[[rules]]
relation = "downstream"
groups = ["*"]
"""


def cases_dir() -> Path:
    """``$ORETRAIL_CASES``, else the first ``shared/cases`` beside the repository or
    beside one of its parent folders (a clone may sit deeper than the workspace's
    own checkout). Never skipped: a test of a case fails when they cannot be found."""
    given = os.environ.get("ORETRAIL_CASES")
    if given:
        candidates = [Path(given)]
    else:
        candidates = [parent / "shared" / "cases" for parent in ROOT.resolve().parents]
        # The workspace's own shared folder, for a clone made outside the workspace.
        candidates.append(WORKSPACE_CASES)
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    raise AssertionError(
        f"the hand-computed cases are not in any of {[str(c) for c in candidates]}: "
        "check out ../shared next to the repository or set ORETRAIL_CASES"
    )


def copy_seeds(source: Path, target: Path) -> Path:
    """Copy the ``*.toml`` seed files of ``source`` into ``target``; returns ``target``."""
    files = sorted(source.glob("*.toml"))
    if not files:
        raise AssertionError(f"{source} holds no seed files")
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, target / path.name)
    return target


def case_federation(seeds: Path, tmp_path: Path) -> FederationConfig:
    """A federation of the organisations of the seed files in ``seeds``, set up under
    ``tmp_path``: seeds copied, registry and permissive policies generated, the
    repository's gateway settings and risk lists, the model journal in ``tmp_path``."""
    seed_dir = copy_seeds(seeds, tmp_path / "seeds")
    config_dir = tmp_path / "config"
    (config_dir / "policies").mkdir(parents=True)
    shutil.copyfile(CONFIG_DIR / "gateway.toml", config_dir / "gateway.toml")
    shutil.copytree(CONFIG_DIR / "risk", config_dir / "risk")
    entries = []
    for path in sorted(seed_dir.glob("*.toml")):
        organisation = tomllib.loads(path.read_text(encoding="utf-8"))["organisation"]
        org = organisation["id"]
        roles = ", ".join(f'"{r}"' for r in organisation["roles"])
        entries.append(
            f'[[participants]]\nid = "{org}"\nname = "{organisation["name"]}"\n'
            f'roles = [{roles}]\ncountry = "{organisation["country"]}"\n'
            f'endpoint = "http://127.0.0.1:1/graphql"\nseed = "../seeds/{path.name}"\n'
        )
        (config_dir / "policies" / f"{org}.toml").write_text(PERMISSIVE_POLICY, encoding="utf-8")
    (config_dir / "registry.toml").write_text("\n".join(entries), encoding="utf-8")
    config = load_federation_config(config_dir)
    model = replace(config.settings.model, store="memory", data_dir=tmp_path / "model")
    return replace(config, settings=replace(config.settings, model=model))
