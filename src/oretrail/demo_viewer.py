"""The demo's offer of the trace viewer: a development user key, written for the user to load.

``oretrail demo --viewer DIR`` keeps the demo federation running after its report,
writes a fresh user key of the pack maker and the certificate its organisation key
issued for it into DIR (the demo's own keys, never one the gateway holds), and
prints the viewer's address. The user opens the page and loads the two files; the
page signs every request with that key in the browser (docs/viewer.md).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from oretrail.bootstrap import Federation

__all__ = ["offer_viewer"]


async def offer_viewer(federation: Federation, directory: Path, org: str) -> None:
    """Write ``org``'s development user key into ``directory``, say where the viewer is,
    and serve until interrupted (Ctrl-C)."""
    user = federation.user(org, f"viewer@{org}")
    pem = user.save(directory)
    page = federation.gateway_url.removesuffix("/graphql") + "/"
    print(
        f"Trace viewer: open {page}\n"
        f"  load the key {pem}\n"
        f"  and the certificate {pem.with_suffix('.cert')}\n"
        f"  ({org}'s development user, certified by the demo's own {org} key: valid only "
        "in this demo's federation, for a few hours)\n"
        "Serving until interrupted (Ctrl-C).",
        flush=True,
    )
    await asyncio.Event().wait()
