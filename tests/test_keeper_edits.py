"""The keeper of a group without camera EXIF is the original even where an edit made a copy the larger file:
a copy stretched along one axis (more pixels), a noisy copy (the largest JPEG), a copy with a caption bar (a
taller canvas), a grey copy saved larger. Real files, the shipped model, real verification."""

from __future__ import annotations

import os
from functools import partial

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from imgsim_desktop.core import keeper
from imgsim_desktop.core import verify as V
from imgsim_desktop.core.noise import added_noise
from photos import save_jpeg, scene


def ev(path="/p/x.jpg", **kw) -> keeper.Evidence:
    """Evidence of an EXIF-less JPEG, 10 x 10, with ``kw`` over those defaults."""
    base = dict(path=path, format="JPEG", reference=False, camera=None, camera_score=0, container=1, crop=False,
                screenshot=None, edited_by=None, pixels=100, bytes=100, date_key=("9999", 0), width=10, height=10,
                content=path)
    return keeper.Evidence(**{**base, **kw})


def noisy(img: Image.Image, sigma: float, seed: int = 0) -> Image.Image:
    a = np.asarray(img, np.float32)
    n = np.random.default_rng(seed).normal(0.0, sigma, a.shape[:2] + (1,)).astype(np.float32)
    return Image.fromarray(np.clip(a + n, 0, 255).astype(np.uint8), "RGB")


def captioned(img: Image.Image, bar: int) -> Image.Image:
    canvas = Image.new("RGB", (img.width, img.height + bar), (250, 250, 250))
    canvas.paste(img, (0, bar))
    ImageDraw.Draw(canvas).text((12, bar // 3), "when the weekend finally arrives", fill=(0, 0, 0))
    return canvas


save = partial(save_jpeg, quality=92)


@pytest.fixture(scope="module")
def edited_library(tmp_path_factory):
    from imgsim_desktop.core.library import Library

    root = tmp_path_factory.mktemp("keeper_edits")
    photos = root / "photos"
    photos.mkdir()
    orig = scene(11)   # 480 x 360, no EXIF
    w, h = orig.size
    paths = {"original": save(orig, photos / "original.jpg", quality=95),
             "stretched": save(orig.resize((int(w * 1.35), h), Image.Resampling.BICUBIC), photos / "stretched.jpg"),
             "noisy": save(noisy(orig, 18.0), photos / "noisy.jpg", quality=95),
             "caption": save(captioned(orig, 40), photos / "caption.jpg", quality=95),
             "rot90": save(orig.transpose(Image.Transpose.ROTATE_270), photos / "rot90.jpg"),
             "resaved": save(orig, photos / "resaved.jpg", quality=70),
             "mirror": save(orig.transpose(Image.Transpose.FLIP_LEFT_RIGHT), photos / "mirror.jpg")}
    for i in range(3):
        save(scene(200 + i), photos / f"other{i}.jpg")
    lib = Library(root / "lib", workers=2)
    lib.scan([photos])
    yield lib, paths
    lib.close()


def test_the_original_is_kept_over_its_stretched_noisy_and_captioned_copies(edited_library):
    lib, paths = edited_library
    g = next(g for g in lib.duplicates("duplicates") if paths["original"] in [m.path for m in g.members])
    by_path = {m.path: m for m in g.members}
    assert set(by_path) == set(paths.values())
    # each of the three is larger than the original in what the old rules looked at
    sizes = {n: Image.open(p).size for n, p in paths.items()}
    assert sizes["stretched"][0] * sizes["stretched"][1] > sizes["original"][0] * sizes["original"][1]
    assert sizes["caption"][1] > sizes["original"][1]
    assert os.path.getsize(paths["noisy"]) > os.path.getsize(paths["original"])
    assert g.keeper == paths["original"], (g.keeper, g.keeper_reason)
    # the descriptions read against the original, not against the copy first grouped around
    assert "stretched 13" in by_path[paths["stretched"]].reason, by_path[paths["stretched"]].reason
    assert by_path[paths["stretched"]].match["stretch"] == pytest.approx(1.35, abs=0.03)
    assert "noisier" in by_path[paths["noisy"]].reason
    assert "screenshot or padded copy" in by_path[paths["caption"]].reason
    assert "stretch" not in by_path[paths["rot90"]].match


def test_added_noise_is_told_from_a_blur_and_a_re_save():
    orig = scene(12)
    a = V.features_from_image(orig, orig.size)

    def pair(img):
        b = V.features_from_image(img, img.size)
        v = V.verify(a, b)
        assert v.same
        return v

    v = pair(noisy(orig, 15.0))
    assert v.b_noise > 0 and v.a_noise == 0
    # a blurred or re-saved copy has less fine detail than the original: the original is not "noisy"
    for img in (orig.filter(ImageFilter.GaussianBlur(2.0)), ImageOps.grayscale(orig).convert("RGB")):
        v = pair(img)
        assert v.a_noise == 0, v
    # copies of different sizes are not compared (their grey pictures were shrunk differently)
    small = noisy(orig, 15.0).resize((400, 300))
    b = V.features_from_image(small, small.size)
    assert added_noise(a.grey, b.grey, V.verify(a, b).affine, a.size, b.size) == (0.0, 0.0)


def test_a_stretched_member_is_the_one_unlike_most_of_its_group_and_two_alone_decide_nothing():
    group = [ev(stretch=s) for s in (1.0, 0.74, 0.75, 0.745)]   # grouped around a copy stretched 1.35x
    keeper.mark_group_evidence(group, [{"reference": True}, {}, {}, {}])
    assert [e.stretched for e in group] == [True, False, False, False]
    two = [ev(stretch=1.0), ev(stretch=0.74)]
    keeper.mark_group_evidence(two, [{"reference": True}, {}])
    assert not any(e.stretched for e in two)


def test_the_reference_carrying_noise_is_noisy_and_a_grey_one_is_not_marked():
    g = [ev(), ev()]
    keeper.mark_group_evidence(g, [{"reference": True}, {"keeper_noise": 6.0}])
    assert g[0].noisy and not g[1].noisy
    g = [ev(), ev()]
    keeper.mark_group_evidence(g, [{"reference": True}, {"grey": True}])
    assert not any(e.noisy for e in g)


def test_file_size_ties_within_half_and_compares_only_files_of_one_size():
    def file(path, pixels, size, mtime, noisy=False):
        return ev(path, pixels=pixels, bytes=size, date_key=("9999", mtime), noisy=noisy)

    original = file("/p/original.jpg", 100, 90_000, 1)
    resaved = file("/p/resaved_at_higher_quality.jpg", 100, 95_000, 2)      # larger, made later
    squeezed = file("/p/hard_compressed.jpg", 100, 40_000, 0)              # older but much smaller
    canvas = file("/p/screenshot.jpg", 400, 300_000, 3)
    noisy = file("/p/noisy.jpg", 100, 190_000, 4, noisy=True)
    ranked = keeper.rank([resaved, squeezed, canvas, noisy, original],
                         [r for r in keeper.RULES if r != "resolution"])
    assert ranked[0] is original, [e.path for e in ranked]
    assert "oldest file" in keeper.keeper_reason(ranked, [r for r in keeper.RULES if r != "resolution"])


def test_a_photo_with_plain_sky_along_its_edge_is_kept_over_its_captioned_copy(tmp_path):
    """The trim reads a 16:9 photo with a plain sky along the top as a photo on a screen, so every copy of it
    "filled 78 % of its canvas" and the captioned copy, on the tallest canvas, was kept (tried in a real window). In a verified
    group the verifier's framing decides, not the trim's guess from the file alone."""
    from imgsim_desktop.core.decode import load_image
    from imgsim_desktop.core.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    photo = scene(13, (640, 360))
    photo.paste((110, 170, 235), (0, 0, 640, 80))   # a clear sky along the top
    original = save(photo, folder / "beach.jpg", quality=95)
    _, info = load_image(original, max_side=112)
    assert info.content_fraction < keeper.PADDED_BELOW   # the trim's guess that misled the keeper
    os.utime(original, (1_700_000_000, 1_700_000_000))   # made before its copies
    save(captioned(photo, 50), folder / "beach_meme.jpg", quality=95)
    save(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT), folder / "beach_mirrored.jpg")
    for i in range(2):
        save(scene(300 + i), folder / f"other{i}.jpg")
    with Library(tmp_path / "lib", workers=1) as lib:
        lib.scan([folder])
        g = next(g for g in lib.duplicates("duplicates") if original in [m.path for m in g.members])
        assert len(g.members) == 3
        assert g.keeper == original, g.keeper_reason
        meme = next(m for m in g.members if m.path.endswith("beach_meme.jpg"))
        assert "padded copy" in meme.reason


def test_a_brightened_copy_saved_at_a_higher_quality_is_not_kept_for_its_bytes(tmp_path):
    """An exposure edit saved at 99 has well over twice the bytes of its quality-90 original, which the bytes
    rule called the harder-compressed one (the original lost before the date). Between JPEGs of one size the
    save quality now stands for the bytes: 9 points apart they tie, and the older original is kept."""
    from imgsim_desktop.core.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    orig = scene(12)
    original = save(orig, folder / "original.jpg", quality=90)
    a = np.asarray(orig, np.float32)
    bright = Image.fromarray(np.clip(1.25 * a + 12, 0, 255).astype(np.uint8), "RGB")
    copy = save(bright, folder / "bright.jpg", quality=99)
    os.utime(original, (1_500_000_000, 1_500_000_000))
    assert os.path.getsize(copy) > 2 * os.path.getsize(original)   # what made the old rule keep the copy
    with Library(tmp_path / "lib", workers=1) as lib:
        lib.scan([folder])
        g = next(g for g in lib.duplicates("duplicates") if original in [m.path for m in g.members])
        assert len(g.members) == 2 and g.keeper == original, g.keeper_reason
        assert "oldest file" in g.keeper_reason
        assert {m.path: m for m in g.members}[copy].match is not None


def test_a_copy_darkened_to_near_black_is_not_kept_for_being_older(tmp_path):
    """From an outside try: a copy pulled down to 4 % of its exposure, older on disk, was kept ("oldest file")
    and the photo itself proposed for the trash as "re-saved or retouched"."""
    from imgsim_desktop.core.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    orig = scene(14)
    dark = Image.fromarray((np.asarray(orig, np.float32) * 0.04).astype(np.uint8), "RGB")
    dark_path = save(dark, folder / "edited_dark.jpg", quality=92)
    os.utime(dark_path, (1_500_000_000, 1_500_000_000))   # older than the photo it was made from
    original = save(orig, folder / "original.jpg", quality=92)
    with Library(tmp_path / "lib", workers=1) as lib:
        lib.scan([folder])
        g = next(g for g in lib.duplicates("duplicates") if original in [m.path for m in g.members])
        assert len(g.members) == 2 and g.keeper == original, g.keeper_reason
        assert g.keeper_reason.startswith("not darkened")
        darker = {m.path: m for m in g.members}[dark_path]
        assert darker.reason == "same photo: darkened to near black"   # not "grey": dark is dull, not grey
