"""Files that hold a photo's edits and metadata beside it: an XMP from Lightroom ("DSC_1001.xmp") or darktable
("DSC_1001.NEF.xmp"), an AAE from an iPhone, RawTherapee's .pp3, DxO's .dop. Trashed without them, they are left
orphaned in the folder; photo managers move them with the photo. A sidecar named after the stem alone serves
every file of that stem (a RAW and its JPEG): it goes only when all of them go."""

from __future__ import annotations

import os
from collections.abc import Iterable

EXTENSIONS = (".xmp", ".aae", ".pp3", ".dop")


def is_sidecar(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in EXTENSIONS


def companions(paths: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each sidecar of the photos in ``paths`` (absolute, normalised) -> every photo in its folder it belongs
    to: the one it is named after in full, or all that share its stem."""
    by_folder: dict[str, list[str]] = {}
    for p in paths:
        p = os.path.normpath(os.path.abspath(p))
        if not is_sidecar(p):
            by_folder.setdefault(os.path.dirname(p), []).append(p)
    out: dict[str, frozenset[str]] = {}
    for folder, photos in by_folder.items():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        sides = {n.lower(): n for n in names if is_sidecar(n)}
        if not sides:
            continue
        stems: dict[str, set[str]] = {}   # lower-case stem -> the folder's other files of that stem
        for n in names:
            if not is_sidecar(n):
                stems.setdefault(os.path.splitext(n)[0].lower(), set()).add(os.path.join(folder, n))
        for photo in photos:
            name = os.path.basename(photo)
            stem = os.path.splitext(name)[0].lower()
            for ext in EXTENSIONS:
                whole = sides.get(name.lower() + ext)
                if whole:
                    out[os.path.join(folder, whole)] = frozenset({photo})
                shared = sides.get(stem + ext)
                if shared:
                    out[os.path.join(folder, shared)] = frozenset(stems.get(stem, {photo}))
    return out


def going_with(paths: Iterable[str]) -> list[str]:
    """The sidecars that leave with ``paths``: those whose every photo is among them."""
    paths = [os.path.normpath(os.path.abspath(p)) for p in paths]
    gone = set(paths)
    return sorted(s for s, owners in companions(paths).items() if owners <= gone and s not in gone)
