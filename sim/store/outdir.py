"""Checking an output directory before a long computation writes into it.

``domlab run --out X`` used to simulate first and fail writing: ``X`` a file, a name too
long for the file system, a directory it may not write. ``check_output_dir`` finds these
before anything runs, as one line naming the option.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["OutputError", "check_output_dir", "TEMP_SUFFIX_CHARS"]

#: Characters a temporary name adds to an entry's name: ``.`` + name + ``.tmp-<pid>-<8>``
#: (a pid has at most 10 digits), or a registry file's ``.parquet``.
TEMP_SUFFIX_CHARS = 1 + len(".tmp-") + 10 + 1 + 8 + len(".parquet")


class OutputError(ValueError):
    """An output path cannot be written; one line naming the option and the path."""


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (``/`` at worst)."""
    for p in (path, *path.parents):
        if os.path.lexists(p):
            return p
    return Path(path.anchor or ".")


def _limit(path: Path, name: str, default: int) -> int:
    try:
        return os.pathconf(path, name)
    except (OSError, ValueError):
        return default


def check_output_dir(out: Path | str, entries: Iterable[str] = (), option: str = "--out"
                     ) -> Path:
    """Raise ``OutputError`` unless ``out`` is (or can be created as) a writable directory in
    which every name of ``entries`` (run ids, file names) fits, temporary names included;
    returns ``out`` as a path. Nothing is created."""
    out = Path(out)
    where = f"{option} {out}"
    base = _existing_ancestor(out.absolute())
    if not base.is_dir():
        what = "is a file" if base == out.absolute() else f"{base} is a file"
        raise OutputError(f"{where}: {what}, not a directory")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputError(f"{where}: {base} is not writable")
    name_max = _limit(base, "PC_NAME_MAX", 255)
    path_max = _limit(base, "PC_PATH_MAX", 4096)
    too_long = [p for p in out.absolute().parts if len(os.fsencode(p)) > name_max]
    too_long += [e for e in entries if len(os.fsencode(e)) + TEMP_SUFFIX_CHARS > name_max]
    if too_long:
        raise OutputError(f"{where}: the name '{too_long[0][:40]}…' is too long for the file "
                          f"system (at most {name_max} bytes with a temporary suffix)")
    longest = max((len(os.fsencode(e)) for e in entries), default=0)
    if len(os.fsencode(str(out.absolute()))) + 1 + longest + TEMP_SUFFIX_CHARS > path_max:
        raise OutputError(f"{where}: the path is too long for the file system (at most "
                          f"{path_max} bytes)")
    return out
