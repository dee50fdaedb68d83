"""How the verified groups of a tiles negatives run matched: every pair inside each group classify_tiles.py
listed, verified again and sorted by kind (one photo / same place / other) and match (mirrored or straight,
feature or whole-frame), with its agreement and correlation.
Usage: python scripts/verifier_checks/tile_matches.py CLASSES.txt TILES_DIR [--json out.json]
(CLASSES.txt: classify_tiles.py's output; TILES_DIR: the run's --tiles folder)"""
import argparse
import collections
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from imgsim_desktop.core import verify as V  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("classes")
    ap.add_argument("tiles")
    ap.add_argument("--json")
    args = ap.parse_args()
    feats, out, count = {}, [], collections.Counter()

    def feat(name):
        if name not in feats:
            feats[name] = V.features_from_path(Path(args.tiles) / name)
        return feats[name]

    for line in open(args.classes):
        if ": [" not in line:
            continue
        kind = line.split(":")[0]
        names = json.loads(line.split(" of ")[0].split(": ", 1)[1].replace("'", '"'))
        for a, b in itertools.combinations(names, 2):
            v = V.verify(feat(a), feat(b))
            if not v.same:
                continue
            m = v.affine
            det = m[0][0] * m[1][1] - m[0][1] * m[1][0]
            how = ("mirrored" if det < 0 else "straight") + (" whole-frame" if "whole-frame" in v.why else " features")
            count[(kind, how)] += 1
            out.append(dict(kind=kind, a=a, b=b, how=how, agree=v.agree, ncc=v.ncc))
    for (kind, how), n in sorted(count.items()):
        print(f"{kind:12s} {how:22s} {n}")
    if args.json:
        json.dump([x for x in out if x["kind"] != "same place"], open(args.json, "w"))


if __name__ == "__main__":
    main()
