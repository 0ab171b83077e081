"""The simulation core: the SimPy model of one run (``model.World``) and what it is made of:
named random streams (``rng``), geography (``geo``), static network tables (``network``),
demand (``demand``), per-order state and trace rows (``records``), rule decisions
(``decisions``: facts → engine → trace), carrying out sourcing/split and carrier outcomes
(``sourcing``, ``carrier``), pick/pack stations (``fulfillment``), stock and replenishment
(``inventory``), the event log (``events``), CO2e of shipments (``emissions``) and the
conservation checks every run must pass (``invariants``). ``errors`` (the model's error type)
and ``rule_checks`` (rule sets against a scenario) import no SimPy or NumPy, for the CLI.
"""

from sim.core import native as _native

#: ``compiled`` when the mypyc-compiled modules are current and in use, else ``pure``/``stale``
#: (``sim.core.native``); results are the same either way, only speed differs.
CORE_BUILD = _native.select()
