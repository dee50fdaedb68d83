"""The JPEG traces that tell same-size copies from their original when nothing else does (core/jpeg_trace.py):
the save quality from the file's table, and a re-save over a coarser earlier JPEG from its coefficients. Then
a library whose copies tie with their original on every other rule, file times included."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from imgsim_desktop.core import jpeg_trace as jt
from imgsim_desktop.core import keeper
from imgsim_desktop.core import keeper_choice
from photos import scene


def jpeg_bytes(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


@pytest.mark.parametrize("q", [50, 75, 85, 92, 95, 98])
def test_the_quality_is_read_from_the_table(tmp_path, q):
    assert jt.read_trace(write(tmp_path / "a.jpg", jpeg_bytes(scene(1, (256, 192)), q))).quality == q


def test_a_photo_saved_once_or_saved_again_lower_is_not_resaved_and_a_higher_re_save_is(tmp_path):
    once = jpeg_bytes(scene(2, (480, 360)), 85)
    t = jt.read_trace(write(tmp_path / "once.jpg", once))
    assert t.tested >= jt.MIN_TESTED and not t.resaved, t
    assert not jt.read_trace(write(tmp_path / "lower.jpg", jpeg_bytes(decoded(once), 70))).resaved
    assert not jt.read_trace(write(tmp_path / "same.jpg", jpeg_bytes(decoded(once), 85))).resaved
    up = jt.read_trace(write(tmp_path / "higher.jpg", jpeg_bytes(decoded(once), 95)))
    assert up.resaved and up.quality == 95, up
    # mirrored on a grid of whole blocks (480 = 60 x 8), the earlier lattice is still there
    flipped = decoded(once).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert jt.read_trace(write(tmp_path / "mirror.jpg", jpeg_bytes(flipped, 95))).resaved


def test_grey_jpegs_and_large_pictures_are_read(tmp_path):
    grey = scene(3, (400, 300)).convert("L")
    first = Image.open(io.BytesIO(jpeg_bytes(grey, 80)))
    assert first.mode == "L"
    assert jt.read_trace(write(tmp_path / "g.jpg", jpeg_bytes(first, 96))).resaved
    big = scene(4, (2400, 1800))   # more blocks than MAX_BLOCKS: the centre is read
    t = jt.read_trace(write(tmp_path / "big.jpg", jpeg_bytes(big, 90)))
    assert t.quality == 90 and t.tested >= jt.MIN_TESTED and not t.resaved


def test_a_picture_too_large_to_decode_whole_gives_its_quality_only(tmp_path, monkeypatch):
    monkeypatch.setattr(jt, "MAX_PIXELS", 400 * 300 - 1)
    t = jt.read_trace(write(tmp_path / "a.jpg", jpeg_bytes(scene(6, (400, 300)), 91)))
    assert t == jt.Trace(91)


def test_files_with_nothing_to_read_give_no_trace_and_never_raise(tmp_path):
    img = scene(5, (200, 150))
    png = tmp_path / "a.png"
    img.save(png)
    assert jt.read_trace(str(png)) == jt.NO_TRACE
    data = jpeg_bytes(img, 90)
    assert jt.read_trace(write(tmp_path / "cut.jpg", data[: len(data) // 3])).resaved is False
    assert jt.read_trace(write(tmp_path / "junk.jpg", b"\xff\xd8\xff\xe0 not a jpeg")) == jt.NO_TRACE
    assert jt.read_trace(str(tmp_path / "missing.jpg")) == jt.NO_TRACE
    flat = Image.new("RGB", (64, 64), (90, 90, 90))
    t = jt.read_trace(write(tmp_path / "flat.jpg", jpeg_bytes(flat, 90)))
    assert t.tested < jt.MIN_TESTED and not t.resaved
    assert jt.Trace.from_array(jt.Trace(93, 4, 17).to_array()) == jt.Trace(93, 4, 17)


def test_only_same_size_jpeg_members_are_traced():
    class R:
        def __init__(self, fmt, w, h):
            self.format, self.width, self.height = fmt, w, h

    a, b, c, d = R("JPEG", 40, 30), R("JPEG", 30, 40), R("PNG", 40, 30), R("JPEG", 20, 10)
    assert keeper_choice.traced([a, b, c, d]) == [a, b]
    assert keeper_choice.traced([a, c, d]) == []


def test_the_source_of_a_re_save_is_the_file_whose_table_its_gaps_carry(tmp_path):
    """An original at 85; a mirrored copy saved at 95 over it; a turned copy at 80 and a re-save at 70 (other
    tables, lower: the original's lattice is not in them). Only the original is the source; without a
    re-saved member nobody is."""
    first = jpeg_bytes(scene(31, (480, 360)), 85)
    img = decoded(first)
    files = [first, jpeg_bytes(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 95),
             jpeg_bytes(img.transpose(Image.Transpose.ROTATE_180), 80), jpeg_bytes(img, 70)]
    traces = [jt.read_trace(write(tmp_path / f"{i}.jpg", data)) for i, data in enumerate(files)]
    assert [t.resaved for t in traces] == [False, True, False, False]
    assert jt.sources(traces) == {0}
    assert jt.source_score(traces[1], traces[0]) < jt.SOURCE_BELOW <= min(
        jt.source_score(traces[1], traces[2]), jt.source_score(traces[1], traces[3]))
    assert jt.sources([traces[0], traces[2], traces[3]]) == set()
    # stored and read back, a trace keeps what ``sources`` reads
    assert jt.sources([jt.Trace.from_array(t.to_array()) for t in traces]) == {0}


def test_the_rules_read_the_traces_after_the_date():
    def ev(path, q, resaved=False, t=0):
        return keeper.Evidence(path=path, format="JPEG", reference=False, camera=None, camera_score=0,
                               container=1, crop=False, screenshot=None, edited_by=None, pixels=100, bytes=100,
                               date_key=("9999", t), width=10, height=10, content=path, quality=q,
                               resaved=resaved)
    orig, low, up = ev("/p/original.jpg", 90), ev("/p/a.jpg", 85), ev("/p/b.jpg", 97, resaved=True)
    ranked = keeper.rank([low, up, orig])
    assert ranked[0] is orig
    assert "not re-saved" in keeper.keeper_reason(ranked)
    # the source of a re-save beats a copy of a higher quality that carries no trace (an exposure edit)
    bright, src = ev("/p/c.jpg", 99), ev("/p/original.jpg", 90)
    src.earlier = True
    ranked = keeper.rank([bright, up, src])
    assert ranked[0] is src and "re-saved from" in keeper.keeper_reason(ranked)
    assert keeper.rank([low, orig])[0] is orig
    assert "highest JPEG quality (90)" in keeper.keeper_reason(keeper.rank([low, orig]))
    # 10 points under is the harder-compressed copy: it loses on size, before the date, even when older
    much_lower = ev("/p/a.jpg", 80, t=-1)
    ranked = keeper.rank([much_lower, orig])
    assert ranked[0] is orig and "least compressed JPEG (JPEG quality 90)" in keeper.keeper_reason(ranked)
    # two copies nothing tells apart: the reason names the other one and says the path decided
    twin_a, twin_b = ev("/p/a1.jpg", 90), ev("/p/b1.jpg", 90)
    twin_a.earlier = twin_b.earlier = True
    ranked = keeper.rank([twin_b, twin_a, up])
    assert ranked[0] is twin_a
    assert keeper.keeper_reason(ranked).startswith("nothing tells it from b1.jpg: kept the first path by name")
    # an older file still wins over a higher quality: the date comes first
    older_low = ev("/p/a.jpg", 85, t=-1)
    assert keeper.rank([older_low, orig])[0] is older_low


def test_copies_with_their_times_kept_leave_the_original_as_keeper(tmp_path, monkeypatch):
    """Three same-size copies with shorter names, every file at one time: before the traces the shortest
    path was kept. A mirrored copy saved higher (re-saved over the original's lattice), a turned one saved
    lower, a plain re-save lower."""
    from imgsim_desktop.core.library import Library

    photos = tmp_path / "photos"
    photos.mkdir()
    first = jpeg_bytes(scene(21, (480, 360)), 88)
    orig = write(photos / "IMG_20190704_1.jpg", first)
    img = decoded(first)
    copies = {"m.jpg": (img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 96),
              "r.jpg": (img.transpose(Image.Transpose.ROTATE_180), 80),
              "s.jpg": (img, 75)}
    for name, (im, q) in copies.items():
        write(photos / name, jpeg_bytes(im, q))
    for f in photos.iterdir():
        os.utime(f, (1_600_000_000, 1_600_000_000))
    with Library(tmp_path / "lib", workers=1) as lib:
        lib.scan([photos])
        g = next(g for g in lib.duplicates("duplicates") if orig in [m.path for m in g.members])
        assert {os.path.basename(m.path) for m in g.members} == {"IMG_20190704_1.jpg", *copies}
        assert g.keeper == orig, (g.keeper, g.keeper_reason)
        assert "the JPEG a copy was re-saved from" in g.keeper_reason, g.keeper_reason
        reasons = {os.path.basename(m.path): m.reason for m in g.members}
        assert "re-saved over an earlier JPEG" in reasons["m.jpg"], reasons
        assert "re-saved" not in reasons["r.jpg"]
        # a rerun reads the traces from the catalog: no file is decoded for them again
        calls = []
        monkeypatch.setattr(jt, "read_trace", lambda p: calls.append(p) or jt.NO_TRACE)
        again = next(g for g in lib.duplicates("duplicates") if orig in [m.path for m in g.members])
        assert again.keeper == orig and calls == []


def test_traces_are_read_only_where_the_date_ties(tmp_path, monkeypatch):
    """Copies newer than their original: the date decides, and no file is decoded for a trace. A reference
    photo is the keeper whatever the traces say: none is read either."""
    from imgsim_desktop.core.library import Library

    photos = tmp_path / "photos"
    photos.mkdir()
    first = jpeg_bytes(scene(41, (480, 360)), 88)
    orig = write(photos / "original_photo.jpg", first)
    img = decoded(first)
    write(photos / "m.jpg", jpeg_bytes(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 96))
    write(photos / "r.jpg", jpeg_bytes(img.transpose(Image.Transpose.ROTATE_180), 80))
    os.utime(orig, (1_500_000_000, 1_500_000_000))
    calls = []
    real = jt.read_trace
    monkeypatch.setattr(jt, "read_trace", lambda p: calls.append(p) or real(p))
    with Library(tmp_path / "lib", workers=1) as lib:
        lib.scan([photos])
        g = next(g for g in lib.duplicates("duplicates") if orig in [m.path for m in g.members])
        assert len(g.members) == 3 and g.keeper == orig and "oldest file" in g.keeper_reason, g.keeper_reason
    assert calls == []


def test_contenders_are_the_members_tied_before_the_traces_size_left_out():
    def ev(path, t, size=100, pixels=100, ref=False):
        return keeper.Evidence(path=path, format="JPEG", reference=ref, camera=None, camera_score=0, container=1,
                               crop=False, screenshot=None, edited_by=None, pixels=pixels, bytes=size,
                               date_key=("9999", t), width=10, height=10, content=path)
    a, b, c, d = ev("/a.jpg", 0, size=300), ev("/b.jpg", 0, size=100), ev("/c.jpg", 1), ev("/d.jpg", 0, pixels=50)
    assert keeper_choice.contenders([a, b, c, d], keeper.RULES) == [a, b]
    assert keeper_choice.contenders([a, ev("/ref.jpg", 0, ref=True)], keeper.RULES) == []
    # a trace rule moved before the date widens the contenders to every member of that resolution
    order = keeper.check_rules([*keeper.RULES[:keeper.RULES.index("resolution") + 1], "not_resaved"])
    assert keeper_choice.contenders([a, b, c, d], order) == [a, b, c]
    assert keeper_choice.contenders([a, b, c, d], keeper.check_rules(["earlier_save"])) == [a, b, c, d]
