"""Pairwise verifier verdicts: eval/pairs (full vs small), dev10 original vs blur, or N random pairs inside one
bench_out/hardneg folder. Usage: python scripts/verifier_checks/pair_verdicts.py pairs|blur|canvas N|documents N [OUT.json]"""
import sys, glob, os, json, random, numpy as np
ROOT = __import__('pathlib').Path(__file__).resolve().parents[2]; sys.path.insert(0, str(ROOT))
from imgsim_desktop.core import pixels as P
from imgsim_desktop.core import geometry as G
from imgsim_desktop.core import verify as V
calls = []
orig = P.cells
def rec(a, b, m):
    r = orig(a, b, m); calls.append(r); return r
P.cells = rec
def run(pa, pb):
    calls.clear()
    fa, fb = V.features_from_path(pa), V.features_from_path(pb)
    v = V.verify(fa, fb)
    hp = calls[0][0] if len(calls) >= 2 else None
    sc = G.scale(np.asarray(v.affine)) if v.affine is not None and v.inliers else None
    return dict(same=v.same, why=v.why, inl=v.inliers, agree=round(v.agree, 3), ncc=round(v.ncc, 3),
                hp=None if hp is None else round(hp, 3), scale=None if sc is None else round(sc, 2),
                sa=fa.grey.shape, sb=fb.grey.shape)
out = {}
which = sys.argv[1]

if which == 'pairs':
    for d in sorted(glob.glob(str(ROOT.parent) + '/shared/datasets/eval/pairs/*')):
        out[os.path.basename(d)] = run(d + '/full.jpg', d + '/small.jpg')
elif which == 'blur':
    for g in sorted(glob.glob(str(ROOT) + '/bench_out/dev10/groups/*')):
        out[os.path.basename(g)] = run(g + '/original.jpg', g + '/blur.jpg')
else:  # hard negatives: random pairs inside one folder
    rnd = random.Random(0)
    fs = sorted(glob.glob(str(ROOT) + f'/bench_out/hardneg/{which}/*'))
    n = int(sys.argv[2])
    for i in range(n):
        a, b = rnd.sample(fs, 2)
        out[os.path.basename(a) + '|' + os.path.basename(b)] = run(a, b)
json.dump(out, open(sys.argv[-1] if sys.argv[-1].endswith('.json') else f'hp_{which}.json', 'w'), indent=0)
import collections
print(which, collections.Counter(r['why'] for r in out.values()))
