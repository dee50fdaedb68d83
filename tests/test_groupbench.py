"""The hard-negative set the duplicate benchmark is measured on: a rewrite leaves no file of an earlier set
behind (its source photo may belong to another kind now, which would make it a copy of a hard negative)."""

from __future__ import annotations

import numpy as np
import pytest
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


def test_the_data_sets_own_copies_count_neither_way_and_their_labelled_precision_is_kept(tmp_path):
    """eval/pairs holds a close-up cut from another folder's wide shot: the bench labels their verified pair
    wrong. Listed as one photo, the pair counts neither way in "precision" and shows under "known_pairs";
    a pair the list does not name still counts wrong."""
    from imgsim_desktop.evaluation import known_copies
    from imgsim_desktop.evaluation.groupbench import score_copies, score_negatives

    listing = tmp_path / "copies.txt"
    listing.write_text("# a note\ndata/pairs/wide/full.jpg | data/pairs/close/small.jpg  # the close-up's copy\n\n")
    known = known_copies.read(listing)
    assert known == [["data/pairs/wide/full.jpg", "data/pairs/close/small.jpg"]]
    root = "/data/pairs"
    group = {f"{root}/{g}/{k}.jpg": f"pairs/{g}" for g in ("wide", "close", "other") for k in ("full", "small")}
    kind = {f: ("original" if f.endswith("full.jpg") else "squash_reencode") for f in group}
    files = sorted(group) + ["/data/distractors/d1.jpg"]
    pred = {(f"{root}/{g}/full.jpg", f"{root}/{g}/small.jpg") for g in ("wide", "close", "other")}
    pred.add((f"{root}/close/small.jpg", f"{root}/wide/full.jpg"))       # listed: one photo
    pred.add((f"{root}/close/full.jpg", f"{root}/wide/full.jpg"))        # the close-up itself is not listed
    pred.add(("/data/distractors/d1.jpg", f"{root}/other/small.jpg"))   # not listed: wrong
    r = score_copies(files, group, kind, {"verified": pred}, known)["verified"]
    assert r["known_pairs"] == [(f"{root}/close/small.jpg", f"{root}/wide/full.jpg")] and r["known_pairs_n"] == 1
    assert r["wrong_pairs"] == [("/data/distractors/d1.jpg", f"{root}/other/small.jpg"),
                                (f"{root}/close/full.jpg", f"{root}/wide/full.jpg")]
    assert r["precision"] == round(3 / 5, 4) and r["precision_labelled"] == round(3 / 6, 4)
    e = r["by_edit"]["squash_reencode"]
    assert e["precision"] == round(3 / 4, 4) and e["precision_labelled"] == round(3 / 5, 4) and e["recall"] == 1.0
    plain = score_copies(files, group, kind, {"verified": pred})["verified"]
    assert plain["precision"] == plain["precision_labelled"] == round(3 / 6, 4) and plain["known_pairs"] == []
    for bad in ("full.jpg | close/small.jpg\n", "data/pairs/wide/full.jpg | data/pairs/wide/full.jpg\n"):
        listing.write_text(bad)   # too short to place; the same file twice
        with pytest.raises(ValueError):
            known_copies.read(listing)

    class G:   # a verified group as Library.duplicates() returns it
        def __init__(self, *paths):
            self.members = [type("M", (), {"path": p})() for p in paths]

    listed = (f"{root}/close/small.jpg", f"{root}/wide/full.jpg")
    n = score_negatives(files, {"verified": {listed, tuple(files[:2])}}, {"verified": [G(*listed), G(*files[:2])]},
                        known)["verified"]
    assert n["false_groups"] == 2 and n["known_copy_groups"] == 1 and n["groups_of_different_pictures"] == 1
    assert n["false_pairs"] == 2 and n["known_copy_pairs"] == 1
