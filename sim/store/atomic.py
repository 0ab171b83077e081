"""Atomic writes: readers never see a half-written file or run directory.

``write_atomic`` writes a file beside its target and renames it into place. ``atomic_dir``
builds a directory under a temporary name, ``.<name>.tmp-<pid>-<random>`` (hidden, and naming
the process that owns it), and renames it into place holding an exclusive ``fcntl.flock`` on
the parent directory, so writers of the same directory take turns:

* a directory placed *while* this writer was building its own (another directory than the one
  in place when it began) comes from a concurrent writer of the same run (same run id ⇒ same
  scenario, seed, rules and backend, so the same KPIs): it is kept, and this writer discards
  its temporary directory, so the first complete copy wins and is never deleted under a reader;
* a directory placed *before* this writer started (an earlier run, maybe by older code) is
  replaced: moved aside as ``.<name>.old-<pid>-<random>``, the new one renamed in, the old one
  deleted. (A reader holding the old directory open then sees it emptied.)

Either way exactly one complete directory results and nothing temporary is left. A writer
killed mid-way (``kill -9``) leaves its temporary directory: every reader skips hidden names,
and ``sim.store.gc`` removes it once its owner is gone.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["write_atomic", "atomic_dir", "root_lock", "owner_pid", "is_hidden"]

_OWNED = re.compile(r"^\..+\.(?:tmp|old)-(\d+)-[^.]*$")


def is_hidden(name: str) -> bool:
    """Whether a directory entry is bookkeeping (temporary, old or lock), not a result."""
    return name.startswith(".")


def owner_pid(name: str) -> int | None:
    """The pid of the process that made a temporary (``.x.tmp-PID-…``) or replaced
    (``.x.old-PID-…``) directory, or None for other names."""
    m = _OWNED.match(name)
    return int(m[1]) if m else None


def write_atomic(out_path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to a temp file beside ``out_path``, then ``os.replace`` it into place.

    Readers never see a half-written file; on failure the temp file is removed and any
    existing file is left untouched. Missing parent directories are created.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return out


@contextmanager
def root_lock(root: Path) -> Iterator[None]:
    """Hold the exclusive lock of a runs root for the block: renames of run directories and
    garbage collection take turns through it. The lock is ``flock`` on the directory itself,
    so no lock file is left behind (and none can be deleted under a holder)."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                      # releases the lock


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class atomic_dir:  # noqa: N801 - used like a function in a with-statement
    """Context manager: yields a temporary directory that replaces ``final`` on success (see
    the module docstring); on an exception the temporary directory is removed."""

    def __init__(self, final: Path):
        self.final = Path(final)

    def __enter__(self) -> Path:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(dir=self.final.parent,
                                         prefix=f".{self.final.name}.tmp-{os.getpid()}-"))
        self.before = _identity(self.final)        # what was in place when this writer began
        self.kept_existing = False
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        os.chmod(self.tmp, 0o755)                     # mkdtemp makes it private
        old = self.final.with_name(f".{self.final.name}.old-{os.getpid()}-"
                                   f"{self.tmp.name.rsplit('-', 1)[-1]}")
        with root_lock(self.final.parent):
            now = _identity(self.final)
            if now is not None and now != self.before:
                self.kept_existing = True             # a concurrent writer finished first
            elif now is not None:
                os.replace(self.final, old)           # an earlier run: this one replaces it
            if not self.kept_existing:
                os.replace(self.tmp, self.final)
                _fsync_dir(self.final.parent)
        shutil.rmtree(self.tmp if self.kept_existing else old, ignore_errors=True)


def _identity(path: Path) -> tuple[int, int, int] | None:
    """Which directory is at ``path`` (device, inode, change time), or None if none is: every
    placement renames a new directory in, so a different identity means another writer
    placed one."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_ctime_ns
