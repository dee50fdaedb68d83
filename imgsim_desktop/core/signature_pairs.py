"""The stored orientation-signature candidates: pairs of photos whose signatures (core/signature.py) match in
some orientation, kept in the catalog's ``sig_edges`` table so that a rerun of ``dupes`` reads them instead
of matching every photo's 8 orientations against the whole library again (minutes at a million photos).

Like the neighbour graph (core/neighbours.py) the table remembers the catalog seq it reflects (meta
``sig_edges_state``): a sync matches only the photos whose vector changed since then (a new photo is a new
vector) by brute force against every stored signature, and recomputes the whole table with an HNSW index
only when there is none yet, the signature or its cut changed, or too much changed at once. A removed
vector's rows leave with it (a trigger on the embeddings row).
"""

from __future__ import annotations

import json
from typing import Iterable, Iterator

import numpy as np

from .catalog import STATUS_OK, Catalog
from .neighbours import pairs_from_directed
from .progress import CancelToken, Progress
from .signature import CANDIDATE_K, CANDIDATE_SIM, SIG_DIM, SIG_VERSION, candidate_pairs, matches_against

STATE_KEY = "sig_edges_state"
# A sync that matches more photos than this by brute force (each against the whole library) recomputes
# the table whole instead; so does one that touches more than REBUILD_SHARE of the library.
BRUTE_MAX = 5000
REBUILD_SHARE = 0.25
SLICE = 65536

_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))


def _settings() -> dict:
    return {"version": SIG_VERSION, "cut": CANDIDATE_SIM, "k": CANDIDATE_K}


def _state(catalog: Catalog) -> dict | None:
    st = catalog.meta_state(STATE_KEY)
    ok = isinstance(st.get("seq"), int) and all(st.get(k) == v for k, v in _settings().items())
    return st if ok else None


def is_current(catalog: Catalog) -> bool:
    st = _state(catalog)
    return st is not None and st["seq"] == catalog.seq()


def unsigned(catalog: Catalog) -> list[tuple[int, str, str]]:
    """(id, hash, path) of healthy photos without a stored signature (indexed before signatures existed);
    only asked when the table is behind the catalog, since a scan stores a signature with each vector."""
    q = ("SELECT f.id, f.hash, f.path FROM files f WHERE f.status=? AND f.hash IS NOT NULL AND NOT EXISTS "
         "(SELECT 1 FROM photo_signatures s WHERE s.hash=f.hash AND s.version=?)")
    return [tuple(r) for r in catalog.conn.execute(q, (STATUS_OK, SIG_VERSION))]


def _to_arrays(rows: list) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    sigs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), SIG_DIM)
    return ids, sigs


def signed(catalog: Catalog, ids: Iterable[int] | None = None, chunk: int = SLICE
           ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, signatures) of healthy photos that have one (a flat picture has none), in id order, by slices."""
    base = ("SELECT f.id, s.sig FROM files f JOIN photo_signatures s ON s.hash=f.hash AND s.version=? "
            "WHERE f.status=? AND length(s.sig)=?")
    args = (SIG_VERSION, STATUS_OK, SIG_DIM * 4)
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            rows = catalog.conn.execute(f"{base} AND f.id IN ({','.join('?' * len(part))}) ORDER BY f.id",
                                        (*args, *part)).fetchall()
            if rows:
                yield _to_arrays(rows)
        return
    last = -1
    while True:
        rows = catalog.conn.execute(f"{base} AND f.id>? ORDER BY f.id LIMIT ?", (*args, last, chunk)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield _to_arrays(rows)


def _all_signed(catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    parts = list(signed(catalog))
    if not parts:
        return np.zeros(0, np.int64), np.zeros((0, SIG_DIM), np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def sync(catalog: Catalog, extra: Iterable[int] = (), progress: Progress | None = None,
         cancel: CancelToken | None = None) -> str:
    """Bring the table up to the catalog: "current", "updated" (changed photos only) or "rebuilt". ``extra``:
    photos whose signature was stored just now without a vector change. The catalog must be writable; the
    caller holds the library's lock."""
    st = _state(catalog)
    target = catalog.seq()
    extra = {int(i) for i in extra}
    if st is not None and st["seq"] == target and not extra:
        return "current"
    if st is not None and st["seq"] <= target:
        changed = extra | {r[0] for r in catalog.conn.execute("SELECT file_id FROM embeddings WHERE seq>?",
                                                              (st["seq"],))}
        if len(changed) <= min(BRUTE_MAX, REBUILD_SHARE * max(catalog.embedding_count(), 1)):
            _update(catalog, changed, cancel)
            _set_state(catalog, target)
            return "updated"
    rebuild(catalog, progress, cancel)
    return "rebuilt"


def rebuild(catalog: Catalog, progress: Progress | None = None, cancel: CancelToken | None = None) -> int:
    """Match every photo against all (HNSW, 8 orientations); returns the number of pairs."""
    target = catalog.seq()
    if progress is not None:
        progress.start("signatures", 3)
    ids, sigs = _all_signed(catalog)
    if progress is not None:
        progress.advance(1)
    if cancel is not None:
        cancel.check()
    a, b, s = candidate_pairs(ids, sigs)
    if progress is not None:
        progress.advance(1)
    with catalog.transaction() as con:
        con.execute("DELETE FROM sig_edges")
        con.executemany("INSERT INTO sig_edges(a, b, sim) VALUES(?,?,?)",
                        zip(a.tolist(), b.tolist(), s.astype(np.float64).tolist()))
        _set_state(catalog, target)
    if progress is not None:
        progress.finish()
    return len(a)


def _update(catalog: Catalog, changed: set[int], cancel: CancelToken | None = None) -> None:
    """Forget the changed photos' pairs and match them again against every stored signature."""
    parts = list(signed(catalog, ids=changed))
    found = []
    if parts:
        q_ids, q_sigs = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        for ids, sigs in signed(catalog):
            if cancel is not None:
                cancel.check()
            found.append(matches_against(q_ids, q_sigs, ids, sigs))
    a, b, s = pairs_from_directed(*(np.concatenate(x) for x in zip(*found)), mutual=False) if found else _EMPTY
    ch = sorted(changed)
    with catalog.transaction() as con:
        for i in range(0, len(ch), 500):
            part = ch[i:i + 500]
            marks = ",".join("?" * len(part))
            con.execute(f"DELETE FROM sig_edges WHERE a IN ({marks})", part)
            con.execute(f"DELETE FROM sig_edges WHERE b IN ({marks})", part)
        con.executemany("INSERT OR REPLACE INTO sig_edges(a, b, sim) VALUES(?,?,?)",
                        zip(a.tolist(), b.tolist(), s.astype(np.float64).tolist()))


def _set_state(catalog: Catalog, seq: int) -> None:
    catalog.set_meta(STATE_KEY, json.dumps({**_settings(), "seq": seq}))


def stored_pairs(catalog: Catalog, fetch: int = 65536) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every stored pair as arrays (a < b, sim)."""
    return catalog.pairs_array("SELECT a, b, sim FROM sig_edges", (), fetch)


def computed_pairs(catalog: Catalog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same pairs computed in memory, not stored: for a process that may not write the catalog."""
    return candidate_pairs(*_all_signed(catalog))
