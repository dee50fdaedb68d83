"""How close is a crop's teacher target pooled from the whole photo's map to the teacher run on the crop?"""
import sys, random
sys.path.insert(0, '.')
import numpy as np, torch, torch.nn.functional as F
from torchvision.ops import roi_align
from pathlib import Path
from imgsim_desktop.training import distill as D
from imgsim_desktop.training.lookhead import lookalike_crop
from imgsim_desktop.training.data import build_cache, default_train_folders
S = int(sys.argv[1]); N = int(sys.argv[2])
tm = np.load(f'runs/distill/tmaps-{S}.npy', mmap_mode='r')
feats = D.load_features(Path('runs/distill'))
cache, _, _ = build_cache(default_train_folders(), None, 224)
side = S // 32
def region(maps, boxes):
    m = torch.from_numpy(np.ascontiguousarray(maps)).float().permute(0, 3, 1, 2)
    b = torch.from_numpy(boxes[:, :4] * side).float()
    rois = torch.cat([torch.arange(len(b)).float()[:, None], b], 1)
    r = roi_align(m, rois, output_size=(3, 3), spatial_scale=1.0, sampling_ratio=2, aligned=True).mean(dim=(2, 3))
    return F.normalize(r, dim=1).numpy()
cs_r, cs_w = [], []
for i in range(N):
    img = cache.pil(i); w, h = img.size
    rng = random.Random(0 * 1_000_003 + i)
    bx = [[0, 0, 1, 1, 0]]
    for v in range(3):
        b = []; lookalike_crop(img, rng, 0.25, b); bx.append([b[0]/w, b[1]/h, b[2]/w, b[3]/h, b[4]])
    bx = np.array(bx, np.float32)
    r = region(np.repeat(tm[i:i+1], 4, 0), bx)
    t = feats['teacher'][i].astype(np.float32); t /= np.linalg.norm(t, axis=1, keepdims=True)
    cs_r += list((r * t).sum(1)[1:]); cs_w += list((t[0:1] * t).sum(1)[1:])
    if i == 0: print('view0 region vs real', float((r[0] * t[0]).sum()))
print('crop: region-pooled vs real teacher, mean cos', np.mean(cs_r), 'p10', np.percentile(cs_r, 10))
print('crop: whole photo vs real teacher, mean cos', np.mean(cs_w), 'p10', np.percentile(cs_w, 10))
# relational check: does region-pooled similarity between photos agree with the real teacher's?
