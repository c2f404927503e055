"""The gateway checks the audit credentials nodes present with their facilities.

Each certificate that carries a ``vc+jwt`` is replaced, in the discovered lot graph,
by the certificate the credential itself states (never the node's own copy of the
fields), marked with what the check found (standards.audit_credentials): the issuer
must be an AUDITOR in the gateway's pinned registry copy whose pinned organisation key
signed it, for the facility it is presented with, unrevoked in the status list the
auditor publishes, valid on the lot's production date. Plain records stay UNVERIFIED.

Status lists are fetched over HTTP from the auditor's own endpoint (the scheme, host
and port of its endpoint in the pinned copy, at the path the credential names, so a
credential cannot make the gateway call anywhere else) and cached for the ``ttl`` the
list states (Bitstring Status List v1.0, section 2.2: milliseconds), at most
:data:`MAX_TTL_SECONDS`: a revocation takes effect within that time, with nothing
restarted.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from oretrail.auth.pinned import PinnedRegistry
from oretrail.domain.lotgraph import LotGraph, TracedLot
from oretrail.domain.model import Certificate
from oretrail.standards.audit_credentials import (
    CredentialCheck,
    CredentialStatus,
    check_audit_credential,
)
from oretrail.standards.vc import MAX_CREDENTIAL_BYTES

__all__ = ["MAX_TTL_SECONDS", "AuditCredentials", "StatusListCache"]

AUDITOR_ROLE = "AUDITOR"
# Where a node publishes its status lists (node.app), one name per list.
STATUS_PATH = "/credentials/status/"
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
# The spec's default ttl is 300,000 ms; a list asking for longer is re-read after this.
MAX_TTL_SECONDS = 300.0
DEFAULT_TTL_SECONDS = 300.0

Download = Callable[[str], Awaitable[str]]


class StatusListCache:
    """Status list credentials by URL, each kept for the ttl it states."""

    def __init__(self, download: Download, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._download = download
        self._clock = clock
        self._lists: dict[str, tuple[float, str]] = {}

    async def get(self, url: str) -> str:
        """The list at ``url``: cached while fresh, else downloaded (OSError when it fails)."""
        now = self._clock()
        cached = self._lists.get(url)
        if cached is not None and cached[0] > now:
            return cached[1]
        token = await self._download(url)
        self._lists[url] = (now + _ttl_seconds(token), token)
        return token


def _ttl_seconds(token: str) -> float:
    """The list's own ttl hint, read before verification: it only bounds the cache."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        ttl = payload["credentialSubject"]["ttl"]
    except (ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError):
        return DEFAULT_TTL_SECONDS
    if type(ttl) is not int or ttl < 0:
        return DEFAULT_TTL_SECONDS
    return min(ttl / 1000, MAX_TTL_SECONDS)


def http_download(session: aiohttp.ClientSession, *, timeout: float = 5.0) -> Download:
    """GETs a status list credential (``application/vc+jwt``); OSError when it cannot."""

    async def download(url: str) -> str:
        try:
            async with session.get(
                url, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False
            ) as response:
                if response.status != 200:
                    raise OSError(f"{url} answered HTTP {response.status}")
                body = await response.content.read(MAX_CREDENTIAL_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OSError(f"{url} could not be read: {exc}") from None
        if len(body) > MAX_CREDENTIAL_BYTES:
            raise OSError(f"{url} holds more than a status list")
        return body.decode("ascii", "replace").strip()

    return download


class AuditCredentials:
    """Checks the audit credentials in a lot graph against a pinned registry copy."""

    def __init__(self, pinned: PinnedRegistry, lists: StatusListCache) -> None:
        self._pinned = pinned
        self._lists = lists

    def recording(self) -> tuple[AuditCredentials, dict[str, str]]:
        """A copy for one trace that notes each status list it reads, by URL path: the
        trace's evidence bundle carries them (signed by their auditors), so a verifier
        can check revocation again without asking anyone (oretrail.verify)."""
        seen: dict[str, str] = {}
        shared = self._lists

        async def download(url: str) -> str:
            token = await shared.get(url)
            seen[urlsplit(url).path] = token
            return token

        return AuditCredentials(self._pinned, StatusListCache(download)), seen

    def _auditors(self) -> frozenset[str]:
        return frozenset(org for org, m in self._pinned.members.items() if AUDITOR_ROLE in m.roles)

    async def _fetch(self, auditor: str, url: str) -> str:
        """The auditor's status list named by ``url``, read from the auditor's endpoint.

        Only the path of ``url`` is used (it must be under /credentials/status/): the
        list is read from the scheme, host and port of the auditor's endpoint in the
        pinned copy, so a credential never makes the gateway call a host it names, and
        an auditor whose endpoint moves keeps its credentials checkable.
        """
        member = self._pinned.member(auditor)
        path = _status_path(url)
        if member is None or path is None:
            raise OSError(f"{url} is not a status list path under {STATUS_PATH}")
        base = urlsplit(member.endpoint)
        return await self._lists.get(urlunsplit((base.scheme, base.netloc, path, "", "")))

    async def check(self, graph: LotGraph, as_of: date) -> LotGraph:
        """The graph with every credential-bearing certificate checked (a new graph)."""
        lots = {}
        for lot_id, lot in graph.lots.items():
            presents = any(c.credential is not None for c in lot.certificates)
            lots[lot_id] = (
                await self._checked_lot(lot, lot.produced_at or as_of) if presents else lot
            )
        return replace(graph, lots=lots)

    async def _checked_lot(self, lot: TracedLot, day: date) -> TracedLot:
        certificates = []
        for presented in lot.certificates:
            if presented.credential is None:
                certificates.append(presented)
                continue
            certificates.append(await self._checked(presented, presented.credential, day))
        return replace(lot, certificates=tuple(certificates))

    async def check_one(self, token: str, day: date) -> CredentialCheck:
        """One credential's check on ``day`` (``oretrail credential verify``)."""
        return await check_audit_credential(
            token,
            org_keys=self._pinned.org_keys,
            auditors=self._auditors(),
            day=day,
            fetch_status_list=self._fetch,
        )

    async def _checked(self, presented: Certificate, token: str, day: date) -> Certificate:
        result = await self.check_one(token, day)
        stated = result.certificate
        status = result.status
        if stated is not None and stated.subject != presented.subject:
            # A genuine credential for another facility, presented as this one's.
            status, stated = CredentialStatus.FORGED, None
        base = stated or presented
        return replace(base, credential=token, verification=str(status))


def _status_path(url: str) -> str | None:
    """The path of a status list URL, if it names one list under STATUS_PATH."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    name = parts.path.removeprefix(STATUS_PATH)
    if parts.scheme not in ("http", "https") or not parts.path.startswith(STATUS_PATH):
        return None
    return parts.path if _NAME.fullmatch(name) else None
