"""True copies where both pictures are tiny (76-128 px): how closely do they agree when verified?

Cuts 2 pieces of 76-128 px from 60 eval/originals and 60 eval/distractors photos, makes 12 copies of each and
prints, per edit, how many verify and the 5th/10th/50th percentiles of cell agreement and correlation: the
figures behind verify.TINY_AGREE / TINY_NCC. With --tiles RUN_PAIRS.json (from tile_matches.py) it also says
how many of those tile pairs a cut keeps.
Usage: python scripts/verifier_checks/tiny_copies.py [--data ../shared/datasets] [--tiles pairs.json]"""
import argparse
import glob
import io
import json
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from imgsim_desktop.core import verify as V  # noqa: E402


def jpeg(im, q):
    b = io.BytesIO()
    im.convert("RGB").save(b, "JPEG", quality=q)
    b.seek(0)
    return Image.open(b).convert("RGB")


def noisy(t):
    a = np.asarray(t, np.float32) + np.random.default_rng(1).normal(0, 6, (t.height, t.width, 3))
    return jpeg(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), 85)


EDITS = {
    "jpeg50": lambda t: jpeg(t, 50),
    "mirror": lambda t: jpeg(ImageOps.mirror(t), 85),
    "mirror_jpeg50": lambda t: jpeg(ImageOps.mirror(t), 50),
    "flip": lambda t: jpeg(ImageOps.flip(t), 85),
    "transpose": lambda t: jpeg(t.transpose(Image.Transpose.TRANSPOSE), 85),
    "rot90": lambda t: jpeg(t.rotate(-90, expand=True), 85),
    "grey": lambda t: jpeg(ImageOps.grayscale(t).convert("RGB"), 85),
    "crop90": lambda t: jpeg(t.crop((int(t.width * .05), int(t.height * .05), int(t.width * .95),
                                     int(t.height * .95))), 85),
    "down80": lambda t: jpeg(t.resize((int(t.width * .8), int(t.height * .8)), Image.LANCZOS), 80),
    "blur1": lambda t: jpeg(t.filter(ImageFilter.GaussianBlur(1.0)), 85),
    "exposure": lambda t: jpeg(ImageEnhance.Brightness(t).enhance(1.3), 85),
    "noise": noisy,
}


def pieces(data: str):
    """2 pieces of 76-128 px from each of 60 eval/originals and 60 eval/distractors photos (seed 7), as JPEGs."""
    random.seed(7)
    srcs = sorted(glob.glob(f"{data}/eval/originals/*"))[:60] + sorted(glob.glob(f"{data}/eval/distractors/*"))[:60]
    for p in srcs:
        im = Image.open(p).convert("RGB")
        w, h = im.size
        for _ in range(2):
            cw, ch = int(w * random.uniform(.2, .5)), int(h * random.uniform(.2, .5))
            x, y = random.randint(0, w - cw), random.randint(0, h - ch)
            side = random.randint(76, 128)
            t = im.crop((x, y, x + cw, y + ch))
            t.thumbnail((side, side), Image.LANCZOS)
            yield jpeg(t, 90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--tiles", help="verified tile pairs (tile_matches.py --json) to count against the cut")
    args = ap.parse_args()
    out = []
    for t in pieces(args.data):
        ft = V.features_from_image(t, t.size)
        for e, f in EDITS.items():
            c = f(t)
            v = V.verify(ft, V.features_from_image(c, c.size))
            out.append(dict(e=e, same=v.same, agree=v.agree, ncc=v.ncc))
    for e in EDITS:
        r = [x for x in out if x["e"] == e and x["same"]]
        a, n = np.array([x["agree"] for x in r]), np.array([x["ncc"] for x in r])
        print(f"{e:14s} {len(r)}/{sum(x['e'] == e for x in out)} verified  agree p5/p10/p50 "
              + " ".join(f"{q:.2f}" for q in np.percentile(a, [5, 10, 50])) + "  ncc p5/p10/p50 "
              + " ".join(f"{q:.3f}" for q in np.percentile(n, [5, 10, 50])))
    same = [x for x in out if x["same"]]
    cut = sum(x["agree"] >= V.TINY_AGREE and x["ncc"] >= V.TINY_NCC for x in same)
    print(f"at agree >= {V.TINY_AGREE} and ncc >= {V.TINY_NCC}: {cut} of {len(same)} verified tiny copies keep")
    if args.tiles:
        pairs = json.load(open(args.tiles))
        kept = sum(x["agree"] >= V.TINY_AGREE and x["ncc"] >= V.TINY_NCC for x in pairs)
        print(f"...and {kept} of {len(pairs)} verified tile pairs")


if __name__ == "__main__":
    main()
