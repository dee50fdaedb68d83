"""Photos the data sets hold more than once, under labels that say they are different.

A bench that takes its labels from folder names counts a verified pair of them as wrong (a close-up that is a
crop of the wide shot's original, one truck photo pasted on three backdrops). A list of such sets, each looked
at by eye, lets the benches report both: as the data sets label them, and without those pairs. The list's
format: one photo per line, its files (names under the data sets, or bench-made files under ``bench_out``) with
" | " between them and a note after "#".
"""

from __future__ import annotations

from pathlib import Path

MIN_PARTS, MAX_PARTS = 3, 5   # a listed name is a file's last 3-5 path parts ("train/flowers/x.jpg")


def read(path: Path) -> list[list[str]]:
    """The sets of a list; a name too short to place ("full.jpg", "flowers/x.jpg") or named twice is an error."""
    sets, seen = [], set()
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        names = [x.strip() for x in line.split("#", 1)[0].split("|")]
        names = [n for n in names if n]
        for n in names:
            if not MIN_PARTS <= len(Path(n).parts) <= MAX_PARTS:
                raise ValueError(f"line {i}: {n!r} is not a file's last {MIN_PARTS}-{MAX_PARTS} path parts")
            if n in seen:
                raise ValueError(f"line {i}: {n!r} is listed twice")
            seen.add(n)
        if names:
            sets.append(names)
    return sets


def set_of_files(files, sets: list[list[str]]) -> dict[str, int]:
    """Each file on the list -> its set number; a listed name matches a file whose path ends with it."""
    number = {name: i for i, names in enumerate(sets) for name in names}
    out = {}
    for f in files:
        parts = Path(f).parts
        for k in range(MIN_PARTS, min(MAX_PARTS, len(parts)) + 1):
            n = number.get("/".join(parts[-k:]))
            if n is not None:
                out[f] = n
                break
    return out
