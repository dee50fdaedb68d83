import numpy as np, torch, sys
sys.path.insert(0, '.')
import torch.nn.functional as F
from imgsim_desktop.training import distill as D
from imgsim_desktop.core.model import _load_weights, _locate
from pathlib import Path
torch.set_num_threads(1)
ev = dict(np.load('runs/distill/eval-features.npz'))
paths, labels = D.eval_set(Path('../shared/datasets/eval/lookalike'), Path('../shared/datasets/eval/distractors'))
net, card, arch = D._base(None)
sd = _load_weights(_locate(Path('resources/models/imgsim-ae.json'))[1])
head = D.LookHead([32,64,128,256], 512, 128); head.mlp.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith('look.')}); head.eval()
X = D.head_vectors(head, ev)
with torch.no_grad():
    m = torch.from_numpy(ev['maps'].astype(np.float32)); n = m.shape[0]
    d = net.head(m.reshape(2*n, *m.shape[2:])).reshape(n, 2, -1)
    d = F.normalize(F.normalize(d, dim=2).sum(1), dim=1).numpy()
print('dup alone', D.precision_at_10(d, labels))
from imgsim_desktop.evaluation import metrics as M
def ev_sim(S):
    q = M.query_indices(labels); rel, _ = M.ranked_relevance(S, labels, q, seed=0)
    return round(float(M.precision_at_k(rel,10).mean()),4), round(float(M.average_precision(rel).mean()),4)
def qe(X, S, k):
    S = S.copy(); np.fill_diagonal(S, -np.inf)
    idx = np.argsort(-S, axis=1)[:, :k]
    Q = X + X[idx].sum(1)
    return Q / np.linalg.norm(Q, axis=1, keepdims=True)
for w in [0, 0.1, 0.2, 0.3, 0.5]:
    S = X @ X.T + w * (d @ d.T)
    Z = np.concatenate([X, np.sqrt(w) * d], 1) if w else X
    Zq = qe(Z, Z @ Z.T, 3)
    print(w, 'plain', ev_sim(S), 'qe3', ev_sim(Zq @ Z.T))
