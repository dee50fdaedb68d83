"""Incremental scanning: find what changed on disk and bring the catalog and index up to date.

Unchanged files (same size and mtime) are skipped without reading them. Candidates are hashed first: a file
whose content the catalog already has a vector for (a move, a rename, an exact copy, a touched file) reuses
that vector instead of being decoded again. Work is committed in batches, so a cancelled or killed scan keeps
what it finished and the next scan picks up the rest.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .catalog import STATUS_ERROR, STATUS_OK, Catalog, FileRecord
from .decode import is_image_path
from .embedder import Embedder, Prepared
from .signature import SIG_VERSION
from .verdicts import put_signatures
from .errors import Cancelled
from .index import VectorIndex
from .progress import CancelToken, Progress

log = logging.getLogger(__name__)

BATCH = 64


@dataclass
class ScanReport:
    added: int = 0
    updated: int = 0
    moved: int = 0
    reused: int = 0      # vectors taken from identical content instead of decoding again
    removed: int = 0
    unchanged: int = 0
    failed: int = 0
    embedded: int = 0    # files that went through the model
    cancelled: bool = False
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)
    missing_folders: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["errors"] = [{"path": p, "reason": r} for p, r in self.errors]
        return d

    def merge(self, other: "ScanReport") -> None:
        for k in ("added", "updated", "moved", "reused", "removed", "unchanged", "failed", "embedded"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.errors.extend(other.errors)
        self.missing_folders.extend(other.missing_folders)
        self.cancelled = self.cancelled or other.cancelled


@dataclass
class ChangeEvent:
    """What a write did, for listeners such as the GUI (called on the writer's thread)."""

    kind: str                     # "added" | "updated" | "moved" | "removed" | "folders"
    file_ids: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def walk_images(root: str, skip: Iterable[str] = ()) -> Iterator[tuple[str, int, int]]:
    """(path, size, mtime_ns) of image files below ``root``; hidden entries and ``skip`` folders left out.

    Directory symlinks are not followed, so a symlink loop cannot hang a scan; unreadable folders are skipped.
    """
    skip = {os.path.normpath(s) for s in skip}
    stack = [root]
    while stack:
        d = stack.pop()
        if os.path.normpath(d) in skip:
            continue
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError as exc:
            log.warning("cannot list %s: %s", d, exc)
            continue
        for e in entries:
            if is_hidden(e.name):
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif is_image_path(e.name) and e.is_file():
                    st = e.stat()
                    yield e.path, st.st_size, st.st_mtime_ns
            except OSError:
                continue


class Scanner:
    """Applies disk changes to the catalog and index. The Library calls it under its writer lock."""

    def __init__(self, catalog: Catalog, index: VectorIndex, embedder: Embedder, model_id: str,
                 notify: Callable[[ChangeEvent], None], skip_dirs: Iterable[str] = (),
                 lock: threading.RLock | None = None):
        self.catalog = catalog
        # Held only around catalog and index access, never while decoding or embedding, so queries
        # (the GUI's grid, lookalike searches) are served between batches of a long scan.
        self.lock = lock or threading.RLock()
        self.index = index
        self.embedder = embedder
        self.model_id = model_id
        self.notify = notify
        self.skip_dirs = list(skip_dirs)
        self._claimed_ids: set[int] = set()  # gone files already matched to a new path in this pass
        self._fresh: dict[str, np.ndarray] = {}  # hash -> vector embedded in this pass

    # ---- entry points -------------------------------------------------------------------------------
    def scan_roots(self, roots: list[str], progress: Progress | None, cancel: CancelToken | None) -> ScanReport:
        t0 = time.monotonic()
        report = ScanReport()
        progress = progress or Progress()
        progress.start("listing", 0)
        on_disk: dict[str, tuple[int, int]] = {}
        known: dict[str, FileRecord] = {}
        for root in roots:
            if not os.path.isdir(root):
                # An unmounted drive must not look like a folder whose photos were all deleted.
                report.missing_folders.append(root)
                continue
            with self.lock:
                under = self.catalog.files_under(root)
            if under and _is_empty_dir(root):
                # The bare mount point of an unplugged drive: offline, not a folder whose photos were deleted.
                report.missing_folders.append(root)
                continue
            for rec in under:
                known[rec.path] = rec
            for path, size, mtime in walk_images(root, self.skip_dirs):
                on_disk[path] = (size, mtime)
                if cancel is not None and len(on_disk) % 1000 == 0:
                    cancel.check()
                    progress.advance(0, message=f"{len(on_disk)} files found")
        gone = [rec for p, rec in known.items() if p not in on_disk]
        todo, report.unchanged = self._candidates(on_disk, known)
        self._process(todo, gone, report, progress, cancel)
        report.seconds = time.monotonic() - t0
        return report

    def update_paths(self, paths: Iterable[str], progress: Progress | None, cancel: CancelToken | None,
                     roots: list[str]) -> ScanReport:
        """Re-check specific files or folders (the watcher's created/modified/deleted events)."""
        t0 = time.monotonic()
        report = ScanReport()
        on_disk: dict[str, tuple[int, int]] = {}
        known: dict[str, FileRecord] = {}
        gone: list[FileRecord] = []
        with self.lock:
            for p in dict.fromkeys(os.path.abspath(p) for p in paths):
                if not _under_any(p, roots) or _under_any(p, self.skip_dirs):
                    continue
                if os.path.isdir(p):
                    for rec in self.catalog.files_under(p):
                        known[rec.path] = rec
                    for fp, size, mtime in walk_images(p, self.skip_dirs):
                        on_disk[fp] = (size, mtime)
                    gone.extend(r for fp, r in known.items() if fp.startswith(p + os.sep) and fp not in on_disk)
                    continue
                rec = self.catalog.file_by_path(p)
                if rec is not None:
                    known[p] = rec
                try:
                    st = os.stat(p)
                except OSError:
                    if rec is not None:
                        gone.append(rec)
                    gone.extend(self.catalog.files_under(p)[1:] if rec else self.catalog.files_under(p))
                    continue
                if is_image_path(p) and not any(is_hidden(part) for part in Path(p).parts):
                    on_disk[p] = (st.st_size, st.st_mtime_ns)
        gone = list({r.id: r for r in gone}.values())  # a folder and files inside it may both be listed
        todo, report.unchanged = self._candidates(on_disk, known)
        self._process(todo, gone, report, progress or Progress(), cancel)
        report.seconds = time.monotonic() - t0
        return report

    # ---- internals ----------------------------------------------------------------------------------
    def _candidates(self, on_disk: dict[str, tuple[int, int]], known: dict[str, FileRecord]):
        with self.lock:
            # A small batch (the watcher's) asks about its own files only, not the whole library.
            among = [r.id for r in known.values()] if len(known) < 5000 else None
            embedded = self.catalog.embedded_ids(self.model_id, among) if known else set()
        todo: list[Prepared] = []
        unchanged = 0
        for path, (size, mtime) in on_disk.items():
            rec = known.get(path)
            if rec is not None and rec.size == size and rec.mtime_ns == mtime and (
                    rec.status == STATUS_ERROR or rec.id in embedded):
                unchanged += 1
                continue
            todo.append(Prepared(path=path, size=size, mtime_ns=mtime, tag=rec))
        todo.sort(key=lambda p: p.path)
        return todo, unchanged

    def _process(self, todo: list[Prepared], gone: list[FileRecord], report: ScanReport,
                 progress: Progress, cancel: CancelToken | None) -> None:
        with self.lock:
            ok_by_hash = self.catalog.ok_files_by_hash(self.model_id)
        gone_by_hash: dict[str, list[FileRecord]] = {}
        for rec in gone:
            if rec.status == STATUS_OK and rec.hash and rec.hash in ok_by_hash:
                gone_by_hash.setdefault(rec.hash, []).append(rec)
        reusable = set(ok_by_hash)
        self._claimed_ids = set()

        progress.start("indexing", len(todo))
        batch: list[Prepared] = []
        stopped = False

        def should_stop() -> bool:
            return cancel is not None and cancel.cancelled

        def skip_decode(h: str) -> bool:
            # Content already embedded, or claimed by an earlier file of this pass: decode it once only.
            if h in reusable:
                return True
            reusable.add(h)
            return False

        self._fresh = {}
        stream = self.embedder.prepare_all(todo, skip_decode=skip_decode, should_stop=should_stop)
        try:
            for item in stream:
                batch.append(item)
                progress.advance(1, failed=1 if item.error else 0)
                if sum(1 for b in batch if b.array is not None) >= BATCH or len(batch) >= 4 * BATCH:
                    self._flush(batch, gone_by_hash, ok_by_hash, report)
                    batch = []
                if cancel is not None and (cancel.paused or cancel.cancelled):
                    # Commit what is done, then wait (pause) or stop (cancel).
                    self._flush(batch, gone_by_hash, ok_by_hash, report)
                    batch = []
                    cancel.check()
                    if cancel.cancelled:
                        raise Cancelled("cancelled")
            if batch:
                self._flush(batch, gone_by_hash, ok_by_hash, report)
                batch = []
        except Cancelled:
            stopped = True
            report.cancelled = True
        finally:
            stream.close()
        if batch:
            self._flush(batch, gone_by_hash, ok_by_hash, report)
        if stream_cancelled(cancel):
            report.cancelled = stopped = True
        if not stopped:
            self.remove_records([r for r in gone if r.id not in self._claimed_ids], report)
        progress.finish()

    def _flush(self, batch: list[Prepared], gone_by_hash: dict[str, list[FileRecord]],
               ok_by_hash: dict[str, int], report: ScanReport) -> None:
        if not batch:
            return
        to_embed = [b for b in batch if b.array is not None]
        vectors = self.embedder.embed_arrays([b.array for b in to_embed])
        vec_of = {id(b): v for b, v in zip(to_embed, vectors)}
        new_vectors: list[tuple[int, np.ndarray]] = []
        removed_ids: list[int] = []
        events: dict[str, list[tuple[int, str]]] = {"added": [], "updated": [], "moved": []}
        with self.lock:
            cat = self.catalog
            with cat.transaction():
                for item in batch:
                    existing: FileRecord | None = item.tag
                    if item.error:
                        fid = cat.upsert_file({"path": item.path, "size": item.size, "mtime_ns": item.mtime_ns,
                                               "hash": item.hash, "status": STATUS_ERROR, "error": item.error})
                        if existing is not None and existing.status == STATUS_OK:
                            cat.drop_embedding(fid)
                            removed_ids.append(fid)
                        report.failed += 1
                        report.errors.append((item.path, item.error))
                        continue
                    if item.array is None:
                        # Content already known: a move/rename, a touched file, or an exact copy.
                        h = item.hash
                        movers = [r for r in gone_by_hash.get(h, []) if r.id not in self._claimed_ids]
                        if existing is not None and existing.hash == h and existing.status == STATUS_OK and \
                                cat.embedding(existing.id, self.model_id) is not None:
                            cat.touch_file(existing.id, item.size, item.mtime_ns)
                            report.updated += 1
                            continue
                        if movers:
                            src = movers[0]
                            self._claimed_ids.add(src.id)
                            if existing is not None:
                                cat.delete_files([existing.id])
                                removed_ids.append(existing.id)
                            removed_ids += cat.move_file(src.id, item.path, item.size, item.mtime_ns)
                            report.moved += 1
                            events["moved"].append((src.id, item.path))
                            continue
                        src_id = ok_by_hash.get(h)
                        src = cat.file(src_id) if src_id is not None else None
                        vec = self._fresh.get(h)  # embedded earlier in this batch, not yet written
                        if vec is None and src is not None:
                            vec = cat.embedding(src_id, self.model_id)
                        if src is None or vec is None:
                            # The source vanished meanwhile: decode after all.
                            prepared = self.embedder.prepare(Prepared(item.path, item.size, item.mtime_ns))
                            if prepared.error or prepared.array is None:
                                fid = cat.upsert_file({"path": item.path, "size": item.size, "mtime_ns": item.mtime_ns,
                                                       "hash": item.hash, "status": STATUS_ERROR,
                                                       "error": prepared.error or "decode failed"})
                                report.failed += 1
                                report.errors.append((item.path, prepared.error or "decode failed"))
                                continue
                            item.info = prepared.info
                            vec = self.embedder.embed_arrays([prepared.array])[0]
                            report.embedded += 1
                        else:
                            item.info = None
                            report.reused += 1
                        fid = cat.upsert_file({
                            "path": item.path, "size": item.size, "mtime_ns": item.mtime_ns, "hash": h,
                            "width": item.info.width if item.info else src.width,
                            "height": item.info.height if item.info else src.height,
                            "format": item.info.format if item.info else src.format,
                            "date_taken": item.info.date_taken if item.info else src.date_taken,
                            "status": STATUS_OK})
                        new_vectors.append((fid, vec))
                        events["updated" if existing else "added"].append((fid, item.path))
                        if existing is None:
                            report.added += 1
                        else:
                            report.updated += 1
                        continue
                    info = item.info
                    fid = cat.upsert_file({
                        "path": item.path, "size": item.size, "mtime_ns": item.mtime_ns, "hash": item.hash,
                        "width": info.width, "height": info.height, "format": info.format,
                        "date_taken": info.date_taken, "status": STATUS_OK})
                    new_vectors.append((fid, vec_of[id(item)]))
                    report.embedded += 1
                    if existing is None:
                        report.added += 1
                        events["added"].append((fid, item.path))
                    else:
                        report.updated += 1
                        events["updated"].append((fid, item.path))
                    if item.hash:
                        ok_by_hash.setdefault(item.hash, fid)
                        self._fresh.setdefault(item.hash, vec_of[id(item)])
                cat.put_embeddings(new_vectors, self.model_id)
                put_signatures(cat, [(b.hash, b.signature) for b in to_embed if b.hash], SIG_VERSION,
                               in_transaction=True)
                seq = cat.seq()
            # The catalog is committed; mirror it in the index (a crash here is repaired by catch-up on open).
            self.index.remove(removed_ids)
            if new_vectors:
                self.index.add(np.array([f for f, _ in new_vectors], dtype=np.int64), np.stack([v for _, v in new_vectors]))
            self.index.seq = seq
        for kind, items in events.items():
            if items:
                self.notify(ChangeEvent(kind, [i for i, _ in items], [p for _, p in items]))

    def remove_records(self, records: list[FileRecord], report: ScanReport | None = None) -> int:
        if not records:
            return 0
        ids = [r.id for r in records]
        with self.lock:
            with self.catalog.transaction():
                self.catalog.delete_files(ids)
                seq = self.catalog.seq()
            self.index.remove(ids)
            self.index.seq = seq
        if report is not None:
            report.removed += len(ids)
        self.notify(ChangeEvent("removed", ids, [r.path for r in records]))
        return len(ids)


def _is_empty_dir(path: str) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except OSError:
        return True


def stream_cancelled(cancel: CancelToken | None) -> bool:
    return cancel is not None and cancel.cancelled


def _under_any(path: str, roots: Iterable[str]) -> bool:
    for r in roots:
        r = r.rstrip("/\\")
        if path == r or path.startswith(r + os.sep):
            return True
    return False
