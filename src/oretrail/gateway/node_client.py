"""The gateway's seam to participants' nodes: a port, and its aiohttp adapter.

Every failure of a node call becomes a :class:`NodeCallError` whose ``reason``
is a gap reason, so the planner never sees an aiohttp or JSON exception. A node's
answer is checked field by field: a node can say what it likes, but it cannot make
the gateway crash or accept a lot under someone else's name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import aiohttp

from oretrail.config import Participant
from oretrail.domain.lotgraph import GapReason, TracedInput, TracedLot
from oretrail.domain.model import (
    MASS_UNITS,
    Activity,
    Certificate,
    Custody,
    Facility,
    TransitPoint,
    is_number,
)
from oretrail.errors import NodeCallError
from oretrail.node_api import LOTS_AT_QUERY, LOTS_QUERY, OUTPUTS_QUERY

__all__ = [
    "GrantPass",
    "HttpNodeClient",
    "LotReply",
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
    """A continuation grant to forward with a request for ``lot``, and the token its node
    received. One grant opens many lots: a request carries each distinct grant once."""

    lot: str
    grant: str
    parent_token: str


@dataclass(frozen=True, slots=True)
class NodeCredential:
    """What one request to one node carries: a delegated token and the grants it needs."""

    token: str
    grants: tuple[GrantPass, ...] = ()


@dataclass(frozen=True, slots=True)
class LotReply:
    """A node's answer for one id: the lot, or the reason it was not given."""

    id: str
    status: str
    detail: str | None
    lot: TracedLot | None


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
        """One batched ``lots(ids:)`` call; raises NodeCallError on any failure."""
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
        distinct = dict.fromkeys(
            (g.grant, g.parent_token) for g in (credential.grants if credential else ())
        )
        grants = [{"grant": grant, "parentToken": parent} for grant, parent in distinct]
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
            raise NodeCallError(GapReason.INVALID_RESPONSE, f"node {node.id}: {exc}") from None

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
            headers["Authorization"] = f"Bearer {credential.token}"
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
            raise NodeCallError(GapReason.TIMEOUT, f"{where} did not answer in time") from None
        except aiohttp.ClientConnectorError as exc:
            raise NodeCallError(
                GapReason.UNREACHABLE, f"{where} is unreachable: {exc.strerror}"
            ) from None
        except aiohttp.ClientError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise NodeCallError(GapReason.UNREACHABLE, f"{where} failed: {reason[:200]}") from None
        if status == 401:
            raise NodeCallError(
                GapReason.WITHHELD,
                f"{where} refused the request's credentials: "
                f"{_first_error(_errors_of(body)).removeprefix(': ')}",
            )
        if status != 200:
            raise NodeCallError(GapReason.INVALID_RESPONSE, f"{where} answered HTTP {status}")
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise NodeCallError(
                GapReason.INVALID_RESPONSE, f"{where} answered with no valid JSON"
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
            errors = document.get("errors") if isinstance(document, dict) else None
            if _all_withheld(errors):
                raise NodeCallError(GapReason.WITHHELD, f"{where}{_first_error(errors)}")
            raise NodeCallError(
                GapReason.INVALID_RESPONSE, f"{where} answered without data{_first_error(errors)}"
            )
        return document

    async def _read_limited(self, response: aiohttp.ClientResponse, where: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self._max_bytes:
                raise NodeCallError(
                    GapReason.INVALID_RESPONSE,
                    f"{where} answered with more than {self._max_bytes} bytes",
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _errors_of(body: bytes) -> object:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return document.get("errors") if isinstance(document, dict) else None


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


def _withheld_by_index(document: dict[str, Any], at: tuple[str, ...]) -> dict[int, set[str]]:
    """Field groups withheld per item of the list at ``data`` path ``at``.

    Only WITHHELD errors inside an item of that list are expected; any other error,
    or one elsewhere, makes the answer a bad one.
    """
    errors = document.get("errors")
    if errors is None:
        return {}
    withheld: dict[int, set[str]] = {}
    for error in _list(errors, "errors"):
        extensions = error.get("extensions") if isinstance(error, dict) else None
        path = error.get("path") if isinstance(error, dict) else None
        if not isinstance(extensions, dict) or extensions.get("code") != "WITHHELD":
            raise _Shape(f"error in the answer: {str(error)[:200]}")
        group = extensions.get("group")
        if (
            not isinstance(path, list)
            or len(path) <= len(at)
            or tuple(path[: len(at)]) != at
            or type(path[len(at)]) is not int
            or not isinstance(group, str)
        ):
            raise _Shape("a WITHHELD error without a usable path or group")
        withheld.setdefault(path[len(at)], set()).add(group)
    return withheld


def _refuse_withheld(document: dict[str, Any], field: str) -> None:
    errors = document.get("errors")
    if errors is None or errors == []:
        return
    if _all_withheld(errors):
        raise NodeCallError(GapReason.WITHHELD, f"{field} withheld by the owner's policy")
    raise _Shape(f"error in the answer: {str(errors)[:200]}")


def _first_error(errors: object) -> str:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f": {str(errors[0].get('message', ''))[:200]}"
    return ""


class _Shape(Exception):
    """A node's answer does not have the shape the node API promises."""


def parse_lots(node: str, ids: Sequence[str], document: dict[str, Any]) -> dict[str, LotReply]:
    """Check a ``lots`` answer against the ids asked and the node that answered."""
    try:
        withheld = _withheld_by_index(document, ("lots", "answers"))
        result = _get(document.get("data"), "lots")
        items = _list(_get(result, "answers"), "answers")
        grants = _grants(_get(result, "continuations"))
        places: _Places = {}
        replies: dict[str, LotReply] = {}
        for index, item in enumerate(items):
            lot_id = _str(_get(item, "id"), "id")
            status = _str(_get(item, "status"), "status")
            raw_lot = _get(item, "lot")
            groups = frozenset(withheld.get(index, ()))
            lot = None if raw_lot is None else _traced_lot(raw_lot, groups, grants, places)
            if status == "FOUND" and (lot is None or lot.id != lot_id):
                raise _Shape(f"lot {lot_id} is FOUND but the lot given is another or missing")
            if lot is not None and lot.owner != node:
                raise _Shape(f"node {node} answered lot {lot_id} as owned by {lot.owner!r}")
            replies[lot_id] = LotReply(lot_id, status, _opt_str(item.get("detail")), lot)
        missing = [i for i in ids if i not in replies]
        if missing:
            raise _Shape(f"no answer for {len(missing)} of the ids asked, e.g. {missing[0]}")
        return replies
    except _Shape as exc:
        raise NodeCallError(GapReason.INVALID_RESPONSE, f"node {node}: {exc}") from None


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
        raise NodeCallError(GapReason.INVALID_RESPONSE, f"node {node}: {exc}") from None


def _grants(raw: Any) -> dict[str, str]:
    """Which forwarded grant opens which lot, as the answering node says.

    Only routing: the gateway forwards a grant to the owner of the lots it names, and
    that node verifies what the grant really opens.
    """
    grants: dict[str, str] = {}
    for continuation in _list(raw, "continuations"):
        grant = _str(_get(continuation, "grant"), "continuations.grant")
        for lot in _list(_get(continuation, "lots"), "continuations.lots"):
            grants.setdefault(_str(lot, "continuations.lots"), grant)
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
    raw: Any, withheld: frozenset[str], grants: Mapping[str, str], places: _Places
) -> TracedLot:
    """A lot as the node gave it; fields of withheld groups arrive as null."""
    lot_id = _str(_get(raw, "id"), "lot.id")
    contents_raw = raw.get("contents")
    contents = (
        None
        if contents_raw is None
        else {
            _str(_get(c, "element"), "element"): _fraction(_get(c, "fraction"), "fraction")
            for c in _list(contents_raw, "contents")
        }
    )
    custody_raw = raw.get("custody")
    try:
        custody = None if custody_raw is None else Custody(custody_raw)
    except ValueError:
        raise _Shape(f"lot {lot_id}: unknown custody model {custody_raw!r}") from None
    quantity = raw.get("quantity")
    inputs_raw = raw.get("inputs")
    facility, certificates = _place(raw.get("facility"), places)
    return TracedLot(
        id=lot_id,
        owner=_str(_get(raw, "owner"), "owner"),
        material=_opt_str(raw.get("material")) or "(withheld)",
        quantity_kg=None if quantity is None else _kilograms(quantity, lot_id, strict=False),
        contents=contents,
        custody=custody,
        facility=facility,
        certificates=certificates,
        recycled_pre_consumer=_opt_fraction(raw.get("recycledPreConsumer")),
        recycled_post_consumer=_opt_fraction(raw.get("recycledPostConsumer")),
        inputs=() if inputs_raw is None else _inputs(inputs_raw, lot_id, grants),
        withheld=withheld,
        produced_at=_opt_date(raw.get("producedAt")),
        transit=_transit(raw.get("transit"), "origin" in withheld),
    )


def _inputs(raw: Any, consumer: str, grants: Mapping[str, str]) -> tuple[TracedInput, ...]:
    # The hottest loop of a trace (every input link): one flat loop, exact type checks.
    inputs = []
    for link in _list(raw, "inputs"):
        lot = _str(_get(link, "lot"), "inputs.lot")
        quantity = link.get("quantity")
        kilograms = None if quantity is None else _kilograms(quantity, consumer, strict=True)
        owner = link.get("owner")
        inputs.append(
            TracedInput(lot, owner if type(owner) is str else "", kilograms, grants.get(lot))
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
                )
            )
        except ValueError:
            raise _Shape("a certificate date is not YYYY-MM-DD") from None
    return tuple(result)


def _kilograms(raw: Any, lot: str, *, strict: bool) -> float | None:
    value = _get(raw, "value")
    unit = _str(_get(raw, "unit"), "unit")
    # JSON numbers arrive as int or float; bool, NaN and infinity are refused.
    if type(value) not in (int, float) or not 0 < value < math.inf:
        raise _Shape(f"lot {lot}: quantity {value!r} is not a positive number")
    factor = MASS_UNITS.get(unit)
    if factor is None and strict:
        raise _Shape(f"lot {lot}: input quantity unit {unit!r} is not kg or t")
    return None if factor is None else float(value) * factor


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
