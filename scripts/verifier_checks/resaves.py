"""Is the keeper the original when its copies are the same size, saved at any quality, and every file has one
time? (bench-make saves originals at quality 95 and copies at 92, so a quality rule alone would pass it.)

Builds OUT/groups/<photo>/: original.jpg (the source shrunk 55-85 %, which erases the data sets' own JPEG
history as a camera's first save has none, at quality 85-96) and same-size copies of it (turned, flipped,
mirrored, transposed, re-encoded, exposure changed), each saved at the original's quality -8 to +6; half the
photos have sides that are multiples of 8 (as cameras write them), half not. Every file gets one time (copies
made with their times kept). Then indexes OUT/groups as one library, runs `dupes` at its defaults and says, per
kind of copy, how often the original is kept.

Usage: python scripts/verifier_checks/resaves.py OUT SRC [SRC...] [--n 40] [--seed 1] [--library DIR]
"""
import argparse
import collections
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from imgsim_desktop import edits  # noqa: E402
from imgsim_desktop.core.library import Library  # noqa: E402

COPIES = ("rot90", "rot180", "rot270", "flip", "mirror", "transpose", "transverse", "exposure", "resave")
WHEN = 1_600_000_000  # every file's time


def build(out: Path, sources: list[str], n: int, seed: int) -> dict:
    rng = random.Random(seed)
    files = sorted(str(p) for s in sources for p in Path(s).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    rng.shuffle(files)
    manifest = {}
    for i, src in enumerate(files[:n]):
        img = Image.open(src).convert("RGB")
        s = rng.uniform(0.55, 0.85) * min(1.0, 1024 / max(img.size))
        w, h = max(64, int(img.width * s)), max(64, int(img.height * s))
        aligned = i % 2 == 0
        if aligned:
            w, h = w // 8 * 8, h // 8 * 8
        elif w % 8 == 0 or h % 8 == 0:
            w, h = w - (w % 8 == 0), h - (h % 8 == 0)
        img = img.resize((w, h), Image.LANCZOS)
        gdir = out / "groups" / f"{i:03d}_{Path(src).stem[:40]}"
        gdir.mkdir(parents=True, exist_ok=True)
        q0 = rng.randint(85, 96)
        img.save(gdir / "original.jpg", quality=q0)
        first = Image.open(gdir / "original.jpg").convert("RGB")   # copies are made from the saved photo
        entry = {"aligned": aligned, "size": [w, h], "quality": q0, "copies": {}}
        for name in COPIES:
            copy = first if name == "resave" else edits.EDITS[name](first, random.Random(f"{seed}-{i}-{name}"))
            q = min(100, max(30, q0 + rng.randint(-8, 6)))
            copy.save(gdir / f"{name}.jpg", quality=q)
            entry["copies"][name] = q
        for f in gdir.iterdir():
            os.utime(f, (WHEN, WHEN))
        manifest[gdir.name] = entry
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def check(out: Path, manifest: dict, home: str) -> None:
    with Library(home) as lib:
        lib.scan([str(out / "groups")])
        groups = lib.duplicates("duplicates")
    kept = collections.Counter()
    by_case = collections.defaultdict(lambda: [0, 0])   # case -> [original kept, groups]
    for g in groups:
        folders = {os.path.basename(os.path.dirname(m.path)) for m in g.members}
        names = {os.path.basename(m.path) for m in g.members}
        if len(folders) != 1 or "original.jpg" not in names:
            continue
        entry = manifest[folders.pop()]
        won = os.path.basename(g.keeper)
        kept[won] += 1
        q0 = entry["quality"]
        top = max(entry["copies"][Path(n).stem] for n in names if n != "original.jpg")
        case = ("aligned" if entry["aligned"] else "odd sides") + (
            ", a copy saved higher" if top > q0 else ", a copy at the same quality" if top == q0 else ", all lower")
        by_case[case][0] += won == "original.jpg"
        by_case[case][1] += 1
        if won != "original.jpg":
            print(f"  {g.keeper}: q{entry['copies'].get(Path(won).stem)} over the original's q{q0}; "
                  f"{g.keeper_reason}")
    total = sum(kept.values())
    print(f"original kept in {kept['original.jpg']} of {total} groups; kept instead: "
          f"{dict((k, v) for k, v in kept.items() if k != 'original.jpg')}")
    for case, (ok, n) in sorted(by_case.items()):
        print(f"  {case}: {ok} of {n}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--library", help="a library folder to keep and reuse (default: a temporary one)")
    args = ap.parse_args()
    out = Path(args.out)
    mf = out / "manifest.json"
    manifest = json.loads(mf.read_text()) if mf.exists() else build(out, args.sources, args.n, args.seed)
    home = args.library or tempfile.mkdtemp(prefix="imgsim-resaves-")
    try:
        check(out, manifest, home)
    finally:
        if not args.library:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
