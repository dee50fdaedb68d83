"""Incremental scanning: find what changed on disk and bring the catalog and index up to date.

Unchanged files (same size and mtime) are skipped without reading them. Candidates are hashed first: a file
whose content the catalog already has a vector for (a move, a rename, an exact copy, a touched file) reuses
that vector instead of being decoded again. Work is committed in batches, so a cancelled or killed scan keeps
what it finished and the next scan picks up the rest.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from .catalog import INFO_VERSION, REFUSED, STATUS_ERROR, STATUS_OK, Catalog, FileRecord, info_columns
from .decode import MANY_PICTURES, is_image_path, read_info
from .embedder import Embedder, Prepared
from .errors import Cancelled, DecodeError
from .index import VectorIndex
from .listing import Listing, merge_root
from .progress import CancelToken, Progress
from .roots import (Found, dedupe_links, hidden_below, is_regular, looks_empty, mount_offline, offline_below,
                    same_file, under, under_any, walk_images)
from .signature import SIG_VERSION
from .verdicts import put_signatures

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

    kind: str                     # "added" | "updated" | "moved" | "removed" | "folders" | "reviewed"
    file_ids: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@dataclass
class _Step:
    """One file of a batch, planned: what the apply step writes for it."""

    item: Prepared
    vec: np.ndarray | None = None
    src: FileRecord | None = None       # the catalogued file whose content (and vector) this one has
    src_info: object | None = None      # or the ImageInfo of that content, decoded earlier in this pass
    alias_of: str | None = None         # a link to this catalogued path: the same file, not a photo of its own
    embedded: bool = False              # decoded again because the reusable vector was gone


class Scanner:
    """Applies disk changes to the catalog and index. The Library calls it under its writer lock.

    Each batch is planned first (hash, decode, embed, find reusable vectors: no lock, no transaction),
    then applied in one short transaction. What is on disk is decided by :mod:`.roots`: only regular
    files, one path per file (links are that file, not a copy of it), hidden and excluded folders left out,
    and photos under an unplugged drive kept as offline.
    """

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
        self._fresh_info: dict[str, object] = {}  # hash -> ImageInfo of that decode (for exact copies)

    # ---- entry points -------------------------------------------------------------------------------
    def scan_roots(self, roots: list[str], progress: Progress | None, cancel: CancelToken | None) -> ScanReport:
        t0 = time.monotonic()
        report = ScanReport()
        progress = progress or Progress()
        progress.start("listing", 0)
        listing = Listing()
        unreadable: dict[str, str] = {}
        with self.lock:
            mount_points = self.catalog.mount_points()
            listing.unsettled = self.catalog.ids_without_vector(self.model_id)
            listing.retry = self.catalog.refused_paths()
        seen_mounts: set[str] = set()
        for root in roots:
            if not os.path.isdir(root):
                # An unmounted drive must not look like a folder whose photos were all deleted.
                report.missing_folders.append(root)
                continue
            slices = self.catalog.stamp_slices(root)
            with self.lock:
                first = next(slices, None)
            if first and looks_empty(root):
                # The bare mount point of an unplugged drive: offline, not a folder whose photos were deleted.
                slices.close()
                report.missing_folders.append(root)
                continue
            merge_root(root, itertools.chain([first] if first else [], self._locked(slices)), listing, self.skip_dirs,
                       unreadable, seen_mounts, progress, cancel)
        known = listing.known
        todo = listing.settle()
        report.unchanged = listing.unchanged
        # mount points: the ones seen now, and the remembered ones that are offline (kept until back)
        offline = {m for m in mount_points if under_any(m, roots) and mount_offline(m)}
        mounts_now = (mount_points - {m for m in mount_points if under_any(m, roots)}) | seen_mounts | offline
        if mounts_now != mount_points:
            with self.lock, self.catalog.transaction():
                self.catalog.set_mount_points(mounts_now)
        gone = []
        for p, row in known.items():   # rows no file on disk matched
            if p in unreadable or under_any(p, unreadable) or under_any(p, offline):
                continue  # in a folder we cannot read now, or on an unplugged drive: kept, not deleted
            gone.append(row[3])
        self._record_unreadable(unreadable, report)
        gone = self._full_records(todo, gone)
        self._process(todo, gone, report, progress, cancel)
        if not report.cancelled and (listing.stale or todo or gone):   # else no row can be stale
            self.backfill_info([r for r in roots if r not in report.missing_folders], cancel)
        report.seconds = time.monotonic() - t0
        return report

    def _locked(self, slices: Iterator[list[tuple]]) -> Iterator[list[tuple]]:
        """The catalog's rows a slice at a time, each read under the lock (queries go on between slices)."""
        while True:
            with self.lock:
                part = next(slices, None)
            if part is None:
                return
            yield part

    def backfill_info(self, roots: list[str], cancel: CancelToken | None = None) -> int:
        """Rows from an older version lack the keeper's evidence (camera EXIF, software): read it from the
        file headers (no pixels, no model), so an existing library gets it on its next scan."""
        with self.lock:
            stale = self.catalog.stale_info(roots)
        done = 0
        for i in range(0, len(stale), BATCH):
            if cancel is not None and cancel.cancelled:
                break
            updates = []
            for rec in stale[i:i + BATCH]:
                if rec.info_version == 2 and (rec.format or "").upper() not in MANY_PICTURES:
                    # version 3 only counts pictures: a JPEG holds one, no header to read again
                    updates.append((rec.id, {"pictures": 1, "info_version": INFO_VERSION}))
                    continue
                try:
                    cols = info_columns(read_info(rec.path))
                except DecodeError:  # unreadable now: the next full decode records why
                    cols = {"info_version": INFO_VERSION}
                cols.pop("content_fraction", None)  # needs pixels: left as it was
                updates.append((rec.id, cols))
            with self.lock:
                with self.catalog.transaction():
                    for fid, cols in updates:
                        self.catalog.set_info(fid, cols)
            done += len(updates)
        return done

    def update_paths(self, paths: Iterable[str], progress: Progress | None, cancel: CancelToken | None,
                     roots: list[str]) -> ScanReport:
        """Re-check specific files or folders (the watcher's created/modified/deleted events)."""
        t0 = time.monotonic()
        report = ScanReport()
        found: list[Found] = []
        known: dict[str, FileRecord] = {}
        gone: list[FileRecord] = []
        unreadable: dict[str, str] = {}
        with self.lock:
            mount_points = self.catalog.mount_points()
            for p in dict.fromkeys(os.path.abspath(p) for p in paths):
                if not under_any(p, roots) or under_any(p, self.skip_dirs):
                    continue
                root = next(r for r in roots if under(p, r))
                if offline_below(p, mount_points) is not None:
                    continue  # an unplugged drive inside a watched folder: its photos are offline
                if os.path.isdir(p):
                    if hidden_below(p, root):
                        continue
                    for rec in self.catalog.files_under(p):
                        known[rec.path] = rec
                    sub: list[Found] = []
                    sub.extend(walk_images(p, self.skip_dirs, on_error=unreadable.__setitem__))
                    found.extend(sub)
                    listed = {f.path for f in sub}
                    gone.extend(r for fp, r in known.items() if under(fp, p) and fp != p and fp not in listed
                                and not under_any(fp, unreadable))
                    continue
                rec = self.catalog.file_by_path(p)
                if rec is not None:
                    known[p] = rec
                try:
                    st = os.stat(p)
                except OSError:
                    st = None
                if st is None or not is_regular(st) or not is_image_path(p) or hidden_below(p, root):
                    # gone, or no longer a photo (a FIFO, a hidden name): drop what we had there
                    gone.extend(self.catalog.files_under(p))
                    continue
                found.append(Found(p, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, os.path.islink(p)))
        files, aliases = dedupe_links(found, known.__contains__)
        gone.extend(known[a.path] for a in aliases if a.path in known)
        on_disk = {f.path: (f.size, f.mtime_ns) for f in files}
        gone = list({r.id: r for r in gone if r.path not in on_disk}.values())  # a folder and its files
        todo, report.unchanged = self._candidates(on_disk, known)
        self._record_unreadable(unreadable, report)
        self._process(todo, gone, report, progress or Progress(), cancel)
        report.seconds = time.monotonic() - t0
        return report

    def _record_unreadable(self, unreadable: dict[str, str], report: ScanReport) -> None:
        """A folder that cannot be listed is a problem to show (``errors()``, the problems panel), with its
        reason; its photos already in the catalog are kept. Stored as an error entry for the folder's path."""
        for folder, reason in sorted(unreadable.items()):
            report.errors.append((folder, reason))
            with self.lock:
                rec = self.catalog.file_by_path(folder)
            if rec is not None and rec.status == STATUS_ERROR and rec.error == reason:
                continue
            with self.lock, self.catalog.transaction():
                self.catalog.upsert_file({"path": folder, "size": 0, "mtime_ns": 0, "status": STATUS_ERROR,
                                          "error": reason})

    # ---- internals ----------------------------------------------------------------------------------
    def _full_records(self, todo: list[Prepared], gone: list[int]) -> list[FileRecord]:
        """The listing compared stamps; the files that changed (tagged with their row's id) or went get their
        whole records (the rest of the pass needs hashes and photo details). Returns ``gone`` as records;
        ``todo``'s tags are replaced in place."""
        ids = [p.tag for p in todo if p.tag is not None] + gone
        if not ids:
            return []
        with self.lock:
            recs = {r.id: r for r in self.catalog.files_by_ids(ids)}
        for p in todo:
            if p.tag is not None:
                p.tag = recs.get(p.tag)   # gone meanwhile: then it is a new file
        return [recs[i] for i in gone if i in recs]

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
                    rec.status == STATUS_ERROR or rec.id in embedded) and not _readable_now(rec):
                unchanged += 1
                continue
            todo.append(Prepared(path=path, size=size, mtime_ns=mtime, tag=rec))
        todo.sort(key=lambda p: p.path)
        return todo, unchanged

    def _process(self, todo: list[Prepared], gone: list[FileRecord], report: ScanReport,
                 progress: Progress, cancel: CancelToken | None) -> None:
        if not todo and not gone:   # a rescan that found no change reads nothing more of the library
            progress.start("indexing", 0)
            progress.finish()
            return
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

        self._fresh, self._fresh_info = {}, {}
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
        if batch:
            self._apply(self._plan(batch, ok_by_hash), gone_by_hash, ok_by_hash, report)

    def _plan(self, batch: list[Prepared], ok_by_hash: dict[str, int]) -> list[_Step]:
        """Everything slow, with no lock held and no transaction open: embed the decoded photos, find the
        vector of content the catalog already has (decoding it after all when that vector is gone), and
        spot links to a file the library already has."""
        to_embed = [b for b in batch if b.array is not None]
        vectors = self.embedder.embed_arrays([b.array for b in to_embed])
        steps = [_Step(b) for b in batch]
        by_item = {id(s.item): s for s in steps}
        for b, v in zip(to_embed, vectors):
            by_item[id(b)].vec = v
            b.array = None  # the pixels are no longer needed: keep the batch's memory small
            if b.hash:
                self._fresh.setdefault(b.hash, v)
                self._fresh_info.setdefault(b.hash, b.info)
        for st in steps:
            item = st.item
            if item.error or st.vec is not None:
                continue
            h = item.hash
            src_id = ok_by_hash.get(h)
            with self.lock:
                src = self.catalog.file(src_id) if src_id is not None else None
                vec = self._fresh.get(h)
                if vec is None and src is not None:
                    vec = self.catalog.embedding(src.id, self.model_id)
            if src is not None and src.path != item.path and same_file(src.path, item.path):
                st.alias_of = src.path   # a hard link or symlink to a photo we have: the same file
                continue
            st.src = src
            st.src_info = self._fresh_info.get(h) if src is None else None
            if vec is None:
                prepared = self.embedder.prepare(Prepared(item.path, item.size, item.mtime_ns))
                if prepared.error or prepared.array is None:
                    item.error = prepared.error or "decode failed"
                    continue
                item.info = prepared.info
                vec = self.embedder.embed_arrays([prepared.array])[0]
                st.embedded = True
            st.vec = vec
        return steps

    def _apply(self, steps: list[_Step], gone_by_hash: dict[str, list[FileRecord]],
               ok_by_hash: dict[str, int], report: ScanReport) -> None:
        """One short transaction: only catalog writes, then the index mirrors them."""
        new_vectors: list[tuple[int, np.ndarray]] = []
        removed_ids: list[int] = []
        events: dict[str, list[tuple[int, str]]] = {"added": [], "updated": [], "moved": []}
        with self.lock:
            cat = self.catalog
            with cat.transaction():
                for st in steps:
                    item = st.item
                    existing: FileRecord | None = item.tag
                    if st.alias_of is not None:
                        if existing is not None:
                            removed_ids += cat.delete_files([existing.id])
                        continue
                    if item.error:
                        fid = cat.upsert_file({"path": item.path, "size": item.size, "mtime_ns": item.mtime_ns,
                                               "hash": item.hash, "status": STATUS_ERROR, "error": item.error})
                        if existing is not None and existing.status == STATUS_OK:
                            cat.drop_embedding(fid)
                            removed_ids.append(fid)
                        report.failed += 1
                        report.errors.append((item.path, item.error))
                        continue
                    h = item.hash
                    if item.info is None:
                        # Content already known: a move/rename, a touched file, or an exact copy.
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
                        src = st.src
                        # an exact copy met in this pass has its twin's size, date and camera
                        meta = info_columns(src) if src is not None else \
                            info_columns(st.src_info) if st.src_info is not None else {}
                        report.reused += 1
                    else:
                        meta = info_columns(item.info)
                        report.embedded += 1
                    fid = cat.upsert_file({"path": item.path, "size": item.size, "mtime_ns": item.mtime_ns,
                                           "hash": h, "status": STATUS_OK, **meta})
                    new_vectors.append((fid, st.vec))
                    if existing is None:
                        report.added += 1
                        events["added"].append((fid, item.path))
                    else:
                        report.updated += 1
                        events["updated"].append((fid, item.path))
                    if h:
                        ok_by_hash.setdefault(h, fid)
                cat.put_embeddings(new_vectors, self.model_id)
                # the orientation signature of every photo decoded in this batch (core/signature.py)
                put_signatures(cat, [(st.item.hash, st.item.signature) for st in steps
                                     if st.item.hash and st.item.info is not None and not st.item.error],
                               SIG_VERSION, in_transaction=True)
                seq = cat.seq()
            # The catalog is committed; mirror it in the index (a crash here is repaired by catch-up on open).
            self.index.remove(removed_ids)
            if new_vectors:
                self.index.add(np.array([f for f, _ in new_vectors], dtype=np.int64),
                               np.stack([v for _, v in new_vectors]))
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


def stream_cancelled(cancel: CancelToken | None) -> bool:
    return cancel is not None and cancel.cancelled


def _readable_now(rec: FileRecord) -> bool:
    """A file refused ("permission denied") that may be read now: a chmod changes neither its size nor its time,
    and the watcher's attribute event brings it here (as a full scan's listing does, ``Listing.retry``)."""
    return rec.status == STATUS_ERROR and rec.error == REFUSED and os.access(rec.path, os.R_OK)
