"""What one verification costs: ``verify`` on dev10 (original, copy) pairs, their features decoded first, on
one thread, best of three passes. To compare two versions, run it from a checkout of each (copy this file in).
Usage: python scripts/verifier_checks/verify_time.py [GROUPS_DIR] [--groups N]"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from imgsim_desktop.core import verify as V  # noqa: E402
from imgsim_desktop.core.pixels import opencv  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("groups_dir", nargs="?", type=Path, default=ROOT / "bench_out" / "dev10" / "groups")
    ap.add_argument("--groups", type=int, default=40)
    a = ap.parse_args()
    opencv().setNumThreads(1)
    pairs = []
    for g in sorted(a.groups_dir.iterdir())[:a.groups]:
        original = V.features_from_path(g / "original.jpg")
        pairs += [(original, V.features_from_path(c)) for c in sorted(g.iterdir()) if c.name != "original.jpg"]
    best, same = float("inf"), 0
    for _ in range(3):
        t = time.perf_counter()
        same = sum(V.verify(x, y).same for x, y in pairs)
        best = min(best, time.perf_counter() - t)
    print(f"{V.VERIFIER_VERSION[:3]}: {len(pairs)} pairs, {same} the same photo, "
          f"{best / len(pairs) * 1000:.2f} ms a pair (best of 3)")


if __name__ == "__main__":
    main()
