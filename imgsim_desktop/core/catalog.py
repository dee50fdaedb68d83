"""The SQLite catalog: the source of truth for files, their metadata and their embeddings.

WAL mode and one transaction per batch mean a killed process leaves a catalog that opens and holds only
whole batches. Every embedding write and removal bumps a sequence number, so the HNSW index (a cache of
the embeddings) can catch up from the last sequence it saved instead of being rebuilt.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from .catalog_db import _Connection, _open_readonly
from .catalog_vectors import VectorStore
from .errors import LibraryError
from .roots import FOLDER_NOT_ENTERABLE, FOLDER_UNREADABLE, db_path, from_db_path, prefix_range

from .catalog_schema import _MIGRATIONS, SCHEMA_VERSION  # noqa: F401 (SCHEMA_VERSION re-exported)

EXCLUDED_KEY = "excluded_folders"

# numpy is imported by the methods that read or write vectors, not here: the commands that only read
# counts and folders (status, folders, history) then start without it (about 0.1 s, issue 13).
if TYPE_CHECKING:
    import numpy as np

# Bumped when the scanner learns to record more about each file; older rows are re-read on the next scan.
INFO_VERSION = 4   # 4: capture times to the camera's fraction of a second


def catalog_is_current(path: Path) -> bool:
    """The catalog exists and needs no migration, so it can be opened read-only (issue 13)."""
    if not Path(path).is_file():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        finally:
            conn.close()
        return row is not None and int(row[0]) == SCHEMA_VERSION
    except (sqlite3.Error, ValueError):
        return False


WAL_LIMIT = 64 << 20   # bytes of write-ahead log kept after a checkpoint

STATUS_OK = "ok"
STATUS_ERROR = "error"


CHANGED = "changed since it was indexed: index the folder again"
REFUSED = "permission denied"   # the reason decode.py and hashing.py give for a file we may not read


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
    camera_make: str | None = None
    camera_model: str | None = None
    software: str | None = None
    content_fraction: float | None = None
    info_version: int = 0
    jpeg_quality: int | None = None
    pictures: int | None = None   # pages or frames in the file (decode.ImageInfo.pictures); None: not read yet

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    def not_as_indexed(self) -> str | None:
        """Why the file at ``path`` is not the content this record holds (None: the same size and time, as a
        scan decides). What was decided about the record's content (a verdict, a review) is not about it."""
        return not_as_indexed(self.path, self.size, self.mtime_ns)


def not_as_indexed(path, size: int, mtime_ns: int | None) -> str | None:
    """Why the file at ``path`` is not the one indexed with this size and time (None: it is, as a scan
    decides; a time of None is not compared)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return exc.strerror or str(exc)
    if st.st_size != size or (mtime_ns is not None and st.st_mtime_ns != mtime_ns):
        return CHANGED
    return None


_FILE_COLS = ("id, path, size, mtime_ns, hash, width, height, format, date_taken, status, error, camera_make,"
              " camera_model, software, content_fraction, info_version, jpeg_quality, pictures")
_INFO_COLS = ("width", "height", "format", "date_taken", "camera_make", "camera_model", "software",
              "content_fraction", "info_version", "jpeg_quality", "pictures")


def info_columns(info) -> dict:
    """The catalog's columns for a decode.ImageInfo (or a FileRecord of the same content: an exact copy)."""
    if isinstance(info, FileRecord):
        return {k: getattr(info, k) for k in _INFO_COLS}
    return {"width": info.width, "height": info.height, "format": info.format, "date_taken": info.date_taken,
            "camera_make": info.make, "camera_model": info.model, "software": info.software,
            "content_fraction": info.content_fraction, "info_version": INFO_VERSION,
            "jpeg_quality": getattr(info, "jpeg_quality", None), "pictures": getattr(info, "pictures", 1)}


# the flags of a rescan's stamp rows (``Catalog.stamp_slices``)
STAMP_ERROR = 1
STAMP_STALE = 2


def _row_to_record(row: tuple) -> FileRecord:
    return FileRecord(row[0], from_db_path(row[1]), *row[2:])


def _prefix_range(root: str) -> tuple[str, str]:
    """[lo, hi) bounds of every path below ``root``: case-sensitive (unlike LIKE) and served by the index."""
    return prefix_range(db_path(root))


class Catalog(VectorStore):
    """Thin, typed access to the database. Not thread-safe by itself: the Library serialises access."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                if not self.path.exists():
                    raise LibraryError(f"no library catalog at {self.path}; run 'imgsim index FOLDER' first")
                self.conn = _Connection(_open_readonly(self.path), self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = _Connection(sqlite3.connect(str(self.path), check_same_thread=False,
                                                        isolation_level=None), self.path)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                # a big write (the neighbour graph of a large library) leaves a WAL of up to a GB that every
                # read-only opener then reads to rebuild its index: keep it short once checkpointed
                self.conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=5000")
            if not readonly:
                self._migrate()
            else:
                self._check_version()
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"the library catalog {self.path} cannot be opened ({exc}); if it is damaged, move "
                               f"it aside and index your folders again ('imgsim index', or Add folder in the app)") from exc
        except LibraryError:
            if getattr(self, "conn", None) is not None:
                self.conn.close()
            raise
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
                buf = ""
                for piece in _MIGRATIONS[v].split(";"):  # whole statements (a trigger holds several ";")
                    buf += piece + ";"
                    if sqlite3.complete_statement(buf):
                        if buf.strip(" \n;"):
                            self.conn.execute(buf)
                        buf = ""
                v += 1
                self.set_meta("schema_version", str(v))
        if self.get_meta("seq") is None:
            self.set_meta("seq", "0")
        if self.get_meta("catalog_id") is None:  # issue 13: lets a saved index tell its catalog from a new one
            import uuid  # here: only a new catalog needs it, and it imports `platform` (read-only opens skip it)

            self.set_meta("catalog_id", uuid.uuid4().hex)
        # folders from before the running counts (or added by an older version) get theirs once
        for (missing,) in self.conn.execute("SELECT path FROM folders WHERE path NOT IN "
                                            "(SELECT folder FROM file_counts)").fetchall():
            with self.transaction():
                self._start_folder_counts(from_db_path(missing))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: a batch of a scan, a move, a removal."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:  # SQLite may have rolled back already (disk full)
                try:
                    self.conn.execute("ROLLBACK")
                except LibraryError:
                    pass
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        try:
            if not self.readonly:
                self.checkpoint()
            self.conn.close()
        except (sqlite3.Error, LibraryError):
            pass

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the catalog and truncate it, when no reader holds it (otherwise
        SQLite does what it can and a later writer finishes): readers then open a short log."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    # ---- meta ---------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def meta_state(self, key: str) -> dict:
        """A JSON object kept under ``key`` (the graph's, signature pairs' and checks' states); {} when there
        is none or it is unreadable, so callers only check the fields they need."""
        raw = self.get_meta(key)
        try:
            st = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return st if isinstance(st, dict) else {}

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) "
                          "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def seq(self) -> int:
        return int(self.get_meta("seq") or 0)

    def catalog_id(self) -> str | None:
        """A random id made with the catalog: an index saved for another catalog is not trusted."""
        return self.get_meta("catalog_id")

    def _next_seq(self) -> int:
        s = self.seq() + 1
        self.set_meta("seq", str(s))
        return s

    # ---- folders ------------------------------------------------------------------------------------
    def folders(self) -> list[str]:
        return [from_db_path(r[0]) for r in self.conn.execute("SELECT path FROM folders ORDER BY path")]

    def add_folder(self, path: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO folders(path, added_at) VALUES(?, ?)", (db_path(path), time.time()))
        self._start_folder_counts(path)

    def remove_folder(self, path: str) -> None:
        self.conn.execute("DELETE FROM folders WHERE path=?", (db_path(path),))
        self.conn.execute("DELETE FROM file_counts WHERE folder=?", (db_path(path),))

    def _start_folder_counts(self, root: str) -> None:
        """A folder's running counts start from one count of its rows; the triggers keep them from then on."""
        files, not_ok, errors, size = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(status<>?),0), COALESCE(SUM(status=?),0), COALESCE(SUM(size),0) "
            "FROM files WHERE path=? OR (path>=? AND path<?)",
            (STATUS_OK, STATUS_ERROR, db_path(root), *_prefix_range(root))).fetchone()
        self.conn.execute("INSERT OR REPLACE INTO file_counts(folder, lo, hi, files, not_ok, errors, bytes) "
                          "VALUES(?,?,?,?,?,?,?)", (db_path(root), *_prefix_range(root), files, not_ok, errors, size))

    def _counts_row(self, folder: str) -> tuple | None:
        try:
            return self.conn.execute("SELECT files, not_ok, errors, bytes FROM file_counts WHERE folder=?",
                                     (folder,)).fetchone()
        except sqlite3.OperationalError:  # read-only view of a catalog not yet migrated
            return None

    def mount_points(self) -> set[str]:
        """Folders inside the library's folders that were the mount point of another device (see roots)."""
        raw = self.get_meta("mount_points")
        return {from_db_path(p) for p in json.loads(raw)} if raw else set()

    def set_mount_points(self, paths: Iterable[str]) -> None:
        self.set_meta("mount_points", json.dumps(sorted(db_path(p) for p in paths)))

    def reference_folders(self) -> list[str]:
        try:
            return [from_db_path(r[0])
                    for r in self.conn.execute("SELECT path FROM folders WHERE reference<>0 ORDER BY path")]
        except sqlite3.OperationalError:  # read-only view of a catalog not yet migrated
            return []

    def excluded_folders(self) -> list[str]:
        """Folders never indexed, though under a library folder: the library's own, so the CLI and the app
        agree (the app kept them in its settings, and `imgsim index` brought the excluded photos back)."""
        try:
            return [str(p) for p in json.loads(self.get_meta(EXCLUDED_KEY) or "[]")]
        except (ValueError, TypeError, sqlite3.OperationalError):
            return []

    def set_excluded_folders(self, paths: list[str]) -> None:
        self.set_meta(EXCLUDED_KEY, json.dumps(sorted(set(paths))))

    def set_reference(self, path: str, on: bool) -> None:
        self.conn.execute("UPDATE folders SET reference=? WHERE path=?", (1 if on else 0, db_path(path)))

    # ---- reviewed groups ----------------------------------------------------------------------------
    def reviewed_groups(self) -> dict[str, str]:
        """group id -> verdict ("not_duplicates" | "keep_all")."""
        try:
            return {g: v for g, v in self.conn.execute("SELECT group_id, verdict FROM reviewed_groups")}
        except sqlite3.OperationalError:  # read-only view of a catalog not yet migrated
            return {}

    def set_reviewed(self, group_id: str, verdict: str, members: str) -> None:
        self.conn.execute("INSERT INTO reviewed_groups(group_id, verdict, members, reviewed_at) VALUES(?,?,?,?)"
                          " ON CONFLICT(group_id) DO UPDATE SET verdict=excluded.verdict,"
                          " members=excluded.members, reviewed_at=excluded.reviewed_at",
                          (group_id, verdict, members, time.time()))

    def unset_reviewed(self, group_id: str) -> bool:
        return self.conn.execute("DELETE FROM reviewed_groups WHERE group_id=?", (group_id,)).rowcount > 0

    # ---- files --------------------------------------------------------------------------------------
    def file(self, file_id: int) -> FileRecord | None:
        row = self.conn.execute(f"SELECT {_FILE_COLS} FROM files WHERE id=?", (file_id,)).fetchone()
        return _row_to_record(row) if row else None

    def file_by_path(self, path: str) -> FileRecord | None:
        row = self.conn.execute(f"SELECT {_FILE_COLS} FROM files WHERE path=?", (db_path(path),)).fetchone()
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
        return [_row_to_record(r) for r in self.conn.execute(q, (db_path(root), *_prefix_range(root)))]

    def stamp_slices(self, root: str, slice_rows: int = 8192) -> Iterator[list[tuple]]:
        """What a rescan compares with the disk: (stored path, size, mtime_ns, id, flags) rows of ``root`` and
        every file below it, in path order (the path index's), a slice at a time. A rescan merges them with
        its walk of the disk (``roots.walk_runs``, same order) instead of holding a million records, and
        takes its lock per slice. A stored path is ``db_path``'s form (``from_db_path`` gives the real one).
        ``flags``: ``STAMP_ERROR`` (the row records a problem), ``STAMP_STALE`` (what :meth:`stale_info`
        selects, so a rescan that met none need not ask). Five columns, not the row: each column of a million
        rows costs the reader about 0.2 s."""
        cols = (f"SELECT path, size, mtime_ns, id, (status='{STATUS_ERROR}')*{STAMP_ERROR} | "
                f"(status='{STATUS_OK}' AND info_version<{INFO_VERSION})*{STAMP_STALE} FROM files")
        first = self.conn.execute(f"{cols} WHERE path=?", (db_path(root),)).fetchall()
        if first:
            yield first
        cur = self.conn.execute(f"{cols} WHERE path>=? AND path<? ORDER BY path", _prefix_range(root))
        while True:
            rows = cur.fetchmany(slice_rows)
            if not rows:
                return
            yield rows

    def ids_without_vector(self, model_id: str) -> set[int]:
        """Healthy files with no vector from ``model_id`` (after a model change, or a killed scan): a rescan
        redoes them even when they are unchanged on disk. Nearly always empty, so the rescan asks once
        instead of holding every embedded id.

        Checking the model probes the wide embeddings table once per file (1.0-1.4 s at a million). Once
        every vector is known to be of ``model_id`` (meta ``vectors_of_model``: the sequence number it was
        seen at; every vector write bumps it), only a missing vector is left to find, which the small
        ``embeddings_seq`` index answers (about half the time)."""
        seq = self.seq()
        if self.get_meta("vectors_of_model") == f"{seq} {model_id}":
            q = "SELECT id FROM files WHERE status=? AND id NOT IN (SELECT file_id FROM embeddings)"
            return {r[0] for r in self.conn.execute(q, (STATUS_OK,))}
        q = ("SELECT id FROM files f WHERE status=? AND NOT EXISTS "
             "(SELECT 1 FROM embeddings e WHERE e.file_id=f.id AND e.model_id=?)")
        out = {r[0] for r in self.conn.execute(q, (STATUS_OK, model_id))}
        if not self.readonly and self.conn.execute("SELECT 1 FROM embeddings WHERE model_id<>? LIMIT 1",
                                                   (model_id,)).fetchone() is None:
            self.set_meta("vectors_of_model", f"{seq} {model_id}")
        return out

    def count_under(self, root: str) -> tuple[int, int]:
        """(files, files not ok) at or below ``root``: the running counts of a library folder, else counted."""
        kept = self._counts_row(db_path(root)) if root else None
        if kept is not None:
            return int(kept[0]), int(kept[1])
        row = self.conn.execute("SELECT COUNT(*), COALESCE(SUM(status<>?),0) FROM files "
                                "WHERE path=? OR (path>=? AND path<?)",
                                (STATUS_OK, db_path(root), *_prefix_range(root))).fetchone()
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
            " scanned_at, camera_make, camera_model, software, content_fraction, info_version, jpeg_quality,"
            " pictures)"
            " VALUES(:path, :size, :mtime_ns, :hash, :width, :height, :format, :date_taken,"
            " :status, :error, :scanned_at, :camera_make, :camera_model, :software, :content_fraction,"
            " :info_version, :jpeg_quality, :pictures) ON CONFLICT(path) DO UPDATE SET size=excluded.size,"
            " mtime_ns=excluded.mtime_ns, hash=excluded.hash, width=excluded.width, height=excluded.height,"
            " format=excluded.format, date_taken=excluded.date_taken, status=excluded.status,"
            " error=excluded.error, scanned_at=excluded.scanned_at, camera_make=excluded.camera_make,"
            " camera_model=excluded.camera_model, software=excluded.software,"
            " content_fraction=excluded.content_fraction, info_version=excluded.info_version,"
            " jpeg_quality=excluded.jpeg_quality, pictures=excluded.pictures RETURNING id",
            {"hash": None, "width": None, "height": None, "format": None, "date_taken": None,
             "error": None, "scanned_at": time.time(), "camera_make": None, "camera_model": None,
             "software": None, "content_fraction": None, "info_version": INFO_VERSION, "jpeg_quality": None,
             "pictures": None, **rec,
             "path": db_path(rec["path"])})
        return int(cur.fetchone()[0])

    def stale_info(self, roots: Iterable[str]) -> list[FileRecord]:
        """Healthy files below ``roots`` whose row predates the evidence this version records."""
        out: list[FileRecord] = []
        for root in roots:
            q = (f"SELECT {_FILE_COLS} FROM files WHERE status=? AND info_version<? "
                 "AND (path=? OR (path>=? AND path<?))")
            out += [_row_to_record(r) for r in self.conn.execute(q, (STATUS_OK, INFO_VERSION, db_path(root),
                                                                     *_prefix_range(root)))]
        return out

    def set_info(self, file_id: int, cols: dict) -> None:
        sets = ", ".join(f"{k}=:{k}" for k in cols)
        self.conn.execute(f"UPDATE files SET {sets} WHERE id=:id", {**cols, "id": file_id})

    def touch_file(self, file_id: int, size: int, mtime_ns: int) -> None:
        self.conn.execute("UPDATE files SET size=?, mtime_ns=?, scanned_at=? WHERE id=?",
                          (size, mtime_ns, time.time(), file_id))

    def move_file(self, file_id: int, new_path: str, size: int | None = None, mtime_ns: int | None = None) -> list[int]:
        """Give ``file_id`` a new path; a file already catalogued there is replaced. Returns displaced ids."""
        stored = db_path(new_path)
        displaced = [r[0] for r in self.conn.execute("SELECT id FROM files WHERE path=? AND id<>?",
                                                     (stored, file_id))]
        self.delete_files(displaced)  # tombstoned, so the index drops their vectors too
        if size is None:
            self.conn.execute("UPDATE files SET path=? WHERE id=?", (stored, file_id))
        else:
            self.conn.execute("UPDATE files SET path=?, size=?, mtime_ns=? WHERE id=?",
                              (stored, size, mtime_ns, file_id))
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

    def duplicate_hash_ids(self) -> np.ndarray:
        """Ids of healthy, non-empty files whose content hash another such file shares (exact copies)."""
        import numpy as np

        q = ("SELECT id FROM files WHERE status=? AND size>0 AND hash IN (SELECT hash FROM files WHERE "
             "status=? AND size>0 AND hash IS NOT NULL GROUP BY hash HAVING COUNT(*)>1) ORDER BY id")
        return np.fromiter((r[0] for r in self.conn.execute(q, (STATUS_OK, STATUS_OK))), dtype=np.int64)

    # ---- stats --------------------------------------------------------------------------------------
    def counts(self) -> dict:
        # the running counts (status opens every library: at 1M photos a pass over the files costs ~0.5 s)
        kept = self._counts_row("")
        if kept is not None:
            total, _, errors, size = kept
        else:
            total, errors, size = self.conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(status=?),0), COALESCE(SUM(size),0) FROM files",
                (STATUS_ERROR,)).fetchone()
        embedded = self.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        return {"files": total, "ok": total - errors, "errors": errors, "embedded": embedded, "bytes": size}

    def refused_paths(self) -> set[str]:
        """Files recorded as "permission denied": a rescan tries them again once they are readable."""
        rows = self.conn.execute("SELECT path FROM files WHERE status=? AND error=?", (STATUS_ERROR, REFUSED))
        return {from_db_path(p) for (p,) in rows}

    def folder_problems(self) -> list[str]:
        """Folders recorded as unreadable: error entries at a folder's path, counted among the files by the
        running counts, which `status` takes them out of (a locked folder read as "1 unreadable file")."""
        rows = self.conn.execute("SELECT path FROM files WHERE status=? AND size=0 AND mtime_ns=0 AND "
                                 "(error=? OR error LIKE ?)", (STATUS_ERROR, FOLDER_NOT_ENTERABLE,
                                                               FOLDER_UNREADABLE + " (%"))
        return [from_db_path(p) for (p,) in rows]

    def errors(self) -> list[tuple[str, str]]:
        return [(from_db_path(p), e or "") for p, e in self.conn.execute(
            "SELECT path, error FROM files WHERE status=? ORDER BY path", (STATUS_ERROR,))]
