"""Teacher feature maps of every whole training photo, squashed to S x S (one pass; crops are pooled from it)."""
import sys, time
sys.path.insert(0, '.')
import numpy as np, torch
from pathlib import Path
from imgsim_desktop.training.teacher import Teacher
from imgsim_desktop.training.data import build_cache, default_train_folders
from imgsim_desktop.core.model import preprocess_image
torch.set_num_threads(2)
S = int(sys.argv[1]) if len(sys.argv) > 1 else 320
out = Path(f'runs/distill/tmaps-{S}.npy')
t = Teacher(batch=16)
cache, _, _ = build_cache(default_train_folders(), None, 224)
n = len(cache)
side = S // 32
mm = np.lib.format.open_memmap(out.with_suffix('.tmp.npy'), mode='r+' if out.with_suffix('.tmp.npy').exists() else 'w+',
                               dtype=np.float16, shape=(n, side, side, 1280))
done = Path(f'runs/distill/tmaps-{S}.done')
start = int(done.read_text()) if done.exists() else 0
t0 = time.time()
with torch.inference_mode():
    for i in range(start, n, 64):
        ids = range(i, min(n, i + 64))
        x = torch.from_numpy(np.stack([preprocess_image(cache.pil(j), S) for j in ids]))
        x = ((x.permute(0, 3, 1, 2).float() - t.mean) / t.std).contiguous(memory_format=torch.channels_last)
        f = torch.cat([t.net.extract_features(x[k:k + 16]) for k in range(0, len(x), 16)])
        mm[i:i + len(ids)] = f.permute(0, 2, 3, 1).numpy().astype(np.float16)
        mm.flush()
        done.write_text(str(i + len(ids)))
        print(i + len(ids), round(time.time() - t0), flush=True)
del mm
out.with_suffix('.tmp.npy').replace(out)
