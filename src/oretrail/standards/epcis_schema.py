"""Checking EPCIS documents against the official EPCIS 2.0 JSON Schema (GS1, draft-07).

The schema is GS1's, not the project's: it is read from where the operator keeps it
(``--schema``, ``$ORETRAIL_EPCIS_SCHEMA``, ``$ORETRAIL_STANDARDS/epcis/``, or a
``shared/standards/epcis/`` beside the checkout or a parent folder of it). The
schema's two formats, ``date-time`` and ``uri``, are really checked: ``jsonschema``'s
format checker with ``rfc3339-validator`` and ``rfc3986-validator`` installed.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oretrail.config import checkout_root
from oretrail.errors import ConfigError

if TYPE_CHECKING:
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import ValidationError

__all__ = ["SCHEMA_FILE", "EpcisSchema", "find_schema"]

SCHEMA_FILE = "EPCIS-JSON-Schema.json"
_MESSAGE_LIMIT = 240


def find_schema(given: Path | None = None) -> Path | None:
    """Where the official schema is, or None when it is nowhere we look."""
    if given is not None:
        return given
    env = os.environ.get("ORETRAIL_EPCIS_SCHEMA")
    if env:
        return Path(env)
    standards = os.environ.get("ORETRAIL_STANDARDS")
    candidates = [Path(standards) / "epcis" / SCHEMA_FILE] if standards else []
    root = checkout_root()
    candidates += [p / "shared" / "standards" / "epcis" / SCHEMA_FILE for p in root.parents]
    return next((c for c in candidates if c.is_file()), None)


@dataclass(frozen=True, slots=True)
class EpcisSchema:
    """The official schema, loaded once, with its format checker."""

    path: Path
    validator: Draft7Validator

    @classmethod
    def load(cls, path: Path) -> EpcisSchema:
        """Raises ConfigError when the file cannot be read as a JSON Schema."""
        # Imported here: jsonschema and its format checkers take about a second to
        # import, which every `oretrail` process (each node, the gateway) would pay.
        from jsonschema import Draft7Validator, FormatChecker  # noqa: PLC0415

        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the EPCIS JSON Schema: {exc}") from exc
        Draft7Validator.check_schema(schema)
        return cls(path, Draft7Validator(schema, format_checker=FormatChecker()))

    def problems(self, document: Any) -> list[str]:
        """Every way ``document`` breaks the schema, one sentence each; an error inside
        an event names the event by its index in the event list."""
        from jsonschema.exceptions import best_match  # noqa: PLC0415 - see load

        by_event: dict[int | None, list[ValidationError]] = defaultdict(list)
        for error in self.validator.iter_errors(document):
            by_event[_event_index(error.absolute_path)].append(error)
        problems = []
        for index in sorted(by_event, key=lambda i: -1 if i is None else i):
            error = best_match(by_event[index])
            where = "document" if index is None else f"event {index}"
            problems.append(f"{where}: {_short(error)} (EPCIS JSON Schema)")
        return problems


def _event_index(path: Sequence[Any] | Iterator[Any]) -> int | None:
    steps = list(path)
    for i, step in enumerate(steps[:-1]):
        if step == "eventList" and isinstance(steps[i + 1], int):
            return int(steps[i + 1])
    return None


def _short(error: ValidationError) -> str:
    inner = list(error.absolute_path)
    after = inner[inner.index("eventList") + 2 :] if "eventList" in inner else inner
    field = "/".join(str(p) for p in after)
    message = error.message
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    return f"{field}: {message}" if field else message
