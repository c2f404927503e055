"""Argument parsing shared by the `oretrail` commands: one-line usage errors, checked values."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn
from urllib.parse import urlsplit

from oretrail.config import NEO4J_SCHEMES

__all__ = ["EXIT_FAILED", "OneLineParser", "neo4j_uri", "port_number", "seconds"]

# The exit status of every failure, as argparse uses for a usage error.
EXIT_FAILED = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other failure."""

    def error(self, message: str) -> NoReturn:
        print(f"oretrail: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_FAILED)


def port_number(text: str) -> int:
    """A TCP port to listen on, 1 to 65535 (argparse type)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not between 1 and 65535")
    return port


def seconds(text: str) -> float:
    """A timeout in seconds, more than 0 and at most a day (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"{text[:40]} s is not more than 0 and at most 86400")
    return value


def neo4j_uri(text: str) -> str:
    """A Neo4j Bolt URI (argparse type): bolt:// or neo4j://, with +s or +ssc."""
    try:
        scheme = urlsplit(text).scheme
    except ValueError:
        scheme = ""
    if scheme not in NEO4J_SCHEMES:
        raise argparse.ArgumentTypeError(
            f"{text[:200]!r} is not a Neo4j Bolt URI (e.g. bolt://127.0.0.1:7687; "
            f"schemes {', '.join(sorted(NEO4J_SCHEMES))})"
        )
    return text
