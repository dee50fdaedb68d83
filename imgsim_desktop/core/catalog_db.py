"""The catalog's sqlite3 connection: disk and file problems (full, read-only, damaged) become one-line
``LibraryError``s wherever they surface, at a statement or while rows are read; read-only opening that also
works where nothing can be written beside the catalog."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from .errors import LibraryError


def _sqlite_problem(exc: sqlite3.Error, path: Path) -> LibraryError | None:
    """A one-line, actionable error for what SQLite reports about the disk or the file (None: a bug)."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        return None
    msg = str(exc)
    low = msg.lower()
    if "full" in low or ("disk i/o" in low and _nearly_full(path.parent)):
        return LibraryError(f"the disk holding the library {path.parent} is full; free some space and run "
                            "again (nothing was lost: work not yet saved is redone)")
    if "readonly" in low or "read-only" in low:
        return LibraryError(f"the library at {path.parent} is read-only ({msg}); queries work, changes cannot "
                            "be saved")
    if "malformed" in low or "not a database" in low or "corrupt" in low:
        return LibraryError(f"the library catalog {path} is damaged ({msg}); move it aside and "
                            "index your folders again ('imgsim index', or Add folder in the app)")
    if "disk i/o" in low or "unable to open" in low:
        return LibraryError(f"the library catalog {path} cannot be read or written ({msg})")
    return LibraryError(f"the library catalog {path}: {msg}")


def _nearly_full(folder: Path) -> bool:
    """SQLite reports a disk with no room for its shared-memory file as a plain I/O error."""
    import shutil

    try:
        return shutil.disk_usage(folder).free < (1 << 20)
    except OSError:
        return False


class _Cursor:
    """A cursor whose reads (rows come from the file as they are iterated) report problems the same way."""

    def __init__(self, cur: sqlite3.Cursor, conn: "_Connection"):
        self._cur = cur
        self._conn = conn

    def __iter__(self):
        # in slices: one guarded call per few thousand rows, not per row (a rescan reads every file's row)
        while True:
            rows = self._conn._call(self._cur.fetchmany, 2048)
            if not rows:
                return
            yield from rows

    def fetchone(self):
        return self._conn._call(self._cur.fetchone)

    def fetchall(self):
        return self._conn._call(self._cur.fetchall)

    def fetchmany(self, size: int):
        return self._conn._call(self._cur.fetchmany, size)

    def __getattr__(self, name):
        return getattr(self._cur, name)


class _Connection:
    """The sqlite3 connection, with disk and file problems turned into one-line ``LibraryError``s
    (disk full, read-only, damaged) instead of raw sqlite3 exceptions; everything else passes through."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self._conn = conn
        self._path = path

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            err = _sqlite_problem(exc, self._path)
            if err is None:
                raise
            raise err from exc

    def execute(self, *args):
        return _Cursor(self._call(self._conn.execute, *args), self)

    def executemany(self, *args):
        return _Cursor(self._call(self._conn.executemany, *args), self)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def _open_readonly(path: Path) -> sqlite3.Connection:
    """Read-only access, also where nothing can be written next to the catalog (a read-only mount, a
    folder without write permission): SQLite then cannot make the WAL's shared-memory file, so the
    catalog is opened as immutable (the writer that could change it cannot run there either)."""
    from urllib.parse import quote

    base = "file:" + quote(os.fsencode(str(path.resolve())))
    conn = sqlite3.connect(base + "?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    return sqlite3.connect(base + "?mode=ro&immutable=1", uri=True, check_same_thread=False,
                           isolation_level=None)
