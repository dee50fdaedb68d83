"""Thumbnail manager (off-thread decode, disk cache, failure cache, stale drop), run_task, settings."""

from __future__ import annotations

import threading

import pytest

from imgsim_desktop.gui import workers
from imgsim_desktop.gui.thumbnails import ThumbnailManager


@pytest.fixture
def manager(tmp_path):
    m = ThumbnailManager(tmp_path / "thumbs", size=96, memory_items=4, threads=1)
    yield m
    m.shutdown()


def _wait_thumb(qtbot, m, path, mtime=1):
    qtbot.waitUntil(lambda: m.get(str(path), mtime) is not None or bool(m.failed(str(path), mtime)),
                    timeout=10000)
    return m.get(str(path), mtime)


def test_thumbnail_is_made_off_thread_and_cached_on_disk(qtbot, manager, photos, tmp_path):
    p = photos["unique"][0]
    assert manager.get(str(p), 1) is None  # queued, not decoded on the GUI thread
    pm = _wait_thumb(qtbot, manager, p)
    assert pm is not None and max(pm.deviceIndependentSize().width(), pm.deviceIndependentSize().height()) <= 96
    cached = list((tmp_path / "thumbs").rglob("*.jpg"))
    assert len(cached) == 1 and manager.decoded == 1
    # a new manager (new session) reads the disk cache instead of decoding
    m2 = ThumbnailManager(tmp_path / "thumbs", size=96, threads=1)
    try:
        assert _wait_thumb(qtbot, m2, p) is not None
        assert m2.from_disk == 1 and m2.decoded == 0
        # another mtime is another key: an edited photo gets a fresh thumbnail
        assert _wait_thumb(qtbot, m2, p, mtime=2) is not None and m2.decoded == 1
    finally:
        m2.shutdown()


def test_broken_file_is_remembered_as_failed(qtbot, manager, photos):
    b = photos["broken"]
    assert _wait_thumb(qtbot, manager, b) is None
    assert manager.failed(str(b), 1)
    decoded = manager.decoded
    assert manager.get(str(b), 1) is None and manager.pending() == 0 and manager.decoded == decoded


def test_memory_cache_is_bounded(qtbot, manager, photos):
    for p in photos["unique"][:6]:
        _wait_thumb(qtbot, manager, p)
    assert len(manager._mem) <= 4


def test_stale_requests_are_dropped(qtbot, tmp_path, photos):
    m = ThumbnailManager(tmp_path / "t2", size=64, threads=1, max_pending=3)
    try:
        gate = threading.Event()
        orig = m._produce

        def slow(key, path):
            gate.wait(5)
            return orig(key, path)

        m._produce = slow
        paths = [str(p) for p in photos["unique"]]
        for p in paths:  # the first one is taken by the worker, the rest queue; only 3 may wait
            m.get(p, 1)
        assert m.dropped >= len(paths) - 1 - 3
        m.retain({m.key(paths[-1], 1)})  # the user scrolled: only the last row is on screen
        gate.set()
        qtbot.waitUntil(lambda: m.get(paths[-1], 1) is not None, timeout=10000)
        assert m.decoded <= 2  # the in-flight one and the visible one; nothing off screen was decoded
    finally:
        m.shutdown()


def test_run_task_delivers_on_the_gui_thread(qtbot):
    got = []

    def work():
        return threading.current_thread() is threading.main_thread()

    workers.run_task(work, lambda v: got.append((v, threading.current_thread() is threading.main_thread())))
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    assert got == [(False, True)]

    errs = []
    workers.run_task(lambda: 1 / 0, None, lambda e: errs.append((type(e), threading.current_thread() is
                                                                  threading.main_thread())))
    qtbot.waitUntil(lambda: bool(errs), timeout=5000)
    assert errs == [(ZeroDivisionError, True)]


def test_scan_controller_pause_resume_cancel(qtbot):
    from imgsim_desktop.core.errors import Cancelled
    from imgsim_desktop.gui.workers import ScanController

    ctl = ScanController()
    steps = []

    def work(progress, cancel):
        progress.start("embedding", 1000)
        for i in range(1000):
            cancel.check()
            steps.append(i)
            progress.advance(1)
            threading.Event().wait(0.002)
        return "done"

    states = []
    ctl.stateChanged.connect(states.append)
    assert ctl.start(work)
    assert not ctl.start(work)  # one at a time
    qtbot.waitUntil(lambda: len(steps) > 5, timeout=5000)
    ctl.pause()
    qtbot.wait(100)
    n = len(steps)
    qtbot.wait(100)
    assert len(steps) <= n + 1  # paused
    ctl.resume()
    qtbot.waitUntil(lambda: len(steps) > n + 5, timeout=5000)
    with qtbot.waitSignal(ctl.cancelled, timeout=5000):
        ctl.cancel()
    assert not ctl.running and len(steps) < 1000
    assert states[:3] == ["running", "paused", "running"] and states[-1] == "idle"
    assert ctl.last_state is not None and ctl.last_state.total == 1000
    assert Cancelled  # raised by cancel.check() inside the work


def test_settings_roundtrip_and_defaults(tmp_path, monkeypatch):
    from imgsim_desktop.gui.settings import AppSettings, SettingsDialog

    s = AppSettings.load()
    assert s.device == "auto" and s.duplicates_threshold is None and s.library_dir == ""
    assert str(s.library_home()) == str(tmp_path / "default-home")  # IMGSIM_HOME is honoured
    s.device, s.duplicates_threshold, s.excluded_folders = "cpu", 0.93, [str(tmp_path / "x")]
    s.save()
    t = AppSettings.load()
    assert (t.device, t.duplicates_threshold, t.excluded_folders) == ("cpu", 0.93, [str(tmp_path / "x")])
    dlg = SettingsDialog(t)
    dlg.sim_spin.setValue(0.8)
    r = dlg.result_settings()
    assert r.similar_threshold == pytest.approx(0.8) and r.duplicates_threshold == pytest.approx(0.93)
    dlg._defaults()
    assert dlg.result_settings().device == "auto" and dlg.result_settings().excluded_folders == []
    dlg.deleteLater()


def test_memory_cache_is_bounded_in_bytes(qtbot, tmp_path, photos):
    m = ThumbnailManager(tmp_path / "t3", size=96, threads=1, memory_bytes=2 * 96 * 72 * 4 + 1)
    try:
        for p in photos["unique"][:5]:
            _wait_thumb(qtbot, m, p)
        assert len(m._mem) == 2 and m._mem_bytes <= m.memory_bytes
    finally:
        m.shutdown()


def test_disk_cache_is_pruned_least_recently_used_first(qtbot, tmp_path, photos):
    import os

    m = ThumbnailManager(tmp_path / "t4", size=96, threads=1)
    try:
        ps = photos["unique"][:4]
        for p in ps:
            assert _wait_thumb(qtbot, m, p) is not None
        files = {p: (tmp_path / "t4" / m.key(str(p), 1)[:2] / f"{m.key(str(p), 1)}.jpg") for p in ps}
        assert all(f.exists() for f in files.values())
        for i, f in enumerate(files.values()):          # make them look used long ago, in order
            os.utime(f, (1_000_000 + i, 1_000_000 + i))
        sizes = [f.stat().st_size for f in files.values()]
    finally:
        m.shutdown()
    # a new session serves the oldest one from disk, which makes it the most recently used
    m2 = ThumbnailManager(tmp_path / "t4", size=96, threads=1, max_disk_bytes=sum(sizes) - 1)
    try:
        assert _wait_thumb(qtbot, m2, ps[0]) is not None and m2.from_disk == 1
        got = []
        assert m2.prune_disk(got.append)
        qtbot.waitUntil(lambda: bool(got), timeout=10000)
        assert got[0].files_removed >= 1 and got[0].bytes_kept <= 0.8 * (sum(sizes) - 1)
        assert files[ps[0]].exists() and not files[ps[1]].exists()
        assert m2.last_prune is got[0]
    finally:
        m2.shutdown()
