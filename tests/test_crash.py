"""Crash safety of live sync: ``imgsim watch`` killed with SIGKILL in the middle of a batch, then restarted,
ends with a catalog and index that match the folder exactly; a second writer is refused with one line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from imgsim_desktop.core.library import Library
from imgsim_desktop.core.watcher import LibraryWatcher

REPO = Path(__file__).resolve().parents[1]
SMALL = (48, 48)

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


class Child:
    """``python -m imgsim_desktop watch ...`` with its stdout read line by line on a thread."""

    def __init__(self, *args: str):
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "imgsim_desktop", "watch", *args], cwd=REPO, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, pred, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError(f"imgsim watch exited {self.proc.returncode}: {self.proc.stderr.read()}")
                continue
            self.seen.append(line)
            if pred(line):
                return line
        raise AssertionError(f"timed out; output so far: {self.seen[-5:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def disk_images(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*.jpg"))


def assert_consistent(lib: Library, photos: Path) -> None:
    recs = lib.catalog.all_files()
    paths = [r.path for r in recs]
    assert len(paths) == len(set(paths)), "a file is counted twice"
    assert sorted(paths) == disk_images(photos)
    assert all(r.status == "ok" for r in recs)
    st = lib.status()
    assert st["files"] == st["indexed"] == len(paths)      # one vector per photo, none left over
    ids = {r.id for r in recs}
    hits = lib.similar(paths[0], k=len(paths))
    assert {h.file_id for h in hits} <= ids and len(hits) == len(paths) - 1


@pytest.mark.parametrize("when", ["watching", "start-scan"])
def test_sigkill_mid_batch_then_restart_matches_the_folder(tiny_model, tmp_path, make_photo, when):
    photos, home = tmp_path / "photos", tmp_path / "library"
    for i in range(10):
        make_photo(photos / f"old{i}.jpg", seed=1000 + i, size=SMALL)
    staged = [make_photo(tmp_path / "stage" / f"new{i:03d}.jpg", seed=i, size=SMALL) for i in range(400)]
    if when == "start-scan":
        for s in staged:
            os.replace(s, photos / s.name)
    child = Child(str(photos), "--library", str(home), "--model", str(tiny_model), "--debounce", "0.2",
                  "--settle", "0.5")
    try:
        if when == "watching":
            child.wait_line(lambda l: " scanned " in l)           # start-up pass done: 10 photos in
            for s in staged:                                      # a camera import...
                os.replace(s, photos / s.name)
            os.rename(photos / "old0.jpg", photos / "renamed0.jpg")
            os.remove(photos / "old1.jpg")
            child.wait_line(lambda l: " added " in l and "new" in l)  # ...killed once its first part is in
        else:
            child.wait_line(lambda l: " added " in l)
        child.proc.send_signal(signal.SIGKILL)
        child.kill()
    finally:
        child.kill()

    with Library(home, model_path=tiny_model, readonly=True) as ro:
        done = ro.count()
    assert 0 < done < 410, "the kill was meant to land in the middle of the batch"

    # restart: the catalog opens, the index loads (catching up) or is rebuilt, reconciliation finishes the job
    if when == "start-scan" and (home / "index.hnsw").exists():
        data = (home / "index.hnsw").read_bytes()              # as if killed while saving the index
        (home / "index.hnsw").write_bytes(data[: len(data) // 2])
    with Library(home, model_path=tiny_model, workers=1) as lib:
        assert lib.index.open_all().origin in ("loaded", "rebuilt")
        w = LibraryWatcher(lib, debounce_s=0.2, settle_s=0.5)
        with w:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and sorted(r.path for r in lib.catalog.all_files()) != disk_images(photos):
                time.sleep(0.1)
            assert w.wait_idle(30)
        assert_consistent(lib, photos)
    with Library(home, model_path=tiny_model, workers=1) as again:   # and it reopens cleanly afterwards
        assert again.index.open_all().origin == "loaded"
        assert_consistent(again, photos)


def test_second_writer_is_refused_with_one_line_and_sigterm_stops_cleanly(tiny_model, tmp_path, make_photo):
    photos, home = tmp_path / "photos", tmp_path / "library"
    for i in range(3):
        make_photo(photos / f"p{i}.jpg", seed=i, size=SMALL)
    first = Child(str(photos), "--library", str(home), "--model", str(tiny_model))
    try:
        first.wait_line(lambda l: " scanned " in l)
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
        second = subprocess.run([sys.executable, "-m", "imgsim_desktop", "watch", str(photos), "--library",
                                 str(home), "--model", str(tiny_model)], cwd=REPO, env=env, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 4
        err = second.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("imgsim: error:") and "in use by another imgsim process" in err[0]
        assert "Traceback" not in second.stderr and second.stdout == ""

        # the first one is unharmed and still watching
        make_photo(photos / "late.jpg", seed=9, size=SMALL)
        first.wait_line(lambda l: " added " in l and "late.jpg" in l)
        first.proc.send_signal(signal.SIGTERM)
        assert first.proc.wait(20) == 0
        assert "stopped" in first.proc.stderr.read()
    finally:
        first.kill()
    with Library(home, model_path=tiny_model, workers=1) as lib:
        assert_consistent(lib, photos)
