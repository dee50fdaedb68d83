"""The app's controller: everything the main window does that is not a widget.

It owns the scan queue, the folder watcher, the settings switch and the routing of library changes: every
write (a scan, a watcher batch, a trash, a move, an undo, a folder removal) ends in ONE ``ChangeSet`` on
``changed``, and every page follows that signal instead of each action wiring its own refresh. It builds no
widget, so the tests drive it without a window; questions for the user come back as return values.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from ..core import changes
from ..core.changes import ChangeSet
from . import workers
from .background_check import DuplicateCheck
from .settings import AppSettings, is_excluded
from .workers import ScanController

log = logging.getLogger(__name__)


class LibraryController(QObject):
    changed = Signal(object)          # ChangeSet: once per write, on the GUI thread
    scanFinished = Signal(object)     # ScanReport, or None when the scan failed or was cancelled
    scanStarted = Signal(object)      # the folders (None = every library folder)
    progressed = Signal(object)       # ProgressState of the scan under way
    scanState = Signal(str)           # "idle" | "running" | "paused"
    watcherActivity = Signal(bool)    # True while the watcher applies changes
    statusReady = Signal(object)      # (lib.status(), lib.errors())
    problem = Signal(str, str)        # (what, message) for the problems panel
    settingsChanged = Signal(object)  # the AppSettings now in force
    _event_from_thread = Signal(object)
    _batch_from_thread = Signal(object)

    def __init__(self, lib, settings: AppSettings | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.lib = lib
        self.settings = settings or AppSettings()
        if hasattr(lib, "excluded_folders"):   # the library's list: what the CLI excluded shows in Settings
            self.settings.excluded_folders = [str(p) for p in lib.excluded_folders()]
        self.readonly = bool(getattr(lib, "readonly", False))
        self.scans = ScanController(self)
        self.scans.progressed.connect(self.progressed)
        self.scans.stateChanged.connect(self.scanState)
        self.scans.finished.connect(self._scan_done)
        self.scans.failed.connect(self._scan_failed)
        self.scans.cancelled.connect(self._scan_cancelled)
        self.scan_queue: list[list[str] | None] = []
        # verifies duplicate candidates after indexing; anything the user starts comes first
        self.check = DuplicateCheck(lib, self.settings.background_check, self,
                                    threshold=lambda: self.settings.duplicates_threshold)
        self.last_report = None
        self.last_outcome = ""  # "done" | "failed" | "cancelled"
        self.watcher = None
        self.watcher_busy = False
        self._writes = 0  # writes under way (the scan counts as one)
        self._pending = ChangeSet(changes.LIBRARY)
        self._status_running = self._status_again = False
        # the library calls listeners on its writer's thread; a queued signal brings each event here, in order
        self._event_from_thread.connect(self._on_event)
        self._batch_from_thread.connect(self._on_watch_batch)
        self._unsubscribe = lib.subscribe(self._event_from_thread.emit)
        # events from no write we started (a watcher catch-up, another caller) are announced after a lull
        self._lull = QTimer(self)
        self._lull.setSingleShot(True)
        self._lull.setInterval(400)
        self._lull.timeout.connect(lambda: self._announce(changes.WATCHER if self.watcher_busy else changes.LIBRARY))
        self._watch_poll = QTimer(self)
        self._watch_poll.setInterval(250)
        self._watch_poll.timeout.connect(self._poll_watcher)
        # read-only (another imgsim writes): follow its changes by the catalog's counter, every few seconds
        self._seen_seq: int | None = None
        self._writer_poll = QTimer(self)
        self._writer_poll.setInterval(3000)
        self._writer_poll.timeout.connect(self._poll_writer)
        if self.readonly:
            self._writer_poll.start()

    # ------------------------------------------------------------------ change routing
    def _on_event(self, event) -> None:
        self._pending.add(event)
        w = self.watcher
        if w is not None and not w.idle.is_set():
            return  # the watcher is applying a batch: its end (on_batch) announces it, however long it takes
        if not self._writes:
            self._lull.start()

    def _announce(self, source: str, result: Any = None) -> ChangeSet:
        """Hand the changes gathered so far to every page, as one set from ``source``."""
        self._lull.stop()
        cs, self._pending = self._pending, ChangeSet(changes.LIBRARY)
        cs.source, cs.result = source, result
        self.changed.emit(cs)
        return cs

    def run_write(self, source: str, work: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
                  on_error: Callable[[BaseException], None] | None = None) -> None:
        """Run one write on a worker; when it ends, announce what it changed as one ``ChangeSet``."""
        self._writes += 1

        def done(value) -> None:  # the pages follow the change set first, then the caller reports
            self._writes -= 1
            self._announce(source, value)
            if on_done is not None:
                on_done(value)

        def failed(exc) -> None:
            self._writes -= 1
            if on_error is not None:
                on_error(exc)
            else:
                self.problem.emit(source.capitalize(), str(exc) or type(exc).__name__)
            self._announce(source, exc)  # a write that failed half-way may still have changed something

        workers.run_task(work, done, failed)

    # ------------------------------------------------------------------ scans
    def add_folder(self, path: str) -> bool:
        """Index a new folder; False (with a problem reported) when it cannot be added."""
        if self.readonly:
            self.problem.emit(path, "the library is open read-only; close the other imgsim first")
            return False
        if is_excluded(path, self.settings.excluded_folders):
            self.problem.emit(path, "this folder is excluded in Settings")
            return False
        self.start_scan([str(path)])
        return True

    def start_scan(self, folders: list[str] | None) -> None:
        self.check.cancel()   # asked again when the scans end
        if folders and self.watcher is not None:
            self.watcher.scanned_elsewhere(folders)   # ours to index, and the user's to cancel
        if self.scans.running:
            if folders not in self.scan_queue:
                self.scan_queue.append(folders)
            return
        self._writes += 1
        self.scans.scan(self.lib, folders)
        self.scanStarted.emit(folders)

    def cancel_scan(self) -> None:
        self.scan_queue.clear()
        self.scans.cancel()
        self.check.cancel()

    def _scan_ended(self, report, outcome: str) -> None:
        self._writes -= 1
        self.last_outcome = outcome
        self.last_report = report
        self._announce(changes.SCAN, report)
        self.scanFinished.emit(report)

    def _scan_done(self, report) -> None:
        if report.cancelled:
            self.scan_queue.clear()
        self._scan_ended(report, "cancelled" if report.cancelled else "done")
        self._next_scan()
        if not report.cancelled and not self.scans.running:
            self.check.request()

    def _scan_failed(self, e) -> None:
        self.problem.emit("Indexing", str(e) or type(e).__name__)
        self._scan_ended(None, "failed")
        self._next_scan()

    def _scan_cancelled(self) -> None:
        self.scan_queue.clear()
        self._scan_ended(None, "cancelled")

    def _next_scan(self) -> None:
        if self.scan_queue:
            self.start_scan(self.scan_queue.pop(0))

    def set_reference(self, path: str, on: bool, on_done: Callable[[Any], None] | None = None) -> None:
        """Mark (or unmark) a library folder as reference: its photos are always kept, never marked."""
        lib = self.lib
        self.run_write(changes.FOLDERS, lambda: lib.set_reference(path, on), on_done,
                       lambda e: self.problem.emit(path, str(e)))

    def remove_folder(self, path: str, on_done: Callable[[int], None] | None = None) -> None:
        lib = self.lib
        self.run_write(changes.FOLDERS, lambda: lib.remove_folder(path), on_done,
                       lambda e: self.problem.emit(path, str(e)))

    # ------------------------------------------------------------------ status (a read, coalesced)
    def refresh_status(self) -> None:
        if self._status_running:
            self._status_again = True
            return
        self._status_running = True
        lib = self.lib
        workers.run_task(lambda: (lib.status(), lib.errors()), self._status_done, self._status_failed)

    def _status_done(self, result) -> None:
        self._status_running = False
        self.statusReady.emit(result)
        if self._status_again:
            self._status_again = False
            self.refresh_status()

    def _status_failed(self, e) -> None:
        self._status_running = False
        self.problem.emit("Library status", str(e))

    def _poll_writer(self) -> None:
        lib = self.lib
        workers.run_task(lib.seq, self._writer_seq, lambda e: None)

    def _writer_seq(self, seq: int) -> None:
        """The other process changed the library: every page refreshes, as after a change of folders."""
        if self._seen_seq is not None and seq != self._seen_seq:
            self._pending.folders = True
            self._announce(changes.LIBRARY)
        self._seen_seq = seq

    # ------------------------------------------------------------------ watcher
    def start_watcher(self) -> bool:
        if self.readonly or self.watcher is not None:
            return False
        try:
            from ..core.watcher import LibraryWatcher
        except ImportError:
            return False
        try:
            self.watcher = LibraryWatcher(self.lib, on_batch=self._batch_from_thread.emit,
                                          on_error=lambda e: self.problem.emit(
                                              "Watching folders", str(e) or type(e).__name__))
            self.watcher.start()
        except Exception as e:  # the app works without live updates
            self.watcher = None
            self.problem.emit("Watching folders", str(e) or type(e).__name__)
            return False
        self._watch_poll.start()
        self._poll_watcher()
        return True

    def _poll_watcher(self) -> None:
        w = self.watcher
        busy = w is not None and not w.idle.is_set()
        if busy != self.watcher_busy:
            self.watcher_busy = busy
            self.watcherActivity.emit(busy)

    def _on_watch_batch(self, batch) -> None:
        if not self._writes:  # during a scan or action the changes go out with it
            if self._announce(changes.WATCHER, batch).files_changed:
                self.check.request()   # a new photo costs only its own candidate pairs

    def stop_watcher(self) -> None:
        self._watch_poll.stop()
        w, self.watcher = self.watcher, None
        if w is not None:
            try:
                w.stop()
            except Exception:
                log.exception("watcher stop failed")
        if self.watcher_busy:
            self.watcher_busy = False
            self.watcherActivity.emit(False)

    # ------------------------------------------------------------------ settings
    def apply_settings(self, new: AppSettings) -> bool:
        """Save and apply new settings. True when they need the library reopened (a new location or
        device): the caller asks the user and restarts."""
        if new.device != self.settings.device:
            from ..core.errors import ModelError
            from ..core.model import resolve_device

            try:
                resolve_device(new.device)
            except ModelError as e:
                self.problem.emit("Settings", f"device not changed: {e}")
                new.device = self.settings.device
        reopen = new.library_home() != self.settings.library_home() or new.device != self.settings.device
        old_ex, new_ex = set(self.settings.excluded_folders), set(new.excluded_folders)
        if not reopen and not self.readonly and new_ex != old_ex:
            self._set_excluded(sorted(new_ex), old_ex - new_ex)
        self.settings = new
        self.check.enabled = new.background_check and not self.readonly
        if not self.check.enabled:
            self.check.cancel()
        new.save()
        self.settingsChanged.emit(new)
        return reopen

    def _set_excluded(self, folders: list[str], included: set[str]) -> None:
        """The library's excluded folders, now: what they hold leaves the library at once, and a folder no
        longer excluded is indexed (they applied only after a restart, and the CLI never knew them)."""
        lib = self.lib
        self.run_write(changes.FOLDERS, lambda: lib.set_excluded(folders),
                       lambda _n: self.start_scan(None) if included else None,
                       lambda e: self.problem.emit("Settings", f"excluded folders not changed: {e}"))

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Stop everything that runs in the background, in order: the scan queue, the watcher (its
        thread calls the library), our subscription, then wait for the task pool."""
        self._lull.stop()
        self._writer_poll.stop()
        self.scan_queue.clear()
        self.scans.cancel()
        self.check.cancel()
        self.check.enabled = False
        self.stop_watcher()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        workers.wait_all(60000)
