"""Seconds from process start until the app's event loop runs with its main window shown, and the RSS then
and after 5 s idle (issue 13: visible <= 1.5 s, idle <= 350 MB with an empty library).

    PYTHONPATH=. QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME=/tmp/ws-cfg .venv/bin/python scripts/window_start.py /tmp/ws-lib
"""
import os, sys, time
t0 = time.monotonic()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from imgsim_desktop.gui import app as appmod

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

orig_exec = QApplication.exec
def exec_(self=None):
    inst = QApplication.instance()
    def shown():
        print(f"visible {time.monotonic() - t0:.2f} s, rss {rss_mb():.0f} MB", flush=True)
        QTimer.singleShot(5000, idle)
    def idle():
        print(f"idle 5 s: rss {rss_mb():.0f} MB", flush=True)
        inst.quit()
    QTimer.singleShot(0, shown)
    return orig_exec()
QApplication.exec = exec_
sys.exit(appmod.main(["imgsim-desktop", "--library", sys.argv[1], "--no-watch"]))
