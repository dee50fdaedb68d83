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
from .verify import ANOTHER_SHOT, VERIFIER_VERSION, PairVerdict


NOT_SAME = PairVerdict(False, "cached")


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


def load_verdicts(cat: Catalog, hashes: set[str], version: str = VERIFIER_VERSION
                  ) -> dict[tuple[str, str], PairVerdict]:
    """Every cached verdict between two of ``hashes``, in stored order (PairVerifier looks up both ways);
    looked up by key, so the cost follows ``hashes``, not the whole table."""
    out = {}
    hs = sorted(hashes)
    for i in range(0, len(hs), 500):
        part = hs[i:i + 500]
        # grouping reads only "not the same" from a negative (one shared answer), unless it is another shot: a
        # group described around another photo lets go of a member that is another shot of it
        q = (f"SELECT a_hash, b_hash, same, CASE WHEN same OR instr(data, ?) THEN data END "
             f"FROM pair_verdicts WHERE version=? AND a_hash IN ({','.join('?' * len(part))})")
        for lo, hi, same, data in cat.conn.execute(q, (ANOTHER_SHOT, version, *part)):
            if hi in hashes:
                out[(lo, hi)] = PairVerdict.from_dict(json.loads(data)) if data else NOT_SAME
    return out


# ---- checks: each candidate pair's verdict by file id ---------------------------------------------------
# A rerun of `dupes` at a million photos has millions of candidate pairs; looking each up by its two content
# hashes costs more than the rest of the grouping. So every pair decided once is also written down by file
# id (``pair_checks``: 1 same photo, 0 not) and read back as three arrays. A row is right for as long as
# both files keep their content: a changed vector (new content) drops its rows at the next refresh, a
# removed one at once (trigger), and a new verifier version drops them all. The hash-keyed verdicts above
# stay the source: a moved or renamed file keeps them.

CHECKS_KEY = "pair_checks_state"


def _checks_state(cat: Catalog) -> dict | None:
    st = cat.meta_state(CHECKS_KEY)
    return st if st.get("version") == VERIFIER_VERSION and isinstance(st.get("seq"), int) else None


def checks_current(cat: Catalog) -> bool:
    st = _checks_state(cat)
    return st is not None and st["seq"] == cat.seq()


def refresh_checks(cat: Catalog) -> None:
    """Drop the checks of photos whose vector changed since the last refresh (all of them when the verifier
    changed). The catalog must be writable."""
    st = _checks_state(cat)
    target = cat.seq()
    if st is not None and st["seq"] == target:
        return
    with cat.transaction() as con:
        if st is None or st["seq"] > target:
            con.execute("DELETE FROM pair_checks")
        else:
            changed = [r[0] for r in con.execute("SELECT file_id FROM embeddings WHERE seq>?", (st["seq"],))]
            for i in range(0, len(changed), 500):
                part = changed[i:i + 500]
                marks = ",".join("?" * len(part))
                con.execute(f"DELETE FROM pair_checks WHERE a IN ({marks})", part)
                con.execute(f"DELETE FROM pair_checks WHERE b IN ({marks})", part)
        cat.set_meta(CHECKS_KEY, json.dumps({"version": VERIFIER_VERSION, "seq": target}))


def load_checks(cat: Catalog, fetch: int = 65536) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every check as arrays (a < b, same), sorted by (a, b)."""
    a, b, same = cat.pairs_array("SELECT a, b, same FROM pair_checks ORDER BY a, b", (), fetch)
    return a, b, same.astype(np.int8)


def put_checks(cat: Catalog, rows: Iterable[tuple[int, int, int, float]]) -> None:
    """Rows (a, b, same, candidate sim) with a < b; the caller has refreshed the checks (same seq)."""
    rows = list(rows)
    if cat.readonly or not rows:
        return
    with cat.transaction() as conn:
        conn.executemany("INSERT OR REPLACE INTO pair_checks(a, b, same, sim) VALUES(?, ?, ?, ?)", rows)


# When every candidate pair at a cut has been decided and nothing changed since, a rerun needs only the
# pairs that are the same photo: a few thousand rows instead of every candidate (tens of millions of graph
# edges at a million photos). ``pair_checks_cover`` says at which seq and cut that was last true.
COVER_KEY = "pair_checks_cover"


def set_covered(cat: Catalog, cut: float) -> None:
    """Every candidate pair at ``cut`` has a check (or was made moot by the pairs that do)."""
    if checks_current(cat):
        cat.set_meta(COVER_KEY, json.dumps({"seq": cat.seq(), "cut": cut, "version": VERIFIER_VERSION}))


def covered(cat: Catalog, cut: float) -> bool:
    st = cat.meta_state(COVER_KEY)
    return st.get("seq") == cat.seq() and st.get("version") == VERIFIER_VERSION \
        and isinstance(st.get("cut"), (int, float)) and abs(st["cut"] - cut) < 1e-9 and checks_current(cat)


def same_photo_checks(cat: Catalog, cut: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The checked pairs that are the same photo and candidates at ``cut``, as arrays (a, b, sim); a pair
    decided in a run with a looser threshold is not one of today's candidates."""
    return cat.pairs_array("SELECT a, b, sim FROM pair_checks WHERE same=1 AND sim>=?", (float(cut),))


def lookup_checks(checks: tuple[np.ndarray, np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray
                  ) -> np.ndarray:
    """For pairs (a < b): 1 same photo, 0 not, -1 not checked yet."""
    ca, cb, same = checks
    out = np.full(len(a), -1, np.int8)
    if not len(ca) or not len(a):
        return out
    key = ca.astype(np.int64) << 32 | cb.astype(np.int64)   # file ids are SQLite rowids, far below 2**31
    want = np.asarray(a, np.int64) << 32 | np.asarray(b, np.int64)
    pos = np.searchsorted(key, want)
    pos_c = np.minimum(pos, len(key) - 1)
    hit = key[pos_c] == want
    out[hit] = same[pos_c[hit]]
    return out
