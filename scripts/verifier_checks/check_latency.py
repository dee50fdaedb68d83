"""What the app's background duplicate check costs the window: a MainWindow (offscreen) over a copy of an indexed
library whose candidates are not verified yet, the check started as the app starts it, a 10 ms QTimer measuring
the longest gaps of the GUI thread until the check ends; then Find on the Duplicates page, timed.

    QT_QPA_PLATFORM=offscreen python scripts/verifier_checks/check_latency.py INDEXED_LIBRARY

INDEXED_LIBRARY is copied to a temporary folder first (the check writes its verdicts there).
"""
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from imgsim_desktop.core.library import Library  # noqa: E402
from imgsim_desktop.gui.main_window import MainWindow  # noqa: E402
from imgsim_desktop.gui.settings import AppSettings  # noqa: E402

LIBRARY = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="checklat")
os.environ["XDG_CONFIG_HOME"] = os.path.join(tmp, "config")   # no settings of the user's
app = QApplication.instance() or QApplication([])
home = os.path.join(tmp, "lib")
shutil.copytree(LIBRARY, home)
lib = Library(home)
print(f"photos {lib.catalog.counts()['ok']:,}, checked already: {lib.duplicates_checked()}", flush=True)
win = MainWindow(lib, AppSettings(library_dir=home), start_watcher=False)
win.show()
gaps, last = [], [time.perf_counter()]


def tick():
    now = time.perf_counter()
    gaps.append(now - last[0])
    last[0] = now


timer = QTimer()
timer.setInterval(10)
timer.timeout.connect(tick)
loop = QEventLoop()
out = {}
win.controller.check.finished.connect(lambda g: (out.setdefault("groups", g), loop.quit()))
win.controller.check.stopped.connect(lambda why: (out.setdefault("stopped", why), loop.quit()))
timer.start()
t0 = last[0] = time.perf_counter()
win.controller.check.request()
loop.exec()
check_s = time.perf_counter() - t0
timer.stop()
g = sorted(gaps)
print(f"check: {check_s:.1f} s, {out}, {len(gaps)} ticks; GUI thread gaps: median {1e3 * g[len(g) // 2]:.0f} ms, "
      f"p99 {1e3 * g[int(len(g) * 0.99)]:.0f} ms, max {1e3 * g[-1]:.0f} ms", flush=True)
page = win.duplicates
loop2 = QEventLoop()
page.groupsReady.connect(loop2.quit)
t1 = time.perf_counter()
page.find()
loop2.exec()
print(f"Find after the check: {time.perf_counter() - t1:.2f} s, {len(page.groups)} groups, "
      f"verified now {lib.last_verification.get('verified_now')}", flush=True)
win.shutdown()
lib.close()
shutil.rmtree(tmp)
