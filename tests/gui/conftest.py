"""Fixtures for the GUI tests: offscreen Qt, a generated photo folder, a random tiny model, a Library,
a test trash, and a guard that fails any test leaving threads behind."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytest.importorskip("pytestqt")


@pytest.fixture(scope="session", autouse=True)
def _light_torch():
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


@pytest.fixture(autouse=True)
def _no_modal_questions(monkeypatch):
    """No one answers a modal dialog here: a window's own question (quit with photos marked, when pytest-qt
    closes it) would wait for ever. Tests that ask set ``win.confirm`` themselves."""
    from imgsim_desktop.gui.main_window import MainWindow

    from imgsim_desktop.gui.duplicates import DuplicatesPage

    monkeypatch.setattr(MainWindow, "_confirm_dialog", lambda self, text: True)

    def unasked(self, text):
        raise AssertionError(f"a test left a three-way question unanswered: {text[:80]}")
    monkeypatch.setattr(DuplicatesPage, "_ask_similar", unasked)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """QSettings and the library home never touch the real user's files."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    monkeypatch.setenv("IMGSIM_HOME", str(tmp_path / "default-home"))


def _python_threads() -> set[threading.Thread]:
    # Qt pool threads that ran Python show up as _DummyThread and never "end" for threading; skip those.
    return {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}


@pytest.fixture(autouse=True)
def no_thread_leaks(qapp):
    """Fail a test that leaves Qt pool work running or Python threads alive (in the spirit of napari's)."""
    from PySide6.QtCore import QThreadPool

    from imgsim_desktop.gui import workers

    before = _python_threads()
    yield
    ok = True
    for _ in range(5):   # a result delivered below may start follow-up work (a refresh after a scan): wait again
        ok = workers.wait_all(20000) and ok
        for _ in range(20):  # let queued results reach their (dying) receivers
            qapp.processEvents()
        if all(p.activeThreadCount() == 0 for p in (workers.task_pool(), QThreadPool.globalInstance())):
            break
    deadline = time.monotonic() + 5
    leaked = _python_threads() - before
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = {t for t in _python_threads() - before if t.is_alive()}
    assert ok, "background tasks still running after the test"
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    assert workers.task_pool().activeThreadCount() == 0
    assert not leaked, f"threads leaked by the test: {sorted(t.name for t in leaked)}"


# ---------------------------------------------------------------------------------------------- photos
def make_photo(seed: int, size=(320, 240)) -> Image.Image:
    """A distinct synthetic "photo": a gradient background with random shapes."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 255, 3)
    gx = np.linspace(0, 1, w)[None, :, None]
    gy = np.linspace(0, 1, h)[:, None, None]
    arr = (base * (0.4 + 0.6 * gx) + (255 - base) * 0.5 * gy).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(np.broadcast_to(arr, (h, w, 3)).copy(), "RGB")
    d = ImageDraw.Draw(img)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(15, w // 2)), y0 + int(rng.integers(15, h // 2))
        col = tuple(int(c) for c in rng.integers(0, 255, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=col)
    return img


def write_library_folder(root: Path, n_unique: int = 10) -> dict:
    """Unique photos, exact copies and re-encoded copies, plus one unreadable file.

    Returns {"unique": [...], "exact": [(original, copy), ...], "reencoded": [(original, copy)], "broken": path}.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "sub").mkdir(exist_ok=True)
    out = {"unique": [], "exact": [], "reencoded": [], "broken": None}
    for i in range(n_unique):
        p = root / f"photo_{i:02d}.jpg"
        make_photo(i).save(p, "JPEG", quality=92)
        out["unique"].append(p)
    for i in (0, 1, 2):  # exact byte copies: always one group, whatever the model
        c = root / "sub" / f"copy_of_{i:02d}.jpg"
        c.write_bytes(out["unique"][i].read_bytes())
        out["exact"].append((out["unique"][i], c))
    for i in (3, 4):  # the same photo saved again as PNG
        c = root / "sub" / f"reencoded_{i:02d}.png"
        Image.open(out["unique"][i]).save(c, "PNG")
        out["reencoded"].append((out["unique"][i], c))
    broken = root / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    out["broken"] = broken
    return out


@pytest.fixture
def photo_factory():
    return make_photo


@pytest.fixture
def photos(tmp_path) -> dict:
    d = write_library_folder(tmp_path / "photos")
    d["root"] = tmp_path / "photos"
    return d


@pytest.fixture(scope="session")
def model_card(tmp_path_factory) -> Path:
    from imgsim_desktop.core.model import create_random_model

    return create_random_model(tmp_path_factory.mktemp("model"), input_size=32, embedding_size=16)


@pytest.fixture
def library(tmp_path, model_card):
    from imgsim_desktop.core.library import Library

    lib = Library(tmp_path / "lib", model_path=model_card, device="cpu", workers=1)
    yield lib
    lib.close()


@pytest.fixture
def settings(tmp_path):
    from imgsim_desktop.gui.settings import AppSettings

    return AppSettings(library_dir=str(tmp_path / "lib"), device="cpu")


@pytest.fixture
def window(qtbot, library, settings):
    from imgsim_desktop.gui.main_window import MainWindow

    win = MainWindow(library, settings, start_watcher=False)
    # pytest-qt closes its widgets before this fixture's teardown: shut down first, so a test that left photos
    # marked is not asked "quit anyway?" by a dialog no one answers
    qtbot.addWidget(win, before_close_func=lambda w: w.shutdown())
    win.show()
    yield win
    win.shutdown()


@pytest.fixture
def indexed_window(qtbot, window, photos):
    with qtbot.waitSignal(window.scanFinished, timeout=60000):
        window.add_folder(str(photos["root"]))
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == len(photos["unique"]) + 5, timeout=10000)
    return window
