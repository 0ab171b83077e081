"""The compiled model core (sim/core/native.py): used only while every compiled source is
unchanged, and a run's results are the same compiled or not."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.core import native

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_core(tmp_path, monkeypatch):
    """A copy of the compiled modules' sources with empty stand-ins for their extensions and
    a stamp of their hashes, as ``build`` leaves them."""
    for m in native.MODULES:
        (tmp_path / f"{m}.py").write_bytes((native.CORE / f"{m}.py").read_bytes())
        (tmp_path / f"{m}{importlib.machinery.EXTENSION_SUFFIXES[0]}").write_bytes(b"")
    monkeypatch.setattr(native, "CORE", tmp_path)
    monkeypatch.setattr(native, "STAMP", tmp_path / "_compiled.json")
    monkeypatch.delenv("DOMLAB_PURE", raising=False)
    native.STAMP.write_text(json.dumps({"sources": native.source_hashes(), "mypy": "9.9",
                                        "python": sys.implementation.cache_tag}))
    return tmp_path


def test_a_current_build_is_used(fake_core):
    assert native.status() == ("compiled", "mypyc 9.9")


def test_an_edited_source_makes_the_build_stale_and_names_it(fake_core):
    with open(fake_core / "inventory.py", "a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    assert native.status() == ("stale", "edited since compiled: inventory")


def test_a_build_for_another_python_is_stale(fake_core):
    native.STAMP.write_text(json.dumps({"sources": native.source_hashes(),
                                        "python": "cpython-399"}))
    state, why = native.status()
    assert state == "stale" and "cpython-399" in why


def test_pure_on_request_or_when_not_built(fake_core, monkeypatch):
    monkeypatch.setenv("DOMLAB_PURE", "1")
    assert native.status() == ("pure", "DOMLAB_PURE is set")
    monkeypatch.delenv("DOMLAB_PURE")
    next(fake_core.glob("model.*so")).unlink()
    assert native.status()[0] == "pure"


def test_the_source_finder_takes_only_compiled_core_modules():
    finder = native._FromSource()
    spec = finder.find_spec("sim.core.model")
    assert spec is not None and spec.origin == str(native.CORE / "model.py")
    assert finder.find_spec("sim.core.rng") is None       # not compiled: normal import
    assert finder.find_spec("sim.scenario.models") is None


def _run(out: Path, pure: bool) -> tuple[bytes, str]:
    """(kpis.json of a 4-day default run, which model core it used), in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "DOMLAB_PURE"}
    if pure:
        env["DOMLAB_PURE"] = "1"
    code = ("import sys, sim.core, sim.core.model as m; print(sim.core.CORE_BUILD, m.__file__)\n"
            "from sim.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", "scenarios/omnichannel.yaml", "--days", "4",
         "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    build, module_file = proc.stdout.splitlines()[0].split()
    assert module_file.endswith(".py") == (build != "compiled")
    return next(out.rglob("kpis.json")).read_bytes(), build


def test_compiled_and_pure_runs_write_the_same_kpis(tmp_path):
    """The compiled modules change speed, never results: byte-identical kpis.json. (Without
    a build both runs are pure; CI builds, and requires it with DOMLAB_REQUIRE_COMPILED.)"""
    compiled, build = _run(tmp_path / "compiled", pure=False)
    pure, pure_build = _run(tmp_path / "pure", pure=True)
    assert pure_build == "pure"
    if os.environ.get("DOMLAB_REQUIRE_COMPILED"):
        assert build == "compiled", native.status()
    assert compiled == pure
    assert json.loads(compiled)["kpis"]["orders"] > 1000
