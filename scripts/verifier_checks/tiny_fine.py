"""The finest-detail correlation of verified tiny pairs (both pictures at most 128 px), and how well both
pictures repeat themselves: the figures behind verify.TINY_FINE and verify.TINY_REPEATS.

- tiny copies: tiny_copies.py's 2 pieces of 120 photos with its 12 edits each (true copies);
- --tiles PAIRS.json: the verified tile pairs of a tiles negatives run (tile_matches.py --json; false);
- --neighbours DIR ...: a fresh tiling of those photos (--side px tiles, offset half a tile from the negatives
  run's grid), each tile verified against its right and lower neighbours and the tile two along: how many
  such pairs of different patches verify with and without the rule (false).
Usage: python scripts/verifier_checks/tiny_fine.py [--cut C] [--tiles pairs.json] [--tiles-dir DIR] [--neighbours DIR ...]"""
import argparse
import collections
import glob
import json
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from imgsim_desktop.core import verify as V  # noqa: E402
import tiny_copies as T  # noqa: E402


def fine(fa, fb):
    """(verified before the tiny rules, (its fine-detail correlation, the lesser self-match)) ."""
    v = V._verify(fa, fb)
    if not v.same:
        return False, None
    return True, (V.fine_detail_ncc(fa, fb, v.affine), min(V.self_match(fa.grey), V.self_match(fb.grey)))


def kept(u, cut, repeats):
    return u[0] >= cut and u[1] < repeats


def copies(data):
    out = collections.defaultdict(list)
    for t in T.pieces(data):
        ft = V.features_from_image(t, t.size)
        for e, f in T.EDITS.items():
            c = f(t)
            same, u = fine(ft, V.features_from_image(c, c.size))
            if same:
                out[e].append(u)
    return out


def neighbours(folders, side, limit):
    rng = random.Random(3)
    photos = sorted(p for d in folders for p in glob.glob(f"{d}/*"))
    pairs = []
    for p in photos:
        im = Image.open(p).convert("RGB")   # full size, as the negatives run's tiles (--tile-from 0)
        grey = np.asarray(im.convert("L"), np.float32)
        cols, rows = (im.width - side // 2) // side, (im.height - side // 2) // side
        tiles = {}

        def tile(c, r):
            if (c, r) not in tiles:
                x, y = side // 2 + c * side, side // 2 + r * side
                t = T.jpeg(im.crop((x, y, x + side, y + side)), 90)
                tiles[(c, r)] = V.features_from_image(t, t.size)
            return tiles[(c, r)]
        def plain(c, r):   # left out of the run too (make_tiles' flat_std)
            x, y = side // 2 + c * side, side // 2 + r * side
            return grey[y:y + side, x:x + side].std() < 3.0
        cells = [(c, r) for c in range(cols) for r in range(rows) if not plain(c, r)]
        for c, r in rng.sample(cells, min(len(cells), limit)):
            for dc, dr in ((1, 0), (0, 1), (2, 0)):
                if c + dc < cols and r + dr < rows and not plain(c + dc, r + dr):
                    pairs.append((Path(p).name, fine(tile(c, r), tile(c + dc, r + dr))))
    return pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--tiles", help="verified tile pairs (tile_matches.py --json)")
    ap.add_argument("--tiles-dir", help="the run's --tiles folder")
    ap.add_argument("--neighbours", nargs="*", default=[])
    ap.add_argument("--side", type=int, default=90)
    ap.add_argument("--per-photo", type=int, default=100, help="tiles sampled from each photo")
    ap.add_argument("--cut", type=float, default=V.TINY_FINE, help="fine-detail cut (default: the rule's)")
    ap.add_argument("--repeats", type=float, default=V.TINY_REPEATS, help="self-match cut (default: the rule's)")
    args = ap.parse_args()
    cut, rep = args.cut, args.repeats
    out = copies(args.data)
    allu = np.array([u for v in out.values() for u in v])
    for e, v in out.items():
        v = np.array(v)
        print(f"{e:14s} {len(v)} verified, fine p1/p5/p50 " + " ".join(f"{q:.3f}" for q in np.percentile(v[:, 0], [1, 5, 50]))
              + f", below {cut}: {int((v[:, 0] < cut).sum())}; self-match p50/p99 "
              + " ".join(f"{q:.3f}" for q in np.percentile(v[:, 1], [50, 99])) + f", at {rep} or more: {int((v[:, 1] >= rep).sum())}")
    print(f"tiny copies: {int((allu[:, 0] < cut).sum())} of {len(allu)} verified fall below {cut} "
          f"({(allu[:, 0] < cut).mean():.2%}); p1 {np.percentile(allu[:, 0], 1):.3f}; {int((allu[:, 1] >= rep).sum())} "
          f"repeat at {rep} or more; {sum(not kept(u, cut, rep) for u in allu)} lost to either rule")
    if args.tiles:
        seen, us = set(), []
        for t in json.load(open(args.tiles)):
            if (t["a"], t["b"]) in seen:
                continue
            seen.add((t["a"], t["b"]))
            fa, fb = (V.features_from_path(Path(args.tiles_dir) / n) for n in (t["a"], t["b"]))
            same, u = fine(fa, fb)
            if same:
                us.append(u)
        us = np.array(us)
        print(f"tile pairs of the run: {len(us)} verify without the rules, fine min/median/max "
              + " ".join(f"{q:.3f}" for q in (us[:, 0].min(), np.median(us[:, 0]), us[:, 0].max()))
              + f"; {int((us[:, 0] >= cut).sum())} keep the fine-detail rule, {sum(kept(u, cut, rep) for u in us)} "
              "both; (fine, self-match) " + " ".join(f"({a:.3f}, {b:.3f})" for a, b in sorted(map(tuple, us))))
    if args.neighbours:
        pairs = neighbours(args.neighbours, args.side, args.per_photo)
        same = [u for _, (s, u) in pairs if s]
        print(f"neighbouring {args.side} px tiles: {len(pairs)} pairs, {len(same)} verify without the rules, "
              f"{sum(u[0] >= cut for u in same)} with the fine-detail rule, {sum(kept(u, cut, rep) for u in same)} "
              "with both; (fine, self-match) " + " ".join(f"({a:.3f}, {b:.3f})" for a, b in sorted(same)))


if __name__ == "__main__":
    main()
