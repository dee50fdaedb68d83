"""The GUI thread keeps turning during a scan: a 10 ms QTimer measures the longest event-loop gap."""

from __future__ import annotations

import os
import time

import pytest
from PySide6.QtCore import QTimer

N_IMAGES = int(os.environ.get("IMGSIM_GUI_LATENCY_N", "300"))
# The goal is < 100 ms; the assertion is generous because CI machines are shared. The real figure is printed.
BOUND_MS = float(os.environ.get("IMGSIM_GUI_LATENCY_BOUND_MS", "400"))


def _production_window(qtbot, tmp_path, settings, start_watcher: bool = False):
    """A window over a library whose model has the shipped architecture (random weights): a realistic load."""
    from imgsim_desktop.core.library import Library
    from imgsim_desktop.core.model import create_random_model
    from imgsim_desktop.gui.main_window import MainWindow

    card = create_random_model(tmp_path / "bigmodel", name="prod-size", input_size=112, embedding_size=128,
                               widths=[32, 64, 128, 256], extra=[0, 1, 1, 1], dec_widths=[96, 48, 24])
    lib = Library(tmp_path / "lib", model_path=card, device="cpu", workers=1)
    win = MainWindow(lib, settings, start_watcher=start_watcher)
    qtbot.addWidget(win)
    win.show()
    return win, lib


@pytest.fixture
def production_size_window(qtbot, tmp_path, settings):
    win, lib = _production_window(qtbot, tmp_path, settings)
    yield win
    win.shutdown()
    lib.close()


def test_event_loop_not_blocked_during_scan(qtbot, production_size_window, tmp_path, capsys, record_property,
                                            photo_factory):
    window = production_size_window
    make_photo = photo_factory
    root = tmp_path / "many"
    root.mkdir()
    for i in range(N_IMAGES):
        make_photo(1000 + i, size=(640, 480)).save(root / f"img_{i:04d}.jpg", "JPEG", quality=85)

    gaps: list[float] = []
    stamps: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        stamps.append(now)
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    progress_updates = []
    window.scans.progressed.connect(lambda st: progress_updates.append(st.done))
    timer.start()
    last[0] = time.perf_counter()
    t0 = time.perf_counter()
    with qtbot.waitSignal(window.scanFinished, timeout=110000) as blocker:
        window.add_folder(str(root))
    t_end = time.perf_counter()
    scan_s = t_end - t0
    # keep measuring while the grid and sidebar refresh after the scan
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == N_IMAGES, timeout=20000)
    qtbot.wait(300)
    timer.stop()

    assert blocker.args[0] is not None and blocker.args[0].added == N_IMAGES
    assert progress_updates, "the progress bar got no updates"
    max_gap_ms = max(gaps) * 1000
    worst_at = stamps[gaps.index(max(gaps))] - t_end
    ticks_expected = (time.perf_counter() - t0) / 0.010
    record_property("event_loop_max_gap_ms", round(max_gap_ms, 1))
    with capsys.disabled():
        print(f"\n[latency] scan of {N_IMAGES} images (shipped architecture, 1 torch thread): {scan_s:.1f} s, {len(gaps)} ticks "
              f"(~{ticks_expected:.0f} expected), event-loop max gap {max_gap_ms:.1f} ms, "
              f"p99 {sorted(gaps)[int(len(gaps) * 0.99)] * 1000:.1f} ms, worst at {worst_at:+.2f} s from scan end")
    assert max_gap_ms < BOUND_MS, f"GUI thread blocked for {max_gap_ms:.0f} ms during a scan"


def _add_and_wait_for_indexing(qtbot, window, tmp_path, photo_factory, seed: int, n: int = 200) -> None:
    """Add a folder of ``n`` photos and return once the scan is embedding them (so it can be paused or
    cancelled in the middle)."""
    root = tmp_path / "batch"
    root.mkdir()
    for i in range(n):
        photo_factory(seed + i, size=(480, 360)).save(root / f"p_{i:04d}.jpg", "JPEG", quality=85)
    states = []
    window.scans.progressed.connect(lambda st: states.append((st.phase, st.done)))
    window.add_folder(str(root))
    qtbot.waitUntil(lambda: any(p == "indexing" and d > 0 for p, d in states), timeout=30000)


def test_pause_resume_cancel_a_real_scan(qtbot, production_size_window, tmp_path, photo_factory):
    window = production_size_window
    _add_and_wait_for_indexing(qtbot, window, tmp_path, photo_factory, seed=5000)
    window.sidebar.pause_btn.click()
    assert window.scans.paused and window.sidebar.pause_btn.text() == "Resume"
    qtbot.wait(300)
    done_at_pause = window.scans.last_state.done
    qtbot.wait(400)
    assert window.scans.last_state.done <= done_at_pause + 1  # at most the photo in hand
    assert window.scans.running
    window.sidebar.pause_btn.click()  # resume
    assert not window.scans.paused
    with qtbot.waitSignal(window.scanFinished, timeout=30000) as blocker:
        window.sidebar.cancel_btn.click()
    report = blocker.args[0]
    assert report is not None and report.cancelled and report.added < 200
    assert window.sidebar.state_label.text().startswith("Cancelled")
    assert not window.sidebar.cancel_btn.isEnabled()
    # what was indexed before the cancel is kept; a rescan picks up the rest
    with qtbot.waitSignal(window.scanFinished, timeout=60000) as blocker:
        window.start_scan(None)
    assert report.added + blocker.args[0].added == 200


def test_scrolling_while_thumbnails_load_stays_smooth(qtbot, window, tmp_path, capsys, photo_factory):
    """Scroll through a fresh grid (no thumbnail cached): decoding happens on workers, painting stays quick."""
    root = tmp_path / "scroll"
    root.mkdir()
    n = 240
    for i in range(n):
        photo_factory(9000 + i, size=(640, 480)).save(root / f"s_{i:04d}.jpg", "JPEG", quality=85)
    with qtbot.waitSignal(window.scanFinished, timeout=60000):
        window.add_folder(str(root))
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == n, timeout=20000)
    window.tabs.setCurrentIndex(0)
    bar = window.grid.verticalScrollBar()
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    last[0] = time.perf_counter()
    steps = 40
    for k in range(steps + 1):
        bar.setValue(bar.maximum() * k // steps)
        qtbot.wait(25)
    qtbot.waitUntil(lambda: window.thumbs.pending() == 0, timeout=20000)
    timer.stop()
    max_gap_ms = max(gaps) * 1000
    with capsys.disabled():
        print(f"\n[latency] scrolling {n} fresh thumbnails: event-loop max gap {max_gap_ms:.1f} ms; "
              f"decoded {window.thumbs.decoded}, dropped as stale {window.thumbs.dropped}")
    assert max_gap_ms < BOUND_MS
    assert window.thumbs.decoded + window.thumbs.dropped >= 0.5 * n  # every screen asked for its thumbnails


def test_a_cancelled_index_stays_cancelled_with_the_watcher_on(qtbot, tmp_path, settings, photo_factory):
    """Seen in a real window: Cancel stopped the app's indexing of a folder just added, the bar said "Up to
    date", and seconds later the folder watcher, which reconciles every new folder with a scan of its own,
    had indexed the rest. The app's scan of a folder it adds is the only one, and the bar says the truth."""
    window, lib = _production_window(qtbot, tmp_path, settings, start_watcher=True)
    try:
        _add_and_wait_for_indexing(qtbot, window, tmp_path, photo_factory, seed=7000)
        with qtbot.waitSignal(window.scanFinished, timeout=30000) as blocker:
            window.sidebar.cancel_btn.click()
        report = blocker.args[0]
        assert report is not None and report.cancelled and report.added < 200
        assert window.sidebar.bar.format() == "Not all indexed"
        watcher = window.controller.watcher
        assert watcher is not None
        watcher.refresh_folders()   # the watcher has seen the new folder, whatever its poll's timing
        qtbot.waitUntil(lambda: not watcher._folders_changed, timeout=10000)
        assert watcher.wait_idle(30)
        assert len(lib.catalog.file_ids()) == report.added
        assert window.sidebar.bar.format() == "Not all indexed"
    finally:
        window.shutdown()
        lib.close()
