"""Live sync, the folder side: which folders are watched, whether each is online, and what to reconcile.

Split from ``watcher.py``: keeping the watches in line with ``lib.folders()`` and telling an unmounted
drive from a deleted folder is its own job, apart from coalescing events into batches.

- The roots are the library's folders, less those inside another (one recursive watch covers them) and
  anything in the library folder itself. Hidden folders below a root and non-image files are not wanted.
- Reconciliation (``lib.scan``) is asked for a root at start, for a folder added to the library while
  watching, and for a watched folder that went away and came back (an unmounted drive): the watcher polls
  ``sync`` every ``poll_s`` seconds. A folder that is gone is not treated as deleted: its photos stay until
  it comes back and is rescanned. An empty folder where the library knows photos counts as gone (the bare
  mount point of an unmounted drive must not read as "all deleted").
- ``lock`` guards ``roots``/``watches``/``rescan`` between the watcher's thread and its callers; the
  ``wanted_*`` checks run in the observer thread without it (``roots`` is only ever replaced whole).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from .decode import is_image_path
from .roots import hidden_below, looks_empty
from .roots import norm as _norm
from .roots import under as _under
from .watch_events import _EVENT_FILTER

# one logger for the whole watcher (this module, watch_events and watcher), as before the split
log = logging.getLogger(__package__ + ".watcher")


class WatchRoots:
    """The watched roots of one ``LibraryWatcher`` and their watches on its observer.

    ``make_handler()`` gives the event handler for a new watch; ``report(exc, what)`` reports a failure.
    ``observer`` is set by the watcher while it runs (None otherwise)."""

    def __init__(self, library, make_handler: Callable[[], Any],
                 report: Callable[[BaseException, str], None]):
        self.lib = library
        home = Path(library.home)
        self.homes = {_norm(home), _norm(os.path.realpath(home))}
        self._make_handler = make_handler
        self._report = report
        self.observer = None
        self.lock = threading.Lock()          # guards roots/watches/rescan between threads
        self.roots: list[str] = []            # watched roots (normalised, none inside another)
        self.watches: dict[str, Any] = {}     # root -> ObservedWatch (absent while the root is missing)
        self.ids: dict[str, tuple[int, int] | None] = {}
        self.unwatchable: set[str] = set()    # roots whose watch failed (warned once)
        self.empty_roots: dict[str, tuple[tuple[int, int], bool]] = {}   # root -> (id, library has photos)
        self.rescan: dict[str, str] = {}      # root -> reason, to reconcile with lib.scan
        self.scanned_by_app: set[str] = set()  # new roots the app indexes itself: no reconciling scan of ours

    def reset(self) -> None:
        """A new observer: every root is watched (and reconciled) afresh."""
        with self.lock:
            self.roots, self.watches, self.ids = [], {}, {}

    def paths(self) -> list[Path]:
        with self.lock:
            return [Path(r) for r in self.roots]

    # ------------------------------------------------------------------ rescans

    def request_rescan(self, reason: str, roots: Iterable[str | os.PathLike] | None = None) -> None:
        with self.lock:
            targets = [_norm(r) for r in roots] if roots is not None else list(self.roots)
            for r in targets:
                self.rescan.setdefault(r, reason)

    def scanned_elsewhere(self, roots: Iterable[str | os.PathLike]) -> None:
        """The app indexes these folders itself (it is adding them): when they become roots, watch them but
        do not reconcile them with a scan of our own. That scan ran beside the app's and went on after the user
        cancelled the app's, indexing everything the user had just stopped."""
        with self.lock:
            for r in map(_norm, roots):
                if r not in self.roots:
                    self.scanned_by_app.add(r)
                if self.rescan.get(r) == "new-folder":
                    del self.rescan[r]

    def take_rescan(self) -> dict[str, str]:
        with self.lock:
            rescan, self.rescan = self.rescan, {}
        return rescan

    # ------------------------------------------------------------------ filtering (observer thread)

    def root_of(self, path: str) -> str | None:
        best = None
        for r in self.roots:
            if _under(path, r) and (best is None or len(r) > len(best)):
                best = r
        return best

    def is_root(self, path: str) -> bool:
        return path in self.roots

    def wanted_dir(self, path: str) -> bool:
        root = self.root_of(path)
        if root is None or any(_under(path, h) for h in self.homes):
            return False
        return not hidden_below(path, root)

    def wanted_file(self, path: str) -> bool:
        return is_image_path(path) and self.wanted_dir(path) and not self.is_root(path)

    # ------------------------------------------------------------------ roots

    def library_roots(self) -> list[str]:
        roots = sorted({_norm(p) for p in self.lib.folders()}, key=len)
        keep: list[str] = []
        for r in roots:
            if any(_under(r, k) for k in keep):
                continue  # inside another watched folder: its recursive watch covers it
            if any(_under(r, h) for h in self.homes):
                continue
            keep.append(r)
        return keep

    @staticmethod
    def _root_id(root: str) -> tuple[int, int] | None:
        try:
            st = os.stat(root)
        except OSError:
            return None
        return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None

    def _online_id(self, root: str) -> tuple[int, int] | None:
        """The root's (device, inode), or None while it is unavailable: missing, or an empty folder where
        the library knows photos (the bare mount point of an unmounted drive must not read as "all deleted")."""
        rid = self._root_id(root)
        if rid is None or rid == self.ids.get(root):
            return rid  # gone, or the very folder being watched (emptied by hand: events handle that)
        if not os.access(root, os.R_OK | os.X_OK):
            return None
        empty = looks_empty(root)   # nothing but hidden entries: a bare mount point may hold a .Trash
        if not empty:
            self.empty_roots.pop(root, None)
            return rid
        seen = self.empty_roots.get(root)
        if seen is None or seen[0] != rid:
            seen = (rid, self._has_photos_under(root))
            self.empty_roots[root] = seen
            if seen[1]:
                log.warning("watched folder %s is empty but the library has photos there: taken for an "
                            "unmounted drive (they are kept; run a scan to forget them)", root)
        return None if seen[1] else rid

    def _has_photos_under(self, root: str) -> bool:
        try:
            return bool(self.lib.catalog.files_under(root))
        except Exception:
            for f in self.lib.status().get("folders", []):
                if _norm(f.get("path", "")) == root:
                    return bool(f.get("files"))
            return False

    def _schedule(self, root: str) -> bool:
        obs = self.observer
        if obs is None:
            return False
        try:
            self.watches[root] = obs.schedule(self._make_handler(), root, recursive=True,
                                              event_filter=_EVENT_FILTER)
            return True
        except OSError as exc:
            if root not in self.unwatchable:
                self.unwatchable.add(root)
                log.warning("cannot watch %s: %s (is the inotify watch limit reached? "
                            "see /proc/sys/fs/inotify/max_user_watches)", root, exc)
            return False

    def _unschedule(self, root: str) -> None:
        watch = self.watches.pop(root, None)
        if watch is not None and self.observer is not None:
            try:
                self.observer.unschedule(watch)
            except Exception:
                log.debug("unschedule %s failed", root, exc_info=True)

    def sync(self, initial: bool, scan_on_start: bool) -> bool:
        """Match the watches to ``lib.folders()``; poll each root for disappearing and coming back.
        True when a rescan is pending (the watcher's thread should wake)."""
        try:
            wanted = self.library_roots()
        except Exception as exc:
            self._report(exc, "reading the library's folders")
            return False
        ids = {r: self._online_id(r) for r in wanted}   # may query the catalog: outside our lock
        with self.lock:
            for r in [r for r in self.roots if r not in wanted]:
                self._unschedule(r)
                self.ids.pop(r, None)
                self.rescan.pop(r, None)
            for r in wanted:
                rid = ids[r]
                if r not in self.roots:
                    # a new root: watch first, then reconcile, so nothing falls between the two
                    if rid is not None and self._schedule(r):
                        self.ids[r] = rid
                    else:
                        self.ids[r] = None
                        if rid is None:
                            log.warning("watched folder %s is not available; will watch it when it appears", r)
                    if not initial and r in self.scanned_by_app:
                        self.scanned_by_app.discard(r)   # the app's own scan covers it
                    elif rid is not None and (not initial or scan_on_start):
                        self.rescan.setdefault(r, "start" if initial else "new-folder")
                    continue
                old = self.ids.get(r)
                if rid == old:
                    # still the same folder; re-arm a watch whose emitter died (root deleted and recreated
                    # between two polls gets a new inode, so it lands in the branch below)
                    continue
                self._unschedule(r)
                if rid is None:
                    log.warning("watched folder %s went away; will rescan it when it comes back", r)
                    self.ids[r] = None
                    continue
                if self._schedule(r):
                    self.ids[r] = rid
                    log.info("watched folder %s is back; reconciling", r)
                    self.rescan.setdefault(r, "remount")
            self.roots = list(wanted)
        return bool(self.rescan)
