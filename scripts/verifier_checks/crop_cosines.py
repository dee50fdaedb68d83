"""How far a crop can go before its original stops being a candidate: the cosine, in a space of the bundled
model, between each photo and its centre and random crops keeping a given share of the area, and the share of
crops under a cut (the duplicates space's candidate cut is 0.55).

    python scripts/verifier_checks/crop_cosines.py [--space duplicates] [--cut 0.55] [FOLDER ...]

Default photos: the first 60 of ../shared/datasets/eval/originals and the 15 camera photos of perf.
"""
import argparse
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from imgsim_desktop.core.embedder import Embedder  # noqa: E402
from imgsim_desktop.core.model import load_model, space_part  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--space", default="duplicates")
    ap.add_argument("--cut", type=float, default=0.55)
    a = ap.parse_args()
    if a.folders:
        files = [p for d in a.folders for p in sorted(d.iterdir()) if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    else:
        files = sorted((DATA / "eval/originals").iterdir())[:60] + sorted((DATA / "perf").glob("*.jpg"))
    m = load_model(None)
    e = Embedder(m)

    def emb(img):
        return space_part(np.asarray(e.embed_image(img))[None], m.spaces, a.space)[0]

    rng = random.Random(0)
    areas = [0.8, 0.6, 0.5, 0.4, 0.3, 0.2]
    centre, anywhere = {k: [] for k in areas}, {k: [] for k in areas}
    for f in files:
        img = Image.open(f)
        img.draft("RGB", (1600, 1600))
        img = img.convert("RGB")
        o = emb(img)
        w0, h0 = img.size
        for k in areas:
            s = k ** 0.5
            w, h = int(w0 * s), int(h0 * s)
            x, y = (w0 - w) // 2, (h0 - h) // 2
            centre[k].append(float(o @ emb(img.crop((x, y, x + w, y + h)))))
            x, y = rng.randint(0, w0 - w), rng.randint(0, h0 - h)
            anywhere[k].append(float(o @ emb(img.crop((x, y, x + w, y + h)))))
    print(f"{len(files)} photos, {a.space} space, cut {a.cut}")
    for k in areas:
        c, r = np.array(centre[k]), np.array(anywhere[k])
        print(f"area {k:.1f}: centre median {np.median(c):.3f}, under the cut {np.mean(c < a.cut):.2f} | "
              f"random place median {np.median(r):.3f}, under the cut {np.mean(r < a.cut):.2f}")


if __name__ == "__main__":
    main()
