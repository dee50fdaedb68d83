import numpy as np, torch, sys
sys.path.insert(0, '.')
from imgsim_desktop.training import distill as D
from imgsim_desktop.core.model import _load_weights, _locate
from pathlib import Path
ev = dict(np.load('runs/distill/eval-features.npz'))
paths, labels = D.eval_set(Path('../shared/datasets/eval/lookalike'), Path('../shared/datasets/eval/distractors'))
card_path, w = _locate(Path('resources/models/imgsim-ae.json'))
sd = _load_weights(w)
mlp = {k[5:]: v for k, v in sd.items() if k.startswith('look.')}
print(list(mlp))
head = D.LookHead([32,64,128,256], 512, 128)
head.mlp.load_state_dict(mlp)
head.eval()
X = D.head_vectors(head, ev)
print('base', D.precision_at_10(X, labels))
print('teacher', D.precision_at_10(ev['teacher'] / np.linalg.norm(ev['teacher'],axis=1,keepdims=True), labels))
def qe(X, k, alpha=0.0, selfw=1.0):
    S = X @ X.T
    np.fill_diagonal(S, -np.inf)
    idx = np.argsort(-S, axis=1)[:, :k]
    w = np.take_along_axis(S, idx, 1)
    w = np.maximum(w, 0) ** alpha if alpha > 0 else np.ones_like(w)
    Q = selfw * X + (w[..., None] * X[idx]).sum(1)
    return Q / np.linalg.norm(Q, axis=1, keepdims=True)
def evalq(Q, X):
    # queries Q against database X
    from imgsim_desktop.evaluation import metrics as M
    sim = Q @ X.T
    queries = M.query_indices(labels)
    rel, _ = M.ranked_relevance(sim, labels, queries, seed=0)
    return round(float(M.precision_at_k(rel,10).mean()),4), round(float(M.average_precision(rel).mean()),4)
for k in [1,2,3,5,8]:
    for a in [0, 3]:
        Q = qe(X, k, a)
        print('QE k', k, 'alpha', a, evalq(Q, X), 'DBA+QE', evalq(qe(Q,k,a) if False else Q, Q))
