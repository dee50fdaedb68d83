"""The dense-motion check (core/motion.py) on real copies and on bursts whose subject moved a few pixels.
Copies: dev10 (each original against each of its copies) and eval/pairs (full against small); how many
verify, and how many the check turned into "part of the picture moved". Bursts: a busy 90 px subject pasted
on a 480 x 320 scene (tests/photos.py), moved 6-14 px between two JPEG frames, 8 scenes.
Made bursts of real photos: scripts/verifier_checks/bursts.py.
Usage: python scripts/verifier_checks/moved_subjects.py [--skip-copies]"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from imgsim_desktop.core import verify as V  # noqa: E402
from bursts import features as jpeg_features  # noqa: E402  (this folder: a picture's features as a JPEG)

DATA = ROOT.parent / "shared" / "datasets"
MOVED = "part of the picture moved"


def copies():
    pairs = []
    for g in sorted((ROOT / "bench_out" / "dev10" / "groups").iterdir()):
        pairs += [("dev10", g / "original.jpg", c) for c in sorted(g.iterdir()) if c.name != "original.jpg"]
    pairs += [("eval/pairs", d / "full.jpg", d / "small.jpg") for d in sorted((DATA / "eval" / "pairs").iterdir())]
    counts = {}
    for where, x, y in pairs:
        v = V.verify(V.features_from_path(x), V.features_from_path(y))
        c = counts.setdefault(where, [0, 0, 0])
        c[0] += 1
        c[1] += v.same
        if v.why.startswith(MOVED):
            c[2] += 1
            print(f"  {where}: {y.parent.name}/{y.name}: {v.why}")
    for where, (n, same, moved) in counts.items():
        print(f"{where}: {same} of {n} copies verified; {moved} called 'part of the picture moved'")


def small_subjects():
    from photos import scene
    for step in (6, 10, 14):
        same = 0
        for seed in range(8):
            backdrop, subject = scene(100 + seed, (480, 320)), scene(500 + seed, (90, 90))
            frames = []
            for i in range(2):
                f = backdrop.copy()
                f.paste(subject, (200 + step * i, 120))
                frames.append(jpeg_features(f))
            same += V.verify(*frames).same
        print(f"subject moved {step} px: {same} of 8 bursts called the same photo")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-copies", action="store_true")
    a = ap.parse_args()
    print(V.VERIFIER_VERSION[-40:])
    small_subjects()
    if not a.skip_copies:
        copies()


if __name__ == "__main__":
    main()
