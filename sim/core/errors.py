"""The model's error type, in a module of its own: the CLI catches it without importing the
model (and SimPy and NumPy with it), so ``domlab validate`` starts fast."""

from __future__ import annotations

__all__ = ["SimulationError"]


class SimulationError(RuntimeError):
    """The model cannot finish (e.g. a node never empties its queue)."""
