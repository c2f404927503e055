"""Federations for the trace-semantics cases: the sample with text edits, or generic seeds.

Built on the shared helpers (``trust.edited_sample``, ``seed_cases.case_federation``);
everything is written under the test's tmp_path, never into the repository.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from oretrail.auth.policy import FIELD_GROUPS
from oretrail.bootstrap import FederationConfig
from tests.support.seed_cases import case_federation
from tests.support.trust import edited_sample

__all__ = ["generic_federation", "sample_with"]


def _replace_once(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"expected {old!r} once, found it {text.count(old)} times"
        return text.replace(old, new)

    return edit


def sample_with(tmp_path: Path, path: str, *edits: tuple[str, str]) -> FederationConfig:
    """The sample with each (old, new) replaced once in the file at ``path`` (relative to
    the repository); fails loudly when ``old`` is not there exactly once."""

    def apply(text: str) -> str:
        for old, new in edits:
            text = _replace_once(old, new)(text)
        return text

    return edited_sample(tmp_path, {path: apply})


def generic_federation(
    tmp_path: Path,
    seeds: Mapping[str, str],
    withhold: Mapping[str, Collection[str]] | None = None,
) -> FederationConfig:
    """Generic organisations from seed texts (permissive policies, as the cases are set
    up), except that customers and downstream callers are refused the groups
    ``withhold`` names for an organisation."""
    given = tmp_path / "given"
    given.mkdir()
    for org, text in seeds.items():
        (given / f"{org}.toml").write_text(text, encoding="utf-8")
    config = case_federation(given, tmp_path)
    for org, hidden in (withhold or {}).items():
        groups = ", ".join(f'"{g}"' for g in FIELD_GROUPS if g not in set(hidden))
        rules = [("self", '"*"'), ("customer", groups), ("downstream", groups)]
        (config.policy_dir / f"{org}.toml").write_text(
            "".join(f'[[rules]]\nrelation = "{r}"\ngroups = [{g}]\n\n' for r, g in rules),
            encoding="utf-8",
        )
    return config
