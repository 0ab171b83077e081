"""Garbage collection of a runs root: what writers killed mid-way left behind.

A run directory is built as ``.<run-id>.tmp-<pid>-<random>`` and renamed into place
(``sim.store.atomic``); a replaced one is moved to ``.<run-id>.old-<pid>-<random>`` and
deleted. A writer killed in between (``kill -9``, a crash, a full disk) leaves these hidden
directories, and ``write_atomic`` leaves ``.<file>.<random>.tmp`` files. Readers never list
them; ``collect`` removes the ones whose owner is gone:

* a directory naming its owner's pid is stale when that process no longer runs on this
  machine, or when it is older than ``max_age`` (a pid reused since, or a writer on another
  machine sharing the directory: writing a run directory takes seconds, so an hour is ample);
* a temporary file (no pid in its name) is stale when older than ``max_age``;
* an ``.old`` directory whose run directory is missing (a writer killed between its two
  renames) is the last complete copy: it is renamed back instead of deleted.

Collection holds the root's lock, so it never races a writer's rename.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sim.store.atomic import is_hidden, owner_pid, root_lock

__all__ = ["Collected", "collect", "pid_alive", "DEFAULT_MAX_AGE_S"]

#: Age after which a leftover is stale whatever its pid says (seconds).
DEFAULT_MAX_AGE_S = 3600.0


@dataclass(frozen=True)
class Collected:
    """One leftover and what was (or, in a dry run, would be) done: ``removed`` or
    ``restored`` (an ``.old`` copy renamed back to its run directory), and why."""

    path: Path
    action: str
    reason: str


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (signal 0 probes it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:           # someone else's process
        return True
    return True


def _stale(entry: Path, now: float, max_age: float) -> str | None:
    """Why a hidden leftover is stale, or None while its owner may still be writing."""
    try:
        age = now - entry.lstat().st_mtime
    except FileNotFoundError:
        return None
    pid = owner_pid(entry.name)
    if pid is not None and pid != os.getpid() and not pid_alive(pid):
        return f"owner pid {pid} is not running"
    if age > max_age:
        return f"older than {max_age / 3600:g} h"
    return None


def _original(entry: Path) -> Path | None:
    """The run directory an ``.old`` leftover was moved away from."""
    name = entry.name
    if ".old-" not in name:
        return None
    return entry.with_name(name[1:name.rindex(".old-")])


def _leftovers(root: Path) -> list[Path]:
    """Hidden entries of the root and of its registry."""
    out = []
    for folder in (root, root / "_registry"):
        if folder.is_dir():
            out += [e for e in sorted(folder.iterdir()) if is_hidden(e.name)]
    return out


def collect(root: Path | str, max_age: float = DEFAULT_MAX_AGE_S,
            dry_run: bool = False) -> list[Collected]:
    """Remove (or, with ``dry_run``, only report) the stale leftovers under ``root`` (see
    the module docstring); returns what was found, in path order."""
    root = Path(root)
    if not root.is_dir():
        return []
    found: list[Collected] = []
    with root_lock(root):
        now = time.time()
        for entry in _leftovers(root):
            reason = _stale(entry, now, max_age)
            if reason is None:
                continue
            original = _original(entry)
            if original is not None and not original.exists():
                found.append(Collected(entry, "restored", reason))
                if not dry_run:
                    os.replace(entry, original)
                continue
            found.append(Collected(entry, "removed", reason))
            if not dry_run:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
    return found
