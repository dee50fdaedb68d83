"""Query-side re-ranking tries on v5's lookalike vectors (the fit's evaluation: eval/lookalike + distractors):
k-reciprocal neighbours, two rounds of expansion, neighbours' neighbours. Usage:
python scripts/lookalike_experiments/rerank.py [MODEL_CARD]"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, '.')
from imgsim_desktop.core.model import _load_weights, _locate
from imgsim_desktop.core.ranking import expanded_query
from imgsim_desktop.evaluation import metrics as M
from imgsim_desktop.training import distill as D

ev = dict(np.load('runs/distill/eval-features.npz'))
paths, labels = D.eval_set(Path('../shared/datasets/eval/lookalike'), Path('../shared/datasets/eval/distractors'))
card_path, w = _locate(Path(sys.argv[1] if len(sys.argv) > 1 else 'resources/models/imgsim-ae.json'))
sd = _load_weights(w)
mlp = {k[5:]: v for k, v in sd.items() if k.startswith('look.')}
head = D.LookHead([32, 64, 128, 256], mlp['0.weight'].shape[0], mlp['2.weight'].shape[0])
head.mlp.load_state_dict(mlp)
head.eval()
X = D.head_vectors(head, ev).astype(np.float32)
S = X @ X.T
queries = M.query_indices(labels)


def score(sim):
    rel, _ = M.ranked_relevance(sim, labels, queries, seed=0)
    return round(float(M.precision_at_k(rel, 10).mean()), 4), round(float(M.average_precision(rel).mean()), 4)


def knn(S, k):
    s = S.copy()
    np.fill_diagonal(s, -np.inf)
    return np.argsort(-s, axis=1, kind='stable')[:, :k]


def qe_vectors(X, S, k=3):
    near = knn(S, k)
    return np.stack([expanded_query(X[i], X[near[i]]) for i in range(len(X))])


print('one search', score(S))
Q = qe_vectors(X, S)
print('as the app ranks (QE 3)', score(Q @ X.T))
# two rounds of expansion
Q2 = np.stack([expanded_query(Q[i], X[np.argsort(-(Q[i] @ X.T))[1:4]]) for i in range(len(X))])
print('QE twice', score(Q2 @ X.T))
# k-reciprocal: neighbours that also have the query among theirs, re-weighted (Jaccard over soft sets)
for k1, lam in ((10, 0.3), (15, 0.3), (20, 0.3), (20, 0.5), (30, 0.3)):
    N = knn(S, k1)
    n = len(X)
    R = np.zeros((n, n), np.float32)
    for i in range(n):
        recip = [j for j in N[i] if i in N[j]]
        R[i, recip] = np.exp(S[i, recip])
        R[i, i] = np.exp(1.0)
    R /= R.sum(1, keepdims=True)
    mn = np.minimum(R[:, None, :], R[None, :, :]).sum(-1) if n <= 0 else None
    # Jaccard distance between soft reciprocal sets, computed by rows
    jac = np.empty((n, n), np.float32)
    for i in range(n):
        inter = np.minimum(R[i][None, :], R).sum(1)
        union = np.maximum(R[i][None, :], R).sum(1)
        jac[i] = 1 - inter / np.maximum(union, 1e-9)
    d = (1 - lam) * jac + lam * (1 - S)
    print(f'k-reciprocal k1={k1} lambda={lam}', score(-d))
# expanded query against database vectors that are each expanded too (already tried: DBA) skipped
# neighbours' neighbours: score = own similarity + mean similarity of the candidate to the query's top-5
for k, wgt in ((5, 0.5), (5, 1.0), (10, 1.0)):
    N = knn(S, k)
    ctx = np.stack([S[N[i]].mean(0) for i in range(len(X))])
    print(f'context top-{k} weight {wgt}', score(S + wgt * ctx), 'on QE', score(Q @ X.T + wgt * ctx))
