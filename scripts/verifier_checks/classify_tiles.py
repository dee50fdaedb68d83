"""Sort a negatives run's verified groups: copies the data sets hold (scripts/verifier_checks/dataset_copies.txt,
each set looked at by eye), tiles of one photo, tiles at one place of two photos not known as copies (two shots
of one scene), and others. Every group in a negatives run is false but for the first kind; the summary gives
the false groups per 10,000 pictures with and without them. Tiles are traced to their photo by number, so the
--distinct folders must be the run's, in its order and spelt as it was given them (absolute or relative: the
numbering follows their sorted paths; a run without tiles needs none).
Usage: python scripts/verifier_checks/classify_tiles.py RUN.json [--distinct DIR ...]"""
import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from imgsim_desktop.evaluation.known_copies import read as read_known, set_of_files  # noqa: E402
from imgsim_desktop.evaluation.layout import _images_in  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"
KNOWN = Path(__file__).with_name("dataset_copies.txt")
DEFAULT = ["train/intel", "eval/originals", "eval/distractors", "train/imagenette", "train/flowers", "eval/lookalike",
           "perf"]


def one_photo(paths, sets) -> bool:
    """All these files listed as one photo (matched as the benches match them: known_copies.set_of_files)."""
    number = set_of_files(paths, sets)
    return len({number.get(p, -1 - i) for i, p in enumerate(paths)}) == 1


def key(path: str) -> str:
    """A file's name as printed: under the data sets, or a bench-made file under bench_out."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(DATA.resolve()))
    except ValueError:
        parts = p.parts
        return "/".join(parts[parts.index("hardneg"):]) if "hardneg" in parts else str(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--distinct", action="append", type=Path)
    a = ap.parse_args()
    run = json.loads(a.run.read_text())
    groups = run["methods"]["verified"]["examples"]
    pictures = run.get("photos")
    sets = read_known(KNOWN)
    photos = None
    kinds = Counter()
    for g in groups:
        tiles = [re.match(r"tile_(\d+)_(\d+)_(\d+)", Path(p).name) for p in g]
        if all(tiles):
            if photos is None:
                folders = a.distinct or [DATA / d for d in DEFAULT]
                photos = sorted(f for d in folders for f in _images_in(d, recursive=True))   # as make_tiles numbers
            which = sorted({int(m.group(1)) for m in tiles})
            where = {(m.group(2), m.group(3)) for m in tiles}
            sources = [str(photos[i]) for i in which]
            if len(which) == 1:
                kind = "tiles of one photo"
            elif len(where) == 1 and one_photo(sources, sets):
                kind = "known copy"
            elif len(where) == 1:
                kind = "one place of two photos (two shots?)"
            else:
                kind = "other"
            names = [Path(p).name for p in g]
        else:
            sources = list(g)
            kind = "known copy" if one_photo(list(g), sets) else "other"
            names = [key(p) for p in g]
        kinds[kind] += 1
        print(f"{kind}: {names} of {[key(s) for s in sources] if all(tiles) else ''}")
    print("\nsummary:", dict(kinds))
    if pictures:
        false = len(groups) - kinds["known copy"]
        print(f"{len(groups)} groups in {pictures} pictures ({len(groups) * 1e4 / pictures:.2f} per 10,000); "
              f"without the data sets' own copies {false} ({false * 1e4 / pictures:.2f} per 10,000)")


if __name__ == "__main__":
    main()
