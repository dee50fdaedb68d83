"""Two heads averaged: the shipped v5 head and a second fit (runs/distill-views/fit12mix-16k/model), one search and
"as the app ranks" (with query expansion). Usage: python scripts/lookalike_experiments/head_ensemble.py"""
import numpy as np, torch, sys, torch.nn.functional as F
sys.path.insert(0, '.')
from imgsim_desktop.training import distill as D
from imgsim_desktop.core.model import _load_weights, _locate
from pathlib import Path
ev = dict(np.load('runs/distill/eval-features.npz'))
paths, labels = D.eval_set(Path('../shared/datasets/eval/lookalike'), Path('../shared/datasets/eval/distractors'))
def head_of(card):
    _, w = _locate(Path(card)); sd = _load_weights(w)
    mlp = {k[5:]: v for k, v in sd.items() if k.startswith('look.')}
    h = D.LookHead([32,64,128,256], mlp['0.weight'].shape[0], 128); h.mlp.load_state_dict(mlp); h.eval(); return h
heads = {n: head_of(p) for n, p in [('v5','resources/models/imgsim-ae.json'), ('mix','runs/distill-views/fit12mix-16k/model/imgsim-ae.json')]}
X = {n: D.head_vectors(h, ev) for n, h in heads.items()}
for n, x in X.items(): print(n, D.precision_at_10(x, labels))
E = X['v5'] + X['mix']; E /= np.linalg.norm(E, axis=1, keepdims=True)
print('ens-norm', D.precision_at_10(E, labels))
# unnormalised sum of raw MLP outputs (exportable as one wider MLP)
with torch.no_grad():
    n = ev['pooled'].shape[0]
    p = torch.from_numpy(D.with_pool(ev['pooled'], ev['maps'], 'gem').reshape(2*n, -1))
    z = sum(h.mlp(p) for h in heads.values())
    z = F.normalize(z, dim=1).reshape(n, 2, -1).sum(1)
    print('ens-raw', D.precision_at_10(F.normalize(z, dim=1).numpy(), labels))
print('teacher', D.precision_at_10(ev['teacher']/np.linalg.norm(ev['teacher'],axis=1,keepdims=True), labels))
