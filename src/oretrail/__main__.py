"""``python -m oretrail`` runs the CLI."""

import sys

from oretrail.cli import main

sys.exit(main())
