"""What the "similar" tier's members are to their keepers, and what saying so costs: index FOLDERs into a fresh
library, time a first `dupes` (which decides most pairs), then the similar tier (verifying the rest), then
again (nothing left to verify); count the members by what they are.

    python scripts/verifier_checks/similar_reasons.py LIBDIR OUT.json FOLDER...
"""
import collections
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from imgsim_desktop.core.library import Library  # noqa: E402

lib_dir, out_path, folders = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
shutil.rmtree(lib_dir, ignore_errors=True)
out = {"folders": folders}
with Library(lib_dir) as lib:
    t = time.perf_counter()
    lib.scan(folders)
    out["index_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    dupes = lib.duplicates("duplicates")
    out["dupes_s"] = round(time.perf_counter() - t, 1)
    out["dupes_groups"] = len(dupes)
    for run in ("similar_first", "similar_again"):
        t = time.perf_counter()
        groups = lib.duplicates("similar")
        out[run + "_s"] = round(time.perf_counter() - t, 1)
        out[run + "_verification"] = {k: v for k, v in lib.last_verification.items() if k != "skipped"}
    out["similar_groups"] = len(groups)
    out["members"] = sum(len(g.members) - 1 for g in groups)
    out["by_reason"] = dict(collections.Counter(m.reason for g in groups for m in g.members[1:]).most_common())
    out["by_same_photo"] = dict(collections.Counter(str(m.match.get("same_photo")) for g in groups
                                                    for m in g.members[1:]))
    # the same photo in the similar tier but not in a duplicates group with its keeper: worth a look
    in_dupes = {frozenset((str(g.keeper), str(m.path))) for g in dupes for m in g.members}
    out["same_not_in_dupes"] = [(str(g.keeper), str(m.path), m.reason) for g in groups for m in g.members[1:]
                                if m.match.get("same_photo") and frozenset((str(g.keeper), str(m.path))) not in in_dupes]
json.dump(out, open(out_path, "w"), indent=1)
print(json.dumps({k: v for k, v in out.items() if k != "same_not_in_dupes"}, indent=1))
print("same photo, not grouped with that keeper in dupes:", len(out["same_not_in_dupes"]))
