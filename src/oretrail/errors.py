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
    ├── RequestAbandoned        the caller went away before the answer (code ABANDONED)
    ├── GatewayError            the gateway answered a client with errors; ``code`` is theirs
    │   └── GatewayUnreachable  no usable answer: down, stuck past the timeout, not JSON
    ├── SeedError               a seed file that breaks the domain's rules
    ├── TokenRejected           a token or grant failed verification (code UNAUTHENTICATED)
    ├── Forbidden               a verified caller asked for what it may not (code FORBIDDEN)
    ├── StoreError              the store refused an operation (code STORE_ERROR)
    │   └── StoreUnavailable    the store cannot be reached now; retry later
    └── NodeCallError           a node call that failed as a whole; ``reason`` is its gap reason
        ├── NodeUnreachable     no connection, or it broke (UNREACHABLE; worth a retry)
        ├── NodeTimedOut        no answer within the call's or the trace's time (TIMEOUT)
        ├── NodeWithheld        the node refused the whole request (WITHHELD)
        └── InvalidNodeAnswer   an answer unusable as a whole (INVALID_RESPONSE)
            └── NodeServerError the node answered HTTP 5xx (worth a retry)

Node failures are told apart by type, never by message text: retries and gaps
decide with ``isinstance``. One malformed record in an otherwise usable answer is
not a NodeCallError: it is a gap for that lot alone (see ``gateway.node_client``).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConfigError",
    "Forbidden",
    "GatewayError",
    "GatewayUnreachable",
    "InvalidInput",
    "InvalidLotId",
    "InvalidNodeAnswer",
    "NodeCallError",
    "NodeServerError",
    "NodeTimedOut",
    "NodeUnreachable",
    "NodeWithheld",
    "OretrailError",
    "RequestAbandoned",
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


class RequestAbandoned(OretrailError):
    """The caller closed the connection (interrupted, timed out) before its answer was ready.

    Nothing it asked for is recorded: a trace nobody received is not in the history.
    """

    code = "ABANDONED"


class GatewayError(OretrailError):
    """The gateway answered a client's request with errors (oretrail.client).

    ``code`` is the first error's ``extensions.code`` (BAD_INPUT, UNAUTHENTICATED...),
    ``status`` the HTTP status, ``errors`` every error as the gateway sent it.
    """

    code = "GATEWAY_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int = 200,
        errors: tuple[dict[str, object], ...] = (),
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.status = status
        self.errors = errors


class GatewayUnreachable(GatewayError):
    """No usable answer from the gateway: not reachable, not within the timeout, not JSON."""

    code = "UNREACHABLE"


class SeedError(OretrailError):
    """Seed files break rules of the domain (negative quantity, self-link, ...).

    ``problems`` holds every problem found, each naming its file, record and field;
    the message is all of them, one a line.
    """

    code = "SEED_ERROR"

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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
    """A call to a participant's node failed as a whole: every lot asked in it is a gap.

    Raise one of the subclasses; each names its ``reason``, the gap reason of the
    trace semantics (UNREACHABLE, TIMEOUT, WITHHELD, INVALID_RESPONSE) that every lot
    of the call gets. ``detail`` says what happened, for people: no code reads it.
    """

    code = "NODE_CALL_FAILED"
    reason: ClassVar[str] = "INVALID_RESPONSE"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.reason}: {detail}")
        self.detail = detail


class NodeUnreachable(NodeCallError):
    """The node could not be reached, or the connection broke (or its circuit is open)."""

    reason = "UNREACHABLE"


class NodeTimedOut(NodeCallError):
    """The node did not answer within the call's timeout or what was left of the trace's."""

    reason = "TIMEOUT"


class NodeWithheld(NodeCallError):
    """The node refused the whole request: the credentials, or every field, by its policy."""

    reason = "WITHHELD"


class InvalidNodeAnswer(NodeCallError):
    """The node's answer is unusable as a whole: not JSON, no data, too big, wrong shape."""

    reason = "INVALID_RESPONSE"


class NodeServerError(InvalidNodeAnswer):
    """The node answered with an HTTP 5xx status: it failed, and may not fail again."""

    def __init__(self, detail: str, status: int) -> None:
        super().__init__(detail)
        self.status = status
