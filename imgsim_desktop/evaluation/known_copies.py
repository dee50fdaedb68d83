"""Photos the data sets hold more than once, under labels that say they are different.

A bench that takes its labels from folder names counts a verified pair of them as wrong (a close-up that is a
crop of the wide shot's original, one truck photo pasted on three backdrops). A list of such sets, each looked
at by eye, lets the benches report both: as the data sets label them, and without those pairs. The list's
format: one photo per line, its files (names under the data sets, or bench-made files under ``bench_out``) with
" | " between them and a note after "#".
"""

from __future__ import annotations

from pathlib import Path

DEPTH = 5   # a listed name is matched against the last 1..DEPTH parts of a file's path


def read(path: Path) -> list[list[str]]:
    sets = []
    for line in Path(path).read_text().splitlines():
        names = [x.strip() for x in line.split("#", 1)[0].split("|")]
        names = [n for n in names if n]
        if names:
            sets.append(names)
    return sets


def set_of_files(files, sets: list[list[str]]) -> dict[str, int]:
    """Each file on the list -> its set number; a listed name matches a file whose path ends with it."""
    number = {name: i for i, names in enumerate(sets) for name in names}
    out = {}
    for f in files:
        parts = Path(f).parts
        for k in range(1, min(DEPTH, len(parts)) + 1):
            n = number.get("/".join(parts[-k:]))
            if n is not None:
                out[f] = n
                break
    return out
