"""A rescan's first half: walk a folder and compare each file with its catalog row as both go by in path order,
so an unchanged file costs a stat and two string compares. What differs (new, changed, gone, links) is
handed to :class:`.scanner.Scanner`, which indexes it."""

from __future__ import annotations

import itertools
import os
from array import array
from typing import Iterator

from .catalog import STAMP_ERROR, STAMP_STALE
from .embedder import Prepared
from .progress import CancelToken, Progress
from .roots import FOLDER_NOT_ENTERABLE, Found, dedupe_links, from_db_path, walk_runs


class Listing:
    """What a rescan's walk found, compared with the catalog as it went (:func:`merge_root`).
    Catalog rows are ``Catalog.stamp_slices``'s tuples; a file to (re)index carries its row's id as tag."""

    def __init__(self):
        self.known: dict[str, tuple] = {}    # path -> catalog row no plain file matched (yet): gone, links...
        self.changed: list[Prepared] = []    # files whose row differs (size, mtime, or no vector yet)
        self.new: list[tuple[str, int, int]] = []     # plain files the merge met no row for
        self.side: list[Found] = []          # symlinks and hard-linked files: one path per file first
        self.devs, self.inos = array("Q"), array("Q")   # of the plain files (a symlink to one is that file)
        self.unsettled: set[int] = set()     # healthy rows without a vector of this model
        self.retry: set[str] = set()         # paths refused ("permission denied"): asked again once readable
        self.unchanged = 0
        self.found = 0
        self.stale = False                   # a row lacking the keeper's evidence was met (backfill_info)

    def keep_row(self, row: tuple) -> None:
        self.known[from_db_path(row[0])] = row

    def compare(self, path: str, size: int, mtime: int, row: tuple | None) -> None:
        if row is None:
            self.changed.append(Prepared(path=path, size=size, mtime_ns=mtime))
            return
        if row[4] == STAMP_STALE:
            self.stale = True
        if row[1] == size and row[2] == mtime and (row[3] not in self.unsettled or row[4] == STAMP_ERROR) \
                and not (row[4] == STAMP_ERROR and path in self.retry and os.access(path, os.R_OK)):
            self.unchanged += 1   # (a chmod changes neither size nor time: a refused file is tried when readable)
        else:
            self.changed.append(Prepared(path=path, size=size, mtime_ns=mtime, tag=row[3]))

    def settle(self) -> list[Prepared]:
        """The files to (re)index, in path order. Links become one path per file (a symlink to a plain file
        walked here is that file: :func:`dedupe_links` always keeps the path that is not a link); what the
        merge met out of order (a name whose stored form sorts differently) is matched by path here."""
        side = self.side
        want = {(f.dev, f.ino) for f in side if f.link and f.nlink == 1}
        if want:
            hit = {k for k in zip(self.devs, self.inos) if k in want}
            side = [f for f in side if not (f.link and (f.dev, f.ino) in hit)]
        files, _aliases = dedupe_links(side, self.known.__contains__)
        for f in files:
            self.compare(f.path, f.size, f.mtime_ns, self.known.pop(f.path, None))
        for path, size, mtime in self.new:
            self.compare(path, size, mtime, self.known.pop(path, None))
        self.stale = self.stale or any(row[4] == STAMP_STALE for row in self.known.values())
        self.changed.sort(key=lambda p: p.path)
        return self.changed


def merge_root(root: str, rows: Iterator[list[tuple]], listing: Listing, skip_dirs: list[str],
               unreadable: dict[str, str], seen_mounts: set[str], progress: Progress,
               cancel: CancelToken | None) -> None:
    """Walk ``root`` and compare each file with its catalog row as both go by in path order (the walk's
    and the catalog's order agree), so an unchanged file costs a stat and two string compares and no
    object is kept for it. Symlinks and hard-linked files are set aside for :func:`dedupe_links`; a
    file the merge did not meet in order is matched by path afterwards (:meth:`Listing.settle`)."""
    unsettled = listing.unsettled
    side = listing.side
    new = listing.new
    devs, inos = listing.devs, listing.inos
    keep_row = listing.keep_row
    rows_it = itertools.chain.from_iterable(rows)
    row = next(rows_it, None)
    unchanged = 0
    report_at = listing.found + 1000
    for run in walk_runs(root, skip_dirs, on_error=unreadable.__setitem__, mounts=seen_mounts):
        listing.found += len(run)
        if listing.found >= report_at and cancel is not None:
            report_at = listing.found + 1000
            cancel.check()
            progress.advance(0, message=f"{listing.found} files found")
        for e in run:
            path = e.path
            try:
                st = e.stat()
                link = e.is_symlink()
            except PermissionError:   # a folder that lists its names but cannot be entered: say so
                unreadable.setdefault(os.path.dirname(path), FOLDER_NOT_ENTERABLE)
                continue
            except OSError:   # vanished since the listing
                continue
            if link or st.st_nlink > 1:
                side.append(Found(path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, link, st.st_nlink))
                continue
            devs.append(st.st_dev)
            inos.append(st.st_ino)
            if row is None or row[0] != path:
                while row is not None and row[0] < path:
                    keep_row(row)
                    row = next(rows_it, None)
                if row is None or row[0] != path:
                    new.append((path, st.st_size, st.st_mtime_ns))
                    continue
            if row[1] == st.st_size and row[2] == st.st_mtime_ns and not row[4] and row[3] not in unsettled:
                unchanged += 1   # the common case: a healthy row with its vector and evidence
            else:
                listing.compare(path, st.st_size, st.st_mtime_ns, row)
            row = next(rows_it, None)
    while row is not None:   # nothing on disk sorts after these
        keep_row(row)
        row = next(rows_it, None)
    listing.unchanged += unchanged
