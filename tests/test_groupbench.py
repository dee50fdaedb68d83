"""The hard-negative set the duplicate benchmark is measured on: a rewrite leaves no file of an earlier set
behind (its source photo may belong to another kind now, which would make it a copy of a hard negative)."""

from __future__ import annotations

from imgsim_desktop.evaluation.groupbench import make_hard_negatives
from photos import scene


def test_hard_negatives_are_written_per_kind_and_leftovers_are_removed(tmp_path):
    srcs = []
    for i in range(4):
        p = tmp_path / "src" / f"s{i}.jpg"
        p.parent.mkdir(exist_ok=True)
        scene(i, (480, 320)).save(p, quality=90)
        srcs.append(p)
    out = tmp_path / "hard"
    stale = out / "dark" / "dark_0099.jpg"
    stale.parent.mkdir(parents=True)
    scene(99, (64, 48)).save(stale)
    mine = out / "dark" / "my-own-photo.jpg"
    scene(98, (64, 48)).save(mine)
    counts = make_hard_negatives({"dark": srcs[:2], "canvas": srcs[2:3], "crops": srcs[3:]}, out, per_kind=3)
    assert counts == {"dark": 2, "crops": 2, "canvas": 1, "documents": 1}
    assert sorted(p.name for p in (out / "dark").iterdir()) == ["dark_0000.jpg", "dark_0001.jpg", "my-own-photo.jpg"]
    assert not stale.exists() and mine.exists()   # only the bench's own names are cleared
