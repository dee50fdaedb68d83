"""Head fit on cached views + a bank of extra views whose teacher targets are pooled from the photo's map."""
import sys, json
sys.path.insert(0, '.')
import numpy as np, torch, torch.nn.functional as F
from torchvision.ops import roi_align
from pathlib import Path
from imgsim_desktop.training import distill as D
torch.set_num_threads(2)
cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
bank_dirs = [Path(p) for p in cfg.pop('bank', ['runs/distill/bank-v12-s1-0', 'runs/distill/bank-v12-s1-1792'])]
S = cfg.pop('S', 320); use_real = cfg.pop('real', True); nb = cfg.pop('nbank', 12)
out = cfg.pop('out', None)
feats = D.load_features(Path('runs/distill'))
zs = [np.load(d / 'bank.npz') for d in bank_dirs]
bp = np.concatenate([z['pooled'][:, :nb] for z in zs]); bb = np.concatenate([z['boxes'][:, :nb] for z in zs])
tm = np.load(f'runs/distill/tmaps-{S}.npy', mmap_mode='r')
side = S // 32
n = bp.shape[0]
reg = np.zeros((n, nb, 1280), np.float16)
with torch.no_grad():
    for i in range(0, n, 256):
        m = torch.from_numpy(np.ascontiguousarray(tm[i:i + 256])).float().permute(0, 3, 1, 2)
        k = m.shape[0]
        b = torch.from_numpy(bb[i:i + k, :, :4].reshape(-1, 4) * side).float()
        rois = torch.cat([torch.arange(k).repeat_interleave(nb).float()[:, None], b], 1)
        r = roi_align(m, rois, output_size=(3, 3), sampling_ratio=2, aligned=True).mean(dim=(2, 3))
        reg[i:i + k] = F.normalize(r, dim=1).numpy().reshape(k, nb, -1).astype(np.float16)
if use_real:
    f = {'pooled': np.concatenate([feats['pooled'], bp], 1), 'teacher': np.concatenate([feats['teacher'], reg], 1)}
else:
    f = {'pooled': bp, 'teacher': reg}
f['maps'] = None
f['teacher'][:, 0] = feats['teacher'][:, 0]   # knn batches use view 0 (whole photo, real teacher)
ev = dict(np.load('runs/distill/eval-features.npz'))
paths, labels = D.eval_set(Path('../shared/datasets/eval/lookalike'), Path('../shared/datasets/eval/distractors'))
from imgsim_desktop.core.ranking import EXPANSION, expanded_query
def evaluate(h):
    X = D.head_vectors(h, ev)
    r = D.precision_at_10(X, labels)
    S_ = X @ X.T; np.fill_diagonal(S_, -np.inf)
    near = np.argsort(-S_, axis=1)[:, :EXPANSION]
    Q = np.stack([expanded_query(X[i], X[near[i]]) for i in range(len(X))])
    from imgsim_desktop.evaluation import metrics as M
    rel, _ = M.ranked_relevance(Q @ X.T, labels, M.query_indices(labels), seed=0)
    r['p10_qe'] = round(float(M.precision_at_k(rel, 10).mean()), 4)
    return r
c = D.FitConfig(**{'minutes': None, 'steps': 8000, 'knn': 10, 'eval_every': 1000, **cfg})
head, hist = D.fit_head(f, [32, 64, 128, 256], c, evaluate)
if out:
    torch.save(head.state_dict(), out)
