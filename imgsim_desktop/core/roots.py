"""The one home of the path rules: which paths are under which root, which files are photos, how a folder
is walked, when a folder is offline rather than emptied, and how a path is stored and shown.

The scanner, the watcher, the catalog and the GUI settings all ask here, so the rules cannot drift apart.

- Paths are bytes on POSIX. Python hands a name that is not valid UTF-8 (``caf\\xe9.jpg`` from an old zip) to
  us as a str with lone surrogates (``'caf\\udce9.jpg'``), which SQLite cannot store. :func:`db_path` /
  :func:`from_db_path` are the one lossless codec for storage (a NUL, which no path can hold, escapes each
  such byte; "/" and prefixes are kept, so range queries on the catalog still work); :func:`display_path`
  shows such names with a replacement character.
- Only regular files are photos: a FIFO, socket or device named ``x.jpg`` is never opened for reading
  (opening a FIFO blocks until a writer comes). :func:`open_regular` opens without blocking and checks.
- A folder that looks empty (nothing but hidden entries) while the library knows photos under it, or a
  folder that was the mount point of another device and vanished, is *offline*: an unmounted drive, not
  photos deleted. Its photos are kept until it is back.
"""

from __future__ import annotations

import errno
import itertools
import logging
import operator
import os
import re
import stat
from typing import Callable, Iterable, Iterator, NamedTuple

# a folder's own problem, stored as an error entry at the folder's path (not a photo: `status` counts it apart)
FOLDER_UNREADABLE = "folder cannot be read"
FOLDER_NOT_ENTERABLE = "permission denied: its files cannot be opened"

log = logging.getLogger(__name__)

SEP = os.sep


# ---------------------------------------------------------------------------------------------- storing

_SURROGATE = re.compile("[\udc80-\udcff]")
_ESCAPED = re.compile("\x00([0-9a-f]{2})")


def db_path(path: str) -> str:
    """A path as the catalog (and any text log) stores it: lossless, valid UTF-8, prefix-preserving."""
    if "\x00" in path:  # cannot be a real path; refuse rather than alias an escaped one
        raise ValueError("a path cannot contain NUL")
    return _SURROGATE.sub(lambda m: "\x00%02x" % (ord(m.group()) - 0xDC00), path)


def from_db_path(stored: str) -> str:
    """The inverse of :func:`db_path`: the str Python's os functions take (surrogate-escaped bytes)."""
    if "\x00" not in stored:
        return stored
    return _ESCAPED.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), stored)


def display_path(path: str | os.PathLike) -> str:
    """A path for people: bytes that are not UTF-8 show as U+FFFD (never raises on printing)."""
    p = os.fspath(path)
    if isinstance(p, bytes):
        return p.decode("utf-8", "replace")
    if not _SURROGATE.search(p):
        return p
    return os.fsencode(p).decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------- roots

def norm(path: str | os.PathLike) -> str:
    """Absolute and normalised (symlinks are not resolved: a watched folder keeps the name it was given)."""
    return os.path.normpath(os.path.abspath(os.fspath(path)))


def under(path: str, root: str) -> bool:
    """``path`` is ``root`` or lies below it (by whole path components, never by string prefix)."""
    if path == root:
        return True
    r = root.rstrip(SEP) or SEP
    return path.startswith(r if r == SEP else r + SEP)


def under_any(path: str, roots: Iterable[str]) -> bool:
    return any(under(path, r) for r in roots)


def prefix_range(root: str) -> tuple[str, str]:
    """[lo, hi) bounds of every path strictly below ``root`` (for the catalog's index range queries)."""
    r = root.rstrip(SEP)
    return r + SEP, r + chr(ord(SEP) + 1)


def rebase(path: str, src: str, dst: str) -> str | None:
    """``path`` moved along with ``src`` -> ``dst``, or None when it is not under ``src``."""
    if path == src:
        return dst
    prefix = src.rstrip(SEP) + SEP
    if path.startswith(prefix):
        return os.path.join(dst, path[len(prefix):])
    return None


def outermost(roots: Iterable[str]) -> list[str]:
    """The roots less those inside another one (an outer walk or recursive watch covers them), sorted."""
    out: list[str] = []
    for r in sorted(set(roots), key=lambda p: (len(p), p)):
        if not any(under(r, o) for o in out):
            out.append(r)
    return sorted(out)


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def hidden_below(path: str, root: str) -> bool:
    """A component of ``path`` below ``root`` is hidden (such files and folders are never photos)."""
    rel = path[len(root):].lstrip(SEP) if under(path, root) else path
    return any(is_hidden(part) for part in rel.split(SEP) if part)


def is_excluded(path: str | os.PathLike, excluded: Iterable[str | os.PathLike]) -> bool:
    """``path`` lies in one of the ``excluded`` folders."""
    p = norm(path)
    return any(under(p, norm(e)) for e in excluded)


# ---------------------------------------------------------------------------------------------- files

def is_regular(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode)


def kind_of(st: os.stat_result) -> str:
    m = st.st_mode
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a directory")):
        if test(m):
            return name
    return "not a regular file"


class NotRegularFile(OSError):
    """The path names a FIFO, socket, device or folder: never read as a photo."""


def open_regular(path: str | os.PathLike):
    """Open a regular file for binary reading without ever blocking (a FIFO is refused, not waited on)."""
    nonblock = getattr(os, "O_NONBLOCK", 0)   # POSIX: opening a FIFO must not wait for a writer
    flags = os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not is_regular(st):
            raise NotRegularFile(errno.EINVAL, f"not a regular file ({kind_of(st)})", os.fspath(path))
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# ---------------------------------------------------------------------------------------------- walking

class Found(NamedTuple):
    path: str
    size: int
    mtime_ns: int
    dev: int
    ino: int
    link: bool   # reached through a symlink
    nlink: int = 1   # more than 1: hard-linked elsewhere


def looks_empty(folder: str) -> bool:
    """Nothing but hidden entries (the bare mount point of an unmounted drive may hold a ``.Trash``);
    unreadable or missing counts as empty."""
    try:
        with os.scandir(folder) as it:
            return not any(not is_hidden(e.name) for e in it)
    except OSError:
        return True


def walk_images(root: str, skip: Iterable[str] = (), on_error: Callable[[str, str], None] | None = None,
                mounts: set[str] | None = None) -> Iterator[Found]:
    """Regular image files below ``root``; hidden entries, ``skip`` folders and special files left out.

    Directory symlinks are not followed, so a symlink loop cannot hang a scan. A file symlink is followed
    (it is reported with ``link=True`` so the caller can prefer the real file). ``on_error(folder, reason)``
    hears about folders that cannot be listed; ``mounts`` collects folders on another device than their
    parent (mount points: see :func:`offline_below`). In path order (see :func:`walk_entries`).
    """
    for e in walk_entries(root, skip, on_error, mounts):
        try:
            st = e.stat()
            link = e.is_symlink()
        except OSError:   # vanished meanwhile
            continue
        yield Found(e.path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, link, st.st_nlink)


def walk_entries(root: str, skip: Iterable[str] = (), on_error: Callable[[str, str], None] | None = None,
                 mounts: set[str] | None = None) -> Iterator[os.DirEntry]:
    """:func:`walk_images`'s files as ``os.DirEntry`` objects (``stat()`` follows a file symlink; it may
    raise for a file that vanished since the listing), in path order: see :func:`walk_runs`."""
    return itertools.chain.from_iterable(walk_runs(root, skip, on_error, mounts))


def walk_runs(root: str, skip: Iterable[str] = (), on_error: Callable[[str, str], None] | None = None,
              mounts: set[str] | None = None) -> Iterator[list[os.DirEntry]]:
    """:func:`walk_entries` a run at a time (consecutive photos of one folder), for a caller with a loop per
    file of a million-photo rescan.

    The order is that of the paths as strings: a folder's entries sorted by ``name``, a subfolder as
    ``name + "/"`` and walked where it sorts. It is the order of the catalog's path index, so a rescan
    merges the two listings as it goes instead of holding both in dicts."""
    skip = {norm(s) for s in skip}
    if norm(root) in skip:
        return
    try:
        root_dev = os.stat(root).st_dev
    except OSError:
        root_dev = -1
    stack = [iter(_sorted_listing(root, root_dev, on_error, mounts))]
    while stack:
        for item in stack[-1]:
            if type(item) is list:
                yield item
            elif norm(item[0].path) not in skip:
                stack.append(iter(_sorted_listing(item[0].path, item[1], on_error, mounts)))
                break
        else:
            stack.pop()


_NAME = operator.attrgetter("name")


def _sorted_listing(d: str, dev: int, on_error, mounts) -> list:
    """One folder of :func:`walk_runs`, in path order: runs of photo files (lists of entries) and
    subfolders ((entry, its device) tuples)."""
    from .decode import is_image_name  # decode uses open_regular from here

    try:
        with os.scandir(d) as it:
            entries = list(it)
    except OSError as exc:
        if on_error is not None:   # the caller lists it among the scan's problems: said once, there
            on_error(d, f"{FOLDER_UNREADABLE} ({exc.strerror or exc})")
        else:
            log.warning("cannot list %s: %s", display_path(d), exc.strerror or exc)
        return []
    files: list[os.DirEntry] = []
    dirs: list[tuple[str, os.DirEntry, int]] = []
    for e in entries:
        name = e.name
        if name[0] == ".":   # is_hidden
            continue
        try:
            if is_image_name(name) and e.is_file():   # is_file(): S_ISREG, following a file symlink
                files.append(e)
            elif e.is_dir(follow_symlinks=False):
                sub_dev = e.stat(follow_symlinks=False).st_dev
                if mounts is not None and sub_dev != dev:
                    mounts.add(e.path)
                dirs.append((name + SEP, e, sub_dev))
        except OSError:
            continue
    files.sort(key=_NAME)
    if not dirs:
        return [files] if files else []
    dirs.sort(key=operator.itemgetter(0))
    out: list = []
    i = 0
    for key, e, sub_dev in dirs:   # the files sorting before each subfolder, then the subfolder
        j = i
        while j < len(files) and files[j].name < key:
            j += 1
        if j > i:
            out.append(files[i:j])
        out.append((e, sub_dev))
        i = j
    if i < len(files):
        out.append(files[i:])
    return out


def mount_offline(mount_point: str) -> bool:
    """A folder that was the mount point of another device is offline when it vanished, or when it is back
    on its parent's device (unmounted) and holds nothing but hidden entries. A drive still mounted is
    online even when emptied by hand: its deletions are real."""
    try:
        st = os.stat(mount_point)
        parent = os.stat(os.path.dirname(mount_point.rstrip(SEP)) or SEP)
    except OSError:
        return True
    if st.st_dev != parent.st_dev:
        return False
    return looks_empty(mount_point)


def offline_below(path: str, mount_points: Iterable[str]) -> str | None:
    """The offline mount point (see :func:`mount_offline`) that ``path`` lies under, or None. Photos
    there are offline (an unplugged drive), not deleted."""
    for m in mount_points:
        if under(path, m) and mount_offline(m):
            return m
    return None


def dedupe_links(found: Iterable[Found], known: Callable[[str], bool] = lambda p: False) -> tuple[list[Found], list[Found]]:
    """(files, aliases): one path per file on disk. Hard links and symlinks to one file are that file once,
    never a duplicate of it. Kept: a path that is not a symlink, then one the catalog knows, then the first."""
    found = list(found)
    # only a symlink or a hard-linked file can share its file with another path: group those (and any
    # plain path to the same file); every other path is its own file
    shared = {(f.dev, f.ino) for f in found if f.link or f.nlink > 1}
    keep, aliases = [], []
    groups: dict[tuple[int, int], list[Found]] = {}
    for f in found:
        if shared and (f.dev, f.ino) in shared:
            groups.setdefault((f.dev, f.ino), []).append(f)
        else:
            keep.append(f)
    for members in groups.values():
        if len(members) == 1:   # nearly every file: nothing to choose
            keep.append(members[0])
            continue
        members.sort(key=lambda f: (f.link, not known(f.path), f.path))
        keep.append(members[0])
        aliases.extend(members[1:])
    return keep, aliases


def stat_image(path: str) -> os.stat_result | None:
    """The stat of a regular file (following a symlink), or None for anything else or a missing path."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st if is_regular(st) else None


def same_file(a: str, b: str) -> bool:
    """Two paths name one file (a hard link or a symlink to it)."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
