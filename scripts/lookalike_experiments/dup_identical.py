# duplicate-space vectors of a few real photos and every non-lookalike tensor: a new model vs the shipped one, to the bit
# usage: python scripts/lookalike_experiments/dup_identical.py OLD_CARD.json NEW_CARD.json
import sys, numpy as np
sys.path.insert(0, ".")
from pathlib import Path
from imgsim_desktop.core.model import load_model
from imgsim_desktop.core.decode import load_image
old = load_model(Path(sys.argv[1]), "cpu"); new = load_model(Path(sys.argv[2]), "cpu")
paths = sorted(Path("../shared/datasets/eval/lookalike").rglob("*.jpg"))[::97][:12]
x = np.stack([old.preprocess(load_image(p, max_side=old.input_size)[0]) for p in paths])
a0, b0 = old.space("duplicates"); a1, b1 = new.space("duplicates")
vo, vn = old.embed(x), new.embed(x)
print(len(paths), "photos; duplicates identical:", np.array_equal(vo[:, a0:b0], vn[:, a1:b1]),
      "; lookalikes max diff:", float(np.abs(vo[:, b0:] - vn[:, b1:]).max()))
sd = lambda m: {k: v for k, v in m.net.state_dict().items() if not k.startswith("look")}
so, sn = sd(old), sd(new)
print("non-lookalike tensors identical:", so.keys() == sn.keys() and all(np.array_equal(so[k].numpy(), sn[k].numpy()) for k in so))
