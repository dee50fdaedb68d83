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

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from .catalog import Catalog

log = logging.getLogger(__name__)

M = 16
EF_CONSTRUCTION = 100  # 200 doubled a 100k rebuild for no measurable recall gain at k<=50
MIN_CAPACITY = 1024
SPACES = ("duplicates", "lookalikes")


@dataclass
class IndexMeta:
    model_id: str
    dim: int
    seq: int


class VectorIndex:
    def __init__(self, dim: int, model_id: str, capacity: int = MIN_CAPACITY, cols: tuple[int, int] | None = None):
        self.dim = dim
        self.model_id = model_id
        self.cols = tuple(cols) if cols is not None else None  # the columns of the catalog's vectors kept here
        self.seq = 0
        self.saved_seq = -1  # seq of the copy on disk; -1: never saved
        self._ix = hnswlib.Index(space="cosine", dim=dim)
        self._ix.init_index(max_elements=max(capacity, MIN_CAPACITY), ef_construction=EF_CONSTRUCTION, M=M,
                            allow_replace_deleted=False)
        self._ix.set_ef(64)
        self._live: set[int] = set()
        self._deleted: set[int] = set()  # labels hnswlib still stores, marked deleted

    # ---- size ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, file_id: int) -> bool:
        return int(file_id) in self._live

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
        self._live.update(int(i) for i in ids)
        self._deleted.difference_update(int(i) for i in ids)

    def remove(self, ids) -> None:
        for fid in ids:
            fid = int(fid)
            if fid in self._live:
                self._ix.mark_deleted(fid)
                self._live.discard(fid)
                self._deleted.add(fid)

    # ---- queries ------------------------------------------------------------------------------------
    def query(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(labels, similarities) of shape (n, k'), best first; k' <= k when the index is small."""
        vectors = self._fit(vectors)
        k = min(k, len(self._live))
        if k <= 0:
            n = vectors.shape[0]
            return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=np.float32)
        self._ix.set_ef(max(64, 2 * k))
        try:
            labels, dist = self._ix.knn_query(vectors, k=k)
        except RuntimeError:  # too few live neighbours reachable at this ef (many deletions)
            self._ix.set_ef(max(256, len(self._live)))
            labels, dist = self._ix.knn_query(vectors, k=k)
        return labels.astype(np.int64), (1.0 - dist).astype(np.float32)

    def vectors(self, ids) -> np.ndarray:
        return np.asarray(self._ix.get_items(list(map(int, ids))), dtype=np.float32)

    # ---- persistence --------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the index, then its meta: a crash in between leaves an older seq, which only replays work."""
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        self._ix.save_index(str(tmp))
        os.replace(tmp, path)
        meta = {"model_id": self.model_id, "dim": self.dim, "seq": self.seq, "count": len(self._live),
                "cols": list(self.cols) if self.cols else None, "deleted": sorted(self._deleted)}
        mtmp = _meta_path(path).with_suffix(".tmp")
        mtmp.write_text(json.dumps(meta))
        os.replace(mtmp, _meta_path(path))
        self.saved_seq = self.seq

    @classmethod
    def load(cls, path: Path, model_id: str, dim: int,
             cols: tuple[int, int] | None = None) -> "VectorIndex | None":
        """The saved index if it is usable for this model, else None (the caller rebuilds)."""
        path = Path(path)
        if not _meta_path(path).exists():
            return None  # a new library, or the index was deleted: rebuild quietly
        try:
            meta = json.loads(_meta_path(path).read_text())
            if meta.get("model_id") != model_id or int(meta.get("dim", -1)) != dim or not path.exists() \
                    or (tuple(meta["cols"]) if meta.get("cols") else None) != (tuple(cols) if cols else None):
                return None
            self = cls.__new__(cls)
            self.dim = dim
            self.model_id = model_id
            self.cols = tuple(cols) if cols else None
            self.seq = self.saved_seq = int(meta["seq"])
            self._ix = hnswlib.Index(space="cosine", dim=dim)
            self._ix.load_index(str(path), max_elements=0, allow_replace_deleted=False)
            self._ix.set_ef(64)
            # get_ids_list includes labels marked deleted; the meta lists those.
            self._deleted = set(int(i) for i in meta.get("deleted", []))
            self._live = set(int(i) for i in self._ix.get_ids_list()) - self._deleted
            if len(self._live) != int(meta.get("count", len(self._live))):
                log.warning("index %s holds %d vectors, meta says %s; rebuilding", path, len(self._live),
                            meta.get("count"))
                return None
            return self
        except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError) as exc:
            log.warning("index %s unusable (%s); rebuilding", path, exc)
            return None

    def catch_up(self, catalog: Catalog) -> int:
        """Apply catalog changes newer than ``self.seq``; returns how many vectors changed."""
        target = catalog.seq()
        if target == self.seq:
            return 0
        dead = catalog.tombstones_since(self.seq)
        ids, vecs = catalog.embeddings(self.model_id, since_seq=self.seq)
        self.remove(dead)
        if len(ids):
            self.add(ids, vecs)
        self.seq = target
        return len(ids) + len(dead)

    @classmethod
    def build(cls, catalog: Catalog, model_id: str, dim: int,
              cols: tuple[int, int] | None = None) -> "VectorIndex":
        ids, vecs = catalog.embeddings(model_id)
        ix = cls(dim, model_id, capacity=max(MIN_CAPACITY, int(len(ids) * 1.25)), cols=cols)
        if len(ids):
            ix._ensure_capacity(len(ids))
            ix._ix.add_items(ix._fit(vecs), ids, num_threads=-1)
            ix._live.update(int(i) for i in ids)
        ix.seq = catalog.seq()
        return ix


def _meta_path(path: Path) -> Path:
    return Path(str(path) + ".json")


def open_index(path: Path, catalog: Catalog, model_id: str, dim: int,
               cols: tuple[int, int] | None = None) -> tuple[VectorIndex, str]:
    """Load and catch up, or rebuild. Returns the index and how it was obtained ("loaded"/"rebuilt")."""
    ix = VectorIndex.load(path, model_id, dim, cols)
    if ix is not None:
        try:
            ix.catch_up(catalog)
            return ix, "loaded"
        except (RuntimeError, ValueError) as exc:  # hnswlib refuses: fall back to a clean rebuild
            log.warning("index catch-up failed (%s); rebuilding", exc)
    return VectorIndex.build(catalog, model_id, dim, cols), "rebuilt"


def space_path(path: Path, space: str) -> Path:
    """Where a space's index lives: the duplicates index keeps the library's one index file name."""
    path = Path(path)
    return path if space == "duplicates" else path.with_name(f"{path.stem}-{space}{path.suffix}")


class IndexSet:
    """One index per space of the model's vector, written together and queried by space.

    The write side (add, remove, seq, save, catch-up) is VectorIndex's, applied to every part; ``query`` and
    ``vectors`` take a ``space`` ("duplicates" or "lookalikes"; a model with one space answers both from it).
    """

    def __init__(self, parts: dict[str, VectorIndex]):
        if "duplicates" not in parts:
            raise ValueError("an index set needs a duplicates space")
        self.parts = parts
        self.primary = parts["duplicates"]

    @property
    def model_id(self) -> str:
        return self.primary.model_id

    @property
    def dim(self) -> int:
        return self.primary.dim

    def part(self, space: str) -> VectorIndex:
        return self.parts.get(space) or self.primary

    @property
    def seq(self) -> int:
        return min(p.seq for p in self.parts.values())

    @seq.setter
    def seq(self, value: int) -> None:
        for p in self.parts.values():
            p.seq = value

    @property
    def saved_seq(self) -> int:
        return min(p.saved_seq for p in self.parts.values())

    def __len__(self) -> int:
        return len(self.primary)

    def __contains__(self, file_id: int) -> bool:
        return file_id in self.primary

    def add(self, ids, vectors) -> None:
        for p in self.parts.values():
            p.add(ids, vectors)

    def remove(self, ids) -> None:
        ids = list(ids)
        for p in self.parts.values():
            p.remove(ids)

    def query(self, vectors, k: int, space: str = "duplicates"):
        return self.part(space).query(vectors, k)

    def vectors(self, ids, space: str = "duplicates") -> np.ndarray:
        return self.part(space).vectors(ids)

    def catch_up(self, catalog: Catalog) -> int:
        return sum(p.catch_up(catalog) for p in self.parts.values())

    def save(self, path: Path) -> None:
        for space, p in self.parts.items():
            p.save(space_path(path, space))


def open_index_set(path: Path, catalog: Catalog, model_id: str,
                   spaces: dict[str, tuple[int, int]]) -> tuple[IndexSet, str]:
    """Each space's index loaded (and caught up) or rebuilt; "rebuilt" when any of them was."""
    parts, origins = {}, []
    single = len(spaces) == 1
    for space, (a, b) in spaces.items():
        cols = None if single else (a, b)
        parts[space], origin = open_index(space_path(path, space), catalog, model_id, b - a, cols)
        origins.append(origin)
    return IndexSet(parts), "rebuilt" if "rebuilt" in origins else "loaded"
