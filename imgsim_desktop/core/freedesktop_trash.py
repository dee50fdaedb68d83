"""The freedesktop trash as the undo of a trash needs it: where send2trash put a file (the trash of its
device, or the home trash), read back from the .trashinfo entries that name it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import quote, unquote


def _freedesktop() -> bool:
    return sys.platform.startswith("linux") or (sys.platform not in ("darwin", "win32") and os.name == "posix")


def _home_trash() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(xdg) / "Trash"


def _sync_send2trash_env() -> None:
    """send2trash's own freedesktop code reads $XDG_DATA_HOME once, at import; honour the current value."""
    mod = sys.modules.get("send2trash.plat_other")
    if mod is None:
        return
    xdg = os.fsencode(os.path.expanduser(os.environ.get("XDG_DATA_HOME") or "~/.local/share"))
    mod.XDG_DATA_HOME = xdg
    mod.HOMETRASH_B = os.path.join(xdg, b"Trash")
    mod.HOMETRASH = os.fsdecode(mod.HOMETRASH_B)


def _mount_point(path: Path) -> Path:
    p = Path(os.path.realpath(path))
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return p


def _trash_dirs_for(path: Path) -> list[tuple[Path, Path]]:
    """Candidate (trash dir, topdir for relative Path= entries) pairs that may hold a file trashed from path."""
    home = _home_trash()
    out = [(home, home.parent)]
    try:
        top = _mount_point(path.parent)
    except OSError:
        return out
    uid = os.getuid() if hasattr(os, "getuid") else 0
    for cand in (top / ".Trash" / str(uid), top / f".Trash-{uid}"):
        if cand.is_dir() and cand != home:
            out.append((cand, top))
    return out


def _read_trashinfo(info: Path, topdir: Path) -> str | None:
    try:
        text = info.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Path="):
            raw = unquote(line[5:].strip(), errors="surrogateescape")   # a non-UTF-8 name stays exact
            p = raw if os.path.isabs(raw) else os.path.join(topdir, raw)
            return os.path.normpath(p)
    return None


def find_trash_entry(original: str | Path, exclude: set[str] = frozenset()) -> tuple[Path, Path] | None:
    """The newest freedesktop trash entry (info file, files/ entry) whose Path= is ``original``."""
    original = os.path.normpath(os.path.abspath(original))
    best: tuple[float, Path, Path] | None = None
    for trash, topdir in _trash_dirs_for(Path(original)):
        info_dir = trash / "info"
        if not info_dir.is_dir():
            continue
        base = os.path.basename(original)
        stem, ext = os.path.splitext(base)
        for info in info_dir.iterdir():
            name = info.name
            if not name.endswith(".trashinfo") or str(info) in exclude:
                continue
            # cheap filter: send2trash / gio name the entry after the file, maybe with a counter
            # (the name's bytes: a name that is not UTF-8 holds surrogates, which str quoting refuses)
            if not (name.startswith(stem) or name.startswith(quote(os.fsencode(stem)))):
                continue
            if _read_trashinfo(info, topdir) != original:
                continue
            files_entry = trash / "files" / name[: -len(".trashinfo")]
            if not os.path.lexists(files_entry):
                continue
            mtime = info.stat().st_mtime
            if best is None or mtime >= best[0]:
                best = (mtime, info, files_entry)
    return None if best is None else (best[1], best[2])
