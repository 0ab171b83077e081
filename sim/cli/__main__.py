"""``python -m sim.cli``: the ``domlab`` command."""

import sys

from sim.cli import main

sys.exit(main())
