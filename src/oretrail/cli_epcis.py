"""``oretrail import epcis`` and ``oretrail export epcis``: GS1 EPCIS 2.0 documents in and
out of one participant's node store (the embedded store's seed file, or Neo4j)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from oretrail.bootstrap import neo4j_runner
from oretrail.cli_args import EXIT_FAILED, neo4j_uri
from oretrail.cli_http import CommandFailed
from oretrail.config import Participant, Registry, default_graph_dir, load_registry
from oretrail.domain.model import Organisation
from oretrail.errors import StoreError, StoreUnavailable
from oretrail.standards.epcis_export import export_epcis
from oretrail.standards.epcis_import import EpcisImport, EpcisRefused, read_epcis
from oretrail.standards.epcis_schema import EpcisSchema, find_schema
from oretrail.standards.epcis_store import merge_import, read_store, write_seed
from oretrail.standards.epcis_terms import Gs1Directory
from oretrail.store.cypher import apply_migrations, load_migrations
from oretrail.store.memory import MemoryGraphStore
from oretrail.store.neo4j_store import Neo4jGraphStore, load_seed_into_neo4j
from oretrail.store.seed import SeedData, load_seed

__all__ = ["add_epcis_commands", "run_epcis_command"]


def add_epcis_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    export_formats: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """``import epcis``, and ``epcis`` among the formats of the ``export`` command."""
    importing = commands.add_parser(
        "import",
        help="import standard documents into a participant's node store",
        description="Import documents in a standard format into one participant's store.",
    )
    formats = importing.add_subparsers(dest="import_format", required=True, metavar="FORMAT")
    epcis_in = formats.add_parser(
        "epcis",
        help="GS1 EPCIS 2.0 JSON documents: lots, input links, shipments, facilities",
        description="Check every document (the official EPCIS JSON Schema, then oretrail's "
        "rules), then import all of them or none: transformation events become lots and "
        "input links, shipping events shipments, ILMD and master data lot attributes, "
        "facilities and certificates. Each refused event is named by its index with the "
        "reason (exit status 2). See docs/standards.md.",
    )
    epcis_in.add_argument("files", type=Path, nargs="+", metavar="FILE", help="EPCIS document")
    epcis_out = export_formats.add_parser(
        "epcis",
        help="a GS1 EPCIS 2.0 JSON document of the store's lots, links and shipments",
        description="Write the participant's lots, input links, shipments, facilities and "
        "certificates as one EPCIS 2.0 document, checked against the official schema.",
    )
    epcis_out.add_argument(
        "--out", type=Path, default=None, help="file to write (default: standard output)"
    )
    for command in (epcis_in, epcis_out):
        command.add_argument("--org", required=True, help="participant id in the registry")
        command.add_argument(
            "--seed",
            type=Path,
            default=None,
            help="the embedded store's seed file (default: the registry's seed for --org)",
        )
        command.add_argument(
            "--neo4j",
            metavar="URI",
            type=neo4j_uri,
            default=None,
            help="the participant's store on this Neo4j",
        )
        command.add_argument(
            "--schema",
            type=Path,
            default=None,
            help="the official EPCIS-JSON-Schema.json (default: $ORETRAIL_EPCIS_SCHEMA, "
            "$ORETRAIL_STANDARDS/epcis/, or shared/standards/epcis/ beside the checkout)",
        )


def run_epcis_command(args: argparse.Namespace, config_dir: Path) -> int:
    registry = load_registry(config_dir / "registry.toml")
    participant = registry.get(args.org)
    schema = _schema(args.schema)
    if args.command == "import":
        return asyncio.run(_import(args, registry, participant, schema))
    return asyncio.run(_export(args, registry, participant, schema))


def _schema(given: Path | None) -> EpcisSchema | None:
    path = find_schema(given)
    if path is None:
        print(
            "oretrail: warning: the official EPCIS JSON Schema was not found (pass --schema "
            "or set ORETRAIL_STANDARDS): documents are checked by oretrail's own rules only",
            file=sys.stderr,
        )
        return None
    return EpcisSchema.load(path)


def _seed_path(args: argparse.Namespace, participant: Participant) -> Path:
    path: Path | None = args.seed or participant.seed
    if path is None:
        raise CommandFailed(f"{participant.id} has no seed file in the registry; pass --seed")
    return path


async def _current(
    args: argparse.Namespace, participant: Participant
) -> tuple[SeedData | None, str]:
    """What the participant's store holds now (None when empty), and where it is."""
    if args.neo4j:
        async with neo4j_runner(args.neo4j, default_graph_dir()) as runner:
            try:
                return await read_store(
                    Neo4jGraphStore(runner, participant.id), Path(args.neo4j)
                ), f"Neo4j at {args.neo4j}"
            except StoreUnavailable:
                raise
            except StoreError:  # the store holds nothing for this participant yet
                return None, f"Neo4j at {args.neo4j}"
    path = _seed_path(args, participant)
    if not path.exists():
        return None, str(path)
    seed = load_seed(path)
    if seed.organisation.id != participant.id:
        raise CommandFailed(f"{path} holds organisation {seed.organisation.id!r}")
    return await read_store(MemoryGraphStore(seed), path), str(path)


def _read_documents(files: list[Path]) -> list[tuple[str, str]]:
    documents = []
    for path in files:
        try:
            documents.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandFailed(f"{path}: cannot read: {exc}") from exc
    return documents


def check_documents(
    documents: list[tuple[str, str]],
    schema: EpcisSchema | None,
    org: str,
    directory: Gs1Directory,
    existing: SeedData | None,
) -> EpcisImport:
    """Every document checked against the schema and read for ``org``; raises
    EpcisRefused with every problem of every document."""
    problems: list[str] = []
    if schema is not None:
        for name, text in documents:
            try:
                document = json.loads(text)
            except json.JSONDecodeError:
                continue  # reported by the reader, with its line and column
            problems.extend(f"{name}: {p}" for p in schema.problems(document))
    try:
        imported = read_epcis(
            documents,
            org,
            directory,
            known_lots=[lot.id for lot in existing.lots] if existing else (),
            known_facilities=[f.id for f in existing.facilities] if existing else (),
        )
    except EpcisRefused as exc:
        problems.extend(exc.problems)
        imported = EpcisImport()
    if problems:
        raise EpcisRefused(*problems)
    return imported


async def _import(
    args: argparse.Namespace,
    registry: Registry,
    participant: Participant,
    schema: EpcisSchema | None,
) -> int:
    documents = _read_documents(args.files)
    existing, where = await _current(args, participant)
    directory = Gs1Directory.from_registry(registry)
    try:
        imported = check_documents(documents, schema, participant.id, directory, existing)
        organisation = (
            existing.organisation
            if existing
            else Organisation(
                participant.id, participant.name, participant.roles, participant.country
            )
        )
        with tempfile.TemporaryDirectory(prefix="oretrail-epcis-") as scratch:
            merged = merge_import(
                existing, organisation, imported, registry.participants, Path(scratch)
            )
    except EpcisRefused as exc:
        for problem in exc.problems:
            print(f"oretrail: {problem}", file=sys.stderr)
        print(
            f"oretrail: {len(exc.problems)} problem(s): nothing was imported into {where}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if args.neo4j:
        graphs = default_graph_dir()
        async with neo4j_runner(args.neo4j, graphs) as runner:
            await apply_migrations(runner.driver, load_migrations(graphs / "migrations"))
            await load_seed_into_neo4j(runner, merged)
    else:
        write_seed(merged, _seed_path(args, participant))
    for note in imported.ignored:
        print(f"ignored: {note}")
    print(
        f"imported {len(documents)} document(s) into {where}: {len(imported.lots)} lots, "
        f"{imported.links} input links, {len(imported.shipments)} shipments, "
        f"{len(imported.facilities)} facilities, {len(imported.certificates)} certificates; "
        f"the store now holds {len(merged.lots)} lots"
    )
    return 0


async def _export(
    args: argparse.Namespace,
    registry: Registry,
    participant: Participant,
    schema: EpcisSchema | None,
) -> int:
    existing, where = await _current(args, participant)
    if existing is None:
        raise CommandFailed(f"{where} holds nothing for {participant.id}")
    document = export_epcis(existing, Gs1Directory.from_registry(registry), datetime.now(UTC))
    if schema is not None:
        problems = schema.problems(document)
        if problems:
            raise CommandFailed("the export breaks the EPCIS JSON Schema: " + "; ".join(problems))
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        events = len(document["epcisBody"]["eventList"])
        print(f"wrote {args.out}: {events} events from {where}", file=sys.stderr)
    return 0
