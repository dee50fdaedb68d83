import numpy as np, torch, sys
sys.path.insert(0, '.')
from imgsim_desktop.training import distill as D
from imgsim_desktop.core.model import _load_weights, _locate
from imgsim_desktop.evaluation import metrics as M
from pathlib import Path
ev = dict(np.load('runs/distill/eval-features.npz'))
paths, labels = D.eval_set(Path('../shared/datasets/eval/lookalike'), Path('../shared/datasets/eval/distractors'))
sd = _load_weights(_locate(Path('resources/models/imgsim-ae.json'))[1])
head = D.LookHead([32,64,128,256], 512, 128); head.mlp.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith('look.')}); head.eval()
X = D.head_vectors(head, ev)
S = X @ X.T; np.fill_diagonal(S, -np.inf)
idx = np.argsort(-S, axis=1)[:, :3]; w = np.take_along_axis(S, idx, 1)
print('top-3 sims quantiles', np.percentile(w, [5, 25, 50, 75, 95]).round(3))
q = M.query_indices(labels)
for tau in [0, 0.5, 0.6, 0.7, 0.75, 0.8]:
    m = (w >= tau)[..., None]
    Q = X + (m * X[idx]).sum(1); Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    rel, _ = M.ranked_relevance(Q @ X.T, labels, q, seed=0)
    print(tau, round(float(M.precision_at_k(rel, 10).mean()), 4), round(float(M.average_precision(rel).mean()), 4))
