"""``domlab`` command line. ``main(argv)`` parses (``sim.cli.parser``), imports only the module
of the command that runs, and turns user errors into one line on stderr.

Exit codes: 0 success, 1 a check failed, 2 bad input (a one-line error naming file and field).
The only ``sim`` package that imports ``reports``.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["main", "UsageError"]


class UsageError(ValueError):
    """A command-line argument is invalid."""


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean bad input (exit 2), imported only once a command has failed."""
    from rules.schema import RuleError
    from sim.core.errors import SimulationError
    from sim.scenario import ScenarioError
    from sim.store.outdir import OutputError

    return ScenarioError, RuleError, SimulationError, UsageError, OutputError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``domlab`` console script (also callable in-process by tests)."""
    from sim.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    target = args.target(args) if callable(args.target) else args.target
    module, name = target.split(":")
    try:
        return getattr(importlib.import_module(module), name)(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if isinstance(exc, _user_errors()):
            print(f"domlab: error: {exc}", file=sys.stderr)
            return 2
        raise
