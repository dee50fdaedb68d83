"""Would SIFT on a smaller picture keep the dev10 copies? OpenCV's SIFT doubles its input first, so features
on the grey picture shrunk by FACTOR cost about FACTOR^2 of the time. Verifies each dev10 original against
each of its copies with features found that way (one thread) and prints how many verify and the time.

    python scripts/verifier_checks/sift_scale.py [FACTOR] [--screens-whole]   # FACTOR 1.0: as shipped

--screens-whole keeps tall and wide canvases (phone screenshots) at full size."""
import glob
import os
import sys
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from imgsim_desktop.core import verify as V  # noqa: E402
from imgsim_desktop.core.trim import is_screen  # noqa: E402

FACTOR = float(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else 1.0
WHOLE_SCREENS = "--screens-whole" in sys.argv
_shipped = V._sift


def _sift(grey):
    if FACTOR >= 1 or (WHOLE_SCREENS and is_screen(grey.shape[1], grey.shape[0])):
        return _shipped(grey)
    small = cv2.resize(grey, (round(grey.shape[1] * FACTOR), round(grey.shape[0] * FACTOR)),
                       interpolation=cv2.INTER_AREA)
    pts, desc = _shipped(small)
    sx, sy = grey.shape[1] / small.shape[1], grey.shape[0] / small.shape[0]
    return (pts + 0.5) * np.float32([sx, sy]) - 0.5, desc


V._sift = _sift
cv2.setNumThreads(1)
lost, n, same, tf, nf = Counter(), 0, 0, 0.0, 0
for g in sorted(glob.glob(os.path.join(ROOT, "bench_out/dev10/groups/*"))):
    t0 = time.perf_counter()
    orig = V.features_from_path(g + "/original.jpg")
    tf, nf = tf + time.perf_counter() - t0, nf + 1
    for f in sorted(glob.glob(g + "/*")):
        if f.endswith("/original.jpg"):
            continue
        t0 = time.perf_counter()
        copy = V.features_from_path(f)
        tf, nf = tf + time.perf_counter() - t0, nf + 1
        n += 1
        if V.verify(orig, copy).same:
            same += 1
        else:
            lost[os.path.basename(f).split(".")[0]] += 1
print(f"factor {FACTOR}{' (screens whole)' if WHOLE_SCREENS else ''}: {same} of {n} copies verified; "
      f"features {1e3 * tf / max(nf, 1):.1f} ms a photo; not verified by edit: {dict(lost)}")
