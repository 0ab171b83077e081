"""The compiled model core: the hot modules of ``sim.core`` compiled to C by mypyc.

They stay plain Python, the source and the fallback: compiling changes speed, never results
(``kpis.json`` is byte-identical either way, tested). ``python -m sim.core build``
(run by ``make install``) writes one extension module beside each source and a stamp holding
the hash of every source compiled. On import, ``sim.core`` uses the compiled modules only if
every hash still matches: after an edit (or with ``DOMLAB_PURE=1``) it imports all of them
from source, since compiled modules call each other directly and cannot be mixed with edited
ones. ``python -m sim.core status`` says which is in use.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent
#: The modules compiled: the ones a run spends its time in (the clock, rule conditions, events,
#: records and stock bookkeeping, decisions, sourcing, carriers, pick floors, returns and the
#: World itself).
MODULES = ("clock", "conditions", "events", "records", "network", "inventory", "decisions",
           "sourcing", "carrier", "fulfillment", "returns", "model")
#: Written by ``build``: the source hashes compiled, and by what.
STAMP = CORE / "_compiled.json"
#: mypyc's shared library of the group (``sim/core/native__mypyc…so``).
GROUP = "sim.core.native"


#: How mypy reads the modules for mypyc: other packages' types are taken on trust, and
#: NumPy's not at all (its stubs type arrays by shape; compiled code would check them).
_MYPY_CONFIG = """\
[mypy]
ignore_missing_imports = True
follow_imports = silent
disable_error_code = annotation-unchecked

[mypy-numpy.*]
follow_imports = skip
"""


def source_hashes() -> dict[str, str]:
    """SHA-256 of each compiled module's source, by module name."""
    return {m: hashlib.sha256((CORE / f"{m}.py").read_bytes()).hexdigest() for m in MODULES}


def _extension(module: str) -> Path | None:
    """The compiled extension file of ``module`` beside its source, if there is one."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = CORE / f"{module}{suffix}"
        if path.exists():
            return path
    return None


def status() -> tuple[str, str]:
    """(``compiled``, ``pure`` or ``stale``; why) for this process and checkout."""
    if not STAMP.exists() or any(_extension(m) is None for m in MODULES):
        return "pure", "not built (python -m sim.core build)"
    try:
        stamp = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "stale", f"{STAMP.name} is unreadable"
    changed = [m for m, h in source_hashes().items() if stamp.get("sources", {}).get(m) != h]
    if changed:
        return "stale", f"edited since compiled: {', '.join(changed)}"
    python = sys.implementation.cache_tag
    if stamp.get("python") != python:
        return "stale", f"compiled for {stamp.get('python')}, running {python}"
    if os.environ.get("DOMLAB_PURE"):
        return "pure", "DOMLAB_PURE is set"
    return "compiled", f"mypyc {stamp.get('mypy', '?')}"


class _FromSource:
    """A meta path finder (``sys.meta_path``) that imports the compiled modules from their
    ``.py`` sources, ignoring the extensions."""

    def find_spec(self, name: str, path: object = None, target: object = None):
        """The source spec of a compiled ``sim.core`` module; None for any other."""
        package, _, module = name.rpartition(".")
        if package != __package__ or module not in MODULES:
            return None
        return importlib.util.spec_from_file_location(name, CORE / f"{module}.py")


def select() -> str:
    """Make ``sim.core``'s compiled modules import compiled only when every one is current;
    return what ``status`` says. Called once, by ``sim.core`` itself."""
    state, _ = status()
    if state != "compiled" and any(_extension(m) is not None for m in MODULES):
        if not any(isinstance(f, _FromSource) for f in sys.meta_path):
            sys.meta_path.insert(0, _FromSource())
    return state


def build(jobs: int = 2) -> None:
    """Compile ``MODULES`` with mypyc in place and write ``STAMP`` (raises on failure,
    leaving no half-built state: the stamp is written last)."""
    import shutil
    import tempfile

    from mypyc.build import mypycify
    from setuptools import Distribution

    clean()
    root = CORE.parent.parent
    hashes = source_hashes()
    with tempfile.TemporaryDirectory(prefix="domlab-native-") as tmp:
        cwd = Path.cwd()
        os.chdir(root)
        try:
            config = Path(tmp) / "mypy.ini"
            config.write_text(_MYPY_CONFIG, encoding="utf-8")
            extensions = mypycify(
                [f"--config-file={config}"] + [f"sim/core/{m}.py" for m in MODULES],
                opt_level="3", debug_level="0", group_name=GROUP, multi_file=False,
                target_dir=str(Path(tmp) / "c"))
            for ext in extensions:      # mypyc writes a dotted group's headers by its path
                ext.include_dirs.append(str(Path(tmp) / "c" / "sim" / "core"))
            dist = Distribution({"name": "domlab-native", "ext_modules": extensions})
            cmd = dist.get_command_obj("build_ext")
            cmd.build_lib, cmd.build_temp, cmd.parallel = str(Path(tmp) / "lib"), tmp, jobs
            dist.run_command("build_ext")
        finally:
            os.chdir(cwd)
        for built in (Path(tmp) / "lib").rglob("*.so"):
            shutil.copy2(built, root / built.relative_to(Path(tmp) / "lib"))
    import mypy.version
    tmp_stamp = STAMP.with_suffix(".tmp")
    tmp_stamp.write_text(json.dumps({"sources": hashes, "mypy": mypy.version.__version__,
                                     "python": sys.implementation.cache_tag}, indent=1),
                         encoding="utf-8")
    tmp_stamp.replace(STAMP)


def clean() -> None:
    """Remove the compiled modules and the stamp (runs then use the sources)."""
    STAMP.unlink(missing_ok=True)
    for path in CORE.glob("*.so"):
        path.unlink()


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.core build|status|clean``."""
    args = sys.argv[1:] if argv is None else argv
    if args not in (["build"], ["status"], ["clean"]):
        print("usage: python -m sim.core build|status|clean", file=sys.stderr)
        return 2
    if args == ["build"]:
        try:
            build()
        except Exception as exc:  # a compiler or mypyc failure: say it in one line
            print(f"sim.core.native: compiling the model core failed: {exc}", file=sys.stderr)
            return 1
    elif args == ["clean"]:
        clean()
    state, why = status()
    print(f"model core: {state} ({why})")
    return 0
