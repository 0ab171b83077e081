"""One fuzz case through ``domlab run``, in process, and the verdict on what it did.

A case must end in one of two ways:

* **ok**: exit 0, the run's conservation invariants hold (``sim.core.invariants``), its
  ``kpis.json`` has only finite numbers, and no hidden temporary entry is left in ``--out``;
* **refused**: exit 2 with one line ``domlab: error: FILE: FIELD: message`` naming a file of
  the case (or, for bad rows, the row-by-row forms of tables and order histories).

Anything else is a failure: **crash** (another exit code or an exception escaping ``main``),
**silent** (exit 0 but an invariant violated, a non-finite KPI or a leftover), **unclear** (exit
2 with a message that names no file of the case, or with a traceback), **warned** (a Python
warning, e.g. numpy's RuntimeWarning, was raised) or **slow** (still running after the
timeout). The harness spies on ``run_scenario`` to check the run the command line made.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from .strategies import Case

__all__ = ["Verdict", "materialise", "judge", "FAILURES"]

#: Verdicts that are failures (the fuzz summary requires zero of each).
FAILURES = ("crash", "silent", "unclear", "warned", "slow")


@dataclass(frozen=True)
class Verdict:
    """What a case did: ``kind`` (ok, refused or one of ``FAILURES``) and a detail line (the
    refusal, or what went wrong)."""

    kind: str
    detail: str


class _Timeout(BaseException):
    """The case ran past its time limit (a BaseException: ``main`` must not swallow it)."""


@contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def ring(signum, frame):
        raise _Timeout()
    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def materialise(case: Case, root: Path) -> Path:
    """Write the case's files (and special files) under ``root``; returns the scenario path."""
    for rel, content in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for rel, kind in case.specials.items():
        path = root / rel
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "loop":
            os.symlink(path.with_suffix(".other"), path)
            os.symlink(path, path.with_suffix(".other"))
        elif kind == "dir":
            path.mkdir()
        elif kind == "big":
            with open(path, "wb") as fh:            # sparse: costs no disk
                fh.truncate(60 * 2**20)
        elif kind == "dev_zero_link":
            os.symlink("/dev/zero", path)
    return root / case.scenario


def _strict_json(path: Path) -> dict:
    def refuse(token: str):
        raise ValueError(f"{path.name} holds {token}")
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _check_run(out: Path, outcomes: list) -> str | None:
    """What is wrong with a run that exited 0, or None."""
    from sim.core.invariants import check_invariants

    if len(outcomes) != 1:
        return f"{len(outcomes)} runs made, expected 1"
    problems = check_invariants(outcomes[0].run)
    if problems:
        return f"invariant: {problems[0]}"
    dirs = [d for d in out.iterdir() if (d / "kpis.json").is_file()]
    hidden = [d.name for d in out.iterdir() if d.name.startswith(".")]
    if hidden:
        return f"left behind: {hidden[0]}"
    if len(dirs) != 1:
        return f"{len(dirs)} run directories"
    try:
        kpis = _strict_json(dirs[0] / "kpis.json")
    except ValueError as exc:
        return str(exc)
    bad = [k for k, v in kpis["kpis"].items() if not math.isfinite(v)]
    return f"KPI {bad[0]} is not finite" if bad else None


_HISTORY_HEAD = re.compile(r"domlab: error: (.+): [\d,]+ bad rows? of [\d,]+ ")


def _row_list(lines: list[str]) -> bool:
    """Whether several lines are one of the two row-by-row refusals: a table's (``FILE: N
    problems:`` then indented lines) or an order history's (``FILE: N bad rows of M …`` then
    ``FILE: row R: …`` lines and maybe ``… and K more``)."""
    if lines[0].endswith("problems:"):
        return all(ln.startswith("  ") for ln in lines[1:])
    head = _HISTORY_HEAD.match(lines[0])
    return head is not None and all(ln.startswith((f"{head[1]}: row ", "… and "))
                                    for ln in lines[1:])


def _check_refusal(err: str, root: Path) -> str | None:
    """What is wrong with an exit-2 message, or None for a clean refusal."""
    lines = err.rstrip("\n").splitlines()
    if not lines or not lines[0].startswith("domlab: error: "):
        return f"no 'domlab: error:' line: {err[:200]!r}"
    if "Traceback" in err:
        return "traceback printed"
    if len(lines) > 1 and not _row_list(lines):
        return f"{len(lines)} lines, not one: {err[:300]!r}"
    if str(root) not in lines[0] and "/dev/" not in lines[0]:
        return f"names no file of the case: {lines[0][:300]!r}"
    return None


def judge(case: Case, root: Path, timeout: int = 60) -> Verdict:
    """Run ``case`` (materialised under ``root``) through ``domlab run --engine compiled`` and
    judge it (see the module docstring)."""
    import sim.cli.run as cli_run
    from sim.cli import main

    scenario = materialise(case, root)
    out = root / "runs"
    args = ["run", str(scenario), "--engine", "compiled", "--out", str(out)]
    if case.days is not None:
        args += ["--days", str(case.days)]
    outcomes: list = []
    real = cli_run.run_scenario

    def spy(sc, engine="durable", **kwargs):
        outcomes.append(real(sc, engine, **kwargs))
        return outcomes[-1]

    stdout, stderr = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with mock.patch.object(cli_run, "run_scenario", spy), redirect_stdout(stdout), \
                    redirect_stderr(stderr), _alarm(timeout):
                try:
                    code = main(args)
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
        except _Timeout:
            return Verdict("slow", f"still running after {timeout} s")
        except BaseException:                      # noqa: BLE001 - a crash is the finding
            return Verdict("crash", traceback.format_exc(limit=-6))
    if caught:
        w = caught[0]
        return Verdict("warned", f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})")
    err = stderr.getvalue()
    if code == 2:
        problem = _check_refusal(err, root)
        return Verdict("unclear", problem) if problem else Verdict("refused", err.strip())
    if code != 0:
        return Verdict("crash", f"exit {code}: {err[-500:]}")
    problem = _check_run(out, outcomes)
    return Verdict("silent", problem) if problem else Verdict("ok", "")
