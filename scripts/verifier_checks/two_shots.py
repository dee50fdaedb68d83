"""The parallax check on real pairs: the second shots found in the data sets must not verify, and copies whose
perspective was corrected (a keystone fix: the top edge pulled in by 1, 2, 4 % a side) must, as before the check.
Usage: python scripts/verifier_checks/two_shots.py [--n 30]"""
import argparse
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from imgsim_desktop.core import verify as V  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"
SHOTS = [   # two shots of one scene each, found by the 5,389-photo hard-negative bench (docs/benchmark.md)
    ("a newt beside a dandelion", "train/flowers/dandelion_34592557281_5f254b3a46_n.jpg",
     "train/flowers/dandelion_33914172633_592a6eb74f_n.jpg"),
    ("a dog show", "eval/distractors/inet_n02102040_2920.jpg", "train/imagenette/n02102040_565.jpg"),
    ("a sunflower field, zoomed", "eval/lookalike/flowers-sunflower/4806174512_e04475b766_n.jpg",
     "train/flowers/sunflower_4805544785_a63241f6d0_n.jpg"),
]


def features(arr):
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90)
    buf.seek(0)
    return V.features_from_image(Image.open(buf))


def main():
    import cv2
    from PIL import Image

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30)
    a = ap.parse_args()
    print(V.VERIFIER_VERSION)
    for name, x, y in SHOTS:
        px, py = DATA / x, DATA / y
        if not (px.is_file() and py.is_file()):
            print(f"{name}: not in ../shared/datasets")
            continue
        fx, fy = V.features_from_path(px), V.features_from_path(py)
        print(f"{name}: {V.verify(fx, fy).why} | the other way: {V.verify(fy, fx).why}")
    photos = sorted((DATA / "eval" / "originals").iterdir())[:a.n]
    for k in (0.01, 0.02, 0.04):
        same = 0
        for p in photos:
            img = np.asarray(Image.open(p).convert("RGB"))
            h, w = img.shape[:2]
            corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
            pulled = np.float32([[k * w, 0], [w - k * w, 0], [w, h], [0, h]])
            fixed = cv2.warpPerspective(img, cv2.getPerspectiveTransform(corners, pulled), (w, h),
                                        borderMode=cv2.BORDER_REFLECT)
            same += V.verify(features(img), features(fixed)).same
        print(f"keystone fix {k:.0%} a side: {same} of {len(photos)} copies verified")


if __name__ == "__main__":
    main()
