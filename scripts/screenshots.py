#!/usr/bin/env python3
"""Render every screen of imgsim-desktop offscreen, on a demo library, into docs/screenshots/*.png.

The widgets are the app's real ones (MainWindow, its pages, the compare and settings dialogs) over a real
Library: photos are taken from ../shared/datasets/perf when present (else generated), and copies of some
of them are written the way people make them (byte copies, re-saved JPEGs, crops, edits from
imgsim_desktop.edits) so that the Duplicates screen has groups to show.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--model CARD]

Without a bundled model (resources/models) a small random model is used and the footer says so.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

PERF = ROOT.parent / "shared" / "datasets" / "perf"


def generated_photo(seed: int, size=(900, 600)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    top, bottom = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    arr = np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).astype(np.uint8).copy()
    img = Image.fromarray(arr, "RGB")
    d = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        x1, y1 = x0 + int(rng.integers(30, w // 2)), y0 + int(rng.integers(30, h // 2))
        col = tuple(int(c) for c in rng.integers(0, 255, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=col)
    return img


def build_photos(dest: Path, source: Path = PERF) -> dict:
    """Originals plus copies that must group; returns a few paths the screens use."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "imports").mkdir(exist_ok=True)
    (dest / "edited").mkdir(exist_ok=True)
    originals: list[Path] = []
    if source.is_dir():
        for p in sorted(source.glob("*.jpg"))[:15]:
            img = Image.open(p)
            img.draft("RGB", (1200, 1200))
            img = img.convert("RGB")
            img.thumbnail((1200, 1200))
            out = dest / p.name
            img.save(out, "JPEG", quality=90)
            originals.append(out)
    for i in range(max(0, 18 - len(originals))):
        out = dest / f"generated_{i:02d}.jpg"
        generated_photo(i).save(out, "JPEG", quality=90)
        originals.append(out)
    rng = random.Random(7)
    try:
        from imgsim_desktop.edits import EDITS
    except ImportError:
        EDITS = {}
    for i, p in enumerate(originals[:6]):  # byte copies: the "imported twice" case
        shutil.copy2(p, dest / "imports" / f"IMG_{1000 + i}.jpg")
    (dest / "backup").mkdir(exist_ok=True)
    for p in originals[8:10]:  # a backup under the same name: the folder line tells them apart
        shutil.copy2(p, dest / "backup" / p.name)
    for i, p in enumerate(originals[2:8]):  # re-saved smaller, or edited
        img = Image.open(p).convert("RGB")
        if i % 2 == 0 or not EDITS:
            img = img.resize((img.width * 2 // 3, img.height * 2 // 3))
            img.save(dest / "edited" / f"{p.stem}_small.jpg", "JPEG", quality=75)
        else:
            name = ("jpeg", "exposure", "crop")[i % 3]
            fn = EDITS.get(name) or next(iter(EDITS.values()))
            fn(img, rng).save(dest / "edited" / f"{p.stem}_{name}.jpg", "JPEG", quality=85)
    (dest / "imports" / "corrupt_download.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated download")
    return {"query": originals[1], "model_view": originals[0]}


def pump(app, cond=None, timeout=20.0, min_s=0.0) -> None:
    """Run the event loop until ``cond()`` (and at least ``min_s``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        app.processEvents()
        if time.monotonic() - t0 >= min_s and (cond is None or cond()):
            return
        time.sleep(0.01)
    print(f"  (timed out waiting after {timeout:.0f} s)", file=sys.stderr)


def thumbs_settled(win) -> bool:
    return win.thumbs.pending() == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--model", help="model card (default: the bundled model, else a random demo model)")
    ap.add_argument("--keep", action="store_true", help="keep the demo library folder")
    ap.add_argument("--photos", default=str(PERF), help="folder of JPEGs to start from (default: %(default)s)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    work = Path(tempfile.gettempdir()) / "imgsim-demo"  # a fixed name: the paths shown stay the same
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("imgsim-desktop")
    from PySide6.QtGui import QFont
    f = app.font()
    f.setPointSize(10)
    app.setFont(f)

    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    from imgsim_desktop.core.errors import ModelError
    from imgsim_desktop.core.library import Library
    from imgsim_desktop.core.model import create_random_model, load_model
    from imgsim_desktop.gui.main_window import MainWindow
    from imgsim_desktop.gui.sidebar import CHECKED
    from imgsim_desktop.gui.settings import AppSettings, SettingsDialog

    model_note = ""
    model_path = args.model
    if model_path is None:
        try:
            load_model(None, device="cpu")
        except ModelError:
            model_path = str(create_random_model(work / "model", name="demo-random", input_size=64,
                                                 embedding_size=64))
            model_note = " (demo model with random weights: the bundled model was not found)"

    photos = build_photos(work / "Photos", Path(args.photos))
    lib = Library(work / "library", model_path=model_path, device="cpu")
    settings = AppSettings(library_dir=str(work / "library"), device="auto")
    win = MainWindow(lib, settings, start_watcher=False)
    win.resize(1320, 840)
    win.show()
    try:
        # --- first run: the welcome, before any folder
        pump(app, lambda: win.library_stack.currentWidget() is win.welcome, timeout=10, min_s=0.5)
        win.grab().save(str(out / "welcome.png"))

        # --- indexing: a real scan, held after a few photos so the progress panel can be captured
        paused_at = []

        def scan_then_pause(progress, cancel):
            advance = progress.advance

            def advance_and_pause(n=1, failed=0, message=""):
                advance(n, failed, message)
                if not paused_at and progress.state.phase == "indexing" and progress.state.done >= 9:
                    paused_at.append(progress.state.done)
                    cancel.pause()
                    progress._emit(force=True)

            progress.advance = advance_and_pause
            return lib.scan(folders=[str(work / "Photos")], progress=progress, cancel=cancel)

        win.scans.start(scan_then_pause)
        win.sidebar.add_pending_folder(str((work / "Photos").resolve()))
        pump(app, lambda: bool(paused_at) and win.scans.last_state is not None
             and win.scans.last_state.done >= paused_at[0], timeout=120)
        pump(app, min_s=0.3)  # the scan is held still: the sidebar shows it as the user sees it mid-way
        win.sidebar.grab().save(str(out / "indexing.png"))
        done = []
        win.scanFinished.connect(done.append)
        win.scans.resume()
        pump(app, lambda: bool(done), timeout=300)
        pump(app, lambda: win.grid_model.rowCount() > 0 and win.errors.count() > 0, timeout=30)
        # the background duplicate check that follows a scan: the sidebar as it ends, not half-way
        pump(app, lambda: win.sidebar.state_label.text().startswith(CHECKED), timeout=120)
        win.errors_dock.hide()

        # --- library grid
        win.tabs.setCurrentIndex(0)
        pump(app, min_s=0.3)
        pump(app, lambda: thumbs_settled(win), timeout=30, min_s=0.5)
        win.grid.setCurrentIndex(win.grid_model.index(1, 0))
        pump(app, min_s=0.2)
        win.statusBar().showMessage(f"Indexing finished{model_note}")
        win.grab().save(str(out / "library.png"))

        # --- problems panel
        win.errors_dock.show()
        pump(app, min_s=0.3)
        win.grab().save(str(out / "problems.png"))
        win.errors_dock.hide()

        # --- lookalikes
        got = []
        win.lookalikes.resultsReady.connect(got.append)
        win.lookalikes_for_path(str(photos["query"]))
        pump(app, lambda: bool(got), timeout=30)
        pump(app, lambda: thumbs_settled(win), timeout=30, min_s=0.8)
        win.grab().save(str(out / "lookalikes.png"))

        # --- duplicates, with a group selected and marks applied
        page = win.duplicates
        win.tabs.setCurrentWidget(page)
        page.tier_combo.setCurrentIndex(0)
        if model_note:  # random weights find everything alike: only exact copies may group
            page.threshold.setValue(page.threshold.maximum())
        groups = []
        page.groupsReady.connect(groups.append)
        page.find()
        pump(app, lambda: bool(groups), timeout=60)
        if page.groups:
            page.select_group(0)
            page.auto_mark_all()
            page.members.setCurrentIndex(page.model.index(0, 0))
        pump(app, lambda: thumbs_settled(win), timeout=30, min_s=0.8)
        win.grab().save(str(out / "duplicates.png"))

        # --- compare two members, in the dialog the Duplicates page opens (keep / mark / next from there)
        if page.groups:
            # the most telling pair: a keeper and a member that differs from it (size or resolution)
            pairs = [(gi, g.members[0], m) for gi, g in enumerate(page.groups) for m in g.members[1:]]
            gi, a, b = max(pairs, key=lambda p: (p[1].width != p[2].width, p[1].bytes != p[2].bytes))
            page.select_group(gi)
            page._select_member(str(b.path))
            page.compare_current()
            dlg = page.compare_dialog
            dlg.resize(1200, 800)
            cmp = dlg.compare
            pump(app, lambda: not cmp.left._item.pixmap().isNull() and not cmp.right._item.pixmap().isNull(),
                 timeout=30)
            cmp.fit()
            pump(app, min_s=0.3)
            dlg.grab().save(str(out / "compare.png"))
            dlg.close()

        # --- model view
        shown = []
        win.model_view.shown.connect(shown.append)
        win.tabs.setCurrentWidget(win.model_view)
        win.model_view.show_path(str(photos["model_view"]))
        pump(app, lambda: bool(shown), timeout=30, min_s=0.3)
        win.grab().save(str(out / "model_view.png"))

        # --- settings dialog
        dlg = SettingsDialog(settings, win)
        dlg.resize(640, 460)
        dlg.show()
        pump(app, min_s=0.3)
        dlg.grab().save(str(out / "settings.png"))
        dlg.close()
    finally:
        win.shutdown()
        win.close()
        lib.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"demo library kept in {work}")
    for p in sorted(out.glob("*.png")):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
