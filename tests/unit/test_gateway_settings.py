"""Gateway settings from gateway.toml: the shipped file, defaults, and refused values."""

from __future__ import annotations

from pathlib import Path

import pytest

from oretrail.config import load_gateway_settings
from oretrail.errors import ConfigError
from tests.conftest import CONFIG_DIR


def test_the_shipped_settings_read_as_documented() -> None:
    settings = load_gateway_settings(CONFIG_DIR / "gateway.toml")
    assert settings.resilience.coalesce_window == 0.010
    assert settings.resilience.coalesce_share == 0.75
    assert settings.resilience.max_lots == 10_000
    assert settings.resilience.trace_deadline == 20.0


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("coalesce_window = -0.1", "coalesce_window must be between 0 and 1"),
        ("coalesce_window = 5", "coalesce_window must be between 0 and 1"),
        ('coalesce_window = "soon"', "could not convert"),
        ("coalesce_share = 1.5", "coalesce_share must be between 0 and 1"),
        ("default_depth = 0", "default_depth must be between 1 and max_depth"),
    ],
)
def test_a_bad_value_names_the_file_and_the_setting(
    tmp_path: Path, line: str, refusal: str
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(f"[gateway]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=refusal) as refused:
        load_gateway_settings(path)
    assert str(path) in str(refused.value)
