"""Two shots of one scene (a burst): does the verifier call them the same photo? It should not, and v8-v9 do.
Makes two shots from each photo in the given folders (the subject, where the picture is busiest, moved by
4-10 % and turned up to 12 degrees on an inpainted backdrop; the camera moved by 1-2 %) and verifies each pair;
then the one real burst found in the data sets (a newt beside a dandelion, two Flickr photos).
Usage: python scripts/verifier_checks/bursts.py DIR [DIR ...] [--n N] [--held-out M]"""
import argparse
import io
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from imgsim_desktop.core import verify as V  # noqa: E402
from imgsim_desktop.core.decode import load_image  # noqa: E402
from imgsim_desktop.evaluation.layout import _images_in  # noqa: E402


def burst_shots(img, rng: random.Random):
    """Two shots of one scene a moment apart: in each, a subject (an oval of a fifth to a third of the
    frame) stands somewhere else on the same background, turned a little, and the camera has moved by 1-2 %.
    Neither shot is the source photo, and each is a different photo from the other."""
    import cv2
    from PIL import Image

    a = np.asarray(img.convert("RGB"))
    h, w = a.shape[:2]
    rw, rh = int(w * rng.uniform(0.2, 0.33)), int(h * rng.uniform(0.2, 0.33))
    # the subject is where the picture is busiest (a plain patch moving is no different shot to anyone)
    grey = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    energy = cv2.blur(np.abs(cv2.Laplacian(grey, cv2.CV_32F)), (max(1, rw), max(1, rh)))
    spots = [(int(w * rng.uniform(0.3, 0.7)), int(h * rng.uniform(0.3, 0.7))) for _ in range(12)]
    cx, cy = max(spots, key=lambda c: energy[c[1], c[0]])
    oval = np.zeros((h, w), np.uint8)
    cv2.ellipse(oval, (cx, cy), (rw // 2, rh // 2), 0, 0, 360, 255, -1)
    backdrop = cv2.inpaint(a, cv2.dilate(oval, np.ones((5, 5), np.uint8)), 5, cv2.INPAINT_TELEA)
    soft = cv2.GaussianBlur(oval, (0, 0), 2.0).astype(np.float32)[..., None] / 255.0
    shots = []
    for _ in range(2):
        dx, dy = (rng.choice((-1, 1)) * rng.uniform(0.04, 0.10) * s for s in (w, h))
        turn = rng.uniform(-12, 12)
        m = cv2.getRotationMatrix2D((cx, cy), turn, 1.0)
        m[:, 2] += (dx, dy)
        subject = cv2.warpAffine(a, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        mask = cv2.warpAffine(soft, m, (w, h))[..., None]
        shot = backdrop * (1 - mask) + subject * mask
        ox, oy = int(w * rng.uniform(0.01, 0.02)), int(h * rng.uniform(0.01, 0.02))   # the camera moved
        x0, y0 = rng.randint(0, ox), rng.randint(0, oy)
        shot = shot[y0:y0 + h - oy, x0:x0 + w - ox]
        shots.append(Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8)).resize((w, h)))
    return shots


def features(img):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    buf.seek(0)
    from PIL import Image
    return V.features_from_image(Image.open(buf))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--held-out", type=int, default=0,
                    help="also make this many bursts from photos outside the --n the rules were tuned on")
    a = ap.parse_args()
    every = sorted(f for d in a.dirs for f in _images_in(d, recursive=True))
    tuned = random.Random(0).sample(every, min(a.n, len(every)))
    rest = sorted(set(every) - set(tuned))
    held = random.Random(1).sample(rest, min(a.held_out, len(rest)))
    for name, srcs, seed in (("made", tuned, 0), ("held-out", held, 1)):
        if not srcs:
            continue
        same = 0
        for i, p in enumerate(srcs):
            first, second = burst_shots(load_image(p, max_side=512)[0], random.Random(f"{seed}-burst-{i}"))
            same += V.verify(features(first), features(second)).same
        print(f"{V.VERIFIER_VERSION}: {same} of {len(srcs)} {name} bursts called the same photo")
    data = ROOT.parent / "shared" / "datasets" / "train" / "flowers"
    newt = [data / "dandelion_34592557281_5f254b3a46_n.jpg", data / "dandelion_33914172633_592a6eb74f_n.jpg"]
    if all(p.is_file() for p in newt):
        v = V.verify(*(V.features_from_path(p) for p in newt))
        print(f"the newt beside a dandelion (two shots): same={v.same} ({v.why})")


if __name__ == "__main__":
    main()
