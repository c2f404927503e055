"""The gateway's seam to participants' nodes: a port, and its aiohttp adapter.

A call that fails as a whole (unreachable, timeout, refused, an answer unusable as
a whole) raises a typed :class:`NodeCallError`, so the planner never sees an
aiohttp or JSON exception. A usable answer is checked lot by lot: a malformed
record (a fraction above 1, a unit off the closed list, another owner's name, a
missing field) is an INVALID_RESPONSE reply for that lot alone, and so is an id
the answer leaves out; the sound lots beside it are opened. A node can say what it
likes, but it cannot make the gateway crash, accept a lot under someone else's
name, or sink the lots batched with a bad one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import aiohttp

from oretrail.config import Participant
from oretrail.domain.lotgraph import GapReason, TracedInput, TracedLot
from oretrail.domain.model import (
    CARBON_FOOTPRINT_UNITS,
    MASS_UNITS,
    Activity,
    Certificate,
    Custody,
    Facility,
    TransitPoint,
    is_element_symbol,
    is_number,
    unknown_element_problem,
    unknown_unit_problem,
)
from oretrail.errors import (
    InvalidNodeAnswer,
    NodeServerError,
    NodeTimedOut,
    NodeUnreachable,
    NodeWithheld,
)
from oretrail.node_api import LOTS_AT_QUERY, LOTS_QUERY, OUTPUTS_QUERY

__all__ = [
    "AnswerSink",
    "GrantPass",
    "HttpNodeClient",
    "LotReply",
    "NodeAnswer",
    "NodeClient",
    "NodeCredential",
    "OutputsReply",
    "parse_lots",
    "parse_outputs",
]

# A node answer larger than this is refused rather than buffered without end.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GrantPass:
    """A continuation grant that opens ``lot``, with the grants its chain rests on.

    ``chain`` is every grant the request that revealed ``lot`` carried: the
    ancestors the owner's node needs to verify the chain back to a root.
    """

    lot: str
    grant: str
    chain: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeAnswer:
    """One node's whole answer to one call, as received: evidence for the caller.

    ``document`` is the parsed GraphQL response (``data``, ``errors``, and the
    ``extensions.evidence`` the node signed: DESIGN.md, Trust 7); ``variables`` are
    the call's own (the ids asked, the grants presented).
    """

    node: str
    operation: str
    variables: Mapping[str, Any]
    document: Mapping[str, Any]


# Receives every answer a node gave whole (a trace's evidence collector).
AnswerSink = Callable[[NodeAnswer], None]


@dataclass(frozen=True, slots=True)
class NodeCredential:
    """What one request to one node carries: its headers (the caller's signed request and
    certificate, the gateway's token) and the grants it presents; ``answers``, when set,
    is given each answer the call receives."""

    headers: Mapping[str, str]
    grants: tuple[str, ...] = ()
    answers: AnswerSink | None = None


# How a node's per-id status maps to the reason of a gap; FOUND gives the lot.
_STATUS_REASONS = {
    "NOT_FOUND": GapReason.NOT_FOUND,
    "WITHHELD": GapReason.WITHHELD,
    "INVALID_ID": GapReason.INVALID_RESPONSE,
}


@dataclass(frozen=True, slots=True)
class LotReply:
    """A node's answer for one asked id: the lot, or the typed reason it was not given.

    Exactly one of ``lot`` and ``reason`` is set. ``detail`` says why in words, for
    people (the node's own detail, or what was malformed in its record).
    """

    id: str
    lot: TracedLot | None
    reason: GapReason | None = None
    detail: str | None = None
    # Every grant of the answer naming each input (a lot consumed by several of the
    # node's lots may be named by several): the chains the next hop may need.
    grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def opened(
        cls, lot: TracedLot, grants: Mapping[str, tuple[str, ...]] | None = None
    ) -> LotReply:
        return cls(lot.id, lot, grants=grants or {})

    @classmethod
    def gap(cls, lot_id: str, reason: GapReason, detail: str) -> LotReply:
        return cls(lot_id, None, reason, detail)


@dataclass(frozen=True, slots=True)
class OutputsReply:
    id: str
    consumers: tuple[str, ...]
    shipped_to: tuple[str, ...]


class NodeClient(Protocol):
    """How the gateway asks a participant's node for lots and outputs."""

    async def fetch_lots(
        self,
        node: Participant,
        ids: Sequence[str],
        credential: NodeCredential | None = None,
        timeout: float | None = None,
    ) -> dict[str, LotReply]:
        """One batched ``lots(ids:)`` call: a reply for every id asked, each the lot or a
        typed gap. Raises NodeCallError only when the call fails as a whole."""
        ...

    async def fetch_outputs(
        self, node: Participant, ids: Sequence[str], credential: NodeCredential | None = None
    ) -> dict[str, OutputsReply]:
        """One batched ``outputs(ids:)`` call; raises NodeCallError on any failure."""
        ...

    async def fetch_lots_at(
        self, node: Participant, facility: str, credential: NodeCredential | None = None
    ) -> list[str]:
        """Ids of the lots produced at one of the node's facilities."""
        ...


class HttpNodeClient:
    """NodeClient over one shared aiohttp session, with a timeout per call."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout: float,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_bytes = max_response_bytes

    async def fetch_lots(
        self,
        node: Participant,
        ids: Sequence[str],
        credential: NodeCredential | None = None,
        timeout: float | None = None,
    ) -> dict[str, LotReply]:
        grants = list(dict.fromkeys(credential.grants if credential else ()))
        document = await self._post(
            node, LOTS_QUERY, {"ids": list(ids), "grants": grants}, credential, timeout
        )
        return parse_lots(node.id, ids, document)

    async def fetch_outputs(
        self, node: Participant, ids: Sequence[str], credential: NodeCredential | None = None
    ) -> dict[str, OutputsReply]:
        document = await self._post(node, OUTPUTS_QUERY, {"ids": list(ids)}, credential)
        return parse_outputs(node.id, ids, document)

    async def fetch_lots_at(
        self, node: Participant, facility: str, credential: NodeCredential | None = None
    ) -> list[str]:
        document = await self._post(node, LOTS_AT_QUERY, {"facility": facility}, credential)
        try:
            _refuse_withheld(document, "lotsAt")
            data = document["data"]
            return [_str(i, "lotsAt") for i in _list(_get(data, "lotsAt"), "lotsAt")]
        except _Shape as exc:
            raise InvalidNodeAnswer(f"node {node.id}: {exc}") from None

    async def _post(
        self,
        node: Participant,
        query: str,
        variables: dict[str, Any],
        credential: NodeCredential | None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        where = f"node {node.id} at {node.endpoint}"
        limit = self._timeout
        if timeout is not None and (limit.total is None or timeout < limit.total):
            limit = aiohttp.ClientTimeout(total=max(timeout, 0.001))
        headers = {"Accept": "application/json"}
        if credential is not None:
            headers.update(credential.headers)
        try:
            async with self._session.post(
                node.endpoint,
                json={"query": query, "variables": variables},
                timeout=limit,
                headers=headers,
            ) as response:
                body = await self._read_limited(response, where)
                status = response.status
        except TimeoutError:
            raise NodeTimedOut(f"{where} did not answer in time") from None
        except aiohttp.ClientConnectorError as exc:
            raise NodeUnreachable(f"{where} is unreachable: {exc.strerror}") from None
        except aiohttp.ClientError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise NodeUnreachable(f"{where} failed: {reason[:200]}") from None
        if status == 401:
            refusal = _document(body)
            sink = None if credential is None else credential.answers
            if refusal is not None and "evidence" in refusal and sink is not None:
                # The node's signed refusal is evidence too: its lots are WITHHELD by the
                # node's own word, not only by the gateway's.
                sink(NodeAnswer(node.id, _operation(query), variables, refusal))
            raise NodeWithheld(
                f"{where} refused the request's credentials: "
                f"{_first_error(_errors_of(body)).removeprefix(': ')}",
            )
        if 500 <= status < 600:
            raise NodeServerError(f"{where} answered HTTP {status}", status)
        if status != 200:
            raise InvalidNodeAnswer(f"{where} answered HTTP {status}")
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidNodeAnswer(f"{where} answered with no valid JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
            errors = document.get("errors") if isinstance(document, dict) else None
            if _all_withheld(errors):
                raise NodeWithheld(f"{where}{_first_error(errors)}")
            raise InvalidNodeAnswer(f"{where} answered without data{_first_error(errors)}")
        if credential is not None and credential.answers is not None:
            credential.answers(NodeAnswer(node.id, _operation(query), variables, document))
        return document

    async def _read_limited(self, response: aiohttp.ClientResponse, where: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self._max_bytes:
                raise InvalidNodeAnswer(f"{where} answered with more than {self._max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _operation(query: str) -> str:
    return {LOTS_QUERY: "lots", OUTPUTS_QUERY: "outputs", LOTS_AT_QUERY: "lotsAt"}.get(
        query, "other"
    )


def _document(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _errors_of(body: bytes) -> object:
    document = _document(body)
    return None if document is None else document.get("errors")


def _all_withheld(errors: object) -> bool:
    return (
        isinstance(errors, list)
        and bool(errors)
        and all(
            isinstance(e, dict)
            and isinstance(e.get("extensions"), dict)
            and e["extensions"].get("code") == "WITHHELD"
            for e in errors
        )
    )


def _errors_by_index(
    document: dict[str, Any], at: tuple[str, ...]
) -> tuple[dict[int, set[str]], dict[int, str]]:
    """Field groups withheld, and other errors, per item of the list at ``data`` path ``at``.

    A WITHHELD error with a group inside an item marks that group withheld for that
    item; any other error inside an item makes that item's record a bad one. An error
    that names no item (no path, or a path elsewhere) makes the whole answer a bad one.
    """
    errors = document.get("errors")
    withheld: dict[int, set[str]] = {}
    broken: dict[int, str] = {}
    if errors is None:
        return withheld, broken
    for error in _list(errors, "errors"):
        extensions = error.get("extensions") if isinstance(error, dict) else None
        path = error.get("path") if isinstance(error, dict) else None
        if (
            not isinstance(path, list)
            or len(path) <= len(at)
            or tuple(path[: len(at)]) != at
            or type(path[len(at)]) is not int
        ):
            raise _Shape(f"error in the answer: {str(error)[:200]}")
        index: int = path[len(at)]
        group = extensions.get("group") if isinstance(extensions, dict) else None
        if (
            isinstance(extensions, dict)
            and extensions.get("code") == "WITHHELD"
            and isinstance(group, str)
        ):
            withheld.setdefault(index, set()).add(group)
        else:
            broken.setdefault(index, f"error in the answer: {str(error)[:200]}")
    return withheld, broken


def _refuse_withheld(document: dict[str, Any], field: str) -> None:
    errors = document.get("errors")
    if errors is None or errors == []:
        return
    if _all_withheld(errors):
        raise NodeWithheld(f"{field} withheld by the owner's policy")
    raise _Shape(f"error in the answer: {str(errors)[:200]}")


def _first_error(errors: object) -> str:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f": {str(errors[0].get('message', ''))[:200]}"
    return ""


class _Shape(Exception):
    """A node's answer does not have the shape the node API promises."""


def parse_lots(node: str, ids: Sequence[str], document: dict[str, Any]) -> dict[str, LotReply]:
    """Check a ``lots`` answer lot by lot against the ids asked and the node that answered.

    Returns a reply for every id in ``ids``: the lot, the node's typed reason for not
    giving it, or INVALID_RESPONSE for that lot alone when its record is malformed,
    an error names it, it is answered twice, or the answer leaves it out. Answers
    for ids not asked open nothing. Raises :class:`InvalidNodeAnswer` only when the
    answer is unusable as a whole: no ``lots.answers`` list, malformed continuations,
    or an error that names no one answer.
    """
    try:
        withheld, broken = _errors_by_index(document, ("lots", "answers"))
        result = _get(document.get("data"), "lots")
        items = _list(_get(result, "answers"), "answers")
        grants = _grants(_get(result, "continuations"))
    except _Shape as exc:
        raise InvalidNodeAnswer(f"node {node}: {exc}") from None
    asked = set(ids)
    places: _Places = {}
    replies: dict[str, LotReply] = {}
    twice: set[str] = set()
    for index, item in enumerate(items):
        lot_id = item.get("id") if type(item) is dict else None
        if type(lot_id) is not str or lot_id not in asked:
            continue  # names no id asked: the ids it may have meant are left without answer
        if lot_id in replies:
            twice.add(lot_id)
            continue
        try:
            if index in broken:
                raise _Shape(broken[index])
            groups = frozenset(withheld.get(index, ()))
            reply = _reply(node, lot_id, item=item, withheld=groups, grants=grants, places=places)
        except _Shape as exc:
            detail = f"node {node}, lot {lot_id}: {exc}"
            reply = LotReply.gap(lot_id, GapReason.INVALID_RESPONSE, detail)
        replies[lot_id] = reply
    for lot_id in twice:
        replies[lot_id] = LotReply.gap(
            lot_id, GapReason.INVALID_RESPONSE, f"node {node} answered lot {lot_id} twice"
        )
    for lot_id in ids:
        if lot_id not in replies:
            replies[lot_id] = LotReply.gap(
                lot_id, GapReason.INVALID_RESPONSE, f"node {node} gave no answer for {lot_id}"
            )
    return replies


def _reply(
    node: str,
    lot_id: str,
    *,
    item: dict[str, Any],
    withheld: frozenset[str],
    grants: Mapping[str, tuple[str, ...]],
    places: _Places,
) -> LotReply:
    """One answer item as a reply; raises _Shape naming what is malformed in it."""
    status = _str(_get(item, "status"), "status")
    raw_lot = item.get("lot")
    if status != "FOUND":
        reason = _STATUS_REASONS.get(status)
        if reason is None:
            raise _Shape(f"unknown status {status[:40]!r}")
        if raw_lot is not None:
            raise _Shape(f"the status is {status} but a lot is given")
        return LotReply.gap(lot_id, reason, _opt_str(item.get("detail")) or f"{node}: {status}")
    if raw_lot is None:
        raise _Shape("the status is FOUND but no lot is given")
    lot = _traced_lot(raw_lot, withheld, grants, places)
    if lot.id != lot_id:
        raise _Shape(f"the lot given is another one, {lot.id[:100]!r}")
    if lot.owner != node:
        raise _Shape(f"answered as owned by {lot.owner[:64]!r}, not by {node}")
    return LotReply.opened(lot, grants)


def parse_outputs(
    node: str, ids: Sequence[str], document: dict[str, Any]
) -> dict[str, OutputsReply]:
    try:
        _refuse_withheld(document, "outputs")
        data = document.get("data")
        replies: dict[str, OutputsReply] = {}
        for item in _list(_get(data, "outputs"), "outputs"):
            lot_id = _str(_get(item, "id"), "id")
            consumers = tuple(
                _str(_get(c, "lot"), "lot") for c in _list(_get(item, "consumers"), "consumers")
            )
            shipped = tuple(
                _str(_get(s, "to"), "to") for s in _list(_get(item, "shippedTo"), "shippedTo")
            )
            replies[lot_id] = OutputsReply(lot_id, consumers, shipped)
        missing = [i for i in ids if i not in replies]
        if missing:
            raise _Shape(f"no answer for {len(missing)} of the ids asked, e.g. {missing[0]}")
        return replies
    except _Shape as exc:
        raise InvalidNodeAnswer(f"node {node}: {exc}") from None


def _grants(raw: Any) -> dict[str, tuple[str, ...]]:
    """Which forwarded grant opens which lot, as the answering node says.

    Only routing: the gateway forwards a grant to the owner of the lots it names, and
    that node verifies what the grant really opens.
    """
    grants: dict[str, tuple[str, ...]] = {}
    for continuation in _list(raw, "continuations"):
        grant = _str(_get(continuation, "grant"), "continuations.grant")
        for lot in _list(_get(continuation, "lots"), "continuations.lots"):
            lot_id = _str(lot, "continuations.lots")
            grants[lot_id] = (*grants.get(lot_id, ()), grant)
    return grants


# A facility and its certificates as parsed, by the facility's raw fields.
_Places = dict[tuple[object, ...], tuple[Facility | None, tuple[Certificate, ...]]]


def _place(raw: Any, places: _Places) -> tuple[Facility | None, tuple[Certificate, ...]]:
    """The facility and certificates of a lot; the lots of one answer mostly share them."""
    if type(raw) is not dict:
        return None, ()
    try:
        certificates = raw.get("certificates")
        # With each value's type: 1 and True are equal keys, but not the same answer.
        key = (
            *((k, type(v), v) for k, v in raw.items() if k != "certificates"),
            *(tuple(c.items()) for c in certificates or () if type(c) is dict),
        )
        hash(key)
    except (TypeError, AttributeError):  # unhashable or odd values: parse them to say why
        return _facility(raw), _certificates(raw)
    if key not in places:
        places[key] = (_facility(raw), _certificates(raw))
    return places[key]


def _traced_lot(
    raw: Any, withheld: frozenset[str], grants: Mapping[str, tuple[str, ...]], places: _Places
) -> TracedLot:
    """A lot as the node gave it; fields of withheld groups arrive as null."""
    lot_id = _str(_get(raw, "id"), "lot.id")
    contents_raw = raw.get("contents")
    contents = None if contents_raw is None else _contents(contents_raw)
    custody_raw = raw.get("custody")
    try:
        custody = None if custody_raw is None else Custody(custody_raw)
    except ValueError:
        raise _Shape(f"unknown custody model {str(custody_raw)[:40]!r}") from None
    quantity = raw.get("quantity")
    inputs_raw = raw.get("inputs")
    pre = _opt_fraction(raw.get("recycledPreConsumer"))
    post = _opt_fraction(raw.get("recycledPostConsumer"))
    if (pre or 0.0) + (post or 0.0) > 1 + 1e-9:
        raise _Shape("recycled pre- and post-consumer shares add up to more than 1")
    facility, certificates = _place(raw.get("facility"), places)
    return TracedLot(
        id=lot_id,
        owner=_str(_get(raw, "owner"), "owner"),
        material=_opt_str(raw.get("material")) or "(withheld)",
        quantity_kg=None if quantity is None else _kilograms(quantity, "quantity"),
        contents=contents,
        custody=custody,
        facility=facility,
        certificates=certificates,
        recycled_pre_consumer=pre,
        recycled_post_consumer=post,
        inputs=() if inputs_raw is None else _inputs(inputs_raw, grants),
        withheld=withheld,
        produced_at=_opt_date(raw.get("producedAt")),
        transit=_transit(raw.get("transit"), "origin" in withheld),
        **_footprint(raw),
    )


def _footprint(raw: dict[str, Any]) -> dict[str, Any]:
    """The lot's carbon footprint with its unit, and its rated capacity; a figure
    without a unit of the closed list is refused, never guessed at."""
    carbon, unit = raw.get("carbonFootprint"), raw.get("carbonFootprintUnit")
    capacity = raw.get("ratedCapacityKwh")
    if carbon is not None and not (is_number(carbon) and carbon >= 0):
        raise _Shape(f"carbonFootprint {carbon!r:.40} is not a number >= 0")
    if carbon is not None and unit not in CARBON_FOOTPRINT_UNITS:
        raise _Shape(f"carbonFootprintUnit {unit!r:.40} is not a footprint unit")
    if capacity is not None and not (is_number(capacity) and capacity > 0):
        raise _Shape(f"ratedCapacityKwh {capacity!r:.40} is not a number > 0")
    return {
        "carbon_footprint": None if carbon is None else float(carbon),
        "carbon_footprint_unit": None if carbon is None else unit,
        "rated_capacity_kwh": None if capacity is None else float(capacity),
    }


def _contents(raw: Any) -> dict[str, float]:
    """Mass fractions by element symbol: known symbols, each once, adding up to at most 1."""
    contents: dict[str, float] = {}
    for item in _list(raw, "contents"):
        element = _get(item, "element")
        if not is_element_symbol(element):
            raise _Shape(f"contents: {unknown_element_problem(element)}")
        if element in contents:
            raise _Shape(f"contents: element {element} is given twice")
        contents[element] = _fraction(_get(item, "fraction"), f"{element} fraction")
    if sum(contents.values()) > 1 + 1e-9:
        raise _Shape("contents add up to more than 1 (they are mass fractions)")
    return contents


def _inputs(raw: Any, grants: Mapping[str, tuple[str, ...]]) -> tuple[TracedInput, ...]:
    # The hottest loop of a trace (every input link): one flat loop, exact type checks.
    inputs = []
    for link in _list(raw, "inputs"):
        lot = _str(_get(link, "lot"), "inputs.lot")
        quantity = link.get("quantity")
        kilograms = None if quantity is None else _kilograms(quantity, f"input {lot[:100]}")
        owner = link.get("owner")
        inputs.append(
            TracedInput(lot, owner if type(owner) is str else "", kilograms, _first(grants, lot))
        )
    return tuple(inputs)


def _facility(raw: Any) -> Facility | None:
    if type(raw) is not dict:
        return None
    return Facility(
        id=_opt_str(raw.get("id")) or "",
        org="",
        name=_opt_str(raw.get("name")) or "(withheld)",
        kind=_opt_str(raw.get("kind")) or "",
        country=_opt_str(raw.get("country")) or "",
        region=_opt_str(raw.get("region")) or "",
        latitude=_opt_number(raw.get("latitude")),
        longitude=_opt_number(raw.get("longitude")),
        artisanal=raw.get("artisanal") is True,
        cahra=raw.get("cahra") is True,
        activities=_activities(raw.get("activities")),
    )


def _activities(raw: Any) -> frozenset[Activity] | None:
    """The facility's activities; None when withheld (null), refused when not from the list."""
    if raw is None:
        return None
    try:
        return frozenset(Activity(_str(a, "activities")) for a in _list(raw, "activities"))
    except ValueError:
        raise _Shape(f"activities {str(raw)[:100]} are not all from the closed list") from None


def _transit(raw: Any, withheld: bool) -> tuple[TransitPoint, ...] | None:
    """Transit points of the lot's shipments; None when withheld, () when the node gives none."""
    if raw is None:
        return None if withheld else ()
    return tuple(
        TransitPoint(_str(_get(p, "country"), "transit.country"), _str(_get(p, "region"), "region"))
        for p in _list(raw, "transit")
    )


def _opt_date(raw: Any) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(_str(raw, "producedAt"))
    except ValueError:
        raise _Shape(f"producedAt {raw!r} is not YYYY-MM-DD") from None


def _certificates(facility: Any) -> tuple[Certificate, ...]:
    if not isinstance(facility, dict) or facility.get("certificates") is None:
        return ()
    result = []
    for c in _list(facility["certificates"], "certificates"):
        try:
            result.append(
                Certificate(
                    id=_str(_get(c, "id"), "certificate.id"),
                    subject=_str(_get(c, "subject"), "subject"),
                    issuer=_str(_get(c, "issuer"), "issuer"),
                    standard=_str(_get(c, "standard"), "standard"),
                    scope=_str(_get(c, "scope"), "scope"),
                    valid_from=date.fromisoformat(_str(_get(c, "validFrom"), "validFrom")),
                    valid_to=date.fromisoformat(_str(_get(c, "validTo"), "validTo")),
                    status=_str(_get(c, "status"), "status"),
                    credential=_opt_credential(c.get("credential")),
                )
            )
        except ValueError:
            raise _Shape("a certificate date is not YYYY-MM-DD") from None
    return tuple(result)


def _opt_credential(raw: Any) -> str | None:
    return None if raw is None else _str(raw, "certificate.credential")


def _kilograms(raw: Any, what: str) -> float:
    """A quantity in kg: a positive finite number and a unit on the closed list, or _Shape."""
    value = _get(raw, "value")
    unit = _get(raw, "unit")
    # JSON numbers arrive as int or float; bool, NaN and infinity are refused.
    if type(value) not in (int, float) or not 0 < value < math.inf:
        raise _Shape(f"{what}: {str(value)[:40]!r} is not a positive number")
    factor = MASS_UNITS.get(unit) if type(unit) is str else None
    if factor is None:
        raise _Shape(f"{what}: {unknown_unit_problem(unit)}")
    return float(value) * factor


def _get(raw: Any, key: str) -> Any:
    # Answers are parsed JSON: objects are dicts (an ABC check costs more than the rest).
    if type(raw) is not dict:
        raise _Shape(f"expected an object holding {key!r}, got {type(raw).__name__}")
    try:
        return raw[key]
    except KeyError:
        raise _Shape(f"missing field {key!r}") from None


def _list(raw: Any, what: str) -> list[Any]:
    if not isinstance(raw, list):
        raise _Shape(f"{what} is not a list")
    return raw


def _str(raw: Any, what: str) -> str:
    if type(raw) is not str:
        raise _Shape(f"{what} is not a string")
    return raw


def _opt_str(raw: Any) -> str | None:
    return raw if type(raw) is str else None


def _fraction(raw: Any, what: str) -> float:
    if not is_number(raw) or not 0 <= raw <= 1:
        raise _Shape(f"{what} {raw!r} is not a fraction between 0 and 1")
    return float(raw)


def _opt_fraction(raw: Any) -> float | None:
    return None if raw is None else _fraction(raw, "recycled share")


def _opt_number(raw: Any) -> float | None:
    return float(raw) if is_number(raw) else None


def _first(grants: Mapping[str, tuple[str, ...]], lot: str) -> str | None:
    named = grants.get(lot)
    return named[0] if named else None
