"""Background work for the GUI: ``run_task`` and the scan controller.

``run_task(fn, on_result, on_error)`` runs ``fn()`` on a QThreadPool thread and calls ``on_result(value)``
or ``on_error(exception)`` on the GUI thread (through a queued signal to a relay object that lives on the
GUI thread). Nothing in here touches QPixmap or widgets from a worker.
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from ..core.errors import Cancelled
from ..core.progress import CancelToken, Progress, ProgressState

log = logging.getLogger(__name__)

_TASK_POOL: QThreadPool | None = None


def task_pool() -> QThreadPool:
    """The pool for library work (scan, search, grouping). Thumbnails use their own pool."""
    global _TASK_POOL
    if _TASK_POOL is None:
        _TASK_POOL = QThreadPool()
        _TASK_POOL.setMaxThreadCount(4)
        _TASK_POOL.setExpiryTimeout(2000)
    return _TASK_POOL


_EXTRA_POOLS: list[QThreadPool] = []


def register_pool(pool: QThreadPool) -> None:
    _EXTRA_POOLS.append(pool)


def unregister_pool(pool: QThreadPool) -> None:
    if pool in _EXTRA_POOLS:
        _EXTRA_POOLS.remove(pool)


def wait_all(msecs: int = 30000) -> bool:
    """Wait for every pool the GUI uses (at shutdown, and in the tests' thread-leak fixture)."""
    ok = True
    pools = [task_pool(), *_EXTRA_POOLS, QThreadPool.globalInstance()]
    for p in pools:
        ok = p.waitForDone(msecs) and ok
    return ok


def pending_tasks() -> int:
    return len(_CALLBACKS)


# Results come back through ONE long-lived relay that lives on the GUI thread. With a relay per task the
# worker's QRunnable could hold the last Python reference to a QObject that the GUI thread had already
# handed to deleteLater, and drop it on the worker thread: a QObject freed from the wrong thread. Workers now
# hold only an int and the relay's bound signal; callbacks never leave the GUI thread. (The crash at quit
# after minutes of use was the Qt binding's own reference leak: see qtcheck.py.)
_CALLBACKS: dict[int, tuple[Callable | None, Callable | None]] = {}
_NEXT_ID = 0
_RELAY: "_Relay | None" = None


class _Relay(QObject):
    """Lives on the GUI thread for the whole run; workers emit into it, Qt queues the call to the GUI."""

    done = Signal(int, bool, object)

    def __init__(self):
        super().__init__()
        self.done.connect(self._deliver)

    @Slot(int, bool, object)
    def _deliver(self, task_id: int, ok: bool, value: object) -> None:
        on_result, on_error = _CALLBACKS.pop(task_id, (None, None))
        if ok:
            if on_result is not None:
                on_result(value)
        elif on_error is not None:
            on_error(value)
        elif not isinstance(value, Cancelled):
            log.error("background task failed: %s", value)


def _relay() -> _Relay:
    global _RELAY
    if _RELAY is None:
        _RELAY = _Relay()
    return _RELAY


class _Task(QRunnable):
    """Holds the function and an id: no QObject, so nothing Qt-owned is ever released on the worker."""

    def __init__(self, fn: Callable[[], Any], task_id: int, done):
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._id = task_id
        self._done = done  # the bound signal of the GUI-thread relay

    def run(self) -> None:  # worker thread
        try:
            value = self._fn()
            ok = True
        except BaseException as e:  # delivered to on_error on the GUI thread
            if not isinstance(e, Cancelled):
                log.debug("task error\n%s", traceback.format_exc())
            value, ok = e, False
        self._fn = None
        self._done.emit(self._id, ok, value)


def run_task(fn: Callable[[], Any], on_result: Callable[[Any], None] | None = None,
             on_error: Callable[[BaseException], None] | None = None, pool: QThreadPool | None = None) -> None:
    """Run ``fn`` off the GUI thread; deliver its value or exception on the GUI thread. Call from the GUI thread."""
    global _NEXT_ID
    relay = _relay()
    _NEXT_ID += 1
    _CALLBACKS[_NEXT_ID] = (on_result, on_error)
    (pool or task_pool()).start(_Task(fn, _NEXT_ID, relay.done))


# ------------------------------------------------------------------------------------------ progress
class QtProgress(QObject):
    """A QObject whose ``progress`` (a core Progress) forwards each update as a ``updated`` signal."""

    updated = Signal(object)  # a copy of ProgressState

    def __init__(self, parent: QObject | None = None, min_interval_s: float = 0.1):
        super().__init__(parent)
        outer = self

        class _P(Progress):
            def on_update(self, state: ProgressState) -> None:  # worker thread
                outer.updated.emit(dataclasses.replace(state))

        self.progress = _P(min_interval_s=min_interval_s)


class ScanController(QObject):
    """Runs ``lib.scan`` (or another long library call) in the task pool, with pause / resume / cancel."""

    started = Signal()
    progressed = Signal(object)  # ProgressState
    finished = Signal(object)  # the ScanReport
    failed = Signal(object)  # the exception
    cancelled = Signal()
    stateChanged = Signal(str)  # "idle" | "running" | "paused"

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._token: CancelToken | None = None
        self._qprogress: QtProgress | None = None
        self.last_state: ProgressState | None = None

    @property
    def running(self) -> bool:
        return self._token is not None

    @property
    def paused(self) -> bool:
        return self._token is not None and self._token.paused

    def start(self, work: Callable[[Progress, CancelToken], Any]) -> bool:
        """``work(progress, cancel)`` runs on a worker; returns False if a scan is already running."""
        if self._token is not None:
            return False
        token = CancelToken()
        qp = QtProgress(self)
        qp.updated.connect(self._on_progress)
        self._token, self._qprogress = token, qp
        self.last_state = None
        run_task(lambda: work(qp.progress, token), self._on_done, self._on_error)
        self.started.emit()
        self.stateChanged.emit("running")
        return True

    def scan(self, lib, folders=None) -> bool:
        return self.start(lambda p, c: lib.scan(folders=folders, progress=p, cancel=c))

    def pause(self) -> None:
        if self._token is not None:
            self._token.pause()
            self.stateChanged.emit("paused")

    def resume(self) -> None:
        if self._token is not None:
            self._token.resume()
            self.stateChanged.emit("running")

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()

    def _on_progress(self, state: ProgressState) -> None:
        self.last_state = state
        self.progressed.emit(state)

    def _reset(self) -> None:
        self._token = None
        if self._qprogress is not None:
            self._qprogress.deleteLater()
        self._qprogress = None
        self.stateChanged.emit("idle")

    def _on_done(self, report) -> None:
        self._reset()
        self.finished.emit(report)

    def _on_error(self, exc: BaseException) -> None:
        self._reset()
        if isinstance(exc, Cancelled):
            self.cancelled.emit()
        else:
            self.failed.emit(exc)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
