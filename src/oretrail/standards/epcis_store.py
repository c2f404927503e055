"""Where EPCIS records go and come from: an organisation's store, read whole through the
GraphStore port, merged with imported records, and written back as a seed file (the
embedded store) or loaded into Neo4j: the same domain objects either way.

The merged records are written as a seed file and read back with the seed loader, so
an import passes every rule a seed file does (units, fractions, dangling links,
facilities...) before anything is replaced; a refusal changes nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from pathlib import Path

from oretrail.domain.model import Organisation, Quantity
from oretrail.errors import SeedError
from oretrail.standards.epcis_import import EpcisImport, EpcisRefused
from oretrail.store.port import GraphStore
from oretrail.store.seed import FACILITY_PREFIX, SeedData, link_problems, load_seed

__all__ = ["merge_import", "read_store", "seed_toml", "write_seed"]


async def read_store(store: GraphStore, source: Path) -> SeedData:
    """Everything one organisation's store holds, as seed data (for export or merging)."""
    organisation = await store.organisation()
    facilities = tuple(await store.facilities())
    ids = [lot for f in facilities for lot in await store.lots_at(f.id)]
    held = await store.lots(ids)
    lots = tuple(held[i] for i in sorted(held))
    shipped = await store.shipments(list(held))
    shipments = tuple(s for i in sorted(shipped) for s in shipped[i])
    subjects = [organisation.id, *(f.id for f in facilities)]
    certificates = tuple(await store.certificates(subjects))
    return SeedData(source, organisation, facilities, lots, shipments, certificates)


def merge_import(
    existing: SeedData | None,
    organisation: Organisation,
    imported: EpcisImport,
    known_orgs: Iterable[str],
    scratch: Path,
) -> SeedData:
    """The store's records with the imported ones: a lot, facility or certificate
    imported again replaces the one with its id; an identical shipment is kept once.

    Raises EpcisRefused with every rule of the seed format the result breaks.
    """
    base = existing or SeedData(scratch, organisation, (), (), (), ())
    facilities = {f.id: f for f in base.facilities} | {f.id: f for f in imported.facilities}
    lots = {lot.id: lot for lot in base.lots} | {lot.id: lot for lot in imported.lots}
    shipments = list(base.shipments)
    shipments += [s for s in imported.shipments if s not in shipments]
    certificates = {c.id: c for c in base.certificates} | {c.id: c for c in imported.certificates}
    merged = SeedData(
        base.source,
        base.organisation,
        tuple(facilities.values()),
        tuple(replace(lot, transit=()) for lot in lots.values()),
        tuple(shipments),
        tuple(certificates.values()),
    )
    path = scratch / f"{organisation.id}.toml"
    path.write_text(seed_toml(merged), encoding="utf-8")
    try:
        checked = load_seed(path)
    except SeedError as exc:
        raise EpcisRefused(*(f"after import: {p}" for p in exc.problems)) from None
    problems = link_problems([checked], known_orgs)
    if problems:
        raise EpcisRefused(*(f"after import: {p}" for p in problems))
    return replace(checked, source=base.source)


def write_seed(seed: SeedData, path: Path) -> None:
    """Replace the seed file at ``path`` with ``seed``, atomically (a reader sees the old
    file or the new one, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(seed_toml(seed))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def seed_toml(seed: SeedData) -> str:
    """Seed data in the seed file format (graph/seed/*.toml), every field explicit."""
    org = seed.organisation
    lines = [
        f"# {org.name}: written by `oretrail import epcis`.",
        "[organisation]",
        f"id = {_s(org.id)}",
        f"name = {_s(org.name)}",
        f"roles = [{', '.join(_s(str(r)) for r in org.roles)}]",
        f"country = {_s(org.country)}",
    ]
    for f in seed.facilities:
        lines += [
            "",
            "[[facilities]]",
            f"id = {_s(_local(f.id, org.id))}",
            f"name = {_s(f.name)}",
            f"kind = {_s(f.kind)}",
            f"activities = [{', '.join(_s(str(a)) for a in sorted(f.activities or ()))}]",
            f"country = {_s(f.country)}",
            f"region = {_s(f.region)}",
            f"artisanal = {_b(f.artisanal)}",
            f"cahra = {_b(f.cahra)}",
        ]
        lines += [f"latitude = {f.latitude!r}"] if f.latitude is not None else []
        lines += [f"longitude = {f.longitude!r}"] if f.longitude is not None else []
    for lot in seed.lots:
        lines += [
            "",
            "[[lots]]",
            f"id = {_s(lot.id.rsplit(':', 1)[1])}",
            f"material = {_s(lot.material)}",
            f"quantity = {_q(lot.quantity)}",
            f"produced_at = {_d(lot.produced_at)}",
            f"facility = {_s(_local(lot.facility, org.id))}",
            f"custody = {_s(str(lot.custody))}",
            f"recycled = {{ pre_consumer = {lot.recycled_pre_consumer!r}, "
            f"post_consumer = {lot.recycled_post_consumer!r} }}",
        ]
        if lot.contents is not None:
            inner = ", ".join(f"{e} = {v!r}" for e, v in sorted(lot.contents.items()))
            lines.append(f"contents = {{ {inner} }}")
        if lot.carbon_footprint is not None:
            lines.append(f"carbon_footprint = {lot.carbon_footprint!r}")
            lines.append(f"carbon_footprint_unit = {_s(str(lot.carbon_footprint_unit))}")
        if lot.rated_capacity_kwh is not None:
            lines.append(f"rated_capacity_kwh = {lot.rated_capacity_kwh!r}")
        links = ", ".join(
            f"{{ lot = {_s(link.lot)}, quantity = {_q(link.quantity)} }}" for link in lot.inputs
        )
        lines.append(f"inputs = [{links}]")
    for s in seed.shipments:
        transit = ", ".join(
            f"{{ country = {_s(p.country)}, region = {_s(p.region)} }}" for p in s.transit
        )
        lines += [
            "",
            "[[shipments]]",
            f"lot = {_s(s.lot)}",
            f"to = {_s(s.to_org)}",
            f"date = {_d(s.shipped_on)}",
            f"quantity = {_q(s.quantity)}",
            f"transit = [{transit}]",
        ]
    for c in seed.certificates:
        lines += [
            "",
            "[[certificates]]",
            f"id = {_s(c.id)}",
            f"subject = {_s(c.subject if c.subject == org.id else _local(c.subject, org.id))}",
            f"issuer = {_s(c.issuer)}",
            f"standard = {_s(c.standard)}",
            f"scope = {_s(c.scope)}",
            f"valid_from = {_d(c.valid_from)}",
            f"valid_to = {_d(c.valid_to)}",
            f"status = {_s(c.status)}",
        ]
    return "\n".join(lines) + "\n"


def _local(facility: str, org: str) -> str:
    prefix = f"{FACILITY_PREFIX}{org}:"
    return facility[len(prefix) :] if facility.startswith(prefix) else facility


def _s(text: str) -> str:
    # A JSON string is a TOML basic string once DEL, which TOML wants escaped, is.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _b(flag: bool) -> str:
    return "true" if flag else "false"


def _d(day: date) -> str:
    return day.isoformat()


def _q(quantity: Quantity) -> str:
    return f"{{ value = {quantity.value!r}, unit = {_s(quantity.unit)} }}"
