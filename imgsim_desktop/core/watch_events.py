"""Live sync, the event side: what the watchdog observer thread does with an event, and the records it feeds.

Split from ``watcher.py`` so that the part that runs in watchdog's threads (and must stay cheap and never
raise) sits apart from the coalescing loop that applies batches to the library.

- ``_Handler`` turns each watchdog event into a small tuple on the watcher's queue: moves, deletions,
  creations, writes, closes. It only filters (hidden, non-image, the library's own folder: decided by the
  root tracker's ``wanted_*``); the watcher's thread does everything else.
- ``_OverflowLogHandler`` hears watchdog's log, the only place a kernel queue overflow is reported.
- ``_Pending`` is a file waiting to be complete; ``WatchBatch`` is what one applied batch did.
- ``_EVENT_FILTER`` asks the kernel only for the events acted on; the path helpers are shared by all.
"""

from __future__ import annotations

import logging
import os
import stat
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from .roots import norm as _norm
from .roots import outermost, rebase, under, walk_images


class RootFilter(Protocol):
    """What the handler asks of the root tracker (``watch_roots.WatchRoots``), without importing it."""

    def wanted_dir(self, path: str) -> bool: ...
    def wanted_file(self, path: str) -> bool: ...
    def is_root(self, path: str) -> bool: ...

# one logger for the whole watcher (this module, watch_roots and watcher), as before the split
log = logging.getLogger(__package__ + ".watcher")

# A move whose two halves inotify could not pair (e.g. into a folder made a moment before) arrives as a
# creation at once and as a deletion only after watchdog's pairing delay. A batch holding creations waits
# that long so that both halves meet in one update_paths call, which then matches them by content.
try:
    from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper as _Grouper
    _MOVE_PAIR_WINDOW_S = float(_Grouper.delay) + 0.15
except Exception:  # another platform's observer
    _MOVE_PAIR_WINDOW_S = 0.0

# watchdog warns when a folder moved back into a watched tree already has an inotify callback; harmless.
warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)

# The event classes we act on. Asking only for these keeps the kernel from reporting every read
# (IN_OPEN/IN_ACCESS/IN_CLOSE_NOWRITE), which matters because the library itself reads the photos.
_EVENT_FILTER = [
    FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileAttribEvent,
    FileDeletedEvent, DirDeletedEvent, FileMovedEvent, DirMovedEvent,
]


@dataclass
class WatchBatch:
    """What one applied batch did. ``reports`` holds the ScanReports of the library calls."""

    number: int
    reason: str                                  # "events", "start", "overflow", "remount", "new-folder"
    events: int = 0                              # raw events coalesced into this batch
    updated: list[str] = field(default_factory=list)    # new or changed files given to update_paths
    moved: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)    # deleted files or folders
    scanned: list[str] = field(default_factory=list)    # roots reconciled with lib.scan
    moved_count: int = 0                         # catalog entries moved (move_path's return values)
    removed_count: int = 0                       # entries dropped by remove_paths (the rest: see reports)
    reports: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def empty(self) -> bool:
        return not (self.updated or self.moved or self.removed or self.scanned)


@dataclass
class _Pending:
    """A file waiting to be (re)checked."""

    last_event: float
    writing: bool = False        # written to since the last close: still being written
    complete: bool = False       # closed after writing, or renamed into place
    stat: tuple[int, int] | None = None
    stable_since: float = 0.0
    decode_tried: float = 0.0    # last failed decode check (retried at most every settle_s)

    def ready(self, path: str, now: float, settle_s: float, write_timeout_s: float) -> bool | None:
        """True: apply now; False: wait; None: drop (gone, and the library never needs to know)."""
        try:
            st = os.stat(path)
            sig = (st.st_size, st.st_mtime_ns)
            if not stat.S_ISREG(st.st_mode):
                return True  # a FIFO or device named like a photo: update_paths leaves it out, at once
        except FileNotFoundError:
            return True  # vanished before we got to it: update_paths removes it if the catalog has it
        except OSError:
            return False
        if sig != self.stat:
            self.stat, self.stable_since = sig, now
        if self.complete:
            return True
        stable = now - self.stable_since
        if stable < settle_s or sig[0] == 0 and stable < write_timeout_s:
            return False
        if not self.writing or stable >= write_timeout_s:
            return True
        # written to and never closed (or no close events on this platform): complete if it decodes
        if self.decode_tried and now - self.decode_tried < settle_s:
            return False
        if _decodes(path):
            return True
        self.decode_tried = now
        return False


def _decodes(path: str) -> bool:
    try:
        from .decode import load_image
        load_image(path, max_side=32)
        return True
    except Exception:
        return False


def _under(path: str, root: str) -> bool:
    return under(path, root)


def _rebase(path: str, src: str, dst: str) -> str | None:
    """``path`` moved along with ``src`` -> ``dst``, or None when it is not under ``src``."""
    return rebase(path, src, dst)


def _outermost(removed: dict[str, bool]) -> list[str]:
    """Deleted paths less those inside a deleted folder (the folder covers them)."""
    dirs = outermost(p for p, is_dir in removed.items() if is_dir)
    return [p for p in removed if not any(p != d and under(p, d) for d in dirs)]


def _walk_images(folder: str, wanted_file: Callable[[str], bool]) -> list[str]:
    """The wanted photos under ``folder`` (the contents of a folder moved in): regular files only."""
    return [f.path for f in walk_images(folder) if wanted_file(f.path)]


class _Handler(FileSystemEventHandler):
    """Runs in the observer thread: cheap filtering, then hands the event to the watcher's queue.

    ``put(item)`` queues an event tuple; ``lost()`` says something was missed (the watcher reconciles)."""

    def __init__(self, roots: RootFilter, put: Callable[[tuple], None], lost: Callable[[], None]):
        self.roots = roots
        self.put = put
        self.lost = lost

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._route(event)
        except Exception:  # an exception here would end watchdog's dispatch thread
            log.exception("watcher: could not handle %r", event)
            self.lost()  # something was missed: reconcile

    def _route(self, event: FileSystemEvent) -> None:  # noqa: C901 - a flat table of cases
        roots, put = self.roots, self.put
        src = _norm(event.src_path) if event.src_path else ""
        dst = _norm(event.dest_path) if event.dest_path else ""
        synthetic = event.is_synthetic
        if isinstance(event, (FileMovedEvent, DirMovedEvent)):
            if synthetic:
                return  # the contents of a moved folder: the folder's own move covers them
            is_dir = isinstance(event, DirMovedEvent)
            ok = roots.wanted_dir if is_dir else roots.wanted_file
            src_ok, dst_ok = bool(src) and ok(src), bool(dst) and ok(dst)
            if src_ok and dst_ok:
                put(("move", src, dst, is_dir))
            elif src_ok:
                put(("remove", src, is_dir))
            elif dst_ok:
                put(("walk" if is_dir else "arrived", dst))
            return
        if isinstance(event, DirDeletedEvent):
            if roots.is_root(src):
                return  # a root that vanished: the root poll decides (it may be an unmounted drive)
            if roots.wanted_dir(src):
                put(("remove", src, True))
            return
        if event.is_directory or not roots.wanted_file(src):
            return
        if isinstance(event, FileDeletedEvent):
            put(("remove", src, False))
        elif isinstance(event, FileCreatedEvent):
            # Synthetic creations are the contents of a folder moved in: complete files.
            put(("arrived" if synthetic else "created", src))
        elif isinstance(event, FileModifiedEvent):
            put(("modified", src))
        elif isinstance(event, FileClosedEvent):
            put(("closed", src))
        elif isinstance(event, FileAttribEvent):
            put(("attrib", src))


class _OverflowLogHandler(logging.Handler):
    """watchdog reports a kernel queue overflow only in its log; listen there."""

    def __init__(self, lost: Callable[[], None]):
        super().__init__(level=logging.WARNING)
        self.lost = lost

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if "overflow" in record.getMessage().lower():
                self.lost()   # no locks there: this runs in watchdog's reader thread
        except Exception:  # pragma: no cover - never let logging raise
            pass
