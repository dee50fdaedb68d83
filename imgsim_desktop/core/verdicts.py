"""What verification remembers in the catalog, so a second ``dupes`` verifies nothing and a new photo
costs only its own candidate pairs.

Everything is keyed by content hash (never by file id or path): a moved or renamed file keeps its verdicts
and signature, an edited file gets new ones. Verdicts also carry the verifier's version, signatures theirs.
"""

from __future__ import annotations

import json
from typing import Iterable

import numpy as np

from .catalog import Catalog
from .verify import VERIFIER_VERSION, PairVerdict


def _key(ha: str, hb: str) -> tuple[str, str, bool]:
    """Stored order of a pair: (smaller hash, larger hash, whether that swaps a and b)."""
    return (ha, hb, False) if ha <= hb else (hb, ha, True)


def get_verdicts(cat: Catalog, pairs: Iterable[tuple[str, str]],
                 version: str = VERIFIER_VERSION) -> dict[tuple[str, str], PairVerdict]:
    """Cached verdicts for (hash_a, hash_b) pairs, each seen from a's side."""
    out: dict[tuple[str, str], PairVerdict] = {}
    q = "SELECT data FROM pair_verdicts WHERE a_hash=? AND b_hash=? AND version=?"
    for ha, hb in pairs:
        lo, hi, swap = _key(ha, hb)
        row = cat.conn.execute(q, (lo, hi, version)).fetchone()
        if row is None:
            continue
        v = PairVerdict.from_dict(json.loads(row[0]))
        out[(ha, hb)] = v.swapped() if swap else v
    return out


def put_verdicts(cat: Catalog, items: Iterable[tuple[str, str, PairVerdict]],
                 version: str = VERIFIER_VERSION) -> None:
    if cat.readonly:
        return
    rows = []
    for ha, hb, v in items:
        lo, hi, swap = _key(ha, hb)
        rows.append((lo, hi, version, int(v.same), json.dumps((v.swapped() if swap else v).to_dict())))
    if not rows:
        return
    with cat.transaction() as conn:
        conn.executemany("INSERT OR REPLACE INTO pair_verdicts(a_hash, b_hash, version, same, data) "
                         "VALUES(?, ?, ?, ?, ?)", rows)


def get_signatures(cat: Catalog, hashes: Iterable[str], version: str) -> dict[str, np.ndarray | None]:
    """Stored signatures by content hash; a stored empty blob means "flat picture, no signature"."""
    out: dict[str, np.ndarray | None] = {}
    hs = list(dict.fromkeys(hashes))
    for i in range(0, len(hs), 500):
        chunk = hs[i:i + 500]
        q = f"SELECT hash, sig FROM photo_signatures WHERE version=? AND hash IN ({','.join('?' * len(chunk))})"
        for h, blob in cat.conn.execute(q, (version, *chunk)):
            out[h] = np.frombuffer(blob, dtype=np.float32).copy() if blob else None
    return out


def put_signatures(cat: Catalog, items: Iterable[tuple[str, np.ndarray | None]], version: str,
                   in_transaction: bool = False) -> None:
    if cat.readonly:
        return
    rows = [(h, version, b"" if s is None else np.asarray(s, np.float32).tobytes()) for h, s in items]
    if not rows:
        return
    sql = "INSERT OR REPLACE INTO photo_signatures(hash, version, sig) VALUES(?, ?, ?)"
    if in_transaction:
        cat.conn.executemany(sql, rows)
        return
    with cat.transaction() as conn:
        conn.executemany(sql, rows)


class PairVerifier:
    """One grouping run's verifier: cached verdicts first, then features decoded once per photo.

    ``verdict(a, b)`` takes file ids; new verdicts are kept in ``fresh`` until ``save()`` writes them (the
    caller holds the catalog lock for that; decoding and matching happen without it)."""

    def __init__(self, records: dict, cached: dict[tuple[str, str], PairVerdict] | None = None,
                 max_features: int = 2048):
        self.records = records
        self.cached = dict(cached or {})
        self.fresh: list[tuple[str, str, PairVerdict]] = []
        self._features: dict[int, object] = {}
        self._max = max_features
        self.verified = 0
        self.errors: list[tuple[str, str]] = []

    def _feat(self, fid: int):
        from .errors import DecodeError
        from .verify import features_from_path

        f = self._features.get(fid)
        if f is None and fid not in self._features:
            try:
                f = features_from_path(self.records[fid].path)
            except DecodeError as exc:
                self.errors.append((self.records[fid].path, exc.reason))
                f = None
            except OSError as exc:
                self.errors.append((self.records[fid].path, str(exc)))
                f = None
            if len(self._features) >= self._max:
                self._features.pop(next(iter(self._features)))
            self._features[fid] = f
        return f

    def verdict(self, a: int, b: int) -> PairVerdict | None:
        from .verify import verify

        ra, rb = self.records.get(a), self.records.get(b)
        if ra is None or rb is None or not ra.hash or not rb.hash:
            return None
        key = (ra.hash, rb.hash)
        v = self.cached.get(key)
        if v is not None:
            return v
        back = self.cached.get((rb.hash, ra.hash))
        if back is not None:
            return back.swapped()
        fa, fb = self._feat(a), self._feat(b)
        if fa is None or fb is None:
            return None
        v = verify(fa, fb)
        self.verified += 1
        self.cached[key] = v
        self.fresh.append((ra.hash, rb.hash, v))
        return v

    def save(self, cat: Catalog) -> None:
        put_verdicts(cat, self.fresh)
        self.fresh = []


def load_verdicts(cat: Catalog, hashes: set[str], version: str = VERIFIER_VERSION
                  ) -> dict[tuple[str, str], PairVerdict]:
    """Every cached verdict between two of ``hashes``, in stored order (PairVerifier looks up both ways)."""
    out = {}
    for lo, hi, data in cat.conn.execute("SELECT a_hash, b_hash, data FROM pair_verdicts WHERE version=?",
                                         (version,)):
        if lo in hashes and hi in hashes:
            out[(lo, hi)] = PairVerdict.from_dict(json.loads(data))
    return out
