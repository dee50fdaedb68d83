"""core.disk_cache: the thumbnail cache stays under its cap, least recently used first, and touches
nothing that is not its own."""

from __future__ import annotations

import os
import time

from imgsim_desktop.core.disk_cache import cache_size, prune, touch
from imgsim_desktop.core.progress import CancelToken


def _fill(root, n, size=1000, start=1_000_000):
    paths = []
    for i in range(n):
        key = f"{i:040x}"
        p = root / key[:2] / f"{key}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * size)
        os.utime(p, (start + i, start + i))  # older index = used longer ago
        paths.append(p)
    return paths


def test_under_cap_nothing_goes(tmp_path):
    paths = _fill(tmp_path, 5)
    r = prune(tmp_path, max_bytes=10_000)
    assert r.files_removed == 0 and r.files_kept == 5 and r.bytes_kept == 5000
    assert all(p.exists() for p in paths)


def test_over_cap_oldest_go_first_down_to_target(tmp_path):
    paths = _fill(tmp_path, 20)
    touch(paths[0])                       # the oldest file was just used: it stays
    r = prune(tmp_path, max_bytes=10_000, target_fraction=0.5)
    assert r.bytes_kept <= 5000 and r.files_kept == 5 and r.files_removed == 15 and r.bytes_freed == 15_000
    assert paths[0].exists()
    assert [p.exists() for p in paths[1:]] == [False] * 15 + [True] * 4
    assert cache_size(tmp_path) == (5, 5000)


def test_foreign_files_are_never_removed(tmp_path):
    _fill(tmp_path, 4)
    mine = tmp_path / "00" / "holiday.jpg"     # not a cache key, beside cache files
    mine.write_bytes(b"y" * 50_000)
    top = tmp_path / "notes.txt"
    top.write_bytes(b"z" * 50_000)
    prune(tmp_path, max_bytes=100)
    assert mine.exists() and top.exists()
    assert cache_size(tmp_path) == (0, 0)


def test_stale_temp_files_go_and_fresh_ones_stay(tmp_path):
    (tmp_path / "aa").mkdir()
    old = tmp_path / "aa" / ".x.jpg.1.tmp"
    new = tmp_path / "aa" / ".y.jpg.2.tmp"
    old.write_bytes(b"1")
    new.write_bytes(b"2")
    t = time.time() - 7200
    os.utime(old, (t, t))
    prune(tmp_path, max_bytes=10**9)
    assert not old.exists() and new.exists()


def test_cancel_stops_early(tmp_path):
    _fill(tmp_path, 10)
    c = CancelToken()
    c.cancel()
    r = prune(tmp_path, max_bytes=1000, cancel=c)
    assert r.files_removed == 0 and r.files_kept == 10


def test_missing_root_is_empty(tmp_path):
    r = prune(tmp_path / "nope", max_bytes=1)
    assert r.files_kept == 0 and cache_size(tmp_path / "nope") == (0, 0)
