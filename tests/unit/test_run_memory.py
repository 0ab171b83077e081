"""A finished run hands its objects back at once: the World lets go of its state, so its
shipments are freed by reference counting, not left for a full cyclic collection."""

from __future__ import annotations

import ast
import gc
from pathlib import Path

from conftest import make_scenario

from sim.core.fulfillment import Shipment
from sim.core.model import World
from sim.experiments.runner import prepare_engine

ROOT = Path(__file__).resolve().parents[2]


def test_shipments_are_freed_by_reference_counting_when_the_run_returns():
    sc = make_scenario(horizon_days=20, returns={"rate": 0.2})
    gc.collect()
    gc.disable()                         # only reference counting frees objects meanwhile
    gc.set_debug(gc.DEBUG_SAVEALL)       # what the cyclic collector finds goes to gc.garbage
    try:
        with prepare_engine(sc, "compiled") as eng:
            world = World(sc, eng, events="none")
            run = world.run()
        gc.collect()
        cyclic = [o for o in gc.garbage if isinstance(o, Shipment)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not hasattr(world, "_shipments") and not hasattr(world, "env")
    assert len(run.shipments["id"]) > 600
    # Left in cycles: the clock with its pending events (returns due after the end), and at
    # most the parcels those events still name, never the run's shipments.
    assert len(cyclic) <= 5, len(cyclic)


def _cyclic_garbage_after_run(sc) -> tuple[int, int]:
    """(objects only the cyclic collector frees after ``sc`` ran, orders) with the collector
    off throughout, as during a run."""
    gc.collect()
    gc.disable()
    try:
        with prepare_engine(sc, "compiled") as eng:
            run = World(sc, eng, events="full").run()
        return gc.collect(), len(run.orders["t_created"])
    finally:
        gc.enable()


def test_a_run_makes_no_cyclic_garbage_per_order():
    """The collector is off during a run: that is safe only if simulating creates no garbage
    in reference cycles as it goes. What is left is the clock with the events still pending
    at the end (returns and deliveries due later), which does not grow with the horizon."""
    features = dict(returns={"rate": 0.3}, brokering={"consolidation": {"window_hours": 12}},
                    nodes=[{"name": "STORE-LA", "record_accuracy": 0.97}])
    short, n_short = _cyclic_garbage_after_run(make_scenario(horizon_days=15, **features))
    long, n_long = _cyclic_garbage_after_run(make_scenario(horizon_days=45, **features))
    assert n_long > 2.5 * n_short
    assert long < 1.3 * short + 200, (short, long)


def _world_attributes() -> tuple[set[str], tuple[str, ...], tuple[str, ...]]:
    """(attributes World's methods assign, ``World.__deletable__``, ``model._RUN_STATE``) read
    from the source: compiled, the class keeps neither list at run time."""
    tree = ast.parse((ROOT / "sim" / "core" / "model.py").read_text(encoding="utf-8"))
    world = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "World")
    assigned = set()
    for node in ast.walk(world):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else []
        for target in targets:
            assigned |= {e.attr for e in ast.walk(target) if isinstance(e, ast.Attribute)
                         and isinstance(e.value, ast.Name) and e.value.id == "self"}
    deletable = next(ast.literal_eval(n.value) for n in world.body if isinstance(n, ast.Assign)
                     and n.targets[0].id == "__deletable__")
    state = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                 and getattr(n.targets[0], "id", "") == "_RUN_STATE")
    return assigned, deletable, state


def test_a_finished_world_lets_go_of_every_attribute_it_has():
    """A new attribute of World must be in both lists, or a finished run keeps it alive."""
    assigned, deletable, state = _world_attributes()
    assert set(state) == assigned
    assert deletable == state
