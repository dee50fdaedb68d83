"""One grouping run's verifier: cached verdicts first, then features decoded once per photo, and the pairs a
run will ask about decided on every core at once.

A pair costs about 10 ms of SIFT, matching and pixel comparison on one core, mostly in OpenCV and numpy, which
release the GIL: threads give the cores to verification without pickling features to other processes (1.7x on
2 cores; the many small numpy steps that hold the GIL are the rest)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from .verify import PairVerdict


def default_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    return max(1, min(8, n))


CACHE_BYTES = 768 << 20   # features held at once: the photos of a candidate pair come back over a stretch of
                          # pairs, and a photo let go is decoded again (a 12 MP JPEG: ~60 ms; its features
                          # ~145 KB, a 100 px picture's ~17 KB). A cap of 3,072 photos whatever their size
                          # decoded each of 53,645 small pictures 5 times over.
CHUNK_PAIRS = 768         # pairs whose features are decoded together: at most 1,536 photos, ~500 MB of tall
                          # screenshots' features, inside the cache


def _nbytes(f) -> int:
    if f is None:
        return 64
    return f.grey.nbytes + f.kp.nbytes + (0 if f.desc is None else f.desc.nbytes) + 512


class PairVerifier:
    """``verdict(a, b)`` takes file ids; new verdicts are kept in ``fresh`` until ``save()`` writes them (the
    caller holds the catalog lock for that; decoding and matching happen without it). ``decide(pairs)``
    verifies many at once on ``workers`` threads; ``verdict`` then finds them decided."""

    def __init__(self, records: dict, cached: dict[tuple[str, str], PairVerdict] | None = None,
                 max_bytes: int = CACHE_BYTES, progress=None, cancel=None, workers: int | None = None,
                 rank: dict[int, int] | None = None):
        self.records = records
        self.rank = rank or {}     # file id -> place in a cache-friendly order (``locality_order``)
        self.progress = progress   # advanced by one per pair actually verified
        self.cancel = cancel
        self.cached = dict(cached or {})
        self.fresh: list[tuple[str, str, PairVerdict]] = []
        self._features: dict[int, object] = {}
        self._max_bytes = max_bytes
        self._bytes = 0
        self.verified = 0
        self.decoded = 0     # photos decoded for their features (again, when the cache had let them go)
        self.errors: list[tuple[str, str]] = []
        self.workers = default_workers() if workers is None else max(1, workers)
        self._unreadable: set[tuple[str, str]] = set()   # pairs asked already whose photo could not be read
        self._lock = threading.Lock()

    def _feat(self, fid: int):
        from .errors import DecodeError
        from .verify import features_from_path

        with self._lock:
            if fid in self._features:   # least recently used goes first: a photo asked again stays
                f = self._features[fid] = self._features.pop(fid)
                return f
        # a verdict is stored under the record's content hash: one about other pixels would be trusted for that
        # content ever after
        rec = self.records[fid]
        f, error = None, rec.not_as_indexed()
        if error is None:
            try:
                f = features_from_path(rec.path)
                error = rec.not_as_indexed()   # rewritten while it was read
            except DecodeError as exc:
                error = exc.reason
            except OSError as exc:
                error = str(exc)
            if error is not None:
                f = None
        with self._lock:
            if fid in self._features:   # another thread got there first
                return self._features[fid]
            self.decoded += 1
            if error is not None:
                self.errors.append((rec.path, error))
            self._features[fid] = f
            self._bytes += _nbytes(f)
            while self._bytes > self._max_bytes and len(self._features) > 1:
                self._bytes -= _nbytes(self._features.pop(next(iter(self._features))))
        return f

    def known(self, ha: str, hb: str) -> PairVerdict | None:
        """The verdict of content hb seen from ha, if decided (cached or asked in this run)."""
        v = self.cached.get((ha, hb))
        if v is not None:
            return v
        back = self.cached.get((hb, ha))
        return back.swapped() if back is not None else None

    def _key(self, a: int, b: int) -> tuple[str, str] | None:
        ra, rb = self.records.get(a), self.records.get(b)
        if ra is None or rb is None or not ra.hash or not rb.hash:
            return None
        return ra.hash, rb.hash

    def verdict(self, a: int, b: int) -> PairVerdict | None:
        key = self._key(a, b)
        if key is None or key in self._unreadable:
            return None
        v = self.known(*key)
        if v is not None:
            return v
        if self.cancel is not None:
            self.cancel.check()
        v = self._verify(a, b, key)
        if self.progress is not None:
            self.progress.advance(1)
        return v

    def _verify(self, a: int, b: int, key: tuple[str, str]) -> PairVerdict | None:
        from .verify import verify

        fa, fb = self._feat(a), self._feat(b)
        if fa is None or fb is None:
            with self._lock:
                self._unreadable.update((key, key[::-1]))
            return None
        v = verify(fa, fb)
        with self._lock:
            self.verified += 1
            self.cached[key] = v
            self.fresh.append((key[0], key[1], v))
        return v

    def _decided(self, a: int, b: int) -> PairVerdict | None:
        key = self._key(a, b)
        return None if key is None or key in self._unreadable else self.known(*key)

    def decide(self, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], PairVerdict | None]:
        """The verdict of each pair of file ids (None: a photo could not be read), those not decided yet
        verified on all workers."""
        pairs = list(pairs)
        todo: list[tuple[int, int, tuple[str, str]]] = []
        asked: set[tuple[str, str]] = set()
        for a, b in pairs:
            key = self._key(a, b)
            if key is None or key in self._unreadable or self.known(*key) is not None:
                continue
            if key not in asked and key[::-1] not in asked:
                asked.add(key)
                todo.append((a, b, key))
        if self.workers < 2 or len(todo) < 2:
            for a, b, _ in todo:
                self.verdict(a, b)
        else:
            self._in_parallel(todo)
        return {(a, b): self._decided(a, b) for a, b in pairs}

    def _in_parallel(self, todo: list[tuple[int, int, tuple[str, str]]]) -> None:
        """Features first (each photo decoded once, not once per thread that wants it), then the pairs;
        progress advances in the caller's thread only."""
        cancel = self.cancel

        def feat(fid: int):
            if cancel is not None:
                cancel.check()   # waits while paused; a cancel surfaces in the caller's thread from map()
            self._feat(fid)

        def one(item):
            if cancel is not None:
                cancel.check()
            self._verify(*item)

        # pairs whose photos are in the cache first, before new decodes push them out: the pairs of one
        # library come back round by round (core/duplicates.py), and a cache smaller than that round would
        # otherwise miss on every photo
        rank, last = self.rank, len(self.rank)

        def place(fid: int) -> int:
            return rank.get(fid, last + fid)   # a photo outside the order (an exact copy's stand-in): after it

        todo = sorted(todo, key=lambda t: ((t[0] not in self._features) + (t[1] not in self._features),
                                           max(place(t[0]), place(t[1])), min(place(t[0]), place(t[1]))))
        step = CHUNK_PAIRS
        with ThreadPoolExecutor(self.workers, thread_name_prefix="verify") as pool:
            for start in range(0, len(todo), step):
                chunk = todo[start:start + step]
                need = list(dict.fromkeys(f for a, b, _ in chunk for f in (a, b)))
                for _ in pool.map(feat, need):
                    pass
                for _ in pool.map(one, chunk):
                    if self.progress is not None:
                        self.progress.advance(1)

    def save(self, cat) -> None:
        from .verdicts import put_verdicts

        put_verdicts(cat, self.fresh)
        self.fresh = []


def locality_order(a, b) -> dict[int, int]:
    """A place for each photo such that the photos of a candidate pair lie close together: the reverse
    Cuthill-McKee order of the candidate graph. Verifying pairs in the order of their later photo, each photo's
    features are needed over a short stretch, which the feature cache holds: on a 5,389-photo library 6,768
    photo decodes instead of 7,265 by file id, 9,187 instead of 10,628 with a cache of 2,048 photos (a
    simulation over its 18,180 real candidate pairs: scripts/verifier_checks/decode_rounds.py)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if not len(a):
        return {}
    ids, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    n, m = len(ids), len(a)
    graph = coo_matrix((np.ones(2 * m, np.int8), (inv, np.concatenate([inv[m:], inv[:m]]))), shape=(n, n)).tocsr()
    perm = reverse_cuthill_mckee(graph, symmetric_mode=True)
    return dict(zip(ids[perm].tolist(), range(n)))
