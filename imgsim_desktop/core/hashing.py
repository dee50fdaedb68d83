"""Content hash of a file: finds byte-identical copies and tells a modified file from a moved one.

xxh3_128 reads at memory speed, so hashing never dominates a scan; it is not a security hash.
"""

from __future__ import annotations

import os

import xxhash

from .errors import DecodeError
from .roots import NotRegularFile, open_regular

_CHUNK = 1 << 20  # 1 MiB: large enough for fast reads, small enough to keep memory flat on huge RAWs


def file_hash(path: str | os.PathLike) -> str:
    """xxh3_128 hex digest of the file's bytes, streamed; unreadable files raise DecodeError."""
    h = xxhash.xxh3_128()
    try:
        with open_regular(path) as fp:
            while chunk := fp.read(_CHUNK):
                h.update(chunk)
    except NotRegularFile as e:
        raise DecodeError(path, e.strerror) from None
    except FileNotFoundError:
        raise DecodeError(path, "file not found") from None
    except PermissionError:
        raise DecodeError(path, "permission denied") from None
    except IsADirectoryError:
        raise DecodeError(path, "is a directory, not a file") from None
    except OSError as e:
        raise DecodeError(path, f"cannot read file ({e.strerror or e})") from None
    return h.hexdigest()


def bytes_hash(data: bytes) -> str:
    """The same digest as :func:`file_hash`, for image bytes that never were a file (a paste, a drop)."""
    return xxhash.xxh3_128(data).hexdigest()
