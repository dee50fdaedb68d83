"""One query against a saved hnswlib index without loading it: the file is searched in place.

``hnswlib.load_index`` reads the whole file (661 MB per space at a million photos, several seconds) before
it answers anything; a ``similar`` of one photo touches a few hundred of its elements. This module reads
hnswlib's file format (0.8: a 96-byte header, one fixed-size record per element with its level-0 links,
vector and label, then each element's upper-level links) and runs hnswlib's own search
(greedy descent through the upper levels, then the level-0 beam search with ``ef``, skipping elements
marked deleted) in Python and numpy. Only the records it visits are read (a few thousand: ~1 ms each
hundred).

It is used only for read-only queries of a file that passed the same integrity checks as a full load
(``index_meta._unusable``); anything it does not recognise makes the caller load the index the usual way.
"""

from __future__ import annotations

import heapq
import os
import struct
from pathlib import Path

import numpy as np

HEADER = struct.Struct("<QQQQQQiIQQQdQ")  # hnswlib's saveIndex: offsets and sizes, maxlevel, entry point...


class FormatError(ValueError):
    """The file is not laid out as this reader expects (another hnswlib version): load it instead."""


class MappedIndex:
    """A read-only view of a saved index of cosine vectors (unit vectors, distance 1 - dot), read record
    by record with ``pread`` (not ``mmap``: the kernel maps 64 KiB around every touched page, so a
    query's few thousand records would show as most of the file in the process's memory)."""

    def __init__(self, path: Path, dim: int, has_deleted: bool = True):
        self.path = Path(path)
        self.has_deleted = has_deleted  # hnswlib searches differently when nothing is marked deleted
        self._file = open(self.path, "rb")
        try:
            self.size = os.fstat(self._file.fileno()).st_size
            head = os.pread(self._file.fileno(), HEADER.size, 0)
            if len(head) < HEADER.size:
                raise FormatError("shorter than hnswlib's header")
            (offset_l0, max_elements, n, per_element, label_offset, data_offset, maxlevel, entry, max_m, max_m0,
             _m, _mult, _efc) = HEADER.unpack(head)
            links0 = 4 + 4 * max_m0
            if (offset_l0 != 0 or data_offset != links0 or label_offset != links0 + 4 * dim
                    or per_element != label_offset + 8 or n > max_elements or not 0 <= maxlevel < 64
                    or (n and entry >= n) or HEADER.size + n * per_element + 4 * n > self.size or per_element % 4):
                raise FormatError("unexpected hnswlib layout")
        except BaseException:
            self._file.close()
            raise
        self.n, self.dim, self.maxlevel, self.entry, self.max_m = n, dim, maxlevel, entry, max_m
        self._per, self._data, self._label = per_element, data_offset, label_offset
        self._tail = HEADER.size + n * per_element
        self._records: dict[int, bytes] = {}
        self._upper: dict[int, int] | None = None  # element -> offset of its upper-level links

    def close(self) -> None:
        self._file.close()

    # ---- the file's parts ---------------------------------------------------------------------------
    def _read(self, size: int, offset: int) -> bytes:
        data = os.pread(self._file.fileno(), size, offset)
        if len(data) != size:
            raise FormatError("the file ends early")
        return data

    def _record(self, e: int) -> bytes:
        """Element ``e``'s level-0 record: list header and links, vector, label."""
        rec = self._records.get(e)
        if rec is None:
            if not 0 <= e < self.n:
                raise FormatError("a link points outside the index")
            rec = self._records[e] = self._read(self._per, HEADER.size + e * self._per)
        return rec

    def _links(self, e: int) -> list[int]:
        rec = self._record(e)
        count = int.from_bytes(rec[0:2], "little")
        return np.frombuffer(rec, dtype=np.uint32, count=count, offset=4).tolist()

    def _deleted(self, e: int) -> bool:
        return bool(self._record(e)[2] & 1)

    def _label_of(self, e: int) -> int:
        return int.from_bytes(self._record(e)[self._label:self._label + 8], "little")

    def _upper_offsets(self) -> dict[int, int]:
        """Where each element above level 0 keeps its links: one pass over the file's tail, which holds a
        size word per element (0 for the ~94 % that live only on level 0) followed by that many bytes."""
        if self._upper is None:
            words = np.frombuffer(self._read((self.size - self._tail) // 4 * 4, self._tail), dtype=np.uint32)
            # A record with links starts with its size: a multiple of one level's block, at most maxlevel
            # of them. The first such word starts a record (the zero words before it are level-0
            # elements), and from a record's start the next one is the first such word after its block;
            # only that chain is followed (it skips link ids that happen to look like a size).
            unit = 4 * (self.max_m + 1)
            cand = np.flatnonzero((words != 0) & (words % unit == 0) & (words <= unit * max(self.maxlevel, 1)))
            sizes = words[cand].astype(np.int64)
            after = np.searchsorted(cand, cand + 1 + sizes // 4).tolist()
            chain, j = [], 0
            while j < len(after):
                chain.append(j)
                j = after[j]
            starts, block = cand[chain], sizes[chain]
            element = starts - np.concatenate([[0], np.cumsum(block // 4)[:-1]]).astype(np.int64)
            if self.n + int(block.sum()) // 4 != len(words) or (len(element) and int(element[-1]) >= self.n):
                raise FormatError("the upper-level links do not add up to the file's size")
            self._upper = dict(zip(element.tolist(), (self._tail + 4 * (starts + 1)).tolist()))
        return self._upper

    def _upper_links(self, element: int, level: int) -> list[int]:
        off = self._upper_offsets().get(element)
        if off is None:
            raise FormatError(f"element {element} has no level {level}")
        block = self._read(4 * (self.max_m + 1), off + (level - 1) * 4 * (self.max_m + 1))
        count = int.from_bytes(block[0:2], "little")
        if count > self.max_m:
            raise FormatError("a link list longer than M")
        return np.frombuffer(block, dtype=np.uint32, count=count, offset=4).tolist()

    def _dist(self, q: np.ndarray, elements: list[int]) -> list[float]:
        d, lo, hi = self.dim, self._data, self._label
        vecs = np.frombuffer(b"".join(self._record(e)[lo:hi] for e in elements), dtype=np.float32).reshape(-1, d)
        return (1.0 - vecs @ q).tolist()

    # ---- search -------------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, ef: int, excluded: set[int] = frozenset()) -> list[tuple[int, float]]:
        """Up to ``k`` (label, similarity) pairs, best first, as hnswlib's ``knn_query`` finds them with this
        ``ef``; labels in ``excluded`` (vectors changed or removed since the file was saved) are passed
        through like deleted ones but never returned."""
        if self.n == 0 or k <= 0:
            return []
        self._records = {}  # records are kept for one query only (a long-lived view must not grow)
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        q = q / max(float(np.linalg.norm(q)), 1e-30)
        cur = self.entry
        cur_d = self._dist(q, [cur])[0]
        for level in range(self.maxlevel, 0, -1):
            changed = True
            while changed:
                changed = False
                cand = self._upper_links(cur, level)
                for e, d in zip(cand, self._dist(q, cand) if cand else []):
                    if d < cur_d:  # hnswlib walks the list in order and moves to each strictly better one
                        cur, cur_d, changed = e, d, True
        return self._search_level0(q, cur, cur_d, max(ef, k), k, excluded)

    def _search_level0(self, q, ep: int, ep_d: float, ef: int, k: int, excluded) -> list[tuple[int, float]]:
        bare = not excluded and not self.has_deleted

        def allowed(e: int) -> bool:
            return not self._deleted(e) and self._label_of(e) not in excluded

        visited = {ep}
        top: list[tuple[float, int]] = []      # max-heap on distance (negated)
        cands: list[tuple[float, int]] = []    # min-heap on distance
        if bare or allowed(ep):
            lower = ep_d
            heapq.heappush(top, (-ep_d, ep))
            heapq.heappush(cands, (ep_d, ep))
        else:
            lower = float("inf")
            heapq.heappush(cands, (lower, ep))
        while cands:
            d_c, c = cands[0]
            if d_c > lower and (bare or len(top) == ef):
                break
            heapq.heappop(cands)
            fresh = [e for e in self._links(c) if e not in visited]
            if not fresh:
                continue
            visited.update(fresh)
            for e, d in zip(fresh, self._dist(q, fresh)):
                if len(top) < ef or lower > d:
                    heapq.heappush(cands, (d, e))
                    if bare or allowed(e):
                        heapq.heappush(top, (-d, e))
                    while len(top) > ef:
                        heapq.heappop(top)
                    if top:
                        lower = -top[0][0]
        best = sorted((-nd, e) for nd, e in top)[:k]
        return [(self._label_of(e), 1.0 - d) for d, e in best]


class MappedPart:
    """A space's saved index answering single queries through :class:`MappedIndex`, with the catalog's
    changes since it was saved (a few, while a writer has not saved yet) laid over it: their labels are
    skipped in the file and their current vectors are compared directly."""

    def __init__(self, mapped: MappedIndex, cols, live: int, ef: int, extra_ids: np.ndarray,
                 extra_vectors: np.ndarray, excluded: set[int], seq: int):
        self.mapped, self.cols, self.live, self.ef = mapped, cols, live, ef
        self.seq = seq  # the catalog seq this view reflects (file + changes laid over it)
        self.extra_ids, self.extra_vectors, self.excluded = extra_ids, extra_vectors, excluded

    def _fit(self, v: np.ndarray) -> np.ndarray:
        v = np.atleast_2d(np.asarray(v, dtype=np.float32))
        if self.cols is not None and v.shape[1] != self.mapped.dim and v.shape[1] >= self.cols[1]:
            v = v[:, self.cols[0]:self.cols[1]]
        if v.shape[1] != self.mapped.dim:
            raise ValueError(f"index of dimension {self.mapped.dim} got vectors of {v.shape[1]}")
        return v

    def query(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Like ``VectorIndex.query`` for one vector; None when the file's search came up short (many
        deletions near the query): the caller loads the index and asks again."""
        q = self._fit(vector)[0]
        k = min(k, self.live)
        hits = self.mapped.search(q, k, max(self.ef, 2 * k), self.excluded) if k > 0 else []
        if len(self.extra_ids):
            ev = self._fit(self.extra_vectors)
            sims = ev @ (q / max(float(np.linalg.norm(q)), 1e-30))
            sims /= np.maximum(np.linalg.norm(ev, axis=1), 1e-30)
            hits = sorted(hits + list(zip(self.extra_ids.tolist(), sims.tolist())), key=lambda h: -h[1])[:k]
        if len(hits) < k:  # hnswlib's own search would have raised here too; a full load retries wider
            return None
        labels = np.array([[h[0] for h in hits]], dtype=np.int64).reshape(1, -1)
        sims = np.array([[h[1] for h in hits]], dtype=np.float32).reshape(1, -1)
        return labels, sims


MAX_OVERLAY = 5000  # more catalog changes than this since the save: load and catch up instead


def open_mapped(path: Path, catalog, model_id: str, dim: int, cols, ef: int) -> MappedPart | None:
    """The saved index as a :class:`MappedPart`, when it passes the checks a full load makes without
    reading the file whole (its fingerprint is the one recorded when it was written and checksummed);
    None sends the caller to the full load, which checks, repairs or rebuilds."""
    from .index_meta import _unusable, read_meta

    meta = read_meta(path)
    if meta is None:
        return None
    why, checked = _unusable(meta, Path(path), model_id, dim, cols, catalog.catalog_id())
    if why or checked is not None:  # refused, or only trusted after a full read: the full load repairs it
        return None
    target = catalog.seq()
    if meta["seq"] > target:
        return None
    ids, vecs, dead = np.zeros(0, np.int64), np.zeros((0, dim), np.float32), []
    if meta["seq"] < target:
        dead = catalog.tombstones_since(meta["seq"])
        parts = list(catalog.iter_embeddings(model_id, since_seq=meta["seq"]))
        if parts:
            ids = np.concatenate([p[0] for p in parts])
            vecs = np.concatenate([p[1] for p in parts])
        if len(ids) + len(dead) > MAX_OVERLAY:
            return None
        live = catalog.embedding_count()
    else:
        live = meta["count"]
        if live != catalog.embedding_count():  # a catalog that mixes models: the full load sorts it out
            return None
    try:
        mapped = MappedIndex(path, dim, has_deleted=bool(meta["deleted"]))
    except (OSError, ValueError):
        return None
    if mapped.n != meta["count"] + len(meta["deleted"]):
        mapped.close()
        return None
    excluded = set(int(i) for i in dead) | set(ids.tolist())
    return MappedPart(mapped, tuple(cols) if cols else None, live, ef, ids, vecs, excluded, target)
