"""Run the ``oretrail`` command with a Python audit hook that records every file opened.

    python -m tests.support.open_audit LOGFILE oretrail-args...

Each ``open`` event's path is appended to LOGFILE (one per line), so a test can
show which key files a service process read.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def main() -> int:
    log_path, *argv = sys.argv[1:]
    log = open(log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives as long as the process

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
            log.write(f"{os.fsdecode(args[0])}\n")

    sys.addaudithook(hook)
    from oretrail.cli import main as oretrail  # noqa: PLC0415 - imported after the hook on purpose

    return oretrail(argv)


if __name__ == "__main__":
    sys.exit(main())
