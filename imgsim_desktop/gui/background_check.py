"""Checking for duplicates in the background: after indexing (and each batch of the folder watcher) the app
verifies the candidate pairs that finding the duplicates will ask, so "Find" on the Duplicates page answers at
once instead of verifying for minutes. A scan or a "Find" the user starts takes precedence: the check is
cancelled (what it verified is kept) and asked for again when the scan ends.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..core.errors import Cancelled
from ..core.progress import CancelToken
from . import workers


class DuplicateCheck(QObject):
    progressed = Signal(object)   # ProgressState, once it verifies (a check with nothing to do shows nothing)
    finished = Signal(object)     # groups found (int), or None: nothing was left to check
    stopped = Signal(str)         # "cancelled" or why it failed
    runningChanged = Signal(bool)

    def __init__(self, lib, enabled: bool = True, parent: QObject | None = None, threshold=lambda: None):
        super().__init__(parent)
        self.lib = lib
        self.threshold = threshold   # the user's duplicates cut now (Settings): the count must be Find's
        self.enabled = enabled and not getattr(lib, "readonly", False)
        self._token: CancelToken | None = None
        self._progress: workers.QtProgress | None = None
        self._again = False
        self.shown = False   # progress went out: the sidebar shows this check

    @property
    def running(self) -> bool:
        return self._token is not None

    def request(self) -> None:
        """Check now, or again once the check under way ends (photos changed meanwhile)."""
        if not self.enabled:
            return
        if self.running:
            self._again = True
            return
        token, qp = CancelToken(), workers.QtProgress(self)
        qp.updated.connect(self._on_progress)
        self._token, self._progress, self.shown, self._again = token, qp, False, False
        lib, cut = self.lib, self.threshold()
        workers.run_task(lambda: lib.check_duplicates(qp.progress, token, cut), self._done, self._failed)
        self.runningChanged.emit(True)

    def cancel(self) -> None:
        """Stop for something the user asked (the next request starts over; verified pairs are kept)."""
        self._again = False
        if self._token is not None:
            self._token.cancel()

    def _on_progress(self, state) -> None:
        if self._token is None or self._token.cancelled:
            return
        self.shown = True
        self.progressed.emit(state)

    def _end(self) -> None:
        self._token = None
        if self._progress is not None:
            self._progress.deleteLater()
            self._progress = None
        self.runningChanged.emit(False)

    def _done(self, groups) -> None:
        self._end()
        self.finished.emit(groups)
        if self._again:
            self.request()

    def _failed(self, exc: BaseException) -> None:
        again = self._again
        self._end()
        self.stopped.emit("cancelled" if isinstance(exc, Cancelled) else (str(exc) or type(exc).__name__))
        if again:
            self.request()
