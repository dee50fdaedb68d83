"""More views per photo: student features of V seeded crops per training photo, with each crop's box (the
teacher's target is pooled from its map of the whole photo)."""
import sys, time, random, json
sys.path.insert(0, '.')
import numpy as np, torch
from pathlib import Path
from imgsim_desktop.training import distill as D
from imgsim_desktop.training.lookhead import lookalike_crop
from imgsim_desktop.training.data import build_cache, default_train_folders
from imgsim_desktop.core.model import preprocess_image
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
V, seed = int(sys.argv[1]), int(sys.argv[2])
A, B = int(sys.argv[4]), int(sys.argv[5])
K = 3
net, card, arch = D._base(None)
size = int(card['input_size'])
mean = torch.tensor(D.IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0
std = torch.tensor(D.IMAGENET_STD).view(1, 3, 1, 1) * 255.0
cache, _, _ = build_cache(default_train_folders(), None, 224)
n = len(cache)
B = min(B, n)
out = Path(f'runs/distill/bank-v{V}-s{seed}-{A}')
out.mkdir(exist_ok=True)
pooled = np.zeros((B - A, V, 480), np.float16)
boxes = np.zeros((B - A, V, 5), np.float32)
s3 = np.lib.format.open_memmap(out / 's3.npy', mode='w+', dtype=np.float16, shape=(B - A, V, 128, 14, 14))
t0 = time.time()
for p0 in range(A, B, 128):
    ids = range(p0, min(B, p0 + 128))
    views = []
    for i in ids:
        img = cache.pil(i)
        w, h = img.size
        rng = random.Random(seed * 1_000_003 + i)
        for v in range(V):
            b = []
            views.append(preprocess_image(lookalike_crop(img, rng, 0.25, b), size))
            boxes[i - A, v] = [b[0] / w, b[1] / h, b[2] / w, b[3] / h, float(b[4])]
    x = torch.from_numpy(np.stack(views))
    with torch.inference_mode():
        x = ((x.permute(0, 3, 1, 2).float() - mean) / std).contiguous(memory_format=torch.channels_last)
        st = net.stages(x)
        pooled[p0 - A:p0 - A + len(ids)] = net.look_input(st).numpy().reshape(len(ids), V, -1).astype(np.float16)
        s3[p0 - A:p0 - A + len(ids)] = st[K - 1].numpy().reshape(len(ids), V, *st[K - 1].shape[1:]).astype(np.float16)
    print(p0 + len(ids), round(time.time() - t0), flush=True)
s3.flush()
np.savez(out / 'bank.npz', pooled=pooled, boxes=boxes)
print('done', flush=True)
