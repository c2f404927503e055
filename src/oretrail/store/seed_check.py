"""Checking a directory of seed files as `oretrail seed check` does.

Every problem of every file is collected (each a refusal), and so is every warning:
what is suspicious but possible, such as a lot shipped or consumed beyond its
quantity, which a trace's over-allocation flag exists to show the buyer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from oretrail.domain.model import MASS_UNITS, Quantity
from oretrail.store.seed import SeedData, link_problems, read_seed_dir

__all__ = ["SeedCheck", "check_seed_dir", "seed_warnings"]


@dataclass(frozen=True, slots=True)
class SeedCheck:
    """What checking a seed directory found: the files that loaded, and every problem
    (each a refusal) and warning (each worth a look), one sentence each."""

    seeds: Mapping[str, SeedData]
    files: int
    problems: tuple[str, ...]
    warnings: tuple[str, ...]


def check_seed_dir(directory: Path, known_orgs: Iterable[str]) -> SeedCheck:
    """Check every seed file in a directory, and its links against the registry's
    organisations; collect every problem and warning instead of stopping at the first."""
    seeds, problems, files = read_seed_dir(directory)
    problems.extend(link_problems(seeds.values(), known_orgs))
    return SeedCheck(seeds, files, tuple(problems), tuple(seed_warnings(seeds.values())))


def seed_warnings(seeds: Iterable[SeedData]) -> list[str]:
    """Lots shipped, or consumed by the input links of these files, beyond their quantity.

    Warnings, not refusals: real books hold such errors, and a trace's over-allocation
    flag exists to show them to the buyer. Masses add up: two shipments or two links
    of one lot are two deliveries.
    """
    seeds = list(seeds)
    lots = {lot.id: (seed.source, lot) for seed in seeds for lot in seed.lots}
    shipped: dict[str, float] = defaultdict(float)
    consumed: dict[str, float] = defaultdict(float)
    for seed in seeds:
        for shipment in seed.shipments:
            shipped[shipment.lot] += _kg(shipment.quantity)
        for lot in seed.lots:
            for link in lot.inputs:
                consumed[link.lot] += _kg(link.quantity)
    warnings: list[str] = []
    for what, totals in (("shipped", shipped), ("consumed by input links", consumed)):
        for lot_id, total in sorted(totals.items()):
            if lot_id not in lots:
                continue  # another organisation's lot whose file is not here
            source, lot = lots[lot_id]
            held = _kg(lot.quantity)
            if total > held * (1 + 1e-9):
                warnings.append(
                    f"{source}: lot {lot_id.rsplit(':', 1)[1]} is {what} for {_mass(total)}, "
                    f"more than its quantity of {_mass(held)}"
                )
    return warnings


def _kg(quantity: Quantity) -> float:
    # Every quantity of a loaded seed has a unit of the closed list.
    return quantity.value * MASS_UNITS[quantity.unit]


def _mass(kilograms: float) -> str:
    return f"{kilograms / 1000:,.6g} t" if kilograms >= 1000 else f"{kilograms:,.6g} kg"
