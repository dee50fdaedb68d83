"""How the process gives freed memory back to the system.

glibc trims the top of its heap as soon as 128 KB there are free, so every decode and every pixel comparison
that frees a few MB makes the next one fault the same pages back in: 40 % of the time of finding a photo's
local features (`imgsim` decode and verification, measured in docs/benchmark.md). Keeping up to 64 MB free at
the top costs that much memory at most, once."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
TRIM_BYTES = 64 << 20
_done = False


def keep_freed_memory() -> bool:
    """Raise glibc's trim threshold (once per process); False where the C library is not glibc."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):   # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    _done = bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))
    return _done
