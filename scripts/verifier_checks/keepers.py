"""Is the keeper the original? Every group folder of a bench-make bench (GROUPS/<photo>/original.jpg and its
edited copies) indexed as one fresh library, `Library.duplicates()` at its defaults, and each group that holds
an original checked: its keeper should be `original.jpg`. Prints the count and every other keeper with its
reason. Usage: python scripts/verifier_checks/keepers.py bench_out/dev10/groups [LIBRARY_DIR]
A LIBRARY_DIR given is kept and reused: a second run rescans, verifies nothing new and only regroups."""
import collections
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from imgsim_desktop.core.library import Library  # noqa: E402
from imgsim_desktop.core.verify import VERIFIER_VERSION  # noqa: E402


def main():
    groups_dir = os.path.abspath(sys.argv[1])
    home = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="imgsim-keepers-")
    with Library(home) as lib:
        lib.scan([groups_dir])
        groups = lib.duplicates("duplicates")
    ok, wrong, mixed = 0, [], 0
    for g in groups:
        folders = {os.path.basename(os.path.dirname(m.path)) for m in g.members}
        if len(folders) != 1:
            mixed += 1
            continue
        if "original.jpg" not in {os.path.basename(m.path) for m in g.members}:
            continue
        if os.path.basename(g.keeper) == "original.jpg":
            ok += 1
        else:
            wrong.append((folders.pop(), os.path.basename(g.keeper), g.keeper_reason))
    print(f"{VERIFIER_VERSION[:3]}: {ok} of {ok + len(wrong)} groups keep the original; groups across "
          f"folders: {mixed}")
    print("kept instead:", dict(collections.Counter(k for _, k, _ in wrong)))
    for w in wrong:
        print("  ", *w)
    if len(sys.argv) <= 2:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
