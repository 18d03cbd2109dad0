"""The data directory and what Spotline writes in it are readable by its owner only:
the SQLite database (with its WAL), the secret key and the development keys."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from spotline.datadir import private_dir, private_file, private_sqlite

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD = 120  # seconds: only so that a hung process fails the test instead of the run


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_install_keeps_its_data_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE")}
    done = subprocess.run(
        ["/bin/sh", "-c", 'umask 022 && exec "$0" -m spotline migrate --verbosity 0',
         sys.executable], cwd=ROOT, env=env | {"SPOTLINE_DATA_DIR": str(data)},
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=HANG_GUARD,
        check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert mode(data) == 0o700
    files = [p for p in data.iterdir() if p.is_file()]
    names = {p.name for p in files}
    assert {"spotline.sqlite3", "secret_key"} <= names, names
    assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(0o600) for p in files}


def test_an_older_install_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    db = data / "spotline.sqlite3"
    for path in (db, data / "spotline.sqlite3-wal", data / "spotline.sqlite3-shm"):
        path.write_bytes(b"")
        path.chmod(0o644)
    private_dir(data)
    private_sqlite(db)
    assert mode(data) == 0o700
    assert {p.name: mode(p) for p in data.iterdir()} == {
        "spotline.sqlite3": 0o600, "spotline.sqlite3-wal": 0o600,
        "spotline.sqlite3-shm": 0o600}


def test_a_new_file_is_private_from_its_first_byte(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = private_file(tmp_path / "key")
    finally:
        os.umask(old)
    assert mode(path) == 0o600 and path.read_bytes() == b""
    path.write_text("secret")
    assert private_file(path).read_text() == "secret"  # an existing file is kept


def test_a_database_in_a_missing_directory_is_left_for_sqlite_to_report(tmp_path: Path) -> None:
    private_sqlite(tmp_path / "nowhere" / "spotline.sqlite3")
    assert not (tmp_path / "nowhere").exists()
