"""``domlab --help`` and ``domlab validate`` start fast because they never import the model's
libraries (SimPy, NumPy, Arrow, tqdm) nor the analysis ones (pandas, scipy, matplotlib, Dask,
Streamlit): the CLI, the scenario loader and ``prepare_engine`` import them lazily.

Each case runs the real command in a fresh interpreter (``runpy``, as ``python -m sim.cli``
does) and checks ``sys.modules`` afterwards: what was imported, never how long it took
(``bench/startup.py`` times it).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

#: Top-level packages neither command may import (nor anything under them).
LAZY = ("numpy", "simpy", "pyarrow", "tqdm", "pandas", "scipy", "matplotlib", "dask",
        "distributed", "streamlit", "highspy", "durable", "openpyxl", "zipcodes")

#: Runs the CLI in-process like ``python -m sim.cli ARGS`` and prints its exit code, stdout
#: and the names in ``sys.modules`` as JSON (the command's own output is captured first).
_PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = ["domlab", *sys.argv[1:]]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        runpy.run_module("sim.cli", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "stdout": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def run_probe(*args: str) -> dict:
    """Exit code, stdout and imported module names of ``domlab ARGS`` in a new interpreter."""
    r = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.splitlines()[-1])


def lazy_imported(modules: list[str]) -> list[str]:
    """The modules of ``LAZY`` packages among ``modules``."""
    return [m for m in modules if m.split(".")[0] in LAZY]


def test_help_imports_none_of_the_heavy_libraries():
    probe = run_probe("--help")
    assert probe["code"] == 0 and "validate" in probe["stdout"]
    assert "sim.cli.parser" in probe["modules"]
    assert lazy_imported(probe["modules"]) == []


def test_validate_imports_none_of_the_heavy_libraries():
    probe = run_probe("validate", "scenarios/omnichannel.yaml")
    assert probe["code"] == 0
    assert "OK: scenario 'omnichannel'" in probe["stdout"]
    modules = probe["modules"]
    # the command really loaded the scenario and built the engine ...
    assert {"sim.scenario.loader", "rules.compiled", "sim.core.rule_checks"} <= set(modules)
    # ... without the model, the KPIs, the executors, the reports or, for a scenario without
    # an order history, the history reader
    assert not {"sim.core.model", "sim.core.decisions", "sim.measure.kpis",
                "sim.experiments.executors", "reports.charts",
                "sim.scenario.history"} & set(modules)
    assert lazy_imported(modules) == []


@pytest.mark.parametrize("module", ["sim.cli.parser", "sim.scenario", "sim.cli.run",
                                    "sim.experiments.runner"])
def test_validate_modules_import_none_of_the_heavy_libraries(module):
    r = subprocess.run([sys.executable, "-c", f"import json, sys, {module}; "
                        "print(json.dumps(sorted(sys.modules)))"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert lazy_imported(json.loads(r.stdout)) == []
