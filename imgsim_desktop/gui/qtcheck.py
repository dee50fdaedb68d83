"""Detect a broken Qt binding before it crashes the app minutes later.

PySide6 6.12.0 (as installed here) hands back ``None`` from every void method and ``True`` from
``SignalInstance.emit`` without taking a reference. On Python 3.11 (where those singletons are not immortal)
each call takes one reference away; after a few thousand calls (painting tiles, progress updates, finished
tasks: minutes of use) ``None`` or ``True`` is freed and the process dies: "Fatal Python error:
none_dealloc", or a segfault and "QObject: shared QObject was deleted directly" at quit. 6.11.3 is fine;
pyproject.toml excludes 6.12.0. The app checks once at start and says so if the binding leaks anyway.
"""

from __future__ import annotations

import sys


def binding_leaks(n: int = 64) -> str | None:
    """A one-line description of the reference leak when the installed PySide6 has it, else None."""
    import PySide6
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(n):
        probe.setObjectName("probe")  # a void method
    none_lost = none0 - sys.getrefcount(None)
    for _ in range(n):
        probe.ping.emit()
    true_lost = true0 - sys.getrefcount(True)
    if none_lost < n and true_lost < n:
        return None
    what = " and ".join(w for w, lost in (("None", none_lost), ("True", true_lost)) if lost >= n)
    return (f"PySide6 {PySide6.__version__} loses a reference to {what} on every call; the app will crash "
            f"after a few minutes of use. Install another version: pip install 'PySide6-Essentials!=6.12.0'")
