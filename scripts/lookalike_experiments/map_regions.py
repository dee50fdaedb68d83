"""Test-time views without another encoder pass: the head also run on GeM of parts of the last stage's 7x7 map
(quadrants, centre, 5x5 corners), averaged with the whole. Usage: python scripts/lookalike_experiments/map_regions.py"""
import numpy as np, torch, sys, torch.nn.functional as F
sys.path.insert(0, '.')
from imgsim_desktop.training import distill as D
from imgsim_desktop.core.model import _load_weights, _locate
from pathlib import Path
torch.set_num_threads(1)
ev = dict(np.load('runs/distill/eval-features.npz'))
paths, labels = D.eval_set(Path('../shared/datasets/eval/lookalike'), Path('../shared/datasets/eval/distractors'))
_, w = _locate(Path('resources/models/imgsim-ae.json')); sd = _load_weights(w)
mlp = {k[5:]: v for k, v in sd.items() if k.startswith('look.')}
head = D.LookHead([32,64,128,256], 512, 128); head.mlp.load_state_dict(mlp); head.eval()
n = ev['pooled'].shape[0]
P = torch.from_numpy(ev['pooled'].reshape(2*n, -1)); M = torch.from_numpy(ev['maps'].reshape(2*n, 256, 7, 7).astype(np.float32))
def gem(m): return F.normalize(m.clamp(min=1e-6).pow(3).mean(dim=(2,3)).pow(1/3), dim=1)
def region_input(y0,y1,x0,x1):
    q = P.clone(); q[:, 224:] = gem(M[:, :, y0:y1, x0:x1]); return q
with torch.no_grad():
    base = head.mlp(P)
    regs = {'quads': [(0,4,0,4),(0,4,3,7),(3,7,0,4),(3,7,3,7)], 'centre': [(1,6,1,6)], 'big4': [(0,5,0,5),(0,5,2,7),(2,7,0,5),(2,7,2,7)],
            'big4c': [(0,5,0,5),(0,5,2,7),(2,7,0,5),(2,7,2,7),(1,6,1,6)]}
    def out(z): return F.normalize(F.normalize(z, dim=1).reshape(n, 2, -1).sum(1), dim=1).numpy()
    print('base', D.precision_at_10(out(base), labels))
    for name, rs in regs.items():
        zs = [F.normalize(head.mlp(region_input(*r)), dim=1) for r in rs]
        for wbase in (1.0, 2.0):
            z = wbase * F.normalize(base, dim=1) + sum(zs) / len(zs)
            print(name, wbase, D.precision_at_10(out(z), labels))
