"""The library's single-writer lock: an OS file lock, released by the OS when the process dies (kill -9 too)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import LibraryLockedError, LibraryReadOnlyError

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class LockFile:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise LibraryReadOnlyError(
                    f"the library at {self.path.parent} is read-only ({exc.strerror}); queries work, "
                    "changes cannot be saved") from None
            raise
        if not _try_lock(fd):
            try:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() if hasattr(os, "pread") else ""
            finally:
                os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise LibraryLockedError(
                f"the library at {self.path.parent} is in use by another imgsim process{who}; "
                "close it or use another --library")
        try:  # the pid is only a hint for the "in use" message; a full disk must not stop us here
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0) if hasattr(os, "pwrite") else os.write(fd, str(os.getpid()).encode())
        except OSError:
            pass
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            _unlock(self.fd)
            os.close(self.fd)
            self.fd = None


def held_elsewhere(path: Path) -> bool:
    """Whether another process holds the writer lock at ``path`` right now (a read-only library has none)."""
    probe = LockFile(path)
    try:
        probe.acquire()
    except LibraryLockedError:
        return True
    except (LibraryReadOnlyError, OSError):
        return False
    probe.release()
    return False
