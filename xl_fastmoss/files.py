"""Files written whole or not at all: every file the project writes goes through here.

The new content goes to a temporary file beside the target, which replaces the target in one
step (``os.replace``) only once it is complete; a failure or a kill leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

#: Temporary files are named ``.<target name>.<this>-<token>.tmp``, so a later run can tell them.
TEMP_MARK = "xl-fastmoss"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, private: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` when the block succeeds.

    The temporary file exists (empty) when the block starts. ``private`` makes it readable by
    the user only (a config file holding a key); otherwise it gets the user's usual permissions
    (the umask), as a file the user shares. When the block raises, the temporary file is
    removed and ``path`` is left as it was.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{TEMP_MARK}-{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    os.close(descriptor)
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files an earlier, killed write of ``path`` left beside it.

    Only names :func:`atomic_write` makes for this very target are touched. Call it while no
    other write of ``path`` runs (the headless refresh holds its lock for the output).
    """
    target = Path(path)
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.{TEMP_MARK}-[0-9a-f]{{8}}\.tmp$")
    removed: list[Path] = []
    try:
        candidates = list(target.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        if pattern.match(candidate.name) and candidate.is_file() and not candidate.is_symlink():
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


def move_sqlite_aside(path: Path) -> Path:
    """Rename a broken SQLite file and the WAL files beside it to ``<name>.broken-<time>``; OSError if it cannot."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.broken-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.replace(aside.with_name(aside.name + suffix))
    return aside
