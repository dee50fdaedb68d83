"""Files that hold a photo's edits and metadata beside it: an XMP from Lightroom ("DSC_1001.xmp") or darktable
("DSC_1001.NEF.xmp"), an AAE from an iPhone, RawTherapee's .pp3, DxO's .dop, a Google Takeout's JSON (the
photo's date, place and people: "IMG_1234.JPG.json", "IMG_1234.JPG.supplemental-metadata.json"; after the
whole name only, as Takeout names them). Trashed without them, they are left orphaned in the folder; photo
managers move them with the photo. A sidecar named after the stem alone serves every file of that stem (a RAW
and its JPEG): it goes only when all of them go."""

from __future__ import annotations

import os
from collections.abc import Iterable

EXTENSIONS = (".xmp", ".aae", ".pp3", ".dop")
WHOLE_NAME = (".json", ".supplemental-metadata.json")   # after the photo's whole name only (Google Takeout)


def is_sidecar(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in EXTENSIONS + (".json",)


def _ending(rest: str, whole: bool) -> bool:
    """``rest``, what follows a photo's name (``whole``) or stem in a sidecar's, makes it one."""
    rest = rest.lower()
    return rest in EXTENSIONS or (whole and rest in WHOLE_NAME)


def companions(paths: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each sidecar beside the photos in ``paths`` (absolute, normalised) -> every file of its folder it may
    describe: those whose whole name or stem, plus the sidecar's extension, is its name (case aside). So
    "X.NEF.xmp" belongs to X.NEF and to an export "X.NEF.jpg" alike, and "IMG_1.jpg.xmp" to IMG_1.jpg and
    IMG_1.JPG on a case-sensitive disk: it goes only when all of them do."""
    folders = {os.path.dirname(os.path.normpath(os.path.abspath(p))) for p in paths}
    out: dict[str, frozenset[str]] = {}
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue   # a folder that cannot be listed keeps its sidecars
        sides = [n for n in names if is_sidecar(n)]
        if not sides:
            continue
        claims: dict[str, set[str]] = {}   # the lower-case name a sidecar would have -> files it would describe
        for n in names:
            if is_sidecar(n):
                continue
            for ext in EXTENSIONS:
                for base in {n.lower(), os.path.splitext(n)[0].lower()}:
                    claims.setdefault(base + ext, set()).add(os.path.join(folder, n))
            for ext in WHOLE_NAME:
                claims.setdefault(n.lower() + ext, set()).add(os.path.join(folder, n))
        for side in sides:
            owners = claims.get(side.lower())
            if owners:
                out[os.path.join(folder, side)] = frozenset(owners)
    return out


def going_with(paths: Iterable[str]) -> list[str]:
    """The sidecars that leave with ``paths``: those whose every file is among them."""
    paths = [os.path.normpath(os.path.abspath(p)) for p in paths]
    return following(companions(paths), paths, paths)


def following(beside: dict[str, frozenset[str]], left: Iterable[str], asked: Iterable[str]) -> list[str]:
    """Of ``beside`` (:func:`companions`), the sidecars whose files all ``left``, and that were not ``asked``
    for themselves: what a trash or a move takes along once its photos went."""
    left, asked = set(left), set(asked)
    return sorted(s for s, owners in beside.items() if owners <= left and s not in asked)


def follow_name(sidecar: str, owners: frozenset[str], moved: dict[str, str]) -> str | None:
    """The sidecar's name beside its moved files: their new name (or stem) in place of the old, as
    "DSC.xmp" -> "DSC (1).xmp" when DSC.JPG became "DSC (1).JPG". None when its files were renamed apart (a
    RAW kept its name, its JPEG did not): then no name fits both, and it stays."""
    name = os.path.basename(sidecar)
    names = set()
    for o in owners:
        old, new = os.path.basename(o), os.path.basename(moved[o])
        for (a, b), whole in (((old, new), True), ((os.path.splitext(old)[0], os.path.splitext(new)[0]), False)):
            rest = name[len(a):]
            if name.lower().startswith(a.lower()) and _ending(rest, whole):
                names.add(b + rest)
                break
    return names.pop() if len(names) == 1 else None
