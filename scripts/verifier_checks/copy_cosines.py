"""Per-edit cosine of each dev10 copy to its original as the indexer embeds them (trim included): how many fall
under the 0.55 candidate cut. Usage: python scripts/verifier_checks/copy_cosines.py OUT.json (needs bench_out/dev10)."""
import sys, glob, numpy as np
ROOT = __import__('pathlib').Path(__file__).resolve().parents[2]; sys.path.insert(0, str(ROOT))
from imgsim_desktop.core.model import load_model
from imgsim_desktop.core.embedder import Embedder
from imgsim_desktop import edits
m = load_model(None); e = Embedder(m)
groups = sorted(glob.glob(str(ROOT) + '/bench_out/dev10/groups/*'))
kinds = list(edits.EDITS)
V = {}
for g in groups:
    for k in ['original'] + kinds:
        v = e.embed_path(g + f'/{k}.jpg')[0]; V.setdefault(k, []).append(v / np.linalg.norm(v))
O = np.array(V['original'])
res = {}
for k in kinds:
    S = np.array(V[k]) @ O.T; own = np.diag(S); rank = (S > own[:, None]).sum(1)
    res[k] = own.tolist()
    print('%-18s median %.3f  <0.55: %2d  <0.76: %2d  rank>0: %2d' % (k, np.median(own), (own < .55).sum(), (own < .76).sum(), (rank > 0).sum()))
import json; json.dump(res, open(sys.argv[1], 'w'))
