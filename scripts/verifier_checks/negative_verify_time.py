"""verify() on 300 checked candidate pairs of a library (mostly not the same photo: what a first dupes spends
its verifications on), features decoded first, one thread, best of 3; prints a hash of every verdict so two
checkouts can be shown to decide alike.

    python scripts/verifier_checks/negative_verify_time.py CHECKOUT [LIBRARY_DIR]   # default /tmp/simlib
"""
import sys, time, random, sqlite3
sys.path.insert(0, sys.argv[1])
from imgsim_desktop.core import verify as V
from imgsim_desktop.core.pixels import opencv
opencv().setNumThreads(1)
con = sqlite3.connect((sys.argv[2] if len(sys.argv) > 2 else '/tmp/simlib') + '/catalog.sqlite')
path = dict(con.execute('select id, path from files'))
rows = con.execute('select a, b, same from pair_checks').fetchall()
random.Random(0).shuffle(rows); rows = rows[:300]
feats = {}
for a, b, _ in rows:
    for f in (a, b):
        if f not in feats: feats[f] = V.features_from_path(path[f])
pairs = [(feats[a], feats[b]) for a, b, _ in rows]
best = 1e9
for _ in range(3):
    t = time.perf_counter(); out = [V.verify(x, y).to_dict() for x, y in pairs]; best = min(best, time.perf_counter() - t)
import hashlib, json
print(sys.argv[1], f"{best/len(pairs)*1000:.2f} ms a pair", hashlib.sha1(json.dumps(out).encode()).hexdigest()[:12])
