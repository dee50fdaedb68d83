"""Progress reporting and cancellation for long work, without any UI dependency.

The GUI wraps a ``Progress`` in a worker that forwards ``update`` to a Qt signal; the CLI draws a bar.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .errors import Cancelled


class CancelToken:
    """Thread-safe flag checked between units of work; also supports pause/resume."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # a paused worker must wake up to notice

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def check(self) -> None:
        """Block while paused; raise Cancelled if cancelled."""
        self._running.wait()
        if self._cancel.is_set():
            raise Cancelled("cancelled")


@dataclass
class ProgressState:
    phase: str = ""
    done: int = 0
    total: int = 0
    failed: int = 0
    message: str = ""
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        r = self.rate
        if r <= 0 or self.total <= 0:
            return None
        return max(0.0, (self.total - self.done) / r)


class Progress:
    """Receives progress from the engine. Subclass or pass ``callback``; calls come from worker threads."""

    def __init__(self, callback: Callable[[ProgressState], None] | None = None, min_interval_s: float = 0.1):
        self.state = ProgressState()
        self._callback = callback
        self._min_interval = min_interval_s
        self._last = 0.0
        self._lock = threading.Lock()

    def start(self, phase: str, total: int) -> None:
        with self._lock:
            self.state = ProgressState(phase=phase, total=total)
        self._emit(force=True)

    def advance(self, n: int = 1, failed: int = 0, message: str = "") -> None:
        with self._lock:
            self.state.done += n
            self.state.failed += failed
            if message:
                self.state.message = message
        self._emit()

    def set_total(self, total: int) -> None:
        with self._lock:
            self.state.total = total
        self._emit()

    def finish(self) -> None:
        self._emit(force=True)

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self._min_interval:
            return
        self._last = now
        self.on_update(self.state)

    def on_update(self, state: ProgressState) -> None:
        if self._callback is not None:
            self._callback(state)
