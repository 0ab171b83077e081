"""Run directories are atomic and concurrent-safe: a writer killed mid-way leaves nothing a
reader lists, concurrent writers of one run leave one complete directory, ``runs gc`` cleans
up, and output paths are checked before anything runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, make_scenario, run_checked

from sim.store.atomic import atomic_dir, owner_pid
from sim.store.gc import collect
from sim.store.outdir import OutputError, check_output_dir
from sim.store.registry import read_registry
from sim.store.rundir import write_run

RUN_FILES = {"scenario.yaml", "kpis.json", "orders.parquet", "shipments.parquet",
             "events.parquet", "trace.parquet", "meta.json"}

#: A writer in its own process: simulates the tiny scenario, then writes its run directory
#: to argv[1]. With argv[2] == "hang" it stops after writing shipments.parquet and waits to
#: be killed; with "barrier" it waits for the file argv[3] before writing.
WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from conftest import make_scenario
import sim.store.rundir as rd
from sim.experiments.runner import run_scenario

out = run_scenario(make_scenario(horizon_days=2), "compiled")
real = rd.pq.write_table
def write_table(table, where, *args, **kw):
    real(table, where, *args, **kw)
    if sys.argv[2] == "hang" and str(where).endswith("shipments.parquet"):
        print("WRITING", flush=True)
        time.sleep(120)
rd.pq.write_table = write_table
if sys.argv[2] == "barrier":
    print("READY", flush=True)
    while not Path(sys.argv[3]).exists():
        time.sleep(0.001)
print(rd.write_run(out, Path(sys.argv[1])), flush=True)
"""


def writer(*args: object) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", WRITER.format(tests=str(ROOT / "tests")),
                             *map(str, args)], stdout=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)


def visible(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


def hidden(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def test_a_writer_killed_mid_write_leaves_nothing_listed(domlab, tmp_path):
    out = tmp_path / "runs"
    proc = writer(out, "hang")
    assert proc.stdout.readline().strip() == "WRITING"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert visible(out) == []
    (tmp,) = hidden(out)
    assert owner_pid(tmp) == proc.pid and tmp.startswith(".tiny-s1-")
    assert read_registry(out).empty
    assert domlab("runs", "list", "--root", out).stdout.strip() == f"no runs under {out}"

    done = write_run(run_checked(make_scenario(horizon_days=2)), out)     # the rerun
    assert visible(out) == [done.name] and set(os.listdir(done)) == RUN_FILES
    shown = domlab("runs", "show", done.name[:12], "--root", out)
    assert shown.returncode == 0 and f"run_id:                {done.name}" in shown.stdout
    assert len(read_registry(out)) == 1

    gc = domlab("runs", "gc", "--root", out)
    assert gc.stdout.splitlines() == [
        f"removed {out / tmp} (owner pid {proc.pid} is not running)",
        f"1 stale entry under {out}"]
    assert os.listdir(out) == [done.name]


def test_concurrent_writers_of_one_run_leave_one_complete_directory(tmp_path):
    out, go = tmp_path / "runs", tmp_path / "go"
    procs = [writer(out, "barrier", go) for _ in range(2)]
    for p in procs:
        assert p.stdout.readline().strip() == "READY"
    go.touch()
    paths = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert [p.returncode for p in procs] == [0, 0]
    (final,) = paths
    assert os.listdir(out) == [Path(final).name]
    assert set(os.listdir(final)) == RUN_FILES


def test_concurrent_threads_keep_the_first_copy_and_discard_theirs(tmp_path):
    final = tmp_path / "runs" / "r1"
    ready = threading.Barrier(6)
    kept: list[bool] = []

    def write(k: int) -> None:
        with atomic_dir(final) as tmp:
            for name in ("a", "b", "c"):
                (tmp / name).write_text(str(k))
            ready.wait()                           # every copy built before any is placed
        kept.append(True)

    seen: set[int] = set()
    threads = [threading.Thread(target=write, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        try:
            seen.add(len(os.listdir(final)))
        except FileNotFoundError:
            pass
    for t in threads:
        t.join()
    assert len(kept) == 6
    assert os.listdir(final.parent) == ["r1"]
    assert sorted(os.listdir(final)) == ["a", "b", "c"]
    assert len({(final / n).read_text() for n in ("a", "b", "c")}) == 1
    assert seen <= {3}                          # never a partial or emptied copy


def test_a_later_rerun_replaces_the_earlier_directory(tmp_path):
    final = tmp_path / "r1"
    for k in range(2):
        with atomic_dir(final) as tmp:
            (tmp / "kpis.json").write_text(str(k))
    assert os.listdir(tmp_path) == ["r1"] and (final / "kpis.json").read_text() == "1"


def _leftover(root: Path, name: str, age_s: float = 0) -> Path:
    p = root / name
    p.mkdir(parents=True)
    (p / "kpis.json").write_text("{}")
    if age_s:
        t = time.time() - age_s
        os.utime(p, (t, t))
    return p


def test_gc_keeps_live_young_writers_and_restores_an_orphaned_copy(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    live = _leftover(tmp_path, f".r1.tmp-{os.getppid()}-abc")
    old = _leftover(tmp_path, f".r2.tmp-{os.getppid()}-abc", age_s=7200)
    gone = _leftover(tmp_path, f".r3.tmp-{dead}-abc")
    orphan = _leftover(tmp_path, f".r4.old-{dead}-abc")
    replaced = _leftover(tmp_path, f".r5.old-{dead}-abc")
    _leftover(tmp_path, "r5")
    (tmp_path / "_registry").mkdir()
    stale_file = tmp_path / "_registry" / ".r6.parquet.x1.tmp"
    stale_file.write_text("")
    os.utime(stale_file, (time.time() - 7200,) * 2)

    planned = collect(tmp_path, dry_run=True)
    assert [(c.path.name, c.action) for c in planned] == [
        (old.name, "removed"), (gone.name, "removed"), (orphan.name, "restored"),
        (replaced.name, "removed"), (stale_file.name, "removed")]
    assert live.exists() and gone.exists()                       # a dry run touches nothing
    assert collect(tmp_path) == planned
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, "_registry", "r4", "r5"])
    assert os.listdir(tmp_path / "_registry") == []


def test_output_dir_checks(tmp_path):
    assert check_output_dir(tmp_path / "new" / "runs", ["a" * 100]) == tmp_path / "new" / "runs"
    with pytest.raises(OutputError, match=r"the name 'xxxxxxxxxx.*' is too long for the file "
                                          r"system \(at most 255 bytes"):
        check_output_dir(tmp_path, ["x" * 240])
    with pytest.raises(OutputError, match="is too long for the file system"):
        check_output_dir(tmp_path / ("y" * 300))
