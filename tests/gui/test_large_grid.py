"""The library grid with 100,000 photos: ids only up front, records fetched by block off the GUI thread."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from PySide6.QtCore import QModelIndex

from imgsim_desktop.gui.models import FileGridModel, FileIdRole, PathRole
from imgsim_desktop.gui.views import ThumbGrid

N = 100_000


class FakeLibrary:
    """Just the read calls the grid makes; records are made up, and every call notes its thread."""

    def __init__(self):
        self.calls: list[tuple[str, int, bool]] = []

    def file_ids(self):
        self.calls.append(("file_ids", N, threading.current_thread() is threading.main_thread()))
        return list(range(1, N + 1))

    def files_by_ids(self, ids):
        ids = list(ids)
        self.calls.append(("files_by_ids", len(ids), threading.current_thread() is threading.main_thread()))
        return [SimpleNamespace(id=i, path=f"/photos/{i:06d}.jpg", mtime_ns=i, size=1000, width=4, height=3,
                                format="JPEG") for i in ids]


def test_hundred_thousand_rows_stay_cheap(qtbot, tmp_path):
    from imgsim_desktop.gui.thumbnails import ThumbnailManager

    lib = FakeLibrary()
    thumbs = ThumbnailManager(tmp_path / "thumbs", size=96, threads=1)
    model = FileGridModel(lib, thumbs)
    view = ThumbGrid(thumbs, 96)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.setModel(model)
    view.show()
    try:
        with qtbot.waitSignal(model.loaded, timeout=10000):
            model.refresh()
        assert model.rowCount() == N
        # painting the first screen asks for one block of records, on a worker
        qtbot.waitUntil(lambda: model.index(0, 0).data(PathRole) == "/photos/000001.jpg", timeout=10000)
        # jump to the end: that block is fetched, not the 99,000 rows in between
        t0 = time.perf_counter()
        view.scrollToBottom()
        qtbot.wait(50)
        scroll_ms = (time.perf_counter() - t0) * 1000
        last = model.index(N - 1, 0)
        qtbot.waitUntil(lambda: last.data(PathRole) == f"/photos/{N:06d}.jpg", timeout=10000)
        fetched = sum(n for name, n, _ in lib.calls if name == "files_by_ids")
        assert fetched <= 6 * FileGridModel.BLOCK, f"fetched {fetched} records for two screens"
        assert not any(on_gui for _, _, on_gui in lib.calls), "library called on the GUI thread"
        assert scroll_ms < 1000
        assert model.rowCount(QModelIndex()) == N
    finally:
        thumbs.shutdown()


def test_library_changes_update_rows_in_place(qtbot, tmp_path):
    """Added and removed photos become row insertions/removals: the view keeps its place and selection."""
    import random

    lib = FakeLibrary()
    model = FileGridModel(lib, None)
    view = ThumbGrid(None, 96)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.setModel(model)
    view.show()
    ids = list(range(0, 20000, 2))
    model.set_ids(ids)
    target = model.index(3000, 0)
    view.setCurrentIndex(target)
    view.scrollTo(target)
    selected_id = target.data(FileIdRole)
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    rng = random.Random(0)
    for _ in range(5):
        cur = list(model._ids)
        keep = [i for i in cur if rng.random() > 0.01 or i == selected_id]
        added = rng.sample(range(1, 20000, 2), 50)
        new = sorted(set(keep) | set(added))
        model.set_ids(new)
        assert model._ids == new and model.rowCount() == len(new)
        assert all(model._rows[fid] == r for r, fid in enumerate(new))
    assert not resets
    assert view.currentIndex().data(FileIdRole) == selected_id
    # a reordering (not a pure insert/remove) falls back to a reset
    model.set_ids(list(reversed(model._ids)))
    assert resets
