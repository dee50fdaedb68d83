"""Lookalike searches from turned thumbnails: how many of their photo's other tiny copies say "same photo", and
the latency, with lookalike_verdicts.TURNED_TINY_AT_MOST set to N (2: about the rule before, two turned results
of any size). LIBRARY holds photos with tiny copies (96-128 px, mirrored, grey, cropped; one turned 80 px copy
each named *_rot*_80.jpg, the queries), indexed and `dupes` run once.
Usage: python scripts/verifier_checks/turned_thumbnails_latency.py N LIBRARY_DIR"""
import fnmatch
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from imgsim_desktop.core.library import Library  # noqa: E402
from imgsim_desktop.core import lookalike_verdicts as LV  # noqa: E402
LV.TURNED_TINY_AT_MOST = int(sys.argv[1])
with Library(sys.argv[2], workers=1) as lib:
    qs = sorted(r.path for r in lib.files_by_ids(lib.file_ids()) if fnmatch.fnmatch(Path(r.path).name, "*_rot*_80.jpg"))
    lib.similar(qs[0], k=24)
    ts, same = [], 0
    for q in qs * 2:
        t = time.perf_counter(); r = lib.similar(q, k=24); ts.append(time.perf_counter() - t)
        same += sum(1 for x in r if x.match and x.match.get('same_photo') is True)
print(f"TURNED_TINY_AT_MOST={LV.TURNED_TINY_AT_MOST}: {len(qs)} queries x2, median {statistics.median(ts)*1000:.0f} ms, max {max(ts)*1000:.0f} ms, same-photo results {same//2}")
