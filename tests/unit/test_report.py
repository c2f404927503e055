"""The text report says what was not checked, that shares may be allocations, and scrap classes."""

from __future__ import annotations

from typing import Any

from oretrail.report import format_trace

LOT = "urn:oretrail:lot:"


def trace(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "root": f"{LOT}oem:P1",
        "asOf": "2026-11-26",
        "maxDepth": 20,
        "elements": ["Co"],
        "origins": [
            {
                "lot": f"{LOT}rec:BM1",
                "owner": "rec",
                "material": "black mass",
                "custody": "MASS_BALANCE",
                "recycledPostConsumer": 1.0,
                "recycledPreConsumer": 0.0,
                "facility": {"name": "Collection site", "country": "NO"},
                "shares": [{"element": "Co", "share": 0.6, "approximate": False}],
            }
        ],
        "coverage": [{"element": "Co", "coverage": 0.6, "unknown": 0.4}],
        "gaps": [
            {
                "lot": f"{LOT}ref:L1",
                "owner": "ref",
                "reason": "UNSUPPORTED_CLAIM",
                "detail": "Co: claims 100.00 kg but its inputs supply 60.00 kg",
                "via": None,
                "shares": [{"element": "Co", "share": 0.4}],
            }
        ],
        "risks": [],
        "notChecked": [
            {
                "check": "MASS_BALANCE",
                "lot": f"{LOT}cam:C1",
                "owner": "cam",
                "reason": "its contents are withheld",
            }
        ],
        "allocationNote": "origin shares are allocations, not physical content.",
        "lots": [{"id": f"{LOT}oem:P1", "owner": "oem", "opened": True}],
        "edges": [],
    }
    return base | overrides


def test_the_report_lists_checks_not_made_with_their_reason() -> None:
    text = format_trace(trace())
    assert "Not checked (1)" in text
    assert f"MASS_BALANCE         {LOT}cam:C1: its contents are withheld" in text
    assert "Note: origin shares are allocations, not physical content." in text
    assert "Collection site [post-consumer]" in text
    assert "UNSUPPORTED_CLAIM" in text


def test_a_report_without_notes_says_every_check_was_made() -> None:
    text = format_trace(trace(notChecked=[], allocationNote=None))
    assert "Not checked (0)\n  none: every check was made" in text
    assert "Note:" not in text
