"""The SQLite catalog: the source of truth for files, their metadata and their embeddings.

WAL mode and one transaction per batch mean a killed process leaves a catalog that opens and holds only
whole batches. Every embedding write and removal bumps a sequence number, so the HNSW index (a cache of
the embeddings) can catch up from the last sequence it saved instead of being rebuilt.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import LibraryError

SCHEMA_VERSION = 2

# Each entry migrates from version i to i+1; index 0 creates the schema from nothing.
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS folders(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT UNIQUE NOT NULL,
        added_at REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS files(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT UNIQUE NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        hash TEXT,
        width INTEGER, height INTEGER, format TEXT, date_taken TEXT,
        status TEXT NOT NULL,
        error TEXT,
        scanned_at REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS files_hash ON files(hash);
    CREATE TABLE IF NOT EXISTS embeddings(
        file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        vector BLOB NOT NULL,
        seq INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS embeddings_seq ON embeddings(seq);
    CREATE TABLE IF NOT EXISTS tombstones(file_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS tombstones_seq ON tombstones(seq);
    """,
    # issue 10: verification verdicts of candidate pairs and orientation signatures, keyed by content hash
    """
    CREATE TABLE IF NOT EXISTS pair_verdicts(
        a_hash TEXT NOT NULL, b_hash TEXT NOT NULL, version TEXT NOT NULL,
        same INTEGER NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY(a_hash, b_hash, version));
    CREATE TABLE IF NOT EXISTS photo_signatures(
        hash TEXT NOT NULL, version TEXT NOT NULL, sig BLOB NOT NULL,
        PRIMARY KEY(hash, version));
    """,
]

STATUS_OK = "ok"
STATUS_ERROR = "error"


@dataclass(frozen=True)
class FileRecord:
    id: int
    path: str
    size: int
    mtime_ns: int
    hash: str | None
    width: int | None
    height: int | None
    format: str | None
    date_taken: str | None
    status: str
    error: str | None

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


_FILE_COLS = "id, path, size, mtime_ns, hash, width, height, format, date_taken, status, error"


def _row_to_record(row: tuple) -> FileRecord:
    return FileRecord(*row)


def _prefix_range(root: str) -> tuple[str, str]:
    """[lo, hi) bounds of every path below ``root``: case-sensitive (unlike LIKE) and served by the index."""
    root = root.rstrip("/")
    return root + "/", root + chr(ord("/") + 1)


class Catalog:
    """Thin, typed access to the database. Not thread-safe by itself: the Library serialises access."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                if not self.path.exists():
                    raise LibraryError(f"no library catalog at {self.path}; run 'imgsim index FOLDER' first")
                uri = f"file:{self.path}?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=5000")
            if not readonly:
                self._migrate()
            else:
                self._check_version()
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"the library catalog {self.path} cannot be opened: {exc}") from exc
        self._lock = threading.RLock()

    # ---- schema -------------------------------------------------------------------------------------
    def _version(self) -> int:
        has_meta = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has_meta:
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _check_version(self) -> None:
        v = self._version()
        if v > SCHEMA_VERSION:
            raise LibraryError(
                f"the library at {self.path.parent} was made by a newer imgsim (schema {v} > {SCHEMA_VERSION})")

    def _migrate(self) -> None:
        self._check_version()
        v = self._version()
        while v < SCHEMA_VERSION:
            with self.transaction():
                for stmt in _MIGRATIONS[v].split(";"):
                    if stmt.strip():
                        self.conn.execute(stmt)
                v += 1
                self.set_meta("schema_version", str(v))
        if self.get_meta("seq") is None:
            self.set_meta("seq", "0")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: a batch of a scan, a move, a removal."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    # ---- meta ---------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) "
                          "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def seq(self) -> int:
        return int(self.get_meta("seq") or 0)

    def _next_seq(self) -> int:
        s = self.seq() + 1
        self.set_meta("seq", str(s))
        return s

    # ---- folders ------------------------------------------------------------------------------------
    def folders(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT path FROM folders ORDER BY path")]

    def add_folder(self, path: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO folders(path, added_at) VALUES(?, ?)", (path, time.time()))

    def remove_folder(self, path: str) -> None:
        self.conn.execute("DELETE FROM folders WHERE path=?", (path,))

    # ---- files --------------------------------------------------------------------------------------
    def file(self, file_id: int) -> FileRecord | None:
        row = self.conn.execute(f"SELECT {_FILE_COLS} FROM files WHERE id=?", (file_id,)).fetchone()
        return _row_to_record(row) if row else None

    def file_by_path(self, path: str) -> FileRecord | None:
        row = self.conn.execute(f"SELECT {_FILE_COLS} FROM files WHERE path=?", (path,)).fetchone()
        return _row_to_record(row) if row else None

    def files_by_ids(self, ids: Iterable[int]) -> list[FileRecord]:
        ids = list(ids)
        out: dict[int, FileRecord] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            q = f"SELECT {_FILE_COLS} FROM files WHERE id IN ({','.join('?' * len(chunk))})"
            for row in self.conn.execute(q, chunk):
                out[row[0]] = _row_to_record(row)
        return [out[i] for i in ids if i in out]

    def files_under(self, root: str) -> list[FileRecord]:
        """Files whose path is ``root`` itself or lies below it."""
        q = f"SELECT {_FILE_COLS} FROM files WHERE path=? OR (path>=? AND path<?)"
        return [_row_to_record(r) for r in self.conn.execute(q, (root, *_prefix_range(root)))]

    def count_under(self, root: str) -> tuple[int, int]:
        row = self.conn.execute("SELECT COUNT(*), COALESCE(SUM(status<>?),0) FROM files "
                                "WHERE path=? OR (path>=? AND path<?)",
                                (STATUS_OK, root, *_prefix_range(root))).fetchone()
        return int(row[0]), int(row[1])

    def all_files(self, status: str | None = None) -> list[FileRecord]:
        if status:
            rows = self.conn.execute(f"SELECT {_FILE_COLS} FROM files WHERE status=? ORDER BY id", (status,))
        else:
            rows = self.conn.execute(f"SELECT {_FILE_COLS} FROM files ORDER BY id")
        return [_row_to_record(r) for r in rows]

    def file_ids(self, status: str | None = STATUS_OK) -> list[int]:
        if status:
            return [r[0] for r in self.conn.execute("SELECT id FROM files WHERE status=? ORDER BY path", (status,))]
        return [r[0] for r in self.conn.execute("SELECT id FROM files ORDER BY path")]

    def ok_files_by_hash(self, model_id: str) -> dict[str, int]:
        """content hash -> id of a healthy file whose embedding was made by ``model_id``."""
        q = ("SELECT f.hash, f.id FROM files f JOIN embeddings e ON e.file_id=f.id "
             "WHERE f.status=? AND e.model_id=? AND f.hash IS NOT NULL")
        return {h: i for h, i in self.conn.execute(q, (STATUS_OK, model_id))}

    def embedded_ids(self, model_id: str, among: Iterable[int] | None = None) -> set[int]:
        """Ids with a vector from ``model_id``; ``among`` limits the lookup (the watcher's few files)."""
        if among is None:
            return {r[0] for r in self.conn.execute("SELECT file_id FROM embeddings WHERE model_id=?", (model_id,))}
        ids, out = list(among), set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            q = f"SELECT file_id FROM embeddings WHERE model_id=? AND file_id IN ({','.join('?' * len(chunk))})"
            out.update(r[0] for r in self.conn.execute(q, (model_id, *chunk)))
        return out

    def upsert_file(self, rec: dict) -> int:
        """Insert or update by path; returns the file id (stable across updates)."""
        cur = self.conn.execute(
            "INSERT INTO files(path, size, mtime_ns, hash, width, height, format, date_taken, status, error,"
            " scanned_at) VALUES(:path, :size, :mtime_ns, :hash, :width, :height, :format, :date_taken,"
            " :status, :error, :scanned_at) ON CONFLICT(path) DO UPDATE SET size=excluded.size,"
            " mtime_ns=excluded.mtime_ns, hash=excluded.hash, width=excluded.width, height=excluded.height,"
            " format=excluded.format, date_taken=excluded.date_taken, status=excluded.status,"
            " error=excluded.error, scanned_at=excluded.scanned_at RETURNING id",
            {"hash": None, "width": None, "height": None, "format": None, "date_taken": None,
             "error": None, "scanned_at": time.time(), **rec})
        return int(cur.fetchone()[0])

    def touch_file(self, file_id: int, size: int, mtime_ns: int) -> None:
        self.conn.execute("UPDATE files SET size=?, mtime_ns=?, scanned_at=? WHERE id=?",
                          (size, mtime_ns, time.time(), file_id))

    def move_file(self, file_id: int, new_path: str, size: int | None = None, mtime_ns: int | None = None) -> list[int]:
        """Give ``file_id`` a new path; a file already catalogued there is replaced. Returns displaced ids."""
        displaced = [r[0] for r in self.conn.execute("SELECT id FROM files WHERE path=? AND id<>?",
                                                     (new_path, file_id))]
        self.delete_files(displaced)  # tombstoned, so the index drops their vectors too
        if size is None:
            self.conn.execute("UPDATE files SET path=? WHERE id=?", (new_path, file_id))
        else:
            self.conn.execute("UPDATE files SET path=?, size=?, mtime_ns=? WHERE id=?",
                              (new_path, size, mtime_ns, file_id))
        return displaced

    def move_prefix(self, old_root: str, new_root: str) -> tuple[list[int], list[int]]:
        """Re-root every file below ``old_root``; returns (ids moved, ids displaced at the destination)."""
        moved, displaced = [], []
        for rec in self.files_under(old_root):
            new_path = new_root + rec.path[len(old_root):]
            displaced += self.move_file(rec.id, new_path)
            moved.append(rec.id)
        return moved, displaced

    def delete_files(self, ids: Iterable[int]) -> list[int]:
        ids = list(ids)
        if not ids:
            return []
        s = self._next_seq()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            self.conn.execute(f"DELETE FROM embeddings WHERE file_id IN ({marks})", chunk)
            self.conn.execute(f"DELETE FROM files WHERE id IN ({marks})", chunk)
            self.conn.executemany("INSERT OR REPLACE INTO tombstones(file_id, seq) VALUES(?, ?)",
                                  [(fid, s) for fid in chunk])
        return ids

    # ---- embeddings ---------------------------------------------------------------------------------
    def put_embeddings(self, items: list[tuple[int, np.ndarray]], model_id: str) -> None:
        if not items:
            return
        s = self._next_seq()
        self.conn.executemany(
            "INSERT INTO embeddings(file_id, model_id, vector, seq) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(file_id) DO UPDATE SET model_id=excluded.model_id, vector=excluded.vector, seq=excluded.seq",
            [(fid, model_id, np.asarray(v, dtype=np.float32).tobytes(), s) for fid, v in items])
        self.conn.executemany("DELETE FROM tombstones WHERE file_id=?", [(fid,) for fid, _ in items])

    def drop_embedding(self, file_id: int) -> None:
        """A file that became unreadable: its old vector must leave the index."""
        if self.conn.execute("DELETE FROM embeddings WHERE file_id=?", (file_id,)).rowcount:
            s = self._next_seq()
            self.conn.execute("INSERT OR REPLACE INTO tombstones(file_id, seq) VALUES(?, ?)", (file_id, s))

    def embedding(self, file_id: int, model_id: str) -> np.ndarray | None:
        row = self.conn.execute("SELECT vector FROM embeddings WHERE file_id=? AND model_id=?",
                                (file_id, model_id)).fetchone()
        return np.frombuffer(row[0], dtype=np.float32).copy() if row else None

    def embeddings(self, model_id: str, since_seq: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) for ``model_id`` changed after ``since_seq``, in id order."""
        rows = self.conn.execute(
            "SELECT file_id, vector FROM embeddings WHERE model_id=? AND seq>? ORDER BY file_id",
            (model_id, since_seq)).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids, vecs.copy()

    def tombstones_since(self, since_seq: int) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT file_id FROM tombstones WHERE seq>?", (since_seq,))]

    def prune_tombstones(self, upto_seq: int) -> None:
        self.conn.execute("DELETE FROM tombstones WHERE seq<=?", (upto_seq,))

    # ---- stats --------------------------------------------------------------------------------------
    def counts(self) -> dict:
        total = self.conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        errors = self.conn.execute("SELECT COUNT(*) FROM files WHERE status=?", (STATUS_ERROR,)).fetchone()[0]
        embedded = self.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        size = self.conn.execute("SELECT COALESCE(SUM(size),0) FROM files").fetchone()[0]
        return {"files": total, "ok": total - errors, "errors": errors, "embedded": embedded, "bytes": size}

    def errors(self) -> list[tuple[str, str]]:
        return [(p, e or "") for p, e in self.conn.execute(
            "SELECT path, error FROM files WHERE status=? ORDER BY path", (STATUS_ERROR,))]
