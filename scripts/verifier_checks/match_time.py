"""geometry.match against the argpartition version it replaced, on real descriptor pairs (both ways round
and mirrored) of a library's checked candidate pairs: the same list, and the time of each (one thread).

    python scripts/verifier_checks/match_time.py CHECKOUT N [LIBRARY_DIR]   # e.g. . 400 /tmp/simlib
(LIBRARY_DIR: one `imgsim dupes` has run on it, e.g. by similar_reasons.py; default /tmp/simlib)"""
import sys, time, random, sqlite3
import numpy as np
sys.path.insert(0, sys.argv[1])
from imgsim_desktop.core import verify as V, geometry as G
from imgsim_desktop.core.pixels import opencv
cv2 = opencv(); cv2.setNumThreads(1)
def old(da, db):
    a = da.astype(np.float32); b = db.astype(np.float32)
    ab = cv2.gemm(b, a, 1.0, None, 0.0, flags=cv2.GEMM_2_T)
    d2 = (b * b).sum(1)[:, None] + (a * a).sum(1)[None, :] - 2.0 * ab
    two = np.argpartition(d2, 1, axis=1)[:, :2]
    near = np.take_along_axis(d2, two, 1)
    order = np.argsort(near, axis=1, kind="stable")
    two, near = np.take_along_axis(two, order, 1), np.sqrt(np.maximum(np.take_along_axis(near, order, 1), 0.0))
    ok = np.nonzero(near[:, 0] < G.RATIO * near[:, 1])[0]
    return [(int(two[j, 0]), int(j)) for j in ok]
con = sqlite3.connect((sys.argv[3] if len(sys.argv) > 3 else '/tmp/simlib') + '/catalog.sqlite')
path = dict(con.execute('select id, path from files'))
rows = con.execute('select a, b, same from pair_checks').fetchall()
random.Random(2).shuffle(rows); rows = rows[:int(sys.argv[2])]
feats = {}
for a, b, _ in rows:
    for f in (a, b):
        if f not in feats: feats[f] = V.features_from_path(path[f])
pairs = [(feats[a], feats[b]) for a, b, _ in rows]
diff = 0; n = 0
for x, y in pairs:
    for db in (y.desc, y.mirrored()[1]):
        if x.desc is None or db is None or len(x.desc) < 2 or len(db) < 2: continue
        n += 1
        if old(x.desc, db) != G.match(x.desc, db): diff += 1
print(f"{n} descriptor pairs, {diff} different")
for name, fn in (("old", old), ("new", G.match)):
    best = 1e9
    for _ in range(3):
        t = time.perf_counter()
        for x, y in pairs:
            if x.desc is not None and y.desc is not None and len(x.desc) > 1 and len(y.desc) > 1: fn(x.desc, y.desc)
        best = min(best, time.perf_counter() - t)
    print(f"{name}: {best / len(pairs) * 1000:.3f} ms a pair")
