"""The one API the CLI, the GUI and the watcher use.

A library folder holds ``catalog.sqlite``, ``index.hnsw`` (+ ``.json``), and ``lock``. One process writes
(it holds the lock); others may open it read-only for queries. Inside a process, one re-entrant lock
serialises catalog writes and every hnswlib call, since hnswlib is not safe for add and query at once.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable, Iterable

from PIL import Image

from . import neighbours
from .catalog import Catalog, FileRecord, catalog_is_current
from .decode import load_image
from .duplicates import DuplicateGroup
from .embedder import Embedder
from .errors import Cancelled, ImgsimError, LibraryError, LibraryLockedError, LibraryReadOnlyError
from .heap import keep_freed_memory
from .index import SPACES, IndexSet, VectorIndex
from .library_groups import GroupingMixin
from .library_review import ReviewMixin
from .library_search import SearchMixin
from .library_view import CATALOG_NAME, INDEX_NAME, LOCK_NAME, library_status
from .lockfile import LockFile, held_elsewhere
from .model import LoadedModel
from .model_card import LazyModel
from .paths import default_library_dir
from .progress import CancelToken, Progress
from .ranking import SimilarResult  # noqa: F401 (re-exported)
from .roots import outermost, under_any
from .scanner import ChangeEvent, Scanner, ScanReport

log = logging.getLogger(__name__)


class Library(GroupingMixin, ReviewMixin, SearchMixin):
    def __init__(self, home: str | Path | None = None, *, model_path: str | Path | None = None,
                 device: str = "auto", readonly: bool = False, model: LoadedModel | None = None,
                 workers: int | None = None, exclude: Iterable[str | Path] = ()):
        keep_freed_memory()
        self.home = Path(home).expanduser().resolve() if home else default_library_dir().resolve()
        self.readonly = readonly
        self.excluded: list[str] = []   # the catalog's (set below), with ``exclude`` added to them
        self.verify_workers = workers   # None: every core (core/pair_verifier.py)
        self._lock = threading.RLock()        # catalog + index access: short, per batch
        self._write_lock = threading.RLock()  # one write operation (scan, move...) at a time
        self._listeners: list[Callable[[ChangeEvent], None]] = []
        self._lockfile: LockFile | None = None
        self.catalog: Catalog | None = None
        if not readonly:
            try:
                self.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                if self.home.exists() and not self.home.is_dir():   # not "File exists"
                    raise LibraryError(f"{self.home} is a file, not a library folder: choose a folder") from None
                if not self.home.is_dir():
                    raise LibraryError(f"cannot create the library folder {self.home}: "
                                       f"{exc.strerror or exc}") from None
            self._lockfile = LockFile(self.home / LOCK_NAME)
            self._lockfile.acquire()  # raises LibraryLockedError
        self._repair_when_free = False  # read-only for a query: save a repaired index if no one writes
        try:
            # The network (torch) loads on first use: status, dupes, folders and similar of an indexed photo
            # never need it. Each space's index opens when first queried or written.
            self.model = model or LazyModel(Path(model_path) if model_path else None, device=device)
            self.catalog = Catalog(self.home / CATALOG_NAME, readonly=readonly)
            self.excluded = self._merge_excluded(exclude)
            self.index_path = self.home / INDEX_NAME
            self.index = IndexSet(self.index_path, self.catalog, self.model.model_id, self.model.spaces)
            self.index.mapped_queries = readonly  # a query of a read-only open searches the file in place
            self.embedder = Embedder(self.model, workers=workers)
            self.scanner = Scanner(self.catalog, self.index, self.embedder, self.model.model_id, self._notify,
                                   skip_dirs=[str(self.home), *self.excluded], lock=self._lock)
        except BaseException:
            self.close()
            raise

    # ---- lifecycle ----------------------------------------------------------------------------------
    @property
    def index_origin(self) -> str:
        """How the opened indexes were obtained: "loaded", "rebuilt", or "unopened" (none needed yet)."""
        return self.index.origin

    def close(self) -> None:
        with self._lock:
            if self.catalog is not None and not self.readonly:
                try:
                    self._save_index()
                except Exception as exc:  # the index is a cache; the next open repairs it
                    log.warning("could not save the index: %s", exc)
            elif self.catalog is not None and self._repair_when_free:
                self._save_repaired_index()
            if getattr(self, "index", None) is not None:
                self.index.close()
            if self.catalog is not None:
                self.catalog.close()
                self.catalog = None
            if self._lockfile is not None:
                self._lockfile.release()
                self._lockfile = None

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _save_index(self) -> None:
        """Write the indexes that changed (never an unchanged one), then drop tombstones all have seen."""
        if self.readonly or self.catalog is None:
            return
        try:
            saved = self.index.save(self.index_path)
        except OSError as exc:  # a full disk: the index is a cache, rebuilt from the catalog next time
            log.warning("could not save the index (%s); it is brought up to date when the library opens",
                        exc.strerror or exc)
            return
        if saved:
            self.catalog.prune_tombstones(self.index.durable_seq())

    def _save_repaired_index(self) -> None:
        """A query rebuilt or caught up an index in memory: keep the work when no writer holds the library."""
        if not self.index.dirty():
            return
        lock = LockFile(self.home / LOCK_NAME)
        try:
            lock.acquire()
        except (LibraryLockedError, LibraryReadOnlyError, OSError):  # read-only: nothing to save
            return
        try:
            self.index.save(self.index_path)
        except Exception as exc:
            log.warning("could not save the repaired index: %s", exc)
        finally:
            lock.release()

    def _writer_elsewhere(self) -> bool:
        """Whether another process holds the writer lock right now."""
        return self._lockfile is None and held_elsewhere(self.home / LOCK_NAME)

    def _writable(self) -> None:
        if self.readonly:
            if not os.access(self.home, os.W_OK) or _read_only_mount(self.home):
                raise LibraryReadOnlyError(f"the library at {self.home} is on a read-only disk or folder; "
                                           "queries work, changes cannot be saved")
            raise LibraryError("the library is open read-only (another imgsim process is writing to it)")
        if self.catalog is None:
            raise LibraryError("the library is closed")

    # ---- change notification ------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[ChangeEvent], None]) -> Callable[[], None]:
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)
        return unsubscribe

    def _notify(self, event: ChangeEvent) -> None:
        for cb in list(self._listeners):
            try:
                cb(event)
            except Exception:  # a listener's bug must not break a scan
                log.exception("change listener failed")

    # ---- folders ------------------------------------------------------------------------------------
    def add_folder(self, path: str | Path, reference: bool | None = None) -> Path:
        """Add a folder; ``reference`` True/False also sets whether its photos are reference photos (always
        kept, never marked, moved or trashed); None leaves an existing folder's setting alone."""
        self._writable()
        p = Path(path).expanduser()
        if not p.exists():
            raise LibraryError(f"folder not found: {p}")
        if not p.is_dir():
            raise LibraryError(f"not a folder: {p}")
        p = p.resolve()
        if under_any(str(p), self.excluded):
            raise LibraryError(f"{p} is in an excluded folder")
        with self._lock:
            self.catalog.add_folder(str(p))
            if reference is not None:
                self.catalog.set_reference(str(p), reference)
        self._notify(ChangeEvent("folders", paths=[str(p)]))
        return p

    def _merge_excluded(self, exclude: Iterable[str | Path]) -> list[str]:
        """The catalog's excluded folders, and ``exclude`` (the app's older setting) kept with them."""
        stored = self.catalog.excluded_folders()
        given = [str(Path(e).expanduser().resolve()) for e in exclude]
        merged = sorted(set(stored) | set(given))
        if merged != sorted(stored) and not self.readonly:
            with self.catalog.transaction():
                self.catalog.set_excluded_folders(merged)
        return merged

    def excluded_folders(self) -> list[Path]:
        return [Path(p) for p in self.excluded]

    def set_excluded(self, paths: Iterable[str | Path]) -> int:
        """The folders never indexed, for every program that opens this library. Photos already in a folder
        newly excluded leave the library (the files are untouched); a folder no longer excluded is indexed by
        the next scan. Returns how many photos were forgotten."""
        self._writable()
        new = sorted({str(Path(p).expanduser().resolve()) for p in paths})
        with self._write_lock, self._lock:
            added = [p for p in new if p not in self.excluded]
            with self.catalog.transaction():
                self.catalog.set_excluded_folders(new)
            self.excluded = new
            self.scanner.skip_dirs = [str(self.home), *new]
            recs = [r for p in added for r in self.catalog.files_under(p)]
            n = self.scanner.remove_records(recs) if recs else 0
            if n:
                self._save_index()
        self._notify(ChangeEvent("folders", paths=sorted(set(added) | set(new))))
        return n

    def remove_folder(self, path: str | Path) -> int:
        """Stop watching a folder and forget its photos (the files themselves are untouched)."""
        self._writable()
        p = str(Path(path).expanduser().resolve())
        with self._write_lock, self._lock:
            if p not in self.catalog.folders():
                raise LibraryError(f"not a library folder: {p}")
            self.catalog.remove_folder(p)
            others = self.catalog.folders()
            recs = [r for r in self.catalog.files_under(p) if not under_any(r.path, others)]
            n = self.scanner.remove_records(recs)
            self._save_index()
        self._notify(ChangeEvent("folders", paths=[p]))
        return n

    def folder_count(self, path: str | Path) -> tuple[int, int]:
        """(files, unreadable files) catalogued below a folder."""
        with self._lock:
            return self.catalog.count_under(str(Path(path).expanduser().resolve()))

    def folders(self) -> list[Path]:
        with self._lock:
            return [Path(p) for p in self.catalog.folders()]

    def _roots(self, folders: Iterable[str | Path] | None) -> list[str]:
        # A folder inside another one is covered by the outer walk.
        return outermost(str(Path(f).expanduser().resolve()) for f in (folders or self.catalog.folders()))

    # ---- writes -------------------------------------------------------------------------------------
    def scan(self, folders: Iterable[str | Path] | None = None, progress: Progress | None = None,
             cancel: CancelToken | None = None) -> ScanReport:
        """Incremental scan of the given folders (added to the library) or of all library folders."""
        self._writable()
        if folders is not None:
            for f in folders:
                self.add_folder(f)
        with self._write_lock:
            with self._lock:
                roots = self._roots(folders)
            report = self.scanner.scan_roots(roots, progress, cancel)
            with self._lock:
                self._follow_graph(progress, cancel, build=not report.cancelled)
                self._save_index()
        return report

    def update_paths(self, paths: Iterable[str | Path], progress: Progress | None = None,
                     cancel: CancelToken | None = None) -> ScanReport:
        self._writable()
        with self._write_lock:
            with self._lock:
                roots = self._roots(None)
            report = self.scanner.update_paths([str(p) for p in paths], progress, cancel, roots)
            if report.added or report.updated or report.removed or report.moved:
                with self._lock:
                    self._follow_graph()
                    self._save_index_soon()
        return report

    def move_path(self, src: str | Path, dst: str | Path) -> int:
        """A file or folder was renamed or moved: keep ids and embeddings, change paths."""
        self._writable()
        src_s = os.path.abspath(str(src))
        dst_s = os.path.abspath(str(dst))
        with self._write_lock:
            with self._lock:
                roots = self._roots(None)
                if not under_any(dst_s, roots):
                    return self.remove_paths([src_s])
                cat = self.catalog
                rec = cat.file_by_path(src_s)
                with cat.transaction():
                    if rec is not None:
                        # The record keeps the size and mtime it was hashed at: a file rewritten after the
                        # rename then differs from it, and is re-read instead of keeping the old identity.
                        displaced = cat.move_file(rec.id, dst_s)
                        ids = [rec.id]
                    else:
                        ids, displaced = cat.move_prefix(src_s, dst_s)
                    seq = cat.seq()
                if displaced:
                    self.index.remove(displaced)
                    self.index.seq = seq
                if ids:
                    self._save_index_soon()
            # decoding happens below, outside the data lock (queries go on meanwhile)
            if not ids:  # unknown source: treat the destination as new
                return self.update_paths([dst_s]).added
            if displaced:
                self._notify(ChangeEvent("removed", displaced, []))
            self._notify(ChangeEvent("moved", ids, [dst_s]))
            if rec is not None and _changed(rec, dst_s):
                self.update_paths([dst_s])   # moved, then rewritten: its content decides, not its old path
        return len(ids)

    def remove_paths(self, paths: Iterable[str | Path]) -> int:
        """Files or folders deleted from disk: drop them from catalog and index."""
        self._writable()
        with self._write_lock, self._lock:
            recs: dict[int, FileRecord] = {}
            for p in paths:
                for r in self.catalog.files_under(os.path.abspath(str(p))):
                    recs[r.id] = r
            n = self.scanner.remove_records(list(recs.values()))
            if n:
                self._follow_graph()
                self._save_index_soon()
        return n

    def _follow_graph(self, progress: Progress | None = None, cancel: CancelToken | None = None,
                      build: bool = False) -> None:
        """A write updates the stored neighbour graph for the vectors it changed. A full scan (``build``)
        also makes the graph when there is none yet, so the first ``dupes`` needs no search; the watcher's
        small writes only follow an existing one."""
        if neighbours.state(self.catalog) is None and not (build and self.catalog.embedding_count()):
            return
        try:
            neighbours.sync(self.catalog, self.index, self.model.model_id, self._graph_cut(), progress=progress,
                            cancel=cancel)
        except Cancelled:
            return  # rolled back; the next scan or dupes builds it
        except Exception as exc:  # a cache: the next dupes brings it up to date
            log.warning("could not update the neighbour graph: %s", exc)

    def _save_index_soon(self) -> None:
        """Small watcher updates don't rewrite a large index every time; catch-up covers a crash."""
        if self.catalog.seq() - self.index.saved_seq >= 256:
            self._save_index()

    # ---- reads --------------------------------------------------------------------------------------
    def count(self) -> int:
        with self._lock:
            return self.catalog.counts()["ok"]

    def file_ids(self) -> list[int]:
        with self._lock:
            return self.catalog.file_ids()

    def seq(self) -> int:
        """The catalog's change counter: a read-only view polls it to follow the process that writes."""
        with self._lock:
            return self.catalog.seq()

    def file(self, file_id: int) -> FileRecord | None:
        with self._lock:
            return self.catalog.file(file_id)

    def file_by_path(self, path: str | Path) -> FileRecord | None:
        with self._lock:
            return self.catalog.file_by_path(os.path.abspath(str(path)))

    def files_by_ids(self, ids: Iterable[int]) -> list[FileRecord]:
        with self._lock:
            return self.catalog.files_by_ids(ids)

    def errors(self) -> list[tuple[str, str]]:
        with self._lock:
            return self.catalog.errors()

    def status(self) -> dict:
        """Folders, counts, model and index (core/library_view.py: status opens no index, loads no model)."""
        with self._lock:
            return library_status(self.home, self.catalog, self.model, self.index_path, self.index.spaces,
                                  self.index_origin, self.readonly and self._writer_elsewhere())

    def reconstruct(self, path: str | Path) -> tuple[Image.Image, Image.Image]:
        """(the photo as the model sees it, the autoencoder's rebuild of it)."""
        img, _ = load_image(path, max_side=self.model.input_size)
        seen = Image.fromarray(self.model.preprocess(img), "RGB")
        return seen, self.model.reconstruct(img)


def _changed(rec: FileRecord, path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) != (rec.size, rec.mtime_ns)


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & getattr(os, "ST_RDONLY", 1))
    except (OSError, AttributeError):
        return False


def open_for_query(home: str | Path | None = None, **kw) -> Library:
    """Read-only access for commands that only read: no writer lock is taken, so a query runs beside a
    writer. A library that does not exist yet (or needs its schema upgraded) is opened as the writer once."""
    path = Path(home).expanduser().resolve() if home else default_library_dir().resolve()
    if catalog_is_current(path / CATALOG_NAME):
        lib = Library(path, readonly=True, **kw)
        lib._repair_when_free = True
        return lib
    try:
        return Library(path, **kw)
    except (LibraryLockedError, LibraryReadOnlyError):
        return Library(path, readonly=True, **kw)


__all__ = ["Library", "SimilarResult", "ScanReport", "ChangeEvent", "DuplicateGroup", "ImgsimError",
           "open_for_query", "CancelToken", "Progress", "VectorIndex", "IndexSet", "SPACES"]
