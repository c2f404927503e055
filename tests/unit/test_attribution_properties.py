"""Properties of attribution and risk flags over generated federations (hypothesis).

Each example is a random supply graph (diamonds, cycles, traders without inputs,
artisanal and CAHRA sites, claims beyond supply) as the trace sees it: some lots
behind failed nodes, some field groups withheld. Whatever is hidden:

- for every element, coverage + the sum of gap shares = 1 (within 1e-9);
- no share is negative or above 1;
- no artisanal or CAHRA origin reachable in the generated graph is missing from
  the flags unless a gap on its way carries a share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import hypothesis.strategies as st
from hypothesis import given, settings

from oretrail.domain.attribution import Attribution, attribute
from oretrail.domain.lotgraph import GapReason, LotGraph, TracedInput, TracedLot, Unopened
from oretrail.domain.model import Activity, Custody, Facility
from oretrail.domain.risks import RiskKind, RiskPolicy, assess_risks, unchecked

POLICY = RiskPolicy(as_of=date(2026, 11, 26), cahra_regions={("CD", "Lualaba")})
FAILURES = [GapReason.UNREACHABLE, GapReason.TIMEOUT, GapReason.INVALID_RESPONSE]
WITHHOLDABLE = ["contents", "quantities", "inputs", "origin"]


@dataclass
class TrueLot:
    """A lot as it really is, before the trace's view of it."""

    id: str
    activities: frozenset[Activity]
    contents: dict[str, float]
    quantity: float
    inputs: list[tuple[str, float]]
    artisanal: bool = False
    cahra: bool = False
    listed_region: bool = False


@dataclass
class Federation:
    lots: dict[str, TrueLot]
    failed: set[str] = field(default_factory=set)
    withheld: dict[str, frozenset[str]] = field(default_factory=dict)


def lot_id(index: int) -> str:
    return f"urn:oretrail:lot:org{index % 5}:L{index}"


@st.composite
def federations(draw: st.DrawFn) -> Federation:
    count = draw(st.integers(2, 12))
    ids = [lot_id(i) for i in range(count)]
    lots: dict[str, TrueLot] = {}
    for index, this in enumerate(ids):
        later = ids[index + 1 :]
        kind = draw(st.sampled_from(["source", "trader", "made"])) if later else "source"
        contents = {"Co": draw(st.floats(0.01, 0.5))}
        if draw(st.booleans()):
            contents["Li"] = draw(st.floats(0.0, 0.3))
        inputs: list[tuple[str, float]] = []
        if kind == "made":
            # Several links, possibly to the same lot (two deliveries); later lots only,
            # so shared inputs make diamonds; a back link now and then makes a cycle.
            for _ in range(draw(st.integers(1, 4))):
                inputs.append((draw(st.sampled_from(later)), draw(st.floats(1.0, 5000.0))))
            if index > 0 and draw(st.integers(0, 9)) == 0:
                inputs.append((draw(st.sampled_from(ids[:index])), draw(st.floats(1.0, 500.0))))
        activities = {
            "source": frozenset(
                draw(st.sampled_from([[Activity.EXTRACTION], [Activity.SCRAP_COLLECTION]]))
            ),
            "trader": frozenset({Activity.TRADING_STORAGE}),
            "made": frozenset(
                draw(st.sampled_from([[Activity.MANUFACTURING], [Activity.PROCESSING_REFINING]]))
            ),
        }[kind]
        lots[this] = TrueLot(
            id=this,
            activities=activities,
            contents=contents,
            # Sometimes more than its inputs can supply: an unsupported claim.
            quantity=draw(st.floats(1.0, 20000.0)),
            inputs=inputs,
            artisanal=draw(st.booleans()),
            cahra=draw(st.integers(0, 3)) == 0,
            listed_region=draw(st.integers(0, 3)) == 0,
        )
    federation = Federation(lots)
    for this in ids[1:]:  # the root is the caller's own lot: always opened, nothing withheld
        if draw(st.integers(0, 5)) == 0:
            federation.failed.add(this)
        else:
            federation.withheld[this] = frozenset(
                g for g in WITHHOLDABLE if draw(st.integers(0, 4)) == 0
            )
    return federation


def traced(federation: Federation) -> LotGraph:
    """The lot graph a trace discovers: only what visible links reach, as the caller sees it."""
    root = lot_id(0)
    graph = LotGraph(root=root)
    frontier = [root]
    while frontier:
        this = frontier.pop()
        if this in graph.lots or this in graph.unopened:
            continue
        owner = this.split(":")[3]
        if this in federation.failed:
            reason = FAILURES[len(this) % len(FAILURES)]
            graph.unopened[this] = Unopened(this, owner, reason, "node failed")
            continue
        true = federation.lots[this]
        hidden = federation.withheld.get(this, frozenset())
        quantities = "quantities" not in hidden
        inputs = (
            ()
            if "inputs" in hidden
            else tuple(
                TracedInput(i, i.split(":")[3], kg if quantities else None) for i, kg in true.inputs
            )
        )
        region = "Lualaba" if true.listed_region else "Elsewhere"
        facility = Facility(
            f"urn:oretrail:facility:{owner}:site",
            owner,
            f"{owner} site",
            "site",
            "" if "origin" in hidden else "CD",
            "" if "origin" in hidden else region,
            artisanal="origin" not in hidden and true.artisanal,
            cahra="origin" not in hidden and true.cahra,
            activities=None if "origin" in hidden else true.activities,
        )
        graph.lots[this] = TracedLot(
            id=this,
            owner=owner,
            material="material",
            quantity_kg=true.quantity if quantities else None,
            contents=None if "contents" in hidden else dict(true.contents),
            custody=Custody.MASS_BALANCE,
            facility=facility,
            inputs=inputs,
            withheld=hidden,
            transit=None if "origin" in hidden else (),
        )
        frontier.extend(link.lot for link in inputs)
    return graph


def ancestors_or_self(federation: Federation, target: str) -> set[str]:
    parents: dict[str, set[str]] = {}
    for lot in federation.lots.values():
        for input_id, _ in lot.inputs:
            parents.setdefault(input_id, set()).add(lot.id)
    seen = {target}
    frontier = [target]
    while frontier:
        for parent in parents.get(frontier.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return seen


def reachable(federation: Federation) -> set[str]:
    seen = {lot_id(0)}
    frontier = [lot_id(0)]
    while frontier:
        for input_id, _ in federation.lots[frontier.pop()].inputs:
            if input_id not in seen:
                seen.add(input_id)
                frontier.append(input_id)
    return seen


def shares_of(attribution: Attribution) -> Iterable[float]:
    for origin in attribution.origins:
        yield from origin.shares.values()
    for gap in attribution.gaps:
        yield from gap.shares.values()
    for through in attribution.through.values():
        yield from through.values()


@settings(max_examples=400, deadline=None)
@given(federations())
def test_every_share_is_accounted_for_and_no_risky_origin_disappears(
    federation: Federation,
) -> None:
    graph = traced(federation)
    result = attribute(graph)
    risks = assess_risks(graph, result, {}, POLICY)
    unchecked(graph, {}, POLICY)  # never raises, whatever is hidden

    assert result.elements, "the root declares Co, so there is always an element"
    for element in result.elements:
        gaps = sum(g.shares.get(element, 0.0) for g in result.gaps)
        assert abs(result.coverage[element] + gaps - 1.0) <= 1e-9, (element, result)
    for value in [*shares_of(result), *(s for r in risks for s in r.shares.values())]:
        assert -1e-12 <= value <= 1 + 1e-9

    flagged = {(r.kind, r.lot) for r in risks}
    carrying = {g.lot for g in result.gaps if sum(g.shares.values()) > 0}
    for risky in reachable(federation):
        true = federation.lots[risky]
        is_source = bool(true.activities & {Activity.EXTRACTION, Activity.SCRAP_COLLECTION})
        if not is_source or not (true.artisanal or true.cahra or true.listed_region):
            continue
        # Seen as an origin: opened, with its place and its (empty) inputs shown.
        seen = risky in graph.lots and not {"origin", "inputs"} & graph.lots[risky].withheld
        if seen:
            if true.artisanal:
                assert (RiskKind.ASM_ORIGIN, risky) in flagged
            if true.cahra or true.listed_region:
                assert (RiskKind.CAHRA_ORIGIN, risky) in flagged
        else:
            assert carrying & ancestors_or_self(federation, risky), (risky, result.gaps)
