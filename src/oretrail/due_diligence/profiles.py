"""Reading the commodity profiles in config/commodities/, strictly."""

from __future__ import annotations

import tomllib
from pathlib import Path

from oretrail.domain.commodities import CommodityProfile, parse_profile
from oretrail.errors import ConfigError

__all__ = ["PROFILE_DIR", "load_profiles"]

# Relative to the config directory.
PROFILE_DIR = "commodities"


def load_profiles(directory: Path) -> tuple[CommodityProfile, ...]:
    """Every ``*.toml`` profile in ``directory``, sorted by file name.

    Raises ConfigError naming the file (and the key, see ``parse_profile``) when a file
    cannot be read or parsed, when two files name the same commodity or outcome id,
    or when the directory holds no profile.
    """
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise ConfigError(f"{directory}: no commodity profile (*.toml) found")
    profiles: list[CommodityProfile] = []
    seen: dict[str, str] = {}
    for path in files:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read as TOML: {exc}") from exc
        profile = parse_profile(raw, str(path))
        names = [f"commodity {profile.commodity!r}"] + [
            f"outcome id {o.id!r}" for o in profile.outcomes
        ]
        for name in names:
            if name in seen:
                raise ConfigError(f"{path}: {name} is already used in {seen[name]}")
            seen[name] = str(path)
        profiles.append(profile)
    return tuple(profiles)
