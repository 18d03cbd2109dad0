"""The data directory is the owner's alone: the directory 0700, its files 0600.

It holds the SQLite database (every sealed field, every wrapped data key), the
development keys and the secret key. The keys' files were always private; SQLite would
create the database with the process's umask (0644 on most machines), readable by every
account on the host. So the directory is made 0700 when the settings load (nobody else
can even open a file in it from then on), and the database and its ``-wal`` and ``-shm``
files are made 0600 when a connection opens them (``privacy.apps``): a database file is
never created by the settings themselves, so a command that never touches the database
(``spotline run`` on a taken port) leaves none behind.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing; make it 0700 if it is ours."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if missing; make it 0600 if it is ours."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    except FileExistsError:
        _tighten(path, FILE_MODE)
    return path


def private_sqlite(path: Path) -> None:
    """The database file and its WAL and shared-memory files, those that exist."""
    for name in ("", "-wal", "-shm", "-journal"):
        extra = path.with_name(path.name + name)
        if extra.exists():
            _tighten(extra, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    # Someone else's directory (a shared mount, /tmp) is left as its owner set it.
    st = path.stat()
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & ~mode:
        path.chmod(mode)
