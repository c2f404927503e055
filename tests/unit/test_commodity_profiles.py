"""Commodity profiles: the six shipped ones load; a bad one is refused naming file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from oretrail.bootstrap import load_federation_config
from oretrail.domain.commodities import OutcomeKind, RedFlag
from oretrail.due_diligence.profiles import load_profiles
from oretrail.errors import ConfigError

PROFILES = Path(__file__).resolve().parents[2] / "config" / "commodities"


def copy_with(tmp_path: Path, old: str, new: str, name: str = "cobalt.toml") -> Path:
    """The shipped profiles in ``tmp_path``, with one edit to one file."""
    target = tmp_path / "commodities"
    shutil.copytree(PROFILES, target)
    text = (target / name).read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    (target / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def test_the_six_priority_minerals_have_profiles() -> None:
    profiles = {p.commodity: p for p in load_profiles(PROFILES)}
    assert set(profiles) == {
        "cobalt", "lithium", "nickel", "natural-graphite", "copper", "rare-earths",
    }  # fmt: skip
    assert profiles["rare-earths"].elements == ("Nd", "Pr", "Dy", "Tb")
    assert profiles["copper"].recognises("copper-mark")
    assert not profiles["cobalt"].recognises("ISO 14001")
    cobalt = {o.kind: o.threshold for o in profiles["cobalt"].outcomes}
    # EU 2023/1542 Article 8(2)(a): 16 % cobalt from 18 August 2031.
    assert cobalt[OutcomeKind.RECYCLED_CONTENT] == 0.16
    assert cobalt[OutcomeKind.AUDITED_PROCESSORS] == 0.95
    assert RedFlag.ASM_ORIGIN in profiles["cobalt"].red_flags
    # Article 8 sets no minimum for copper, graphite or rare earths.
    for name in ("copper", "natural-graphite", "rare-earths"):
        assert OutcomeKind.RECYCLED_CONTENT not in {o.kind for o in profiles[name].outcomes}


def test_an_unknown_key_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    folder = copy_with(tmp_path, 'name = "Cobalt"', 'name = "Cobalt"\nthreshhold = 0.5')
    with pytest.raises(ConfigError) as refused:
        load_profiles(folder)
    assert str(refused.value).startswith(f"{folder / 'cobalt.toml'}: threshhold: unknown key")


def test_an_unknown_key_in_an_outcome_is_refused_naming_it(tmp_path: Path) -> None:
    folder = copy_with(tmp_path, 'kind = "COVERAGE"', 'kind = "COVERAGE"\nminimum = 0.9')
    with pytest.raises(ConfigError, match=r"cobalt\.toml: outcomes\[0\]\.minimum: unknown key"):
        load_profiles(folder)


@pytest.mark.parametrize("value", ["95", "-0.1", "1.01", '"0.95"', "true", "nan"])
def test_an_out_of_range_threshold_is_refused_naming_file_and_key(
    tmp_path: Path, value: str
) -> None:
    folder = copy_with(tmp_path, "threshold = 0.95", f"threshold = {value}")
    with pytest.raises(ConfigError) as refused:
        load_profiles(folder)
    message = str(refused.value)
    assert message.startswith(f"{folder / 'cobalt.toml'}: outcomes[1].threshold: ")
    assert "out of range" in message


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('"ASM_ORIGIN"', '"ARTISANAL"', "red_flags"),
        ('"MONEY_LAUNDERING"', '"LAUNDERING"', "oecd_annex_ii"),
        ('elements = ["Co"]', 'elements = ["CO"]', "elements"),
        ('kind = "COVERAGE"', 'kind = "COVERED"', "outcomes[0].kind"),
        ('commodity = "cobalt"\n', "", "commodity"),
    ],
)
def test_a_value_off_its_closed_list_or_a_missing_key_is_refused(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    folder = copy_with(tmp_path, old, new)
    with pytest.raises(ConfigError) as refused:
        load_profiles(folder)
    assert str(refused.value).startswith(f"{folder / 'cobalt.toml'}: {key}: ")


def test_two_profiles_of_one_commodity_are_refused(tmp_path: Path) -> None:
    folder = copy_with(tmp_path, 'commodity = "lithium"', 'commodity = "cobalt"', "lithium.toml")
    with pytest.raises(ConfigError, match=r"lithium\.toml: commodity 'cobalt' is already used"):
        load_profiles(folder)


def test_a_bad_profile_stops_the_federation_config_from_loading(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(PROFILES.parent, config)
    cobalt = config / "commodities" / "cobalt.toml"
    cobalt.write_text(
        cobalt.read_text(encoding="utf-8").replace("threshold = 0.16", "threshold = 16"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_federation_config(config)
    assert str(refused.value).startswith(f"{cobalt}: outcomes[3].threshold: 16 is out of range")


def test_the_sample_config_carries_the_six_profiles() -> None:
    loaded = load_federation_config(PROFILES.parent)
    assert len(loaded.commodities) == 6
