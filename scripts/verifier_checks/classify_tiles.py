"""Which photo, and which place in it, each tile of a tiles negatives run's verified groups is from, so the groups
can be sorted by hand into copies inside the data sets (the same place of two photos), tiles of one photo,
and others. The --distinct folders must be the run's, in its order.
Usage: python scripts/verifier_checks/classify_tiles.py RUN.json [--distinct DIR ...]"""
import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from imgsim_desktop.evaluation.layout import _images_in  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"
DEFAULT = ["train/intel", "eval/originals", "eval/distractors", "train/imagenette", "train/flowers", "eval/lookalike",
           "perf"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--distinct", action="append", type=Path)
    a = ap.parse_args()
    folders = a.distinct or [DATA / d for d in DEFAULT]
    photos = sorted(f for d in folders for f in _images_in(d, recursive=True))   # make_tiles numbers them so
    groups = json.loads(a.run.read_text())["methods"]["verified"]["examples"]
    for g in groups:
        tiles = [re.match(r"tile_(\d+)_(\d+)_(\d+)", Path(p).name) for p in g]
        if not all(tiles):
            print("not tiles:", [Path(p).name for p in g])
            continue
        which = sorted({int(m.group(1)) for m in tiles})
        where = {(m.group(2), m.group(3)) for m in tiles}
        kind = "one photo" if len(which) == 1 else "same place" if len(where) == 1 else "other"
        print(f"{kind}: {[Path(p).name for p in g]} of {[str(photos[i]) for i in which]}")


if __name__ == "__main__":
    main()
