"""``python -m sim.core build|status|clean``: the compiled model core (``sim.core.native``)."""

import sys

from sim.core.native import main

sys.exit(main())
