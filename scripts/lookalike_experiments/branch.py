"""Distil the teacher into a trainable copy of the encoder's last stage(s) plus the lookalike MLP."""
import sys, time, json, copy, math
sys.path.insert(0, '.')
import numpy as np, torch, torch.nn.functional as F
from pathlib import Path
from imgsim_desktop.training import distill as D
from imgsim_desktop.training.train import nt_xent
from imgsim_desktop.core.model import _load_weights, _locate
torch.set_num_threads(2)
cfg = dict(K=3, steps=2000, batch=256, lr_b=3e-4, lr_h=1e-3, knn=10, tau_s=0.1, tau_t=0.05, w_nce=0.2,
           eval_every=250, bn='eval', seed=0, wd=1e-4, out=None)
cfg.update(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
print(json.dumps(cfg), flush=True)
K = cfg['K']
run = Path('runs/distill')
net, card, arch = D._base(None)
widths = [32, 64, 128, 256]
cut = sum(widths[:K])
sd = _load_weights(_locate(Path('resources/models/imgsim-ae.json'))[1])

class Branch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stages = copy.deepcopy(net.encoder[K:])
        self.mlp = torch.nn.Sequential(torch.nn.Linear(480, 512), torch.nn.ReLU(), torch.nn.Linear(512, 128))
        self.mlp.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith('look.')})
    def forward(self, frozen, m):
        feats = [frozen]
        for blk in self.stages:
            m = blk(m)
            feats.append(F.normalize(m.clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1 / 3), dim=1))
        return F.normalize(self.mlp(torch.cat(feats, 1)), dim=1)

feats = D.load_features(run)
pooled = torch.from_numpy(feats['pooled'][..., :cut].astype(np.float32))
teacher = torch.from_numpy(feats['teacher'].astype(np.float32))
maps = torch.from_numpy(np.load(run / f's{K}-train.npy'))
n, v = pooled.shape[:2]
ev = dict(np.load(run / 'eval-features.npz'))
ev_front = torch.from_numpy(ev['pooled'][..., :cut].astype(np.float32))
ev_maps = torch.from_numpy(np.load(run / f's{K}-eval.npy'))
paths, labels = D.eval_set(Path('../shared/datasets/eval/lookalike'), Path('../shared/datasets/eval/distractors'))
model = Branch()

def set_bn(mod):
    mod.train()
    if cfg['bn'] == 'eval':
        for m in mod.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()

@torch.no_grad()
def evaluate():
    model.eval()
    ne = ev_front.shape[0]
    z = torch.cat([model(ev_front.reshape(2 * ne, -1)[i:i + 400], ev_maps.reshape(2 * ne, *ev_maps.shape[2:])[i:i + 400].float())
                   for i in range(0, 2 * ne, 400)])
    X = F.normalize(z.reshape(ne, 2, -1).sum(1), dim=1).numpy()
    set_bn(model)
    return D.precision_at_10(X, labels)

print('start', evaluate(), flush=True)
rng = np.random.default_rng(cfg['seed']); torch.manual_seed(cfg['seed'])
nbrs = D.teacher_neighbours(feats['teacher'], cfg['knn'])
opt = torch.optim.AdamW([{'params': model.stages.parameters(), 'lr': cfg['lr_b']},
                         {'params': model.mlp.parameters(), 'lr': cfg['lr_h']}], weight_decay=cfg['wd'])
base_lr = [cfg['lr_b'], cfg['lr_h']]
set_bn(model)
t0 = time.time()
for step in range(1, cfg['steps'] + 1):
    anchors = rng.choice(n, size=cfg['batch'] // 2, replace=False)
    mates = nbrs[anchors, rng.integers(0, nbrs.shape[1], size=len(anchors))]
    ids = torch.from_numpy(np.concatenate([anchors, mates]))
    va = torch.from_numpy(rng.integers(0, v, size=len(ids)))
    vb = (va + torch.from_numpy(rng.integers(1, v, size=len(ids)))) % v
    fr = torch.cat([pooled[ids, va], pooled[ids, vb]])
    m = torch.cat([maps[ids, va], maps[ids, vb]]).float().contiguous(memory_format=torch.channels_last)
    t = torch.cat([teacher[ids, va], teacher[ids, vb]])
    z = model(fr, m)
    loss = D.relational_kl(z, t, cfg['tau_s'], cfg['tau_t']) + cfg['w_nce'] * nt_xent(z[:len(ids)], z[len(ids):], 0.2)
    f = min(1.0, step / 50) * 0.5 * (1 + math.cos(math.pi * step / cfg['steps']))
    for g, b in zip(opt.param_groups, base_lr):
        g['lr'] = b * f
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    if step % 50 == 0:
        rec = {'step': step, 'loss': round(float(loss), 4), 'min': round((time.time() - t0) / 60, 1)}
        if step % cfg['eval_every'] == 0 or step == cfg['steps']:
            rec.update(evaluate())
        print(json.dumps(rec), flush=True)
if cfg['out']:
    torch.save({k: v for k, v in model.state_dict().items()}, cfg['out'])
