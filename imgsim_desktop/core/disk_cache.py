"""Keeping a disk cache (the GUI's thumbnails) under a size cap, least recently used first.

The cache writer touches a file's mtime when it serves it, so mtime order is use order. Only files whose
names look like the cache's own (hex key + known suffix) are ever removed: a cache directory pointed at the
wrong place by mistake loses nothing else.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .progress import CancelToken

_CACHE_NAME = re.compile(r"^[0-9a-f]{16,64}\.(jpg|fail)$")
_STALE_TMP_S = 3600.0


@dataclass
class PruneResult:
    files_removed: int = 0
    bytes_freed: int = 0
    bytes_kept: int = 0
    files_kept: int = 0


def touch(path: Path) -> None:
    """Mark a cache file as just used (errors ignored: a read-only cache still serves)."""
    try:
        os.utime(path)
    except OSError:
        pass


def cache_size(root: Path) -> tuple[int, int]:
    """(files, bytes) of the cache's own files under ``root``."""
    n = b = 0
    for _p, st in _entries(Path(root)):
        n += 1
        b += st.st_size
    return n, b


def _entries(root: Path):
    try:
        subdirs = list(os.scandir(root))
    except OSError:
        return
    for d in subdirs:
        if not d.is_dir(follow_symlinks=False):
            continue
        try:
            files = list(os.scandir(d.path))
        except OSError:
            continue
        for f in files:
            if f.is_file(follow_symlinks=False) and (_CACHE_NAME.match(f.name) or f.name.endswith(".tmp")):
                try:
                    yield Path(f.path), f.stat(follow_symlinks=False)
                except OSError:
                    continue


def prune(root: str | Path, max_bytes: int, target_fraction: float = 0.8,
          cancel: CancelToken | None = None) -> PruneResult:
    """When the cache is over ``max_bytes``, remove least recently used files until it is under
    ``target_fraction * max_bytes`` (so pruning is rare, not on every start). Leftover temp files from a
    crashed writer go regardless once they are an hour old."""
    now = time.time()
    res = PruneResult()
    live = []
    for p, st in _entries(Path(root)):
        if p.name.endswith(".tmp"):
            if now - st.st_mtime > _STALE_TMP_S:
                try:
                    p.unlink()
                    res.files_removed += 1
                    res.bytes_freed += st.st_size
                except OSError:
                    pass
            continue
        live.append((st.st_mtime, st.st_size, p))
    total = sum(s for _m, s, _p in live)
    removed = 0
    if total > max_bytes:
        goal = int(max_bytes * target_fraction)
        live.sort()  # oldest use first
        for _m, size, p in live:
            if total <= goal or (cancel is not None and cancel.cancelled):
                break
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                continue
            total -= size
            removed += 1
            res.bytes_freed += size
    res.files_removed += removed
    res.bytes_kept = total
    res.files_kept = len(live) - removed
    return res
