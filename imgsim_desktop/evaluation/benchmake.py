"""Write a near-duplicate benchmark (``imgsim bench-make``) in the layout that ``layout.read_layout`` reads.

Why a module of its own: building a benchmark (editing photos, linking ready-made pairs and folders) is
done once, offline, and shares nothing with measuring methods except the folder layout.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Iterable

from imgsim_desktop.core.errors import DecodeError
from imgsim_desktop.core.progress import Progress

from .layout import BenchError, _images_in, _subdirs


def _save_jpeg(img, path: Path, quality: int = 92) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    img.save(tmp, format="JPEG", quality=quality)
    os.replace(tmp, path)


def make_benchmark(originals: Path, out_dir: Path, seed: int = 0, edits: Iterable[str] | None = None,
                   progress: Progress | None = None) -> list[str]:
    """For every photo in ``originals`` write ``out_dir/groups/<stem>/original.jpg`` and one copy per edit,
    ``<edit>.jpg``, each edit seeded from (seed, photo, edit) so one copy does not depend on the others.
    Returns the group names."""
    from imgsim_desktop.core.decode import load_image
    from imgsim_desktop.edits import EDITS

    names = list(EDITS) if edits is None else list(edits)
    unknown = [n for n in names if n not in EDITS]
    if unknown:
        raise BenchError(f"unknown edit(s): {', '.join(unknown)} (known: {', '.join(EDITS)})")
    files = _images_in(Path(originals))
    if not files:
        raise BenchError(f"no photos found in {originals}")
    out = Path(out_dir) / "groups"
    done: list[str] = []
    if progress:
        progress.start("bench-make", len(files))
    used: set[str] = set()
    for f in files:
        name = f.stem
        n = 2
        while name in used:
            name, n = f"{f.stem}_{n}", n + 1
        used.add(name)
        try:
            img, info = load_image(f)
        except DecodeError as exc:
            if progress:
                progress.advance(1, failed=1, message=str(exc))
            continue
        gdir = out / name
        gdir.mkdir(parents=True, exist_ok=True)
        if info.format == "JPEG" and f.suffix.lower() in (".jpg", ".jpeg"):
            shutil.copyfile(f, gdir / "original.jpg")  # the source bytes, untouched
        else:
            _save_jpeg(img, gdir / "original.jpg", quality=95)
        for e in names:
            rng = random.Random(f"{seed}/{name}/{e}")
            _save_jpeg(EDITS[e](img, rng), gdir / f"{e}.jpg")
        done.append(name)
        if progress:
            progress.advance(1)
    if progress:
        progress.finish()
    return done


def add_ready_groups(src: Path, out_dir: Path, prefix: str = "pair_", kind: str = "squash_reencode",
                     link: bool = True) -> list[str]:
    """Turn folders of ready-made near-duplicates (``src/<id>/*``) into groups ``<prefix><id>``: the image
    with the most pixels becomes ``original``, the others ``<kind>`` (``<kind>_2``...). Files are
    symlinked (or copied with ``link=False``)."""
    from imgsim_desktop.core.decode import read_info

    out = Path(out_dir) / "groups"
    names = []
    for d in _subdirs(Path(src)):
        files = _images_in(d)
        if len(files) < 2:
            continue

        def pixels(p: Path) -> int:
            try:
                i = read_info(p)
                return i.width * i.height
            except DecodeError:
                return -1

        files.sort(key=lambda p: (-pixels(p), p.name))
        g = out / f"{prefix}{d.name}"
        g.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(files):
            stem = "original" if i == 0 else (kind if i == 1 else f"{kind}_{i}")
            _place(f, g / f"{stem}{f.suffix.lower()}", link)
        names.append(g.name)
    return names


def add_folder(src: Path, dst: Path, link: bool = True) -> None:
    """``dst`` becomes a symlink to (or a copy of) the folder ``src``."""
    src, dst = Path(src).resolve(), Path(dst)
    if not src.is_dir():
        raise BenchError(f"folder not found: {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    elif dst.is_dir():
        shutil.rmtree(dst)
    if link:
        dst.symlink_to(src, target_is_directory=True)
    else:
        shutil.copytree(src, dst)


def _place(src: Path, dst: Path, link: bool) -> None:
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if link:
        dst.symlink_to(Path(src).resolve())
    else:
        shutil.copyfile(src, dst)
