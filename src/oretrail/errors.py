"""The oretrail exception tree.

Every error oretrail raises on purpose derives from :class:`OretrailError` and
carries a stable ``code`` that reaches callers unchanged (as a GraphQL error's
``extensions.code``, or as the CLI's one-line message). Anything else that
escapes is a bug and is masked at the service edge.

::

    OretrailError
    ├── InvalidInput            bad input from a caller (code BAD_INPUT)
    │   ├── InvalidLotId        an id that is not urn:oretrail:lot:<org>:<local>
    │   └── UnknownLot          a well-formed id its owner does not know
    ├── UnknownParticipant      an organisation not in the registry
    ├── ConfigError             a registry or settings file that cannot be used
    ├── SeedError               a seed file that breaks the domain's rules
    ├── TokenRejected           a token or grant failed verification (code UNAUTHENTICATED)
    ├── Forbidden               a verified caller asked for what it may not (code FORBIDDEN)
    ├── StoreError              the store refused an operation (code STORE_ERROR)
    │   └── StoreUnavailable    the store cannot be reached now; retry later
    └── NodeCallError           a node call that failed; ``reason`` is a gap reason
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "Forbidden",
    "InvalidInput",
    "InvalidLotId",
    "NodeCallError",
    "OretrailError",
    "SeedError",
    "StoreError",
    "StoreUnavailable",
    "TokenRejected",
    "UnknownLot",
    "UnknownParticipant",
]


class OretrailError(Exception):
    """Base of every error oretrail raises on purpose."""

    code = "ORETRAIL_ERROR"


class InvalidInput(OretrailError):
    """A caller sent something that cannot be answered; the message says what and where."""

    code = "BAD_INPUT"


class InvalidLotId(InvalidInput):
    """A lot id that does not have the form ``urn:oretrail:lot:<org>:<local-id>``."""


class UnknownLot(InvalidInput):
    """A well-formed lot id that its owner does not hold."""

    code = "UNKNOWN_LOT"


class UnknownParticipant(InvalidInput):
    """An organisation id that the registry does not list."""

    code = "UNKNOWN_PARTICIPANT"


class ConfigError(OretrailError):
    """A configuration file is missing, unreadable or inconsistent."""

    code = "CONFIG_ERROR"


class SeedError(OretrailError):
    """A seed file breaks a rule of the domain (negative quantity, self-link, ...)."""

    code = "SEED_ERROR"


class TokenRejected(OretrailError):
    """A token or continuation grant failed verification; the message says which check."""

    code = "UNAUTHENTICATED"


class Forbidden(OretrailError):
    """A verified caller asked for something its roles or relations do not allow."""

    code = "FORBIDDEN"


class StoreError(OretrailError):
    """A store (embedded or Neo4j) refused an operation."""

    code = "STORE_ERROR"


class StoreUnavailable(StoreError):
    """The store cannot be reached now (server down, network); the caller may retry later."""

    code = "STORE_UNAVAILABLE"


class NodeCallError(OretrailError):
    """A call to a participant's node failed.

    ``reason`` is one of the gap reasons of the trace semantics (UNREACHABLE,
    TIMEOUT, INVALID_RESPONSE), so the planner can turn it into a gap directly.
    """

    code = "NODE_CALL_FAILED"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
