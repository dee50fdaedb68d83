"""What saying which near-duplicates are the query's photo costs a lookalike search: 12 photos of
eval/originals re-saved in memory (so none is a library file and each near-duplicate is verified then),
searched in LIBRARY (indexed with eval/originals in it) with the verdicts and without, alternated.

    python scripts/verifier_checks/lookalike_latency.py LIBRARY_DIR
"""
import glob
import io
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from PIL import Image
from imgsim_desktop.core.library import Library
from imgsim_desktop.core import library as L
lib = Library(sys.argv[1], readonly=True)
qs = []
for f in sorted(glob.glob(os.path.join(ROOT, "..", "shared", "datasets", "eval", "originals", "*")))[:12]:
    b = io.BytesIO(); Image.open(f).convert("RGB").save(b, "JPEG", quality=80); qs.append(b.getvalue())
lib.similar(qs[0], k=20)  # warm the model and index
for label, off in (("with verdicts", False), ("without", True), ("with verdicts", False), ("without", True)):
    if off:
        orig = L.Library._say_which_are_the_query; L.Library._say_which_are_the_query = lambda *a, **k: None
    ts, said = [], 0
    for q in qs:
        t0 = time.perf_counter(); res = lib.similar(q, k=20); ts.append(time.perf_counter() - t0)
        said += sum(r.match is not None for r in res)
    if off:
        L.Library._say_which_are_the_query = orig
    print(f"{label}: median {1e3*statistics.median(ts):.0f} ms, max {1e3*max(ts):.0f} ms, results with a verdict {said}")
