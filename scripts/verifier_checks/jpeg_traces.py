"""How often core/jpeg_trace.py calls a JPEG "re-saved over a coarser one": 400 photos of the data sets, shrunk
55-80 % (which erases their own JPEG history) and saved once at quality 70-96, then each saved again higher
(+2..8), at the same quality and lower (-3..15). Prints, per kind, how many were tested and the spread of the
share of frequencies with a gap (re-saved: >= GAP_SHARE).
Usage: python scripts/verifier_checks/jpeg_traces.py [DATASETS_DIR]"""
import collections
import glob
import io
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from imgsim_desktop.core import jpeg_trace as jt  # noqa: E402

FOLDERS = ("train/gcompris", "train/wallpapers", "train/curban100", "train/cset14", "train/mcmaster", "eval/lookalike",
           "train/flowers", "train/imagenette")


def share(data: bytes):
    with Image.open(io.BytesIO(data)) as img:
        table = np.asarray(list(img.quantization[0]), float)
        y = jt._luma(img)
    g, t = jt.gaps(jt.histograms(y, table))
    return g / t if t >= jt.MIN_TESTED else None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[3] / "shared" / "datasets")
    files = [f for d in FOLDERS for f in sorted(glob.glob(f"{root}/{d}/**/*.jpg", recursive=True))]
    rng = random.Random(3)
    rng.shuffle(files)
    kinds = collections.defaultdict(list)
    for f in files[:400]:
        img = Image.open(f).convert("RGB")
        s = rng.uniform(0.55, 0.8)
        img = img.resize((max(16, int(img.width * s)), max(16, int(img.height * s))), Image.LANCZOS)
        q1 = rng.randint(70, 96)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q1)
        kinds["saved once"].append(share(buf.getvalue()))
        first = Image.open(io.BytesIO(buf.getvalue()))
        for kind, q2 in (("again higher", min(100, q1 + rng.randint(2, 8))), ("again same", q1),
                         ("again lower", max(30, q1 - rng.randint(3, 15)))):
            out = io.BytesIO()
            first.save(out, "JPEG", quality=q2)
            kinds[kind].append(share(out.getvalue()))
    for kind, xs in kinds.items():
        v = [x for x in xs if x is not None]
        flagged = sum(x >= jt.GAP_SHARE for x in v)
        spread = dict(sorted(collections.Counter(min(int(x * 10), 9) / 10 for x in v).items()))
        print(f"{kind}: {len(v)} tested ({len(xs) - len(v)} too small or flat), re-saved {flagged}; shares {spread}")


if __name__ == "__main__":
    main()
