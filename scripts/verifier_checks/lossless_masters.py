"""How often core/lossless_master.made_from tells a lossless master from a conversion: 60 eval/originals and 60
eval/distractors photos, shrunk to 3/4 (to erase their own JPEG history) and saved as PNG masters; from each, a
JPEG at quality 70, 85, 92 and 97 (true: made from the master); a PNG decoded from that JPEG, the same PNG
brightened by 8 %, and the master with 2 % noise (false: conversions and other pictures of the JPEG).
Usage: python scripts/verifier_checks/lossless_masters.py [--data ../shared/datasets] [--work /tmp/lossless]"""
import argparse
import collections
import glob
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from imgsim_desktop.core.lossless_master import made_from  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--work", default="/tmp/lossless")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    srcs = sorted(glob.glob(f"{args.data}/eval/originals/*"))[:60] + sorted(glob.glob(f"{args.data}/eval/distractors/*"))[:60]
    said = collections.Counter()
    rng = np.random.default_rng(0)
    for i, p in enumerate(srcs):
        im = Image.open(p).convert("RGB")
        im = im.resize((im.width * 3 // 4, im.height * 3 // 4), Image.LANCZOS)
        master = work / f"m{i}.png"
        im.save(master)
        noisy = work / f"n{i}.png"
        Image.fromarray((np.asarray(im, float) + rng.normal(0, 5, (im.height, im.width, 3))).clip(0, 255)
                        .astype(np.uint8)).save(noisy)
        for q in (70, 85, 92, 97):
            jpeg = work / f"j{i}_{q}.jpg"
            im.save(jpeg, quality=q)
            conv, bright = work / f"c{i}_{q}.png", work / f"b{i}_{q}.png"
            decoded = Image.open(jpeg).convert("RGB")
            decoded.save(conv)
            decoded.point(lambda v: min(255, round(v * 1.08))).save(bright)
            said[f"master, JPEG q{q}: told master"] += made_from(str(master), str(jpeg))
            said[f"PNG decoded from the JPEG q{q}: told master (wrong)"] += made_from(str(conv), str(jpeg))
            said[f"that PNG brightened, q{q}: told master (wrong)"] += made_from(str(bright), str(jpeg))
            said[f"the master with noise, q{q}: told master (wrong)"] += made_from(str(noisy), str(jpeg))
    for k in sorted(said):
        print(f"{k}: {said[k]} of {len(srcs)}")


if __name__ == "__main__":
    main()
