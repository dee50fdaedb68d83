"""The hnswlib cosine index: a cache of the catalog's embeddings, labelled by file id.

It is saved beside the catalog with the catalog sequence number it reflects. On open it catches up from
that number (new vectors added, removed ones marked deleted); it is rebuilt from the catalog when the file
is missing, unreadable, or made by another model. hnswlib must not add and query at once: the Library
holds one lock around every call here.

A model with a lookalike head stores one vector per photo, ``[duplicates | lookalikes]``; an
:class:`IndexSet` keeps one ``VectorIndex`` per part (``cols`` says which columns), so duplicate grouping
and lookalike search each search their own space. Everything that writes (the scanner, moves, catch-up)
passes whole vectors and does not need to know.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .catalog import Catalog
from .index_meta import (EDGE, _unusable, _write_meta, file_checksum, file_fingerprint, read_meta,  # noqa: F401
                         space_path)

log = logging.getLogger(__name__)

# HNSW settings (defaults measured with `imgsim bench-perf --synthetic`, see docs/performance.md); each can be
# set with $IMGSIM_HNSW_M, $IMGSIM_HNSW_EF_CONSTRUCTION and $IMGSIM_HNSW_EF. M and ef_construction shape an
# index when it is built; ef (search breadth) applies to every query.
M = 16
EF_CONSTRUCTION = 100  # 200 doubled a 100k rebuild for no measurable recall gain at k<=50
EF_SEARCH = 64         # raised to 2k for larger k
MIN_CAPACITY = 1024
SPACES = ("duplicates", "lookalikes")


@dataclass(frozen=True)
class HnswParams:
    m: int = M
    ef_construction: int = EF_CONSTRUCTION
    ef_search: int = EF_SEARCH

    @classmethod
    def from_env(cls) -> "HnswParams":
        """The defaults, with any of $IMGSIM_HNSW_M / _EF_CONSTRUCTION / _EF that is a sane integer."""
        out = {}
        for field_, var, lo, hi in (("m", "IMGSIM_HNSW_M", 4, 96), ("ef_construction", "IMGSIM_HNSW_EF_CONSTRUCTION",
                                    16, 2000), ("ef_search", "IMGSIM_HNSW_EF", 8, 4000)):
            raw = os.environ.get(var)
            if raw:
                try:
                    v = int(raw)
                    if not lo <= v <= hi:
                        raise ValueError
                    out[field_] = v
                except ValueError:
                    log.warning("ignoring $%s=%r (an integer from %d to %d)", var, raw, lo, hi)
        return cls(**out)


@dataclass
class IndexMeta:
    model_id: str
    dim: int
    seq: int


class VectorIndex:
    def __init__(self, dim: int, model_id: str, capacity: int = MIN_CAPACITY, cols: tuple[int, int] | None = None,
                 params: HnswParams | None = None):
        self.dim = dim
        self.model_id = model_id
        self.cols = tuple(cols) if cols is not None else None  # the columns of the catalog's vectors kept here
        self.seq = 0
        self.saved_seq = -1  # seq of the copy on disk; -1: never saved
        self.meta_stale = False  # the file passed a full checksum but its sidecar's fingerprint is out of date
        self._ix = _hnswlib().Index(space="cosine", dim=dim)
        self.params = params or HnswParams.from_env()
        self._ix.init_index(max_elements=max(capacity, MIN_CAPACITY), ef_construction=self.params.ef_construction,
                            M=self.params.m,
                            allow_replace_deleted=False)
        self._ix.set_ef(self.params.ef_search)
        self._live: set[int] | None = set()  # None until first needed (a loaded index of 1M ids costs 0.2 s)
        self._deleted: set[int] = set()  # labels hnswlib still stores, marked deleted

    # ---- size ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        # hnswlib counts every label it stores; the ones marked deleted are not live
        return self._ix.element_count - len(self._deleted)

    def __contains__(self, file_id: int) -> bool:
        return int(file_id) in self._live_ids()

    def _live_ids(self) -> set[int]:
        if self._live is None:
            self._live = set(int(i) for i in self._ix.get_ids_list()) - self._deleted
        return self._live

    def _ensure_capacity(self, extra: int) -> None:
        need = self._ix.element_count + extra
        cap = self._ix.get_max_elements()
        if need > cap:
            self._ix.resize_index(max(need, cap * 2))

    def _fit(self, vectors: np.ndarray) -> np.ndarray:
        """Whole vectors cut to this index's columns (vectors already that wide pass as they are)."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if vectors.shape[1] != self.dim and self.cols is not None and vectors.shape[1] >= self.cols[1]:
            vectors = vectors[:, self.cols[0]:self.cols[1]]
        if vectors.shape[1] != self.dim:
            raise ValueError(f"index of dimension {self.dim} got vectors of {vectors.shape[1]}")
        return np.ascontiguousarray(vectors)

    # ---- writes -------------------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors for these file ids."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        vectors = self._fit(vectors)
        self._ensure_capacity(len(ids))
        # hnswlib revives a label that was marked deleted when it is added again.
        self._ix.add_items(vectors, ids, num_threads=1)
        if self._live is not None:
            self._live.update(int(i) for i in ids)
        self._deleted.difference_update(int(i) for i in ids)

    def remove(self, ids) -> None:
        live = self._live_ids()
        for fid in ids:
            fid = int(fid)
            if fid in live:
                self._ix.mark_deleted(fid)
                live.discard(fid)
                self._deleted.add(fid)

    # ---- queries ------------------------------------------------------------------------------------
    def query(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(labels, similarities) of shape (n, k'), best first; k' <= k when the index is small."""
        vectors = self._fit(vectors)
        live = len(self)
        k = min(k, live)
        if k <= 0:
            n = vectors.shape[0]
            return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=np.float32)
        self._ix.set_ef(max(self.params.ef_search, 2 * k))
        try:
            labels, dist = self._ix.knn_query(vectors, k=k)
        except RuntimeError:  # too few live neighbours reachable at this ef (many deletions)
            self._ix.set_ef(max(256, live))
            labels, dist = self._ix.knn_query(vectors, k=k)
        return labels.astype(np.int64), (1.0 - dist).astype(np.float32)

    def vectors(self, ids) -> np.ndarray:
        return np.asarray(self._ix.get_items(list(map(int, ids))), dtype=np.float32)

    # ---- persistence --------------------------------------------------------------------------------
    def save(self, path: Path, catalog_id: str | None = None) -> None:
        """Write the index, then its meta: a crash in between leaves an older seq, which only replays work.

        The meta carries the file's size and checksum, so a damaged file is caught before hnswlib (which
        trusts its links and entry point blindly, and crashes the process on bad ones) ever reads it, and
        its fingerprint (see :func:`file_fingerprint`), so an open that finds the file as it was written
        does not have to read all of it to know."""
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        self._ix.save_index(str(tmp))
        checksum, size = file_checksum(tmp)
        os.replace(tmp, path)
        meta = {"model_id": self.model_id, "dim": self.dim, "seq": self.seq, "count": len(self),
                "cols": list(self.cols) if self.cols else None, "deleted": sorted(self._deleted),
                "bytes": size, "checksum": checksum, "fingerprint": file_fingerprint(path),
                "catalog_id": catalog_id, "m": self._ix.M, "ef_construction": self._ix.ef_construction}
        _write_meta(path, meta)
        self.saved_seq = self.seq
        self.meta_stale = False

    def refresh_meta(self, path: Path) -> bool:
        """Stamp the fingerprint of a file that passed its full checksum on this open into its sidecar, so
        the next open is quick again (after a copy or restore: new inode, same bytes). Only when the file
        still is the one that was checked; True when the sidecar was rewritten."""
        path = Path(path)
        meta = read_meta(path)
        try:
            now = file_fingerprint(path)
        except OSError:
            return False
        if meta is None or meta["seq"] != self.saved_seq or now != getattr(self, "_checked_fingerprint", None):
            return False
        meta["fingerprint"] = now
        _write_meta(path, meta)
        self.meta_stale = False
        return True

    @classmethod
    def load(cls, path: Path, model_id: str, dim: int, cols: tuple[int, int] | None = None,
             catalog_id: str | None = None) -> "VectorIndex | None":
        """The saved index if it is intact and usable for this model and catalog, else None (the caller
        rebuilds). Nothing of the file reaches hnswlib before its size and checksum match the meta."""
        path = Path(path)
        meta = read_meta(path)
        if meta is None:
            return None
        why, checked = _unusable(meta, path, model_id, dim, cols, catalog_id)
        if why:
            log.warning("index %s %s; rebuilding", path, why)
            return None
        try:
            self = cls.__new__(cls)
            self.dim = dim
            self.model_id = model_id
            self.cols = tuple(cols) if cols else None
            self.seq = self.saved_seq = meta["seq"]
            self._ix = _hnswlib().Index(space="cosine", dim=dim)
            self._ix.load_index(str(path), max_elements=0, allow_replace_deleted=False)
            self.params = HnswParams.from_env()
            self._ix.set_ef(self.params.ef_search)
            # hnswlib's count includes labels marked deleted; the meta lists those. The set of live ids
            # is made only when a write or a membership test needs it.
            self._deleted = set(meta["deleted"])
            self._live = None
            self.meta_stale = checked is not None and meta.get("fingerprint") != checked
            self._checked_fingerprint = checked
            if len(self) != meta["count"]:
                log.warning("index %s holds %d vectors, meta says %s; rebuilding", path, len(self), meta["count"])
                return None
            return self
        except (OSError, ValueError, KeyError, RuntimeError, MemoryError) as exc:
            log.warning("index %s unusable (%s); rebuilding", path, exc)
            return None

    def catch_up(self, catalog: Catalog) -> int:
        """Apply catalog changes newer than ``self.seq``; returns how many vectors changed."""
        target = catalog.seq()
        if target == self.seq:
            return 0
        dead = catalog.tombstones_since(self.seq)
        self.remove(dead)
        n = len(dead)
        for ids, vecs in catalog.iter_embeddings(self.model_id, since_seq=self.seq):
            self.add(ids, vecs)
            n += len(ids)
        self.seq = target
        return n

    @classmethod
    def build(cls, catalog: Catalog, model_id: str, dim: int,
              cols: tuple[int, int] | None = None, progress=None) -> "VectorIndex":
        return build_indexes(catalog, model_id, {"_": (dim, cols)}, progress)["_"]


def build_indexes(catalog: Catalog, model_id: str, specs: dict[str, tuple[int, tuple[int, int] | None]],
                  progress=None) -> dict[str, VectorIndex]:
    """Fresh indexes for several spaces (name -> (dim, cols)) from ONE chunked read of the catalog's
    vectors: no whole-library array is ever held, and a two-space model reads its vectors once."""
    seq = catalog.seq()
    n = catalog.embedding_count(model_id)
    out = {name: VectorIndex(dim, model_id, capacity=max(MIN_CAPACITY, int(n * 1.1)), cols=cols)
           for name, (dim, cols) in specs.items()}
    if progress is not None:
        progress.start("index", n)
    for ids, vecs in catalog.iter_embeddings(model_id, chunk=20000):
        for ix in out.values():
            ix._ensure_capacity(len(ids))
            ix._ix.add_items(ix._fit(vecs), ids, num_threads=-1)
            ix._live.update(ids.tolist())  # a fresh index: the set exists
        if progress is not None:
            progress.advance(len(ids))
    for ix in out.values():
        ix.seq = seq
    if progress is not None:
        progress.finish()
    return out


def _hnswlib():
    """hnswlib, imported when an index is first made or loaded (``status`` never needs it)."""
    import hnswlib

    return hnswlib


def load_index(path: Path, catalog: Catalog, model_id: str, dim: int,
               cols: tuple[int, int] | None = None) -> VectorIndex | None:
    """The saved index, loaded and caught up, when it agrees with the catalog; None when it must be rebuilt.

    It must be intact (checksum), made for this catalog (its id), not ahead of it (a catalog deleted or
    replaced while the index was kept), and hold exactly the catalog's vectors after catch-up."""
    ix = VectorIndex.load(path, model_id, dim, cols, catalog.catalog_id())
    if ix is None:
        return None
    try:
        target = catalog.seq()
        if ix.seq > target:
            log.warning("index %s is ahead of the catalog (seq %d > %d); rebuilding", path, ix.seq, target)
            return None
        ix.catch_up(catalog)
        # the plain count is cheap; the per-model one only when the catalog mixes models
        if len(ix) == catalog.embedding_count() or len(ix) == catalog.embedding_count(model_id):
            return ix
        log.warning("index %s disagrees with the catalog (%d vectors, catalog %d); rebuilding", path,
                    len(ix), catalog.embedding_count(model_id))
    except (RuntimeError, ValueError) as exc:  # hnswlib refuses: fall back to a clean rebuild
        log.warning("index catch-up failed (%s); rebuilding", exc)
    return None


def open_index(path: Path, catalog: Catalog, model_id: str, dim: int,
               cols: tuple[int, int] | None = None) -> tuple[VectorIndex, str]:
    """Load and catch up, or rebuild. Returns the index and how it was obtained ("loaded"/"rebuilt")."""
    ix = load_index(path, catalog, model_id, dim, cols)
    if ix is not None:
        return ix, "loaded"
    return VectorIndex.build(catalog, model_id, dim, cols), "rebuilt"


class IndexSet:
    """One index per space of the model's vector, each opened only when first used, written together.

    A query opens only its own space's file (``similar`` in lookalikes never reads the duplicates index);
    the write side (add, remove, seq, catch-up) opens and updates every part. ``save`` writes only the
    parts that changed since they were loaded or last saved: an unchanged index is never rewritten.
    ``query`` and ``vectors`` take a ``space`` ("duplicates" or "lookalikes"; a model with one space
    answers both from it).
    """

    def __init__(self, path: Path, catalog: Catalog, model_id: str, spaces: dict[str, tuple[int, int]]):
        if "duplicates" not in spaces:
            raise ValueError("an index set needs a duplicates space")
        self.path = Path(path)
        self.catalog = catalog
        self.model_id = model_id
        single = len(spaces) == 1
        self._specs = {space: (b - a, None if single else (a, b)) for space, (a, b) in spaces.items()}
        self.parts: dict[str, VectorIndex] = {}    # the parts opened so far
        self.origins: dict[str, str] = {}          # space -> "loaded" | "rebuilt"
        # Read-only opens answer single queries from the mapped file (core/hnsw_file.py) instead of loading
        # the part: a 1M-photo index takes seconds to load and one query reads a few hundred of its records.
        self.mapped_queries = False
        self._mapped: dict = {}                    # space -> MappedPart | None (None: use the full load)

    @property
    def spaces(self) -> tuple[str, ...]:
        return tuple(self._specs)

    def part(self, space: str) -> VectorIndex:
        if space not in self._specs:
            space = "duplicates"
        if space not in self.parts:
            dim, cols = self._specs[space]
            self.parts[space], self.origins[space] = open_index(space_path(self.path, space), self.catalog,
                                                                self.model_id, dim, cols)
        return self.parts[space]

    def open_all(self, progress=None) -> "IndexSet":
        """Every space opened; those that cannot be loaded are rebuilt together from one read."""
        missing = {}
        for space, (dim, cols) in self._specs.items():
            if space in self.parts:
                continue
            ix = load_index(space_path(self.path, space), self.catalog, self.model_id, dim, cols)
            if ix is None:
                missing[space] = (dim, cols)
            else:
                self.parts[space], self.origins[space] = ix, "loaded"
        if missing:
            for space, ix in build_indexes(self.catalog, self.model_id, missing, progress).items():
                self.parts[space], self.origins[space] = ix, "rebuilt"
        return self

    @property
    def origin(self) -> str:
        """"rebuilt" when an opened part had to be rebuilt, "loaded" when all opened parts loaded,
        "unopened" when no query or write needed the index yet."""
        if not self.origins:
            return "unopened"
        return "rebuilt" if "rebuilt" in self.origins.values() else "loaded"

    @property
    def primary(self) -> VectorIndex:
        return self.part("duplicates")

    @property
    def dim(self) -> int:
        return self._specs["duplicates"][0]

    @property
    def seq(self) -> int:
        return min(p.seq for p in self.open_all().parts.values())

    @seq.setter
    def seq(self, value: int) -> None:
        for p in self.open_all().parts.values():
            p.seq = value

    @property
    def saved_seq(self) -> int:
        return min(p.saved_seq for p in self.open_all().parts.values())

    def dirty(self) -> bool:
        """Whether an opened part has changes, or a sidecar fingerprint to refresh, worth saving."""
        return any(p.seq != p.saved_seq or p.meta_stale for p in self.parts.values())

    def __len__(self) -> int:
        return len(self.primary)

    def __contains__(self, file_id: int) -> bool:
        return file_id in self.primary

    def add(self, ids, vectors) -> None:
        for p in self.open_all().parts.values():
            p.add(ids, vectors)

    def remove(self, ids) -> None:
        ids = list(ids)
        for p in self.open_all().parts.values():
            p.remove(ids)

    def query(self, vectors, k: int, space: str = "duplicates"):
        if space not in self._specs:
            space = "duplicates"
        if self.mapped_queries and space not in self.parts and np.ndim(vectors) in (1, 2) \
                and np.atleast_2d(vectors).shape[0] == 1:
            got = self._query_mapped(vectors, k, space)
            if got is not None:
                return got
        return self.part(space).query(vectors, k)

    def _query_mapped(self, vectors, k: int, space: str):
        from .hnsw_file import FormatError, open_mapped

        old = self._mapped.get(space)
        if old is not None and old.seq != self.catalog.seq():  # a writer changed the catalog since
            old.mapped.close()
            del self._mapped[space]
        if space not in self._mapped:
            dim, cols = self._specs[space]
            self._mapped[space] = open_mapped(space_path(self.path, space), self.catalog, self.model_id, dim, cols,
                                              HnswParams.from_env().ef_search)
        mp = self._mapped[space]
        if mp is None:
            return None
        try:
            return mp.query(vectors, k)
        except (FormatError, ValueError, IndexError, OSError) as exc:
            log.warning("index %s could not be searched in place (%s); loading it", space, exc)
            mp.mapped.close()
            self._mapped[space] = None
            return None

    def close(self) -> None:
        """Close the files opened for in-place queries."""
        for mp in self._mapped.values():
            if mp is not None:
                mp.mapped.close()
        self._mapped.clear()

    def vectors(self, ids, space: str = "duplicates") -> np.ndarray:
        return self.part(space).vectors(ids)

    def catch_up(self, catalog: Catalog) -> int:
        return sum(p.catch_up(catalog) for p in self.open_all().parts.values())

    def save(self, path: Path | None = None, force: bool = False) -> int:
        """Write the opened parts that changed (all opened parts with ``force``); returns how many. A part
        that only needs its sidecar's fingerprint refreshed gets just that (not counted)."""
        path = Path(path) if path is not None else self.path
        catalog_id = self.catalog.catalog_id()
        n = 0
        for space, p in self.parts.items():
            if force or p.seq != p.saved_seq:
                p.save(space_path(path, space), catalog_id)
                n += 1
            elif p.meta_stale and path == self.path:
                p.refresh_meta(space_path(path, space))
        return n

    def durable_seq(self) -> int:
        """The catalog seq every space's index on disk has reached (unopened parts: their saved meta; -1
        when one is missing): tombstones up to here are no longer needed for catch-up."""
        out = []
        for space in self._specs:
            p = self.parts.get(space)
            if p is not None:
                out.append(p.saved_seq)
            else:
                meta = read_meta(space_path(self.path, space))
                out.append(meta["seq"] if meta else -1)
        return min(out)


def open_index_set(path: Path, catalog: Catalog, model_id: str,
                   spaces: dict[str, tuple[int, int]]) -> tuple[IndexSet, str]:
    """Each space's index loaded (and caught up) or rebuilt now; "rebuilt" when any of them was."""
    ix = IndexSet(path, catalog, model_id, spaces).open_all()
    return ix, ix.origin
