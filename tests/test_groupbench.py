"""The hard-negative set the duplicate benchmark is measured on: a rewrite leaves no file of an earlier set
behind (its source photo may belong to another kind now, which would make it a copy of a hard negative)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from imgsim_desktop.evaluation.groupbench import make_hard_negatives, make_tiles
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


def test_tiles_cover_the_photo_without_sharing_a_pixel_and_flat_tiles_are_left_out(tmp_path):
    photo = np.asarray(scene(5, (420, 210)), np.uint8).copy()
    photo[:110, :110] = 40                        # one flat corner: a tile there is no picture
    src = tmp_path / "src.png"
    Image.fromarray(photo).save(src)
    small = tmp_path / "small.png"                # under two tiles wide: kept whole
    scene(6, (150, 150)).save(small)
    out = tmp_path / "tiles"
    (out).mkdir()
    (out / "tile_99999_00_00.jpg").write_bytes(b"stale")
    counts = make_tiles([src, small], out, min_side=96, gap=8)
    # 420 px wide: 4 tiles of 99 px with 3 gaps of 8; 210 high: 2 of 101; the flat corner tile left out
    assert counts == {"photos": 2, "tiles": 8, "flat": 1, "unreadable": 0}
    names = sorted(p.name for p in out.iterdir())
    assert "tile_99999_00_00.jpg" not in names and "tile_00000_00_00.jpg" not in names
    assert "tile_00001_00_00.jpg" in names
    with Image.open(out / "tile_00000_01_03.jpg") as t:
        assert t.size == (99, 101)
    with Image.open(out / "tile_00001_00_00.jpg") as t:
        assert t.size == (150, 150)


def test_tiles_are_cut_from_the_photo_brought_to_max_side_or_from_full_size(tmp_path):
    src = tmp_path / "src.png"
    scene(7, (420, 210)).save(src)
    assert make_tiles([src], tmp_path / "full", min_side=96, gap=8, max_side=None)["tiles"] == 8
    # brought to 105 px on the shorter side: 210 x 105, two tiles side by side
    assert make_tiles([src], tmp_path / "small", min_side=96, gap=8, max_side=105)["tiles"] == 2
