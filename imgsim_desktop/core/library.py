"""The one API the CLI, the GUI and the watcher use.

A library folder holds ``catalog.sqlite``, ``index.hnsw`` (+ ``.json``), and ``lock``. One process writes
(it holds the lock); others may open it read-only for queries. Inside a process, one re-entrant lock
serialises catalog writes and every hnswlib call, since hnswlib is not safe for add and query at once.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from PIL import Image

from .catalog import STATUS_OK, Catalog, FileRecord
from .decode import load_image
from .duplicates import (CANDIDATE_SIM, NEIGHBOURS, TIERS, DuplicateGroup, find_groups, knn_candidates,
                         merge_candidates, verified_groups)
from .embedder import Embedder
from .errors import ImgsimError, LibraryError, LibraryLockedError
from .index import SPACES, IndexSet, VectorIndex, open_index_set
from .lockfile import LockFile
from .model import LoadedModel, load_model, space_part
from .paths import default_library_dir
from .progress import CancelToken, Progress
from .scanner import ChangeEvent, Scanner, ScanReport

log = logging.getLogger(__name__)

CATALOG_NAME = "catalog.sqlite"
INDEX_NAME = "index.hnsw"


@dataclass
class SimilarResult:
    file_id: int
    path: str
    score: float

    def to_dict(self) -> dict:
        return {"path": self.path, "score": round(float(self.score), 4), "file_id": self.file_id}


class Library:
    def __init__(self, home: str | Path | None = None, *, model_path: str | Path | None = None,
                 device: str = "auto", readonly: bool = False, model: LoadedModel | None = None,
                 workers: int | None = None, exclude: Iterable[str | Path] = ()):
        self.home = Path(home).expanduser().resolve() if home else default_library_dir().resolve()
        self.readonly = readonly
        self.excluded = [str(Path(e).expanduser().resolve()) for e in exclude]
        self._lock = threading.RLock()        # catalog + index access: short, per batch
        self._write_lock = threading.RLock()  # one write operation (scan, move...) at a time
        self._listeners: list[Callable[[ChangeEvent], None]] = []
        self._lockfile: LockFile | None = None
        self.catalog: Catalog | None = None
        if not readonly:
            try:
                self.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LibraryError(f"cannot create the library folder {self.home}: "
                                   f"{exc.strerror or exc}") from None
            self._lockfile = LockFile(self.home / "lock")
            self._lockfile.acquire()  # raises LibraryLockedError
        try:
            self.model = model or load_model(Path(model_path) if model_path else None, device=device)
            self.catalog = Catalog(self.home / CATALOG_NAME, readonly=readonly)
            self.index_path = self.home / INDEX_NAME
            self.index, self.index_origin = open_index_set(self.index_path, self.catalog, self.model.model_id,
                                                           self.model.spaces)
            self.embedder = Embedder(self.model, workers=workers)
            self.scanner = Scanner(self.catalog, self.index, self.embedder, self.model.model_id, self._notify,
                                   skip_dirs=[str(self.home), *self.excluded], lock=self._lock)
            if not readonly and self.index_origin == "rebuilt":
                self._save_index()
        except BaseException:
            self.close()
            raise

    # ---- lifecycle ----------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self.catalog is not None and not self.readonly:
                try:
                    self._save_index()
                except Exception as exc:  # the index is a cache; the next open repairs it
                    log.warning("could not save the index: %s", exc)
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
        if self.readonly or self.catalog is None:
            return
        self.index.save(self.index_path)
        self.catalog.prune_tombstones(self.index.seq)

    def _writable(self) -> None:
        if self.readonly:
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
    def add_folder(self, path: str | Path) -> Path:
        self._writable()
        p = Path(path).expanduser()
        if not p.exists():
            raise LibraryError(f"folder not found: {p}")
        if not p.is_dir():
            raise LibraryError(f"not a folder: {p}")
        p = p.resolve()
        if _under(str(p), self.excluded):
            raise LibraryError(f"{p} is in an excluded folder")
        with self._lock:
            self.catalog.add_folder(str(p))
        self._notify(ChangeEvent("folders", paths=[str(p)]))
        return p

    def remove_folder(self, path: str | Path) -> int:
        """Stop watching a folder and forget its photos (the files themselves are untouched)."""
        self._writable()
        p = str(Path(path).expanduser().resolve())
        with self._write_lock, self._lock:
            if p not in self.catalog.folders():
                raise LibraryError(f"not a library folder: {p}")
            self.catalog.remove_folder(p)
            others = self.catalog.folders()
            recs = [r for r in self.catalog.files_under(p) if not _under(r.path, others)]
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
        roots = sorted({str(Path(f).expanduser().resolve()) for f in (folders or self.catalog.folders())})
        # A folder inside another one is covered by the outer walk.
        return [r for r in roots if not any(r != o and r.startswith(o.rstrip(os.sep) + os.sep) for o in roots)]

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
                    self._save_index_soon()
        return report

    def move_path(self, src: str | Path, dst: str | Path) -> int:
        """A file or folder was renamed or moved: keep ids and embeddings, change paths."""
        self._writable()
        src_s = os.path.abspath(str(src))
        dst_s = os.path.abspath(str(dst))
        with self._write_lock, self._lock:
            roots = self._roots(None)
            if not _under(dst_s, roots):
                return self.remove_paths([src_s])
            cat = self.catalog
            rec = cat.file_by_path(src_s)
            with cat.transaction():
                if rec is not None:
                    try:
                        st = os.stat(dst_s)
                        displaced = cat.move_file(rec.id, dst_s, st.st_size, st.st_mtime_ns)
                    except OSError:
                        displaced = cat.move_file(rec.id, dst_s)
                    ids = [rec.id]
                else:
                    ids, displaced = cat.move_prefix(src_s, dst_s)
                seq = cat.seq()
            if displaced:
                self.index.remove(displaced)
                self.index.seq = seq
            if not ids:  # unknown source: treat the destination as new
                return self.update_paths([dst_s]).added
            self._save_index_soon()
        if displaced:
            self._notify(ChangeEvent("removed", displaced, []))
        self._notify(ChangeEvent("moved", ids, [dst_s]))
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
                self._save_index_soon()
        return n

    def _save_index_soon(self) -> None:
        """Small watcher updates don't rewrite a large index every time; catch-up covers a crash."""
        if self.catalog.seq() - self.index.saved_seq >= 256:
            self._save_index()

    # ---- queries ------------------------------------------------------------------------------------
    def _query_vector(self, query) -> tuple[np.ndarray, int | None]:
        """Vector for a path (reusing the catalog's when the file is indexed and unchanged), bytes or image."""
        if isinstance(query, Image.Image):
            return self.embedder.embed_image(query.convert("RGB")), None
        if isinstance(query, (bytes, bytearray, memoryview)):
            return self.embedder.embed_bytes(bytes(query)), None
        p = Path(query).expanduser()
        if not p.exists():
            raise LibraryError(f"file not found: {p}")
        if p.is_dir():
            raise LibraryError(f"not a file: {p}")
        ap = os.path.abspath(str(p))
        with self._lock:
            rec = self.catalog.file_by_path(ap)
            if rec is not None and rec.status == STATUS_OK:
                st = p.stat()
                if st.st_size == rec.size and st.st_mtime_ns == rec.mtime_ns:
                    v = self.catalog.embedding(rec.id, self.model.model_id)
                    if v is not None:
                        return v, rec.id
        vec, _ = self.embedder.embed_path(ap)
        return vec, (rec.id if rec is not None else None)

    def similar(self, query, k: int = 20, space: str = "lookalikes") -> list[SimilarResult]:
        """Nearest photos to a path, image bytes or PIL image; the query file itself is left out.

        ``space``: "lookalikes" (the same kind of picture; the model's lookalike head when it has one) or
        "duplicates" (the same photo, edited)."""
        vec, self_id = self._query_vector(query)
        return self._neighbours(vec, k, self_id, space)

    def similar_to_id(self, file_id: int, k: int = 20, space: str = "lookalikes") -> list[SimilarResult]:
        with self._lock:
            vec = self.catalog.embedding(file_id, self.model.model_id)
        if vec is None:
            raise LibraryError(f"no embedding for file id {file_id}")
        return self._neighbours(vec, k, file_id, space)

    def _neighbours(self, vec: np.ndarray, k: int, self_id: int | None, space: str) -> list[SimilarResult]:
        if space not in SPACES:
            raise LibraryError(f"unknown space {space!r}; choose one of {', '.join(SPACES)}")
        if k <= 0:
            return []
        with self._lock:
            labels, sims = self.index.query(vec[None], k + (1 if self_id is not None else 0), space)
            ids = [int(x) for x in labels[0]]
            recs = {r.id: r for r in self.catalog.files_by_ids(ids)}
        out = [SimilarResult(fid, recs[fid].path, float(s)) for fid, s in zip(ids, sims[0])
               if fid != self_id and fid in recs]
        return out[:k]

    def duplicates(self, tier: str = "duplicates", threshold: float | None = None) -> list[DuplicateGroup]:
        if tier not in TIERS:
            raise LibraryError(f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}")
        t = self.model.thresholds[tier] if threshold is None else float(threshold)
        if not -1.0 <= t <= 1.0:
            raise LibraryError(f"threshold must be between -1 and 1, got {t}")
        with self._lock:
            records = {r.id: r for r in self.catalog.all_files(STATUS_OK)}
            ids, vecs = self.catalog.embeddings(self.model.model_id)
            vecs = space_part(vecs, self.model.spaces, "duplicates")  # of [duplicates | lookalikes]
            neighbours = self.index.query(vecs, NEIGHBOURS + 1) if len(ids) else (np.zeros((0, 0)), np.zeros((0, 0)))
        if tier == "similar":
            return find_groups(records, ids, vecs, neighbours, t, tier)
        return self._verified_duplicates(records, ids, vecs, neighbours,
                                         CANDIDATE_SIM if threshold is None else float(threshold))

    def _verified_duplicates(self, records, ids, vecs, neighbours, candidate_sim: float) -> list[DuplicateGroup]:
        """Candidates (index neighbours + orientation signatures), verified pair by pair (cached in the catalog
        by content hash), grouped. Decoding and matching run outside the data lock."""
        from .signature import SIG_VERSION, candidate_pairs, signature_for_path
        from .verdicts import PairVerifier, get_signatures, load_verdicts, put_signatures

        cands = knn_candidates(ids, neighbours, candidate_sim)
        by_hash = {}
        for r in records.values():
            if r.hash:
                by_hash.setdefault(r.hash, r)
        with self._lock:
            sigs = get_signatures(self.catalog, by_hash, SIG_VERSION)
            cached = load_verdicts(self.catalog, set(by_hash))
        missing = [h for h in by_hash if h not in sigs]
        made = []
        for h in missing:  # photos indexed before signatures existed: made once, then stored
            made.append((h, signature_for_path(by_hash[h].path)))
        if made and not self.readonly:
            with self._lock:
                put_signatures(self.catalog, made, SIG_VERSION)
        sigs.update(made)
        have = [(r.id, sigs[r.hash]) for r in by_hash.values() if sigs.get(r.hash) is not None]
        if len(have) >= 2:
            sig_ids = np.array([f for f, _ in have], dtype=np.int64)
            cands = merge_candidates(cands, candidate_pairs(sig_ids, np.stack([s for _, s in have])))
        vec_of = {int(f): v for f, v in zip(ids, vecs)}

        def sim_of(a: int, b: int) -> float:
            va, vb = vec_of.get(a), vec_of.get(b)
            return float(np.dot(va, vb)) if va is not None and vb is not None else 0.0

        verifier = PairVerifier(records, cached)
        groups = verified_groups(records, cands, verifier.verdict, sim_of)
        if verifier.fresh and not self.readonly:
            with self._lock:
                verifier.save(self.catalog)
        self.last_verification = {"candidates": len(cands), "verified_now": verifier.verified,
                                  "cached": len(cached)}
        return groups

    # ---- reads --------------------------------------------------------------------------------------
    def count(self) -> int:
        with self._lock:
            return self.catalog.counts()["ok"]

    def file_ids(self) -> list[int]:
        with self._lock:
            return self.catalog.file_ids()

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
        with self._lock:
            counts = self.catalog.counts()
            folders = []
            for f in self.catalog.folders():
                files, errors = self.catalog.count_under(f)
                folders.append({"path": f, "exists": os.path.isdir(f), "files": files, "errors": errors})
            index_bytes = self.index_path.stat().st_size if self.index_path.exists() else 0
            return {
                "library": str(self.home),
                "folders": folders,
                "files": counts["files"], "indexed": len(self.index), "errors": counts["errors"],
                "bytes": counts["bytes"],
                "model": {"name": self.model.name, "model_id": self.model.model_id,
                          "embedding_size": self.model.embedding_size, "input_size": self.model.input_size,
                          "spaces": {k: list(v) for k, v in self.model.spaces.items()}, "tta": self.model.tta,
                          "device": self.model.device},
                "index": {"vectors": len(self.index), "file_bytes": index_bytes, "origin": self.index_origin},
                "catalog_bytes": (self.home / CATALOG_NAME).stat().st_size,
                "thresholds": self.model.thresholds,
                "readonly": self.readonly,
            }

    def reconstruct(self, path: str | Path) -> tuple[Image.Image, Image.Image]:
        """(the photo as the model sees it, the autoencoder's rebuild of it)."""
        img, _ = load_image(path, max_side=self.model.input_size)
        seen = Image.fromarray(self.model.preprocess(img), "RGB")
        return seen, self.model.reconstruct(img)


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def open_for_query(home: str | Path | None = None, **kw) -> Library:
    """Writer access when the library is free, read-only when another process writes to it."""
    try:
        return Library(home, **kw)
    except LibraryLockedError:
        return Library(home, readonly=True, **kw)


__all__ = ["Library", "SimilarResult", "ScanReport", "ChangeEvent", "DuplicateGroup", "ImgsimError",
           "open_for_query", "CancelToken", "Progress", "VectorIndex", "IndexSet", "SPACES"]
