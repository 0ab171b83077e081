"""The architecture holds: the import-linter layers contract bites on a wrong-way import, and
the lazy CLI never loads the heavy libraries for ``--help`` or ``validate``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"]
LAYERS = next(c["name"] for c in CONTRACTS if c["type"] == "layers")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
HEAVY = {"scipy", "pandas", "matplotlib", "dask", "distributed"}


def lint_imports(tree: Path) -> tuple[int, str]:
    """``lint-imports`` run on the copy in ``tree``, its exit code and its output on one line."""
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "250"}
    r = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env,
                       capture_output=True, text=True, timeout=120)
    return r.returncode, " ".join((r.stdout + r.stderr).split())


def copy_project(dst: Path) -> Path:
    for package in ("sim", "rules", "reports"):
        shutil.copytree(ROOT / package, dst / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", dst)
    return dst


@pytest.mark.skipif(not LINT_IMPORTS.is_file(), reason="import-linter not installed")
@pytest.mark.parametrize(("module", "line", "chain"), [
    (None, None, None),
    ("rules/schema.py", "import sim.cli  # noqa", "rules.schema -> sim.cli"),
    ("sim/core/model.py", "import reports  # noqa", "sim.core.model -> reports"),
], ids=["unmodified", "rules-imports-cli", "core-imports-reports"])
def test_layers_contract_catches_a_wrong_way_import(tmp_path, module, line, chain):
    tree = copy_project(tmp_path)
    if module is not None:
        with (tree / module).open("a") as f:
            f.write(f"\n{line}\n")
    code, out = lint_imports(tree)
    if module is None:
        assert code == 0, out
        assert f"{LAYERS} KEPT" in out and "Contracts: 1 kept, 0 broken." in out
    else:
        assert code != 0, out
        assert f"{LAYERS} BROKEN" in out and "Contracts: 0 kept, 1 broken." in out
        assert chain in out, out


def imported_modules(*args: str) -> list[str]:
    """Every module ``python -X importtime -m sim.cli ARGS`` imported, in import order."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "sim.cli", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [ln.split("|")[-1].strip() for ln in r.stderr.splitlines()
            if ln.startswith("import time:")]
    assert rows[0] == "imported package"                   # the header line
    return rows[1:]


@pytest.mark.parametrize("args", [["--help"], ["validate", "scenarios/omnichannel.yaml"]],
                         ids=["help", "validate"])
def test_cli_does_not_import_heavy_libraries(args):
    modules = imported_modules(*args)
    assert "sim.cli.parser" in modules                      # the parse worked
    if args[0] == "validate":
        # importlib.import_module (the command's own module) is not timed, what it imports is
        assert "sim.scenario.loader" in modules and "pydantic" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == [], heavy
