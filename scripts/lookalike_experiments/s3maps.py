"""Cache stage-`k` maps of the same views the distillation cached (seeded), and of the eval set."""
import sys, time, json
sys.path.insert(0, '.')
import numpy as np, torch
from pathlib import Path
from imgsim_desktop.training import distill as D
from imgsim_desktop.training.data import build_cache, default_train_folders
from imgsim_desktop.core.model import preprocess_image
from imgsim_desktop.core.decode import load_image
torch.set_num_threads(2)
K = int(sys.argv[1]) if len(sys.argv) > 1 else 3   # number of frozen stages
run = Path('runs/distill')
meta = json.loads((run / 'features.json').read_text())
net, card, arch = D._base(None)
size = int(card['input_size'])
mean = torch.tensor(D.IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0
std = torch.tensor(D.IMAGENET_STD).view(1, 3, 1, 1) * 255.0

@torch.inference_mode()
def enc(views):
    out = []
    for i in range(0, len(views), 128):
        x = torch.from_numpy(np.ascontiguousarray(views[i:i+128]))
        x = ((x.permute(0, 3, 1, 2).float() - mean) / std).contiguous(memory_format=torch.channels_last)
        for blk in net.encoder[:K]:
            x = blk(x)
        out.append(x.float().numpy().astype(np.float16))
    return np.concatenate(out)

out = run / f's{K}-eval.npy'
if not out.is_file():
    paths, labels = D.eval_set(Path('../shared/datasets/eval/lookalike'), Path('../shared/datasets/eval/distractors'))
    vs = []
    for p in paths:
        img, _ = load_image(p, max_side=size)
        a = preprocess_image(img, size)
        vs += [a, a[:, ::-1]]
    m = enc(np.stack(vs))
    np.save(out, m.reshape(len(paths), 2, *m.shape[1:]))
    print('eval', m.shape, flush=True)
cache, _, _ = build_cache(default_train_folders(), None, meta['short_side'])
n, views, seed = len(cache), meta['views'], meta['seed']
out = run / f's{K}-train.npy'
t0 = time.time()
allm = None
for p0 in range(0, n, 256):
    ids = range(p0, min(n, p0 + 256))
    sv = [preprocess_image(v, size) for i in ids for v in D.photo_views(cache.pil(i), views, seed * 1_000_003 + i, meta['min_area'])]
    m = enc(np.stack(sv))
    if allm is None:
        allm = np.lib.format.open_memmap(out.with_suffix('.tmp.npy'), mode='w+', dtype=np.float16, shape=(n, views, *m.shape[1:]))
    allm[p0:p0 + len(ids)] = m.reshape(len(ids), views, *m.shape[1:])
    print(p0, round(time.time() - t0), flush=True)
allm.flush(); del allm
out.with_suffix('.tmp.npy').replace(out)
# check: these views are the cached ones (stage-4 GeM of part 0 equals the cached pooled features)
with np.load(run / 'part-0000.npz') as z:
    cached = z['pooled'][:4, :, -256:].astype(np.float32)
m = np.load(out, mmap_mode='r')[:4].reshape(16, *np.load(out, mmap_mode='r').shape[2:]).astype(np.float32)
with torch.inference_mode():
    x = torch.from_numpy(m)
    for blk in net.encoder[K:]:
        x = blk(x)
    g = torch.nn.functional.normalize(x.clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1/3), dim=1).numpy()
print('max diff vs cached stage-4 GeM', float(np.abs(g.reshape(4, 4, -1) - cached).max()))
