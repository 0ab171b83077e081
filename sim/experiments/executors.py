"""Where runs execute: in this process, a local process pool, or a Dask cluster.

Every executor maps a picklable, importable function over a list of tasks and returns the
results **in task order**, so an experiment's table never depends on which executor ran it
(``tests/e2e/test_experiment.py`` checks the three give identical KPI tables). Each task is one
independent, seeded run, so there is no shared state to keep consistent between workers.

Worker processes are started with ``forkserver`` (``spawn`` where that is unavailable), never
plain ``fork``: the parent may hold threads (Dask, durable-rules) that ``fork`` would copy in an
unknown state. A progress bar (tqdm, on stderr) appears only when stderr is a terminal.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Protocol, TypeVar

from tqdm import tqdm

from sim.experiments import EXECUTORS

__all__ = ["EXECUTORS", "Executor", "InProcessExecutor", "ProcessExecutor", "DaskExecutor",
           "make_executor", "default_workers"]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Maps a function over tasks; results come back in task order."""

    name: str

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], desc: str = "") -> list[R]:
        """``[fn(t) for t in tasks]``, computed wherever this executor runs work."""
        ...

    def close(self) -> None:
        """Release workers (idempotent)."""
        ...


def default_workers() -> int:
    """Cores this process may use (all of them by default)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        return os.cpu_count() or 1


def _progress(total: int, desc: str) -> tqdm:
    """A progress bar on stderr, shown only when stderr is a terminal."""
    return tqdm(total=total, desc=desc or "runs", unit="run", file=sys.stderr, disable=None,
                leave=False, dynamic_ncols=True)


class _Closing:
    """Context-manager support shared by the executors."""

    def close(self) -> None:  # pragma: no cover - overridden
        """Release workers."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcessExecutor(_Closing):
    """Runs tasks one after another in this process (debugging, tiny experiments)."""

    name = "inprocess"

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], desc: str = "") -> list[R]:
        """Run each task here, in order."""
        out = []
        with _progress(len(tasks), desc) as bar:
            for t in tasks:
                out.append(fn(t))
                bar.update()
        return out


def _collect(futures: list[Future], desc: str, on_error: Callable[[], None]) -> list:
    """Wait for ``futures`` with a progress bar; re-raise the first task error."""
    pending = set(futures)
    with _progress(len(futures), desc) as bar:
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            bar.update(len(done))
            failed = next((f for f in done if f.exception() is not None), None)
            if failed is not None:
                on_error()
                raise failed.exception()
    return [f.result() for f in futures]


class ProcessExecutor(_Closing):
    """A local pool of worker processes (``workers`` defaults to every core)."""

    name = "process"

    def __init__(self, workers: int | None = None, start_method: str | None = None):
        self.workers = workers or default_workers()
        methods = mp.get_all_start_methods()
        self.start_method = start_method or ("forkserver" if "forkserver" in methods
                                             else "spawn")
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = mp.get_context(self.start_method)
            if self.start_method == "forkserver":
                # Workers fork from a server that has already imported the simulation.
                ctx.set_forkserver_preload(["sim.experiments.replication"])
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
        return self._pool

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], desc: str = "") -> list[R]:
        """Run the tasks on the pool (started on first use and reused until ``close``)."""
        pool = self._get_pool()
        futures = [pool.submit(fn, t) for t in tasks]
        return _collect(futures, desc, self._abort)

    def _abort(self) -> None:
        """Drop queued tasks after a failure; the next ``map`` starts a fresh pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Shut the pool down."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(_Closing):
    """Dask ``distributed``: a LocalCluster of worker processes, or an existing scheduler.

    Workers of an existing cluster need ``domlab`` installed and the scenario and rule files at
    the same paths as here.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="10s")
            except OSError as exc:
                raise ConnectionError(f"--scheduler {scheduler}: cannot connect ({exc})") \
                    from None
        else:
            self.cluster = LocalCluster(n_workers=workers or default_workers(),
                                        threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster)

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], desc: str = "") -> list[R]:
        """Submit every task to the cluster and gather the results in order."""
        from distributed import as_completed

        futures = self.client.map(fn, list(tasks), pure=False)
        try:
            with _progress(len(futures), desc) as bar:
                for _ in as_completed(futures):
                    bar.update()
            return self.client.gather(futures)
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        """Close the client, and the LocalCluster if this executor started one."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


def make_executor(name: str = "process", workers: int | None = None,
                  scheduler: str | None = None) -> Executor:
    """Build the named executor (``scheduler`` implies Dask)."""
    if scheduler and name != "dask":
        name = "dask"
    if name == "inprocess":
        return InProcessExecutor()
    if name == "process":
        return ProcessExecutor(workers)
    if name == "dask":
        return DaskExecutor(scheduler, workers)
    raise ValueError(f"--executor: unknown executor '{name}' (choose: {', '.join(EXECUTORS)})")

