"""A scan killed with SIGKILL half-way, then resumed: the catalog is intact and no finished file is redone."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys

from imgsim_desktop.core.library import Library

KILLER = """
import os, signal, sys
from imgsim_desktop.core.library import Library
from imgsim_desktop.core.progress import Progress

class KillAt(Progress):
    def on_update(self, s):
        if s.phase == "indexing" and s.done >= int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)

lib = Library(sys.argv[1], model_path=sys.argv[2], workers=2)
lib.scan([sys.argv[4]], progress=KillAt(min_interval_s=0))
"""


def test_killed_scan_resumes_without_redoing_work(tmp_path, tiny_model, make_photo):
    photos = tmp_path / "photos"
    n = 300
    for i in range(n):
        make_photo(photos / f"p{i:03d}.jpg", seed=i, size=(96, 72))
    home = tmp_path / "lib"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(home), str(tiny_model), "160", str(photos)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    con = sqlite3.connect(home / "catalog.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    files = con.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    embedded = con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    con.close()
    assert 0 < files < n and files == embedded  # whole batches only: no file without its vector

    with Library(home, model_path=tiny_model) as lib:
        rep = lib.scan()
        assert rep.unchanged == files
        assert rep.embedded == n - files  # nothing finished before the kill is embedded again
        assert lib.status()["files"] == n and len(lib.index) == n
        paths = [r.path for r in lib.files_by_ids(lib.file_ids())]
        assert len(paths) == len(set(paths)) == n
