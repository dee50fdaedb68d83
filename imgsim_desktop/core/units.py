"""A RAW file and the JPEG or HEIC the camera wrote beside it (same folder, same stem) are one shot kept as two
files on purpose: the review marks them together or not at all, and a group that is only a keeper and its own
partner is nothing to clean up. One home for that rule (core/review.py, core/library_groups.py)."""

from __future__ import annotations

import os

from .decode import _is_raw as is_raw


def unit_key(path: str) -> tuple[str, str]:
    folder, name = os.path.split(str(path))
    return folder, os.path.splitext(name)[0].lower()


def partners(a: str, b: str) -> bool:
    """Two different files of one shot: one folder and stem, one a RAW and the other not (a NEF and the DNG a
    converter wrote beside it are two RAWs: a copy, not a pair kept on purpose)."""
    return str(a) != str(b) and unit_key(a) == unit_key(b) and is_raw(a) != is_raw(b)


def with_raw_pairs(groups: list) -> list:
    """Each member that is its keeper's RAW or JPEG partner says so (the review leaves it with the keeper, and
    "Can free" does not count it: core/duplicates.freed_with_the_rest); a group with nothing else is dropped:
    there is nothing in it to clean up (an outside try: "Can free 339 KB", and "Marked 0 photos")."""
    out = []
    for g in groups:
        rest = 0
        for m in g.members:
            if str(m.path) == str(g.keeper):
                continue
            if partners(g.keeper, m.path):
                m.reason = f"{'RAW' if is_raw(m.path) else 'JPEG'} of the kept {'JPEG' if is_raw(m.path) else 'RAW'}"
            else:
                rest += 1
        if rest:
            out.append(g)
    return out
