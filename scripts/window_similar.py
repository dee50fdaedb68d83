#!/usr/bin/env python3
"""Open the app in a real window on a small messy library and show the Duplicates page at each tier, so the
members' words can be looked at: the "similar" tier says which members are the keeper's photo and which are
other shots. Run under an X server (Xvfb) and take screenshots from outside, or let it save its own grabs.

    Xvfb :99 -screen 0 1400x900x24 & DISPLAY=:99 QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/window_similar.py /tmp/win --shots /tmp/win/shots

The library: two shots of a newt (Flickr), a grey PNG of the first and the first turned 90 degrees; two
shots of a dog show; a sunflower field and a zoomed shot of it; camera photos from ``perf`` with a re-saved
copy and a crop of one. Taken from ../shared/datasets (the newt from /tmp/ux/photos when present).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "datasets"
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")   # a real window; screenshots.py would default to offscreen
from screenshots import pump  # noqa: E402  (scripts/ is this script's own folder)


def build(dest: Path) -> None:
    from PIL import Image

    trip, phone = dest / "Trip", dest / "Phone"
    for d in (trip, phone):
        d.mkdir(parents=True, exist_ok=True)
    newt = Path("/tmp/ux/photos")
    shots = [DATA / "train/flowers/dandelion_34592557281_5f254b3a46_n.jpg",
             DATA / "train/flowers/dandelion_33914172633_592a6eb74f_n.jpg"]   # the same two Flickr shots
    if newt.is_dir() or all(p.is_file() for p in shots):
        for name, shot in zip(("newt_1.jpg", "newt_2.jpg"), shots):
            shutil.copy2(newt / "Trip" / name if newt.is_dir() else shot, trip / name)
        first = Image.open(trip / "newt_1.jpg")
        first.convert("L").save(phone / "newt_bw.png")
        first.transpose(Image.Transpose.ROTATE_90).save(phone / "IMG_0042.jpg", quality=88)
    shutil.copy2(DATA / "eval/distractors/inet_n02102040_2920.jpg", trip / "dog_show_1.jpg")
    shutil.copy2(DATA / "train/imagenette/n02102040_565.jpg", trip / "dog_show_2.jpg")
    shutil.copy2(DATA / "eval/lookalike/flowers-sunflower/4806174512_e04475b766_n.jpg", trip / "field.jpg")
    shutil.copy2(DATA / "train/flowers/sunflower_4805544785_a63241f6d0_n.jpg", trip / "field_zoomed.jpg")
    cams = sorted((DATA / "perf").glob("*.jpg"))[:6]
    for p in cams:
        img = Image.open(p)
        img.draft("RGB", (1600, 1600))
        img.convert("RGB").save(trip / p.name, quality=92)
    img = Image.open(trip / cams[0].name)
    img.save(phone / ("resaved_" + cams[0].name), quality=70)
    w, h = img.size
    img.crop((w // 8, h // 8, w - w // 8, h - h // 8)).save(phone / ("crop_" + cams[0].name), quality=90)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", help="folder for the photos and the library (emptied first)")
    ap.add_argument("--shots", help="save the window's own grabs here too")
    ap.add_argument("--hold", type=float, default=4.0, help="seconds each page stays up for outside screenshots")
    ap.add_argument("--size", default="1380x880", help="window size, WIDTHxHEIGHT")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    build(work / "Photos")
    shots = Path(args.shots) if args.shots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    app = QApplication([sys.argv[0]])
    app.setApplicationName("imgsim-desktop")
    from imgsim_desktop.core.library import Library
    from imgsim_desktop.gui.main_window import MainWindow
    from imgsim_desktop.gui.settings import AppSettings

    lib = Library(work / "library", device="cpu")
    win = MainWindow(lib, AppSettings(library_dir=str(work / "library"), device="auto"), start_watcher=False)
    win.resize(*map(int, args.size.split("x")))
    win.show()
    done = []
    win.scanFinished.connect(done.append)
    win.scans.start(lambda progress, cancel: lib.scan(folders=[str(work / "Photos")], progress=progress,
                                                      cancel=cancel))
    pump(app, lambda: bool(done), timeout=300)
    page = win.duplicates
    win.tabs.setCurrentWidget(page)
    for tier in ("duplicates", "similar"):
        page.tier_combo.setCurrentIndex(page.tier_combo.findData(tier))
        got = []
        page.groupsReady.connect(got.append)
        t0 = time.monotonic()
        page.find()
        pump(app, lambda: bool(got), timeout=600)
        print(f"{tier}: {len(page.groups)} groups in {time.monotonic() - t0:.1f} s")
        for gi, g in enumerate(page.groups):
            page.select_group(gi)
            pump(app, lambda: win.thumbs.pending() == 0, timeout=30, min_s=0.5)
            print(f"  group {gi + 1}: " + "; ".join(f"{Path(m.path).name}: {m.reason or 'keeper'}" for m in g.members))
            if shots:
                win.grab().save(str(shots / f"{tier}_{gi + 1}.png"))
            print(f"READY {tier} {gi + 1}", flush=True)
            pump(app, min_s=args.hold, timeout=args.hold + 1)
    # a lookalike search from the first newt: its second shot is "another shot", not "same photo"
    newt1 = work / "Photos" / "Trip" / "newt_1.jpg"
    if newt1.is_file():
        win.tabs.setCurrentWidget(win.lookalikes)
        got = []
        win.lookalikes.resultsReady.connect(got.append)
        win.lookalikes.search_path(str(newt1))
        pump(app, lambda: bool(got), timeout=60)
        pump(app, lambda: win.thumbs.pending() == 0, timeout=30, min_s=0.5)
        print("lookalikes: " + "; ".join(f"{Path(it.path).name}: {it.extra.get('label')}"
                                         for it in win.lookalikes.model.items[:5]))
        if shots:
            win.grab().save(str(shots / "lookalikes.png"))
        print("READY lookalikes", flush=True)
        pump(app, min_s=args.hold, timeout=args.hold + 1)
    win.close()
    lib.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
