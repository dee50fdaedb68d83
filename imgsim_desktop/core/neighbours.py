"""The stored neighbour graph: each photo's close neighbours, kept in the catalog's ``edges`` table.

Grouping a library used to query the index for every photo on every ``dupes`` run (85 % of its time at a
million photos). Instead, each photo's ``k`` nearest neighbours in the duplicates space whose similarity is
at least the loosest tier's cut are stored as directed edges ``a -> b`` (``b`` is among ``a``'s nearest).
They follow the vectors:

* a new or changed vector queries the index once; its own list is written, and it joins each of its
  neighbours' lists when it is closer than their farthest (a list keeps at most ``k``);
* a removed vector's edges go with it (a trigger on the embeddings row), and the photos that listed it
  are marked (``edges_dirty``) to get a fresh list on the next sync;
* the whole graph is recomputed only when there is none yet, or it was made for another model, cut or
  ``k`` (with progress; it is one index query per photo, in chunks).

The graph remembers the catalog seq it reflects (meta ``edges_state``), like the index does, so a crash
between a scan's commit and the graph's update only leaves work that the next sync redoes. ``dupes`` then
reads candidate pairs with SQL: :func:`candidate_pairs`.
"""

from __future__ import annotations

import json
import logging
import sqlite3

import numpy as np

from .catalog import Catalog
from .progress import CancelToken, Progress

log = logging.getLogger(__name__)

K = 16               # neighbours kept per photo (what the k-NN query per photo used to ask for)
STATE_KEY = "edges_state"
CHUNK = 4096
# A sync that touches more than this share of the library recomputes it whole (bulk is cheaper than
# fixing up neighbours' lists one by one).
REBUILD_SHARE = 0.25


def state(catalog: Catalog) -> dict | None:
    return catalog.meta_state(STATE_KEY) or None


def _fits(st: dict | None, model_id: str, cut: float, k: int) -> bool:
    return bool(st) and st.get("model_id") == model_id and st.get("k") == k \
        and isinstance(st.get("cut"), (int, float)) and abs(st["cut"] - cut) < 1e-9 \
        and isinstance(st.get("seq"), int)


def is_current(catalog: Catalog, model_id: str, cut: float, k: int = K) -> bool:
    """The stored graph reflects every vector the catalog holds now."""
    st = state(catalog)
    return _fits(st, model_id, cut, k) and st["seq"] == catalog.seq()


def sync(catalog: Catalog, index, model_id: str, cut: float, k: int = K, progress: Progress | None = None,
         cancel: CancelToken | None = None) -> str:
    """Bring the graph up to the catalog: "current", "updated" (changed vectors only) or "rebuilt".

    ``index`` answers ``query(vectors, k, space="duplicates")``. The catalog must be writable; the caller
    holds the library's lock, so nothing changes underneath."""
    st = state(catalog)
    target = catalog.seq()
    if _fits(st, model_id, cut, k) and st["seq"] <= target:
        if st["seq"] == target:
            return "current"
        changed = catalog.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model_id=? AND seq>?",
                                       (model_id, st["seq"])).fetchone()[0]
        total = catalog.embedding_count()
        dirty = catalog.conn.execute("SELECT COUNT(*) FROM edges_dirty").fetchone()[0]
        if changed + dirty <= REBUILD_SHARE * max(total, 1):
            _update(catalog, index, model_id, st["seq"], cut, k)
            _set_state(catalog, model_id, cut, k, target)
            return "updated"
    rebuild(catalog, index, model_id, cut, k, progress, cancel)
    return "rebuilt"


def rebuild(catalog: Catalog, index, model_id: str, cut: float, k: int = K, progress: Progress | None = None,
            cancel: CancelToken | None = None) -> int:
    """Recompute every photo's list from the index; returns the number of edges."""
    target = catalog.seq()
    total = catalog.embedding_count(model_id)
    if progress is not None:
        progress.start("neighbours", total)
    n_edges = 0
    with catalog.transaction() as con:
        con.execute("DELETE FROM edges")
        con.execute("DELETE FROM edges_dirty")
        for ids, vecs in catalog.iter_embeddings(model_id, chunk=CHUNK):
            if cancel is not None:
                cancel.check()
            a, b, s = _lists(index, ids, vecs, cut, k)
            con.executemany("INSERT INTO edges(a, b, sim) VALUES(?,?,?)",
                            zip(a.tolist(), b.tolist(), s.tolist()))
            n_edges += len(a)
            if progress is not None:
                progress.advance(len(ids))
        _set_state(catalog, model_id, cut, k, target)
    if progress is not None:
        progress.finish()
    return n_edges


def _lists(index, ids: np.ndarray, vecs: np.ndarray, cut: float, k: int):
    """Directed edges (a, b, sim) from one index query for these photos."""
    labels, sims = index.query(vecs, k + 1, space="duplicates")
    a = np.repeat(ids, labels.shape[1])
    b = labels.reshape(-1)
    s = sims.reshape(-1)
    keep = (b != a) & (s >= cut)
    a, b, s = a[keep], b[keep], s[keep]
    if len(a):  # at most k per photo (k+1 were asked for in case the photo itself is not first)
        order = np.lexsort((-s, a))
        a, b, s = a[order], b[order], s[order]
        starts = np.r_[0, np.flatnonzero(np.diff(a)) + 1]
        rank = np.arange(len(a)) - np.repeat(starts, np.diff(np.r_[starts, len(a)]))
        keep = rank < k
        a, b, s = a[keep], b[keep], s[keep]
    return a, b, s.astype(np.float64)


def _update(catalog: Catalog, index, model_id: str, since_seq: int, cut: float, k: int) -> None:
    """Rewrite the lists of vectors changed after ``since_seq``, insert them into their neighbours' lists,
    and give a fresh list to every photo that lost an entry (to a removed or changed vector), so each list
    stays exactly "the k nearest above the cut"."""
    with catalog.transaction() as con:
        changed: set[int] = set()
        for ids, vecs in catalog.iter_embeddings(model_id, since_seq=since_seq, chunk=CHUNK):
            id_list = ids.tolist()
            changed.update(id_list)
            for i in range(0, len(id_list), 500):
                part = id_list[i:i + 500]
                marks = ",".join("?" * len(part))
                con.execute(f"INSERT OR IGNORE INTO edges_dirty(a) SELECT a FROM edges WHERE b IN ({marks})", part)
                con.execute(f"DELETE FROM edges WHERE a IN ({marks})", part)
                con.execute(f"DELETE FROM edges WHERE b IN ({marks})", part)
            a, b, s = _lists(index, ids, vecs, cut, k)
            con.executemany("INSERT OR REPLACE INTO edges(a, b, sim) VALUES(?,?,?)",
                            zip(a.tolist(), b.tolist(), s.tolist()))
            dirty = {r[0] for r in con.execute("SELECT a FROM edges_dirty")}
            for x, nb, sim in zip(a.tolist(), b.tolist(), s.tolist()):
                if nb not in changed and nb not in dirty:  # those get whole new lists
                    _offer(con, nb, x, sim, k)
        dirty = sorted({r[0] for r in con.execute("SELECT a FROM edges_dirty")} - changed)
        con.execute("DELETE FROM edges_dirty")
        for ids, vecs in catalog.iter_embeddings(model_id, ids=dirty):
            id_list = ids.tolist()
            marks = ",".join("?" * len(id_list))
            con.execute(f"DELETE FROM edges WHERE a IN ({marks})", id_list)
            a, b, s = _lists(index, ids, vecs, cut, k)
            con.executemany("INSERT OR REPLACE INTO edges(a, b, sim) VALUES(?,?,?)",
                            zip(a.tolist(), b.tolist(), s.tolist()))


def _offer(con: sqlite3.Connection, owner: int, x: int, sim: float, k: int) -> None:
    """Put ``x`` on ``owner``'s list if the list has room or x is closer than its farthest entry."""
    count, worst = con.execute("SELECT COUNT(*), MIN(sim) FROM edges WHERE a=?", (owner,)).fetchone()
    if count >= k:
        if sim <= worst:
            return
        con.execute("DELETE FROM edges WHERE a=? AND b=(SELECT b FROM edges WHERE a=? ORDER BY sim LIMIT 1)",
                    (owner, owner))
    con.execute("INSERT OR REPLACE INTO edges(a, b, sim) VALUES(?,?,?)", (owner, x, sim))


def _set_state(catalog: Catalog, model_id: str, cut: float, k: int, seq: int) -> None:
    catalog.set_meta(STATE_KEY, json.dumps({"model_id": model_id, "cut": cut, "k": k, "seq": seq}))


def candidate_pairs(catalog: Catalog, threshold: float, mutual: bool = True,
                    fetch: int = 65536) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (a < b) whose similarity is at least ``threshold``, as arrays (a, b, sim), read with SQL.

    ``mutual``: each is among the other's nearest (what keeps a long run of bursts from chaining into one
    group); otherwise either direction is enough."""
    if mutual:
        q = ("SELECT e.a, e.b, e.sim FROM edges e WHERE e.sim>=? AND e.a<e.b "
             "AND EXISTS (SELECT 1 FROM edges r WHERE r.a=e.b AND r.b=e.a)")
    else:
        q = ("SELECT MIN(a, b), MAX(a, b), MAX(sim) FROM edges WHERE sim>=? GROUP BY MIN(a, b), MAX(a, b)")
    return catalog.pairs_array(q, (float(threshold),), fetch)


def knn_pairs(ids: np.ndarray, labels: np.ndarray, sims: np.ndarray, threshold: float,
              mutual: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same pairs from an in-memory k-NN result (one row of ``labels``/``sims`` per ``ids`` row): for a
    threshold below the stored graph's cut, or a read-only library whose graph is behind its writer."""
    return pairs_from_directed(*directed(ids, labels, sims, threshold), mutual=mutual)


def directed(ids: np.ndarray, labels: np.ndarray, sims: np.ndarray, threshold: float):
    """Directed edges (a, b, sim), a's neighbour b at or above ``threshold``, from a k-NN result."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids) or labels.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    a = np.repeat(ids, labels.shape[1])
    b = labels.reshape(-1).astype(np.int64)
    s = sims.reshape(-1).astype(np.float32)
    keep = (a != b) & (s >= threshold)
    return a[keep], b[keep], s[keep]


def pairs_from_directed(a: np.ndarray, b: np.ndarray, s: np.ndarray, mutual: bool = True):
    """Undirected pairs (lo < hi, best sim); ``mutual``: only those seen in both directions."""
    if not len(a):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((hi, lo))
    lo, hi, s, fwd = lo[order], hi[order], s[order], (a < b)[order]
    first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])]
    grp = np.cumsum(first) - 1
    n = int(grp[-1]) + 1
    has_fwd = np.zeros(n, bool)
    has_back = np.zeros(n, bool)
    np.logical_or.at(has_fwd, grp, fwd)
    np.logical_or.at(has_back, grp, ~fwd)
    best = np.full(n, -np.inf, np.float32)
    np.maximum.at(best, grp, s)
    ok = (has_fwd & has_back) if mutual else np.ones(n, bool)
    return lo[first][ok], hi[first][ok], best[ok]
