"""Read a benchmark folder into a flat list of labelled images.

Why a module of its own: both ``bench-make`` (which writes benchmarks) and ``bench`` (which measures
methods on them) rely on the same folder conventions, and the methods only need the ``Item`` records.

Benchmark layout (any part may be missing)::

    BENCH/groups/<name>/*     every image in a folder is a near-duplicate of every other image there
    BENCH/classes/<name>/*    images of the same kind of subject (lookalikes, not duplicates)
    BENCH/distractors/*       unrelated images (searched recursively)

In a group the file stem tells which edit made the copy: ``original.jpg`` is the source and ``crop.jpg``,
``crop_2.jpg`` are copies made by the ``crop`` edit. Stems that occur in fewer than two groups are not
reported as an edit kind (a user's own folders have arbitrary names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from imgsim_desktop.core.errors import ImgsimError


class BenchError(ImgsimError):
    """The benchmark folder or options are unusable."""


@dataclass
class Item:
    path: Path
    part: str            # "group" | "class" | "distractor"
    label: str | None    # group or class name; None for distractors
    kind: str | None     # edit kind inside a group ("original", "crop", ...); None elsewhere


@dataclass
class Layout:
    root: Path
    items: list[Item] = field(default_factory=list)

    def part(self, name: str) -> list[int]:
        return [i for i, it in enumerate(self.items) if it.part == name]


def _is_image(p: Path) -> bool:
    from imgsim_desktop.core.decode import is_image_path

    return p.is_file() and not p.name.startswith(".") and is_image_path(p)


def _images_in(d: Path, recursive: bool = False) -> list[Path]:
    if not d.is_dir():
        return []
    it = d.rglob("*") if recursive else d.iterdir()
    return sorted((p for p in it if _is_image(p)), key=lambda p: str(p))


def _subdirs(d: Path) -> list[Path]:
    if not d.is_dir():
        return []
    return sorted((p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


_SUFFIX_N = re.compile(r"^(.*?)_\d+$")


def edit_kind(stem: str) -> str:
    """``crop`` and ``crop_2`` are both the ``crop`` edit; ``original`` is the source."""
    m = _SUFFIX_N.match(stem)
    return m.group(1) if m else stem


def read_layout(root: Path, limit: int | None = None) -> Layout:
    """Find the images of a benchmark folder. ``limit`` keeps at most that many groups, images per class
    and distractors (a quick run)."""
    root = Path(root)
    if not root.is_dir():
        raise BenchError(f"benchmark folder not found: {root}")
    lay = Layout(root)
    groups = _subdirs(root / "groups")
    if limit:
        groups = groups[:limit]
    for g in groups:
        for p in _images_in(g):
            lay.items.append(Item(p, "group", g.name, edit_kind(p.stem)))
    for c in _subdirs(root / "classes"):
        files = _images_in(c, recursive=True)
        if limit:
            files = files[:limit]
        for p in files:
            lay.items.append(Item(p, "class", c.name, None))
    dis = _images_in(root / "distractors", recursive=True)
    if limit:
        dis = dis[:limit]
    for p in dis:
        lay.items.append(Item(p, "distractor", None, None))
    if not lay.items:
        raise BenchError(f"{root} holds no images under groups/, classes/ or distractors/")
    return lay
