"""Where benchmark results go: one JSON file per run under bench/results/."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from oretrail.config import checkout_root

__all__ = ["RESULTS", "write_results"]

RESULTS = checkout_root() / "bench" / "results"


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json``, print the results, and say where they went."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    print(f"written to {out}", file=sys.stderr)
    return out
