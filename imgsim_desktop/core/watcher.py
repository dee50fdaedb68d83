"""Live sync: watch the library's folders and apply changes through the library's single writer.

One watchdog observer holds a recursive watch per library folder. Its thread only filters and queues
events (``watch_events``); a background thread of ours coalesces them into batches and applies each batch
with a handful of ``Library`` calls: one ``move_path`` per moved file or folder, then one ``update_paths``
for every new, edited or deleted file and deleted folder of the batch. A camera import or a folder move
costs a few index writes, not one per file. Which folders are watched, and whether each is online, is
``watch_roots``'s job; this module is the lifecycle, the coalescing loop and the applying of batches.

Rules
- created/modified -> ``update_paths`` once the file is complete: on Linux the writer closing the file
  (IN_CLOSE_WRITE) or an atomic rename into place says so at once; otherwise the size and mtime must have
  been stable for ``settle_s`` and, when a writer was seen at work without closing, the file must decode.
- moved/renamed -> ``move_path`` (file or folder; ids and embeddings are kept). A move out of the watched
  tree (or to a hidden or non-image name) is a deletion, a move into it a creation.
- deleted -> into the same ``update_paths`` call, which drops what is gone; a deletion and a creation of
  the same content in one batch (a move seen as two halves) is then matched by content and keeps its
  vector. A deleted folder that is being filled again is dropped with ``remove_paths`` first.
- Ignored: non-image files, hidden files and folders (a name starting with "."), anything in the library
  folder itself.
- Reconciliation (``lib.scan``, incremental by size/mtime) runs at start, after the kernel reports lost
  events (inotify queue overflow), for a folder added to the library while watching, and for a watched
  folder that went away and came back (an unmounted drive): roots are polled every ``poll_s`` seconds.
  A folder that is gone is not treated as deleted: its photos stay until it comes back and is rescanned.
- A batch that fails is reported (``on_error`` and the log) and the watcher goes on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable, Iterable

from watchdog.observers import Observer

from .errors import Cancelled, LibraryError
from .progress import CancelToken
from .watch_events import (  # noqa: F401 - _EVENT_FILTER, _norm: re-exported for older imports
    _EVENT_FILTER,
    _MOVE_PAIR_WINDOW_S,
    WatchBatch,
    _Handler,
    _norm,
    _OverflowLogHandler,
    _outermost,
    _Pending,
    _rebase,
    _under,
    _walk_images,
)
from .watch_roots import WatchRoots

__all__ = ["LibraryWatcher", "WatchBatch"]

log = logging.getLogger(__name__)


class LibraryWatcher:
    """Keep a ``Library`` in sync with its folders while running. Headless; usable from CLI and GUI.

    - ``debounce_s``: a batch is applied once no event came for this long (or ``max_delay_s`` after its
      first event, so a long import is applied in steps).
    - ``settle_s``: how long a file whose writer was not seen closing it must keep its size and mtime.
    - ``poll_s``: how often the roots are checked for going away / coming back and the library's folder
      list is re-read.
    - ``write_timeout_s``: a file written to and never closed is taken anyway after this long unchanged.
    - ``scan_on_start``: run the reconciliation pass at ``start()``.

    ``on_batch(WatchBatch)`` and ``on_error(exception)`` are called from the watcher's thread; so are the
    library's change listeners for everything the watcher applies. ``start()``/``stop()`` or ``with``.
    """

    def __init__(self, library, debounce_s: float = 0.5, settle_s: float = 1.0,
                 on_batch: Callable[[WatchBatch], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None,
                 *, poll_s: float = 2.0, max_delay_s: float = 5.0, write_timeout_s: float = 30.0,
                 scan_on_start: bool = True):
        self.lib = library
        self.debounce_s = float(debounce_s)
        self.settle_s = float(settle_s)
        self.on_batch = on_batch
        self.on_error = on_error
        self.poll_s = float(poll_s)
        self.max_delay_s = max(float(max_delay_s), self.debounce_s)
        self.write_timeout_s = float(write_timeout_s)
        self.scan_on_start = scan_on_start

        # which folders are watched and whether each is online: their own helper (watch_roots)
        self._tracker = WatchRoots(library, self._make_handler, self._report)

        self._inbox: deque = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel = CancelToken()
        self._thread: threading.Thread | None = None
        self._log_handler: _OverflowLogHandler | None = None
        self._batch_no = 0
        self._started = False

        # worker-thread state
        self._pending: dict[str, _Pending] = {}
        self._moves: list[tuple[str, str, bool]] = []   # (src, dst, is_dir), in the order they happened
        self._removed: dict[str, bool] = {}    # deleted path -> is_dir (rebased by later moves)
        self._removed_since = 0.0
        self._events = 0
        self._dirty_since = 0.0              # first event not yet flushed (0: none)
        self._last_event = 0.0
        self._overflow = False
        self._folders_changed = False
        self._arrivals: set[str] = set()       # unflushed files that appeared with no write seen: maybe one
                                               # half of a move (see _MOVE_PAIR_WINDOW_S)
        self._next_poll = 0.0

        self.batches = 0                       # batches applied so far (for tests and benches)
        self.current_move: tuple[str, str] | None = None   # (src, dst) while move_path runs, for listeners
        self._unsubscribe: Callable[[], None] | None = None
        self.idle = threading.Event()          # set while nothing is pending or being applied

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "LibraryWatcher":
        if self._started:
            return self
        if getattr(self.lib, "readonly", False):
            raise LibraryError("cannot watch a library opened read-only (another imgsim process is writing to it)")
        self._started = True
        self._stop.clear()
        self._cancel = CancelToken()
        self._tracker.reset()  # a new observer: every root is watched (and reconciled) afresh
        self._observer = Observer()
        self._observer.daemon = True
        self._log_handler = _OverflowLogHandler(self._lost)
        logging.getLogger("watchdog.observers").addHandler(self._log_handler)
        self._sync_roots(initial=True)
        subscribe = getattr(self.lib, "subscribe", None)
        if subscribe is not None:
            self._unsubscribe = subscribe(self._on_library_change)
        self._observer.start()
        self._thread = threading.Thread(target=self._run, name="imgsim-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop watching. Moves and deletions already seen are applied; unfinished files are left to
        the reconciliation pass of the next start. Safe to call twice."""
        if not self._started:
            return
        self._started = False
        self._stop.set()
        self._cancel.cancel()
        self._wake.set()
        obs, self._observer = self._observer, None
        if obs is not None:
            try:
                obs.stop()
                obs.join(timeout)
            except Exception:  # pragma: no cover
                log.debug("observer stop failed", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._log_handler is not None:
            logging.getLogger("watchdog.observers").removeHandler(self._log_handler)
            self._log_handler = None

    def __enter__(self) -> "LibraryWatcher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._started and self._thread is not None and self._thread.is_alive()

    @property
    def roots(self) -> list[Path]:
        return self._tracker.paths()

    @property
    def _observer(self):
        return self._tracker.observer

    @_observer.setter
    def _observer(self, observer) -> None:
        self._tracker.observer = observer

    @property
    def _root_ids(self) -> dict[str, tuple[int, int] | None]:
        """root -> (device, inode) while watched, None while unavailable (read by tests)."""
        return self._tracker.ids

    def _on_library_change(self, event) -> None:
        # runs on whichever thread wrote: only note it, the watcher thread re-reads the folders
        if getattr(event, "kind", None) == "folders":
            self._folders_changed = True
            self._wake.set()

    def refresh_folders(self) -> None:
        """Re-read ``lib.folders()`` soon (in the watcher's thread): watch and reconcile new folders, stop
        watching removed ones. ``add_folder``/``remove_folder`` on the library trigger this by themselves,
        and the watcher also re-reads the folders every ``poll_s`` seconds."""
        self._folders_changed = True
        self._wake.set()

    def scanned_elsewhere(self, roots: Iterable[str | os.PathLike]) -> None:
        """Folders the app is adding and indexes itself: watched once they are the library's, not rescanned
        by the watcher (so the user's Cancel of that indexing holds)."""
        self._tracker.scanned_elsewhere(roots)

    def request_rescan(self, reason: str = "request", roots: Iterable[str | os.PathLike] | None = None) -> None:
        """Ask for an incremental ``lib.scan`` of ``roots`` (default: all) in the watcher's thread."""
        self._tracker.request_rescan(reason, roots)
        self._wake.set()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is pending (events, files settling, rescans). For tests and scripts; events
        the kernel has not delivered yet are not known here."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle.is_set() and not (self._inbox or self._tracker.rescan or self._overflow):
                return True
            time.sleep(0.05)
        return False

    # ------------------------------------------------------------------ observer thread -> queue

    def _make_handler(self) -> _Handler:
        return _Handler(self._tracker, self._put, self._lost)

    def _put(self, item: tuple) -> None:
        self._inbox.append(item + (time.monotonic(),))
        self.idle.clear()
        self._wake.set()

    def _lost(self) -> None:
        """Events were lost (kernel queue overflow, a handler failure): reconcile. Runs in watchdog's
        threads: no locks, only flags."""
        self._overflow = True
        self._wake.set()

    def _sync_roots(self, initial: bool) -> None:
        """Match the watches to ``lib.folders()`` (see ``WatchRoots.sync``); wake the loop for a rescan."""
        if self._tracker.sync(initial, self.scan_on_start):
            self._wake.set()

    # ------------------------------------------------------------------ worker thread

    def _run(self) -> None:
        self._next_poll = time.monotonic() + self.poll_s
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # never let the thread die
                self._report(exc, "watcher loop")
                self._stop.wait(0.5)
        # stopping: apply the cheap part (moves, deletions) so embeddings are kept; files not yet applied
        # are found by the reconciliation pass of the next start
        try:
            self._drain()
            if self._moves or self._removed:
                batch = self._new_batch("events")
                self._apply_moves(batch)
                gone = [p for p in self._removed if not os.path.lexists(p)]
                self._removed.clear()
                if gone:
                    batch.removed = gone
                    batch.removed_count = int(self.lib.remove_paths([Path(p) for p in gone]) or 0)
                self._finish(batch)
        except Exception as exc:
            self._report(exc, "final batch")

    def _step(self) -> None:
        now = time.monotonic()
        if now >= self._next_poll or self._folders_changed:
            self._next_poll = now + self.poll_s
            self._folders_changed = False
            self._sync_roots(initial=False)
        if self._overflow:
            self._overflow = False
            log.warning("file system events were lost; reconciling all watched folders")
            self.request_rescan("overflow")
        rescan = self._tracker.take_rescan()
        self._drain()
        if rescan:
            self._reconcile(rescan)
        now = time.monotonic()
        if self._dirty_since:
            quiet = now - self._last_event >= self._quiet_s()
            if quiet or now - self._dirty_since >= self.max_delay_s:
                self._flush(now)
        elif self._pending:
            self._flush(now)  # files waiting to settle: check them again

        self._wake.clear()
        if self._tracker.rescan or self._overflow or self._folders_changed:
            return
        if self._inbox and not self._dirty_since:
            return  # events came in while a batch was applied: take them in first
        if self._dirty_since:
            # events seen, not yet quiet: sleep to the quiet point (not woken by each further event)
            # (the plain debounce first: a write seen meanwhile may lift the move-pairing wait)
            quiet_s = self._quiet_s()
            if now - self._last_event < self.debounce_s:
                quiet_s = self.debounce_s
            due = min(self._last_event + quiet_s, self._dirty_since + self.max_delay_s)
            self._stop.wait(max(0.01, due - time.monotonic()))
        elif self._pending:
            self._stop.wait(min(0.25, max(0.05, self.settle_s / 4)))
        elif not self._inbox:
            self.idle.set()
            self._wake.wait(max(0.0, self._next_poll - time.monotonic()))

    def _quiet_s(self) -> float:
        return max(self.debounce_s, _MOVE_PAIR_WINDOW_S) if self._arrivals else self.debounce_s

    def _drain(self) -> None:
        """Move queued events into the pending state (paths rebased by moves, dropped by deletions)."""
        inbox = self._inbox
        while inbox:
            item = inbox.popleft()
            kind, t = item[0], item[-1]
            self._events += 1
            if not self._dirty_since:
                self._dirty_since = t
            self._last_event = max(self._last_event, t)
            if kind in ("created", "modified", "closed", "attrib", "arrived"):
                p = item[1]
                if kind in ("arrived", "created"):
                    self._arrivals.add(p)
                elif kind in ("modified", "closed"):
                    self._arrivals.discard(p)   # written here: a new file, not a moved one
                e = self._pending.get(p)
                if e is None:
                    e = self._pending[p] = _Pending(last_event=t)
                e.last_event = t
                self._removed.pop(p, None)   # deleted, then made again
                if kind == "modified":
                    e.writing, e.complete = True, False
                elif kind == "closed" or kind == "arrived":
                    e.writing, e.complete = False, True
                e.stat = None
            elif kind == "walk":
                self._arrivals.add(item[1])
                self._removed.pop(item[1], None)
                for p in _walk_images(item[1], self._tracker.wanted_file):
                    self._pending[p] = _Pending(last_event=t, complete=True)
            elif kind == "remove":
                p, is_dir = item[1], item[2]
                for q in [q for q in self._pending if (_under(q, p) if is_dir else q == p)]:
                    del self._pending[q]
                if not self._removed:
                    self._removed_since = t
                self._removed[p] = is_dir
            elif kind == "move":
                src, dst, is_dir = item[1], item[2], item[3]
                if src == dst:
                    continue
                for table in (self._pending, self._removed):
                    moved = {}
                    for q in list(table):
                        nq = _rebase(q, src, dst) if is_dir else (dst if q == src else None)
                        if nq is not None:
                            moved[nq] = table.pop(q)
                    table.update(moved)
                self._moves.append((src, dst, is_dir))



    def _new_batch(self, reason: str) -> WatchBatch:
        self._batch_no += 1
        self.idle.clear()
        b = WatchBatch(number=self._batch_no, reason=reason, events=self._events)
        b._t0 = time.monotonic()  # type: ignore[attr-defined]
        self._events = 0
        return b

    def _flush(self, now: float) -> None:
        """Apply the moves in order, then one ``update_paths`` for every complete file and every deletion.

        Deletions go through ``update_paths`` too (it drops what is gone) so that a deletion and a creation
        of the same content in one batch, a move the kernel reported as two halves, keeps its vector."""
        self._dirty_since = 0.0
        self._arrivals.clear()
        batch = None
        if self._moves:
            batch = self._new_batch("events")
            self._apply_moves(batch)
        ready: list[str] = []
        for p, e in list(self._pending.items()):
            if e.ready(p, now, self.settle_s, self.write_timeout_s):
                ready.append(p)
        removed = _outermost(self._removed)
        if removed and len(ready) < len(self._pending) and now - self._removed_since < self.max_delay_s:
            # files still settling may be the other half of these deletions (a move inotify could not
            # pair): hold deletions and creations so that they meet in one update_paths call, which
            # matches them by content and keeps ids and vectors
            ready, removed = [], []
        for p in ready:
            del self._pending[p]
        if removed:
            # a deleted folder that is being filled again: drop its old entries now; walking it would
            # index files that are still being written
            busy = [d for d, is_dir in self._removed.items() if is_dir and any(_under(q, d) for q in self._pending)]
            self._removed.clear()
            batch = batch or self._new_batch("events")
            batch.removed = removed
            if busy:
                try:
                    batch.removed_count += int(self.lib.remove_paths([Path(d) for d in busy]) or 0)
                except Exception as exc:
                    batch.errors.append(f"remove {busy}: {exc}")
                    self._report(exc, f"removing {len(busy)} folder(s)")
                removed = [p for p in removed if p not in busy]
        if ready or removed:
            batch = batch or self._new_batch("events")
            batch.updated = ready
            self._update(batch, ready + removed)
        if batch is not None:
            self._finish(batch)



    def _apply_moves(self, batch: WatchBatch) -> None:
        moves, self._moves = self._moves, []
        for src, dst, is_dir in moves:
            # the library indexes the destination itself when it never knew the source
            self.current_move = (src, dst)
            try:
                if not is_dir and src != dst and self.lib.file_by_path(dst) is not None \
                        and self.lib.file_by_path(src) is not None:
                    # moved over another photo: that one is gone (its vector must leave the index too)
                    batch.removed_count += int(self.lib.remove_paths([Path(dst)]) or 0)
                n = int(self.lib.move_path(Path(src), Path(dst)) or 0)
                batch.moved.append((src, dst))
                batch.moved_count += n
            except Exception as exc:
                batch.errors.append(f"move {src} -> {dst}: {exc}")
                self._report(exc, f"moving {src} -> {dst}")
            finally:
                self.current_move = None

    def _reconcile(self, roots: dict[str, str]) -> None:
        # lib.scan(folders) adds its folders to the library: never resurrect one removed meanwhile
        current = set(self._tracker.library_roots())
        existing = [r for r in roots if r in current and os.path.isdir(r)]
        if not existing:
            return
        reasons = sorted(set(roots[r] for r in existing))
        batch = self._new_batch("+".join(reasons))
        # pending moves first: they keep ids and vectors (the scan would match most by content anyway)
        self._apply_moves(batch)
        batch.scanned = existing
        try:
            batch.reports.append(self.lib.scan([Path(r) for r in existing], cancel=self._cancel))
        except Cancelled:
            pass
        except Exception as exc:
            batch.errors.append(f"scan: {exc}")
            self._report(exc, "reconciling " + ", ".join(existing))
        self._finish(batch)

    def _update(self, batch: WatchBatch, paths: list[str]) -> None:
        if self._stop.is_set():
            return
        try:
            batch.reports.append(self.lib.update_paths([Path(p) for p in paths], cancel=self._cancel))
        except Cancelled:
            pass
        except Exception as exc:
            batch.errors.append(f"update {len(paths)} file(s): {exc}")
            self._report(exc, f"updating {len(paths)} file(s)")

    def _finish(self, batch: WatchBatch) -> None:
        batch.duration_s = time.monotonic() - batch._t0  # type: ignore[attr-defined]
        self.batches += 1
        log.debug("batch %d (%s): %d updated, %d moved, %d removed, %d scanned in %.2fs", batch.number,
                  batch.reason, len(batch.updated), len(batch.moved), len(batch.removed), len(batch.scanned),
                  batch.duration_s)
        if self.on_batch is not None:
            try:
                self.on_batch(batch)
            except Exception as exc:
                self._report(exc, "on_batch callback")

    def _report(self, exc: BaseException, what: str) -> None:
        log.error("watcher: %s failed: %s", what, exc, exc_info=not isinstance(exc, (OSError,)))
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception:
                log.exception("on_error callback failed")
