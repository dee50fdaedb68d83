"""How many photo decodes a first `dupes` needs for its features, by how the pairs are asked: simulated over an
indexed library's real candidate pairs and verdicts (its ``pair_checks``, so run `imgsim dupes` on it once).
The one-by-one pass is replayed with ``duplicates._decide_ahead`` as the code has it now, and with the old
rule (only surely-asked pairs, round after round); each round is fed to an LRU feature cache in chunks as
``PairVerifier._in_parallel`` does, ordered by file id or by ``pair_verifier.locality_order``.

    python scripts/verifier_checks/decode_rounds.py LIBRARY_DIR [--caps 512 1024 2048 3072]
"""
import argparse
import sqlite3
import sys
from collections import OrderedDict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from imgsim_desktop.core.duplicates import _decide_ahead, _UnionFind  # noqa: E402
from imgsim_desktop.core.pair_verifier import locality_order  # noqa: E402


def rounds_of(order, same, records, old: bool):
    """The batches ``_decide_ahead`` asks (old: the optimistic replay every round, as before two rounds)."""
    batches, known = [], {}

    class V:
        def __init__(self, s):
            self.same = bool(s)

    def decide(ask):
        batches.append(list(ask))
        return {p: V(same.get(p, same.get(p[::-1], 0))) for p in ask}

    if not old:
        _decide_ahead(order, records, {}, _UnionFind(), decide)
        return batches
    while True:
        trial, ask = _UnionFind(), []
        for a, b, _ in order:
            if trial.find(a) == trial.find(b):
                continue
            if (a, b) not in known:
                ask.append((a, b))
                trial.union(a, b)
            elif known[(a, b)].same:
                trial.union(a, b)
        if not ask:
            return batches
        known.update(decide(ask))


def decodes(batches, place, cap: int) -> int:
    """Decodes of an LRU cache of ``cap`` photos fed each round in chunks of cap / 4 pairs, sorted as
    ``PairVerifier._in_parallel`` sorts them: pairs with cached photos first, then by ``place`` (None: by
    smaller file id, then larger, as the code did before the locality order)."""
    def key(p):
        if place is None:
            return min(p), max(p)
        return max(place(p[0]), place(p[1])), min(place(p[0]), place(p[1]))

    cache, n = OrderedDict(), 0
    for r in batches:
        todo = sorted(r, key=lambda p: ((p[0] not in cache) + (p[1] not in cache),) + key(p))
        for s in range(0, len(todo), max(1, cap // 4)):
            chunk = todo[s:s + max(1, cap // 4)]
            for f in dict.fromkeys(f for p in chunk for f in p):
                if f in cache:
                    cache.move_to_end(f)
                else:
                    n += 1
                    cache[f] = 1
                    if len(cache) > cap:
                        cache.popitem(last=False)
            for a, b in chunk:
                cache.move_to_end(a)
                cache.move_to_end(b)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("library", type=Path)
    ap.add_argument("--caps", type=int, nargs="+", default=[512, 1024, 2048, 3072])
    a = ap.parse_args()
    con = sqlite3.connect(f"file:{a.library / 'catalog.sqlite'}?mode=ro", uri=True)
    rows = con.execute("SELECT a, b, same, sim FROM pair_checks").fetchall()
    same = {(x, y): s for x, y, s, _ in rows}
    order = sorted([(x, y, s) for x, y, _, s in rows], key=lambda c: -c[2])
    records = {f: 1 for x, y, _, _ in rows for f in (x, y)}
    rank = locality_order([r[0] for r in rows], [r[1] for r in rows])
    print(f"{len(rows)} checked pairs over {len(records)} photos")
    for name, old in (("surely-asked pairs round after round", True), ("as the code decides ahead now", False)):
        batches = rounds_of(order, same, records, old)
        print(f"{name}: {len(batches)} rounds, {sum(map(len, batches))} pairs")
        for cap in a.caps:
            print(f"  cache {cap}: by file id {decodes(batches, None, cap)}, "
                  f"locality order {decodes(batches, rank.__getitem__, cap)} decodes")


if __name__ == "__main__":
    main()
