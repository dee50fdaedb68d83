"""One family of errors, each carrying a sentence a user can act on.

The CLI prints ``str(error)`` on one line and exits non-zero; the GUI shows it in its error panel.
"""

from __future__ import annotations

from pathlib import Path


class ImgsimError(Exception):
    """Base class: the message is meant for the user."""

    exit_code = 2


class DecodeError(ImgsimError):
    """A file could not be read as an image. Recorded in the catalog; a scan goes on."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class ModelError(ImgsimError):
    """The model file is missing, corrupt or of another version."""

    exit_code = 3


class LibraryLockedError(ImgsimError):
    """Another process holds the library's writer lock."""

    exit_code = 4


class LibraryError(ImgsimError):
    """Anything else wrong with the library (missing folder, bad catalog...)."""


class LibraryReadOnlyError(LibraryError):
    """The library folder cannot be written (a read-only mount or permissions): queries still work."""


class Cancelled(ImgsimError):
    """Raised inside long work when the user cancelled it."""

    exit_code = 130
