"""Keeping a trace alive when nodes are slow, down or hostile.

One deadline per trace bounds every node call in it; each call also has its own
timeout. Reads are retried on transient failures with jittered exponential
backoff, within a retry budget per trace. Each node has a circuit breaker and a
concurrency limit shared by every trace of this gateway process.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from oretrail.config import ResiliencePolicy
from oretrail.errors import (
    NodeCallError,
    NodeServerError,
    NodeTimedOut,
    NodeUnreachable,
)

__all__ = ["CircuitBreaker", "NodeGuards", "TraceGuard"]

_T = TypeVar("_T")


@dataclass(slots=True)
class CircuitBreaker:
    """Closed until N consecutive failures; then open for a cooldown; then one trial call."""

    failures_to_open: int
    cooldown: float
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if self.clock() - self.opened_at >= self.cooldown:
            self.opened_at = None  # half-open: let this call try
            self.failures = self.failures_to_open - 1
            return True
        return False

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.failures_to_open:
            self.opened_at = self.clock()


@dataclass(slots=True)
class NodeGuards:
    """Per-node breakers and concurrency limits, shared by the traces of one gateway."""

    policy: ResiliencePolicy = field(default_factory=ResiliencePolicy)
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)
    limits: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    def breaker(self, org: str) -> CircuitBreaker:
        if org not in self.breakers:
            p = self.policy
            self.breakers[org] = CircuitBreaker(p.breaker_failures, p.breaker_cooldown)
        return self.breakers[org]

    def limit(self, org: str) -> asyncio.Semaphore:
        if org not in self.limits:
            self.limits[org] = asyncio.Semaphore(self.policy.node_concurrency)
        return self.limits[org]

    def trace(self) -> TraceGuard:
        return TraceGuard(self, asyncio.get_running_loop().time() + self.policy.trace_deadline)


def _transient(error: NodeCallError) -> bool:
    """Worth another try: the node could not be reached, or it failed with a 5xx.

    A timeout is not retried (the time is spent), nor a refusal or a malformed
    answer (the node would say the same again).
    """
    return isinstance(error, NodeUnreachable | NodeServerError)


def _counts_against_node(error: NodeCallError) -> bool:
    return isinstance(error, NodeUnreachable | NodeServerError | NodeTimedOut)


@dataclass(slots=True)
class TraceGuard:
    """One trace's deadline and retry budget, over the gateway's node guards."""

    guards: NodeGuards
    deadline: float
    requests: int = 0
    retries_used: int = 0

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    async def call(self, org: str, attempt: Callable[[float], Awaitable[_T]]) -> _T:
        """Run ``attempt(timeout)`` under the node's breaker and limit, retrying transients."""
        policy = self.guards.policy
        breaker = self.guards.breaker(org)
        self.requests += 1
        tries = 0
        while True:
            if not breaker.allow():
                raise NodeUnreachable(f"circuit open for {org} after repeated failures")
            remaining = self.remaining()
            if remaining <= 0:
                raise NodeTimedOut(f"the trace deadline passed before {org} could be asked")
            try:
                async with asyncio.timeout(remaining), self.guards.limit(org):
                    result = await attempt(min(policy.node_timeout, self.remaining()))
            except TimeoutError:
                breaker.failed()
                raise NodeTimedOut(f"{org} did not answer within the trace deadline") from None
            except NodeCallError as exc:
                delay = policy.backoff * (2**tries) * random.uniform(0.5, 1.5)  # noqa: S311
                if (
                    _transient(exc)
                    and tries < policy.retries
                    and self._take_retry()
                    and self.remaining() > delay
                ):
                    tries += 1
                    await asyncio.sleep(delay)
                    continue
                # Only a call that failed after its retries counts against the node: a
                # burst of resets on pooled connections must not open its circuit.
                if _counts_against_node(exc):
                    breaker.failed()
                raise
            breaker.succeeded()
            return result

    def _take_retry(self) -> bool:
        allowed = int(self.requests * self.guards.policy.retry_budget) + 3
        if self.retries_used >= allowed:
            return False
        self.retries_used += 1
        return True
