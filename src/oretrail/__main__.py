"""``python -m oretrail`` and the ``oretrail`` command: the CLI, interruptible from the start.

Importing the CLI takes about a second (strawberry, graphql-core, the Neo4j driver).
Ctrl-C in that second would show a KeyboardInterrupt traceback from deep inside an
import; until the CLI's own handling is in place, an interrupt ends the command the
way the shell ends any program (status 130), quietly.
"""

import signal
import sys


def run() -> int:
    """Import the CLI with Ctrl-C at its default action, then run it with Python's."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from oretrail.cli import main  # noqa: PLC0415 - imported here, after the line above

    signal.signal(signal.SIGINT, signal.default_int_handler)
    return main()


if __name__ == "__main__":
    sys.exit(run())
