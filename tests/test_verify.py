"""Verified duplicate groups on real files: every orientation, grey, crop and screenshot of one photo form
one group with the right reasons; different dark photos and different photos on one canvas never do."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from imgsim_desktop.core import geometry as G
from imgsim_desktop.core import pixels as P
from imgsim_desktop.core import verify as V
from imgsim_desktop.core.match_reason import ORIENTATION_WORDS, similar_match
from imgsim_desktop.core.signature import candidate_pairs, signature
from photos import save_jpeg as save, scene

ORIENT = {"rot90": Image.Transpose.ROTATE_270, "rot180": Image.Transpose.ROTATE_180,
          "rot270": Image.Transpose.ROTATE_90, "flip": Image.Transpose.FLIP_TOP_BOTTOM,
          "transpose": Image.Transpose.TRANSPOSE, "transverse": Image.Transpose.TRANSVERSE,
          "mirror": Image.Transpose.FLIP_LEFT_RIGHT}


def jpeg_features(img: Image.Image, quality: int = 90) -> V.Features:
    """The verifier's features of a picture as it reads once saved as a JPEG."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return V.features_from_image(Image.open(buf))


def phone_screenshot(photos: list[Image.Image], size=(540, 1170), scale=0.8) -> Image.Image:
    """A tall phone canvas: status bar with clock and icons, app chrome, the photo(s) stacked in the middle."""
    cw, ch = size
    canvas = Image.new("RGB", size, (250, 250, 250))
    d = ImageDraw.Draw(canvas)
    d.rectangle([0, 0, cw, 60], fill=(20, 20, 20))
    d.text((20, 20), "12:41", fill=(255, 255, 255))
    for i in range(4):
        d.rectangle([cw - 30 - 22 * i, 22, cw - 16 - 22 * i, 40], fill=(255, 255, 255))
    d.rectangle([0, ch - 110, cw, ch], fill=(235, 235, 240))
    for i in range(5):
        d.ellipse([40 + i * 100, ch - 80, 80 + i * 100, ch - 40], outline=(80, 80, 80), width=3)
    y = 120
    for p in photos:
        pw = int(cw * scale)
        ph = int(p.height * pw / p.width)
        canvas.paste(p.resize((pw, ph), Image.Resampling.LANCZOS), ((cw - pw) // 2, y))
        y += ph + 30
    d.text((30, 80), "Photos  ·  shared album", fill=(40, 40, 40))
    return canvas


@pytest.fixture(scope="module")
def shipped_library(tmp_path_factory):
    """A library with the shipped model: one photo in all its copies, plus unrelated photos."""
    from imgsim_desktop.core.library import Library

    root = tmp_path_factory.mktemp("verified")
    photos = root / "photos"
    photos.mkdir()
    orig = scene(1)
    paths = {"original": save(orig, photos / "original.jpg", quality=95)}
    for name, t in ORIENT.items():
        paths[name] = save(orig.transpose(t), photos / f"{name}.jpg")
    paths["grey"] = save(ImageOps.grayscale(orig).convert("RGB"), photos / "grey.jpg")
    paths["crop"] = save(orig.crop((0, 0, 403, 302)), photos / "crop.jpg")   # 70 % of the area
    paths["screenshot"] = save(phone_screenshot([orig]), photos / "screenshot.png".replace(".png", ".jpg"))
    # negatives: two different dark photos; two different photos on one canvas (and each other's canvas)
    paths["dark1"] = save(scene(20, dark=True), photos / "dark1.jpg")
    paths["dark2"] = save(scene(21, dark=True), photos / "dark2.jpg")
    a, b = scene(30), scene(31)
    paths["canvas_a"] = save(phone_screenshot([a], scale=0.85), photos / "canvas_a.jpg")
    paths["canvas_b"] = save(phone_screenshot([b], scale=0.85), photos / "canvas_b.jpg")
    for i in range(4):
        save(scene(100 + i), photos / f"other{i}.jpg")
    lib = Library(root / "lib", workers=2)
    lib.scan([photos])
    yield lib, paths
    lib.close()


def test_every_copy_of_one_photo_lands_in_one_group_with_its_reason(shipped_library):
    lib, paths = shipped_library
    groups = lib.duplicates("duplicates")
    g = next(g for g in groups if paths["original"] in [m.path for m in g.members])
    by_path = {m.path: m for m in g.members}
    copies = ["original", *ORIENT, "grey", "crop", "screenshot"]
    assert set(by_path) == {paths[n] for n in copies}
    assert g.keeper == paths["original"] == g.members[0].path
    for name in ORIENT:
        m = by_path[paths[name]]
        assert m.match["orientation"] == name, (name, m.match)
        assert ORIENTATION_WORDS[name] in m.reason
    grey = by_path[paths["grey"]]
    assert grey.match["grey"] and grey.reason == "same photo: grey"
    crop = by_path[paths["crop"]]
    assert 0.62 <= crop.match["crop_fraction"] <= 0.78 and "cropped to 7" in crop.reason
    shot = by_path[paths["screenshot"]]
    assert shot.match["inset_fraction"] < 0.5 and "screenshot" in shot.reason
    assert shot.match["orientation"] == "none"
    assert all(m.match for m in g.members) and all(m.reason for m in g.members)


def test_different_dark_photos_and_different_photos_on_one_canvas_never_group(shipped_library):
    lib, paths = shipped_library
    negatives = {paths[n] for n in ("dark1", "dark2", "canvas_a", "canvas_b")}
    for g in lib.duplicates("duplicates"):
        members = {m.path for m in g.members}
        assert not (members & negatives), [m.path for m in g.members]


def test_second_run_is_served_from_the_verdict_cache(shipped_library):
    lib, _ = shipped_library
    first = [(g.keeper, sorted(m.path for m in g.members)) for g in lib.duplicates("duplicates")]
    again = [(g.keeper, sorted(m.path for m in g.members)) for g in lib.duplicates("duplicates")]
    assert again == first
    assert lib.last_verification["verified_now"] == 0 and lib.last_verification["cached"] > 0


def test_verifier_rejects_the_same_canvas_with_different_photos():
    a = V.features_from_image(phone_screenshot([scene(40)]))
    b = V.features_from_image(phone_screenshot([scene(41)]))
    v = V.verify(a, b)
    assert not v.same
    same = V.verify(a, V.features_from_image(phone_screenshot([scene(40)]).convert("L")))
    assert same.same


def test_flat_and_tiny_pictures_are_never_verified():
    flat = V.features_from_image(Image.new("RGB", (300, 200), (3, 3, 3)))
    tiny = V.features_from_image(scene(2).resize((20, 15)))
    photo = V.features_from_image(scene(2))
    assert not V.verify(flat, flat).same and not V.verify(tiny, photo).same


def test_orientation_signature_finds_every_turned_copy():
    orig = scene(5)
    imgs = [orig] + [orig.transpose(t) for t in ORIENT.values()] + [scene(6), scene(7)]
    sigs = np.stack([signature(i) for i in imgs])
    a, b, _ = candidate_pairs(np.arange(len(imgs)), sigs)
    pairs = set(zip(a.tolist(), b.tolist()))
    for j in range(1, 1 + len(ORIENT)):
        assert (0, j) in pairs
    assert not any(b >= 1 + len(ORIENT) or a >= 1 + len(ORIENT) for a, b in pairs if a == 0)


def test_photo_is_located_inside_a_phone_screenshot_and_a_photo_is_left_whole():
    from imgsim_desktop.core.trim import photo_box

    shot = np.asarray(phone_screenshot([scene(8)]).resize((112, 243)))
    x0, y0, x1, y1 = photo_box(shot)
    # the photo is pasted at x 54..486, y 120..444 of 540x1170: at 112x243, about x 11..101, y 25..92
    assert abs(x0 - 11) <= 3 and abs(x1 - 101) <= 3 and abs(y0 - 25) <= 3 and abs(y1 - 92) <= 3
    photo = np.asarray(scene(8).resize((149, 112)))
    assert photo_box(photo) == (0, 0, 149, 112)


def test_a_blurred_copy_is_compared_at_its_own_resolution_and_sharp_pictures_are_left_alone():
    """The fine-detail check asks a blurred copy for detail it cannot have; the sharper side is blurred to
    match first. Two different sharp pictures are compared as they are."""
    import cv2

    rng = np.random.default_rng(4)

    def grainy(seed):   # photo grain: detail a blurred copy loses
        g = np.asarray(scene(seed, (320, 240)).convert("L"), np.float32)
        return np.clip(g + cv2.GaussianBlur(rng.normal(0, 40, g.shape).astype(np.float32), (0, 0), 0.6),
                       0, 255).astype(np.uint8)

    sharp = grainy(30)
    soft = cv2.GaussianBlur(sharp, (0, 0), 2.5)
    mask = np.ones(sharp.shape, bool)
    before, _, _ = P.cells(P.highpass(sharp), P.highpass(soft), mask)
    ma, mb, sigma = P.match_sharpness(sharp, soft, mask)
    after, _, _ = P.cells(P.highpass(ma), P.highpass(mb), mask)
    assert before < V.MIN_AGREE_DETAIL <= after
    assert mb is soft and 1.4 <= sigma <= 4.0  # the soft side is never touched; about its own blur is applied
    other = grainy(31)   # a different picture, as sharp
    oa, ob, none = P.match_sharpness(sharp, other, mask)
    assert oa is sharp and ob is other and none == 0.0


def _hazy(grain_seed: int, size=(240, 160)) -> Image.Image:
    """A misty landscape: a sky gradient over one soft ridge, the same for every seed, with its own fine grain
    (foliage, snow, film) per seed: two such photos agree in their broad shapes, not in their detail."""
    import cv2

    w, h = size
    y = np.linspace(0, 1, h)[:, None]
    base = 200 - 90 * y + 0 * np.arange(w)[None, :]
    ridge = (0.45 + 0.1 * np.sin(np.arange(w) / 17.0))[None, :]
    base = cv2.GaussianBlur(np.where(y > ridge, base - 60, base).astype(np.float32), (0, 0), 4)
    grain = cv2.GaussianBlur(np.random.default_rng(grain_seed).normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2)
    grey = np.clip(base + 25 * grain, 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([grey, grey, (grey * 0.9).astype(np.uint8)], -1))


def test_two_misty_landscapes_of_one_shape_are_not_the_same_photo():
    """The whole-frame comparison (when local features do not settle a pair) also asks the fine detail to
    agree: different hazy mountains reach a frame correlation of 0.9+ on their broad shapes alone."""
    from PIL import ImageFilter

    a = V.features_from_image(_hazy(1))
    assert not V.verify(a, V.features_from_image(_hazy(2))).same
    base = dict(a_grey=(a.grey.shape[1], a.grey.shape[0]), a_chroma=a.chroma)
    for other, same in ((_hazy(2), False), (_hazy(1).resize((144, 96), Image.Resampling.LANCZOS), True),
                        (_hazy(1).filter(ImageFilter.GaussianBlur(3)), True)):
        b = V.features_from_image(other)
        v = V._direct(a, b, 0, dict(base, b_grey=(b.grey.shape[1], b.grey.shape[0]), b_chroma=b.chroma))
        assert v.same is same, v.why


def test_different_photos_on_one_busy_phone_canvas_are_not_the_same_photo():
    """The hard-negative bench's canvases: one seeded phone screen (the same backdrop, bars and caption for every
    photo), a different photo on each. Seeds 0-7 give plain and gradient backdrops alike."""
    import random

    from imgsim_desktop.edits import phone_screenshot as screen

    for seed in range(8):
        shots = [screen(scene(50 + i, (400, 300)), random.Random(f"{seed}-canvas")) for i in range(2)]
        a, b = (V.features_from_image(s) for s in shots)
        assert not V.verify(a, b).same, seed


def test_a_heavily_blurred_jpeg_copy_is_verified_and_a_blurred_stranger_is_not(tmp_path):
    """A blur of 2 % of the photo's side leaves no fine detail of its own, only JPEG noise, which the
    fine-detail check used to read as detail that differs (the dev bench's heavy blurs). It is compared by
    close correlation at its own blur instead; a different photo blurred alike still fails."""
    from PIL import ImageFilter

    original = scene(60, (500, 400))
    original.save(tmp_path / "original.jpg", quality=92)
    original.filter(ImageFilter.GaussianBlur(10)).save(tmp_path / "blurred.jpg", quality=75)
    scene(61, (500, 400)).filter(ImageFilter.GaussianBlur(10)).save(tmp_path / "stranger.jpg", quality=75)
    a = V.features_from_path(tmp_path / "original.jpg")
    v = V.verify(a, V.features_from_path(tmp_path / "blurred.jpg"))
    assert v.same, v.why
    from imgsim_desktop.core.match_reason import describe, reason

    assert reason(describe(v, (500, 400), (500, 400))) == "same photo: blurred"
    assert "blur" not in describe(v.swapped(), (500, 400), (500, 400))   # seen from the copy, the original is not
    assert not V.verify(a, V.features_from_path(tmp_path / "stranger.jpg")).same


def test_two_plain_photos_on_one_colourful_canvas_are_not_the_same_photo():
    """Two screenshots of one size share bars, icons and backdrop; when the photos themselves are nearly plain,
    those were all that was compared (the hard-negative bench's scythe and blackboard on one canvas). Where the
    photos are located, only they are compared. The layout is the hard-negative canvas of seed 14, a smooth
    colour field under a title bar, which the earlier verifier called one photo."""
    import random

    from imgsim_desktop.edits import phone_screenshot as screen

    def photo(i):
        p = Image.new("RGB", (400, 300), (200 - 60 * i, 180, 150 + 40 * i))
        ImageDraw.Draw(p).line([(40 + 30 * i, 50), (300, 200 - 50 * i)], fill=(40, 40, 40), width=6)
        return p

    shots = [screen(photo(i), random.Random("14-canvas")) for i in range(2)]
    a, b = (V.features_from_image(s) for s in shots)
    assert a.photo is not None   # located on the canvas
    assert not V.verify(a, b).same
    # ...and a screenshot of a photo with detail still verifies against its re-encoded copy, on that canvas
    import io

    shot = screen(scene(50, (400, 300)), random.Random("14-canvas"))
    buf = io.BytesIO()
    shot.save(buf, "JPEG", quality=70)
    assert V.verify(V.features_from_image(shot), V.features_from_image(Image.open(buf))).same


def test_a_smaller_copy_rejected_on_the_originals_grid_is_compared_on_its_own(monkeypatch):
    """Enlarged onto the original's grid, a tiny copy is soft and blocky, and its fine detail "differs". When
    that comparison says no and the copy is the smaller picture, the pair is compared again on the copy's own
    grid, the original shrunk onto it, and that verdict (seen from the original's side) stands. A different
    photo squashed alike fails on both grids."""
    import io

    def jpeg(img, q):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q)
        buf.seek(0)
        return Image.open(buf).convert("RGB")

    original = jpeg(scene(70, (400, 266)), 92)
    a = V.features_from_image(original)
    tiny = V.features_from_image(jpeg(original.resize((128, 128), Image.Resampling.LANCZOS), 90))
    stranger = V.features_from_image(jpeg(scene(71, (400, 266)).resize((128, 128), Image.Resampling.LANCZOS), 90))
    grids = []
    real = V._compare

    def enlarged_fails(x, y, m, n, base, matched):   # what the real copies met on the original's grid
        grids.append(x.grey.shape)
        v = real(x, y, m, n, base, matched)
        if x is a:
            v.same, v.why = False, "the fine detail differs after alignment"
        return v

    monkeypatch.setattr(V, "_compare", enlarged_fails)
    v = V.verify(a, tiny)
    assert grids == [a.grey.shape, tiny.grey.shape]
    assert v.same, v.why
    assert v.a_grey == (a.grey.shape[1], a.grey.shape[0])       # seen from a's side again
    assert G.scale(np.asarray(v.affine)) > V.COARSER                        # b -> a: the tiny copy is enlarged
    assert not V.verify(a, stranger).same and not V.verify(stranger, a).same


PAIRS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "eval" / "pairs"


@pytest.mark.skipif(not PAIRS.is_dir(), reason="needs ../shared/datasets/eval/pairs")
def test_real_tiny_squashed_copies_verify():
    """Three of the real 128x128 squashed re-encodes the verifier rejected on the original's grid."""
    for pair in ("flower-rose-16152205512_9d6cb80fb6", "flower-tulip-4590702749_e1df8e0c1b",
                 "flower-sunflower-8929288228_6795bcb1fe"):
        v = V.verify(V.features_from_path(PAIRS / pair / "full.jpg"), V.features_from_path(PAIRS / pair / "small.jpg"))
        assert v.same, (pair, v.why)


def _shaded_patch(colours, edge: float, seed: int, size=(84, 80)) -> Image.Image:
    """A ~80 px patch of a smooth shading with soft blotches: bokeh, skin or sky cut from a large camera photo."""
    w, h = size
    x, y = np.linspace(0, 1, w)[None, :, None], np.linspace(0, 1, h)[:, None, None]
    t = 1 / (1 + np.exp(-(x + 0.3 * y - edge) * 9))
    img = np.array(colours[0], float) * (1 - t) + np.array(colours[1], float) * t
    rng = np.random.default_rng(seed)
    blots = Image.fromarray(rng.normal(128, 40, (h // 6, w // 6)).clip(0, 255).astype(np.uint8))
    img += (np.asarray(blots.resize((w, h), Image.Resampling.BICUBIC), float)[:, :, None] - 128) * 0.05
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=88)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def test_two_smooth_shadings_of_different_colours_are_not_one_photo_on_the_whole_frame(monkeypatch):
    """At 55,000 pictures, 76 px tiles of bokeh, skin and sky from different camera photos were "the same photo
    (whole-frame match)": a ramp of light fills the cells with variance. The frames must still hold picture
    once their shading is taken away."""
    a = V.features_from_image(_shaded_patch(((110, 60, 30), (60, 30, 20)), 0.62, 1))
    b = V.features_from_image(_shaded_patch(((90, 140, 210), (40, 60, 110)), 0.58, 2))
    base = dict(a_grey=(a.grey.shape[1], a.grey.shape[0]), a_chroma=a.chroma,
                b_grey=(b.grey.shape[1], b.grey.shape[0]), b_chroma=b.chroma)
    v = V._direct(a, b, 0, base)
    assert not v.same and v.why == "too little detail to verify the whole frame"
    monkeypatch.setattr(V, "DIRECT_SHADED", 0)   # without the check: matched whole, as they were
    assert V._direct(a, b, 0, base).same


def test_a_smaller_copy_says_how_much_narrower_not_a_share_of_the_size():
    """"smaller (46 % of the size)" was read as the file's size (a PNG export twice the bytes of its original)."""
    from imgsim_desktop.core.match_reason import reason

    assert reason({"scale": 0.46}) == "same photo: smaller (46 % as wide)"
    assert reason({"scale": 8.33}) == "same photo: larger (8.3x as wide)"   # the original, from its thumbnail
    assert reason({"scale": 1.05}) == "same photo: re-saved or retouched"


def _mirrored_halves(seed: int) -> tuple[Image.Image, Image.Image]:
    """Two 100 px tiles of a symmetric facade: the right one is the left one mirrored, under its own light and
    weathering (soft blotches); what tiles cut from the two halves of a church front look like."""
    left = scene(seed, size=(300, 300)).resize((100, 100), Image.Resampling.LANCZOS)
    rng = np.random.default_rng(seed)
    blots = Image.fromarray(rng.normal(128, 40, (10, 10)).clip(0, 255).astype(np.uint8))
    weather = (np.asarray(blots.resize((100, 100), Image.Resampling.BICUBIC), float)[:, :, None] - 128) * 0.45
    right = Image.fromarray((np.asarray(ImageOps.mirror(left), float) + weather).clip(0, 255).astype(np.uint8))
    return left, right


def test_two_tiny_halves_of_a_symmetric_picture_are_not_one_mirrored_photo(monkeypatch):
    """At 53,645 pictures, 76-117 px tiles from the two halves of one church front, one nave or one brick wall
    were "the same photo" (mirrored or not) at correlations of 0.73-0.98. Two pictures that small must agree as
    closely as a tiny copy does; a tiny mirrored copy re-saved at quality 50 still does."""
    left, right = _mirrored_halves(0)
    a, b = jpeg_features(left), jpeg_features(right)
    v = V.verify(a, b)
    assert not v.same and v.why == V.TINY_WHY
    assert similar_match(v, (100, 100), (100, 100))[1] == "too small to be sure"   # not "not the same photo"
    buf = io.BytesIO()
    ImageOps.mirror(left).save(buf, "JPEG", quality=50)
    copy = V.verify(a, V.features_from_image(Image.open(buf)))
    assert copy.same and copy.agree >= V.TINY_AGREE and copy.ncc >= V.TINY_NCC
    monkeypatch.setattr(V, "TINY_SIDE", 0)   # without the rule: a mirrored match, as they were
    assert V.verify(a, b).same


def _patch_of_one_wall(grain_seed: int) -> Image.Image:
    """A 96 px patch of a soft, evenly lit structure (a pillar, a curtain) under its own grain: neighbouring
    tiles of one photo share the shapes, not the grain."""
    base = np.asarray(scene(3, size=(96, 96)).filter(ImageFilter.GaussianBlur(2.0)), float)
    grain = np.random.default_rng(grain_seed).normal(0, 8, (96, 96, 1))
    return Image.fromarray((base + grain).clip(0, 255).astype(np.uint8))


def test_two_tiny_patches_of_one_wall_are_not_one_photo_and_a_tiny_copy_is(monkeypatch):
    """At 53,645 pictures, adjacent 76-108 px tiles of one wall, curtain or dusk sky were "the same photo" at
    agreements of 0.90-1.0 and correlations of 0.97-0.997: as closely as tiny copies agree. What a copy keeps
    and a neighbouring patch does not is the grain: both tiny, they must agree in their finest detail too."""
    first, second = _patch_of_one_wall(1), _patch_of_one_wall(2)
    a, b = jpeg_features(first), jpeg_features(second)
    v = V.verify(a, b)
    assert not v.same and v.why == V.TINY_WHY
    for copy in (first, ImageOps.mirror(first)):
        buf = io.BytesIO()
        copy.save(buf, "JPEG", quality=50)
        assert V.verify(a, V.features_from_image(Image.open(buf))).same
    monkeypatch.setattr(V, "TINY_FINE", 0.0)   # shapes alone: the two patches were one photo
    w = V.verify(a, b)
    assert w.same and w.agree >= V.TINY_AGREE and w.ncc >= V.TINY_NCC


def test_a_tiny_copy_of_a_tiny_picture_is_one_photo_whichever_is_asked_first():
    """A code review: the finest detail was compared on the first picture's grid only, where a 36-40 px copy
    of a 128 px picture keeps none (0.0; 0.95 on its own grid), so the verdict followed the order asked."""
    for seed, side in ((1, 36), (18, 36), (21, 36)):
        big = scene(seed, size=(480, 360)).resize((128, 96), Image.Resampling.LANCZOS)
        a, b = jpeg_features(big), jpeg_features(big.resize((side, round(side * 0.75)), Image.Resampling.LANCZOS))
        assert V.verify(a, b).same and V.verify(b, a).same, seed


def test_two_tiny_pictures_get_one_verdict_whichever_is_asked_first():
    """At 53,645 pictures, tiles of two shots of one newt and two tiles of one facade were grouped as one photo
    on a verdict that held only one way round: asked the other way, no geometric match. With a dozen matches
    the fit and the first picture's grid decide; two tiny pictures must find each other both ways."""
    rng = np.random.default_rng(92)
    side = int(rng.integers(80, 117))
    x, y = int(rng.integers(0, 300)), int(rng.integers(0, 200))
    zoom = float(rng.uniform(0.86, 0.95))
    first = scene(92).crop((x, y, x + side, y + side))
    w = int(side * zoom)
    ox, oy = int(rng.integers(0, side - w + 1)), int(rng.integers(0, side - w + 1))
    closer = scene(92).crop((x + ox, y + oy, x + ox + w, y + oy + w)).resize((side, side), Image.Resampling.BICUBIC)
    grain = rng.normal(0, 4, (side, side, 1))
    closer = Image.fromarray((np.asarray(closer, float) + grain).clip(0, 255).astype(np.uint8))
    a, b = jpeg_features(first, 85), jpeg_features(closer, 85)
    assert V._verify(a, b).same and not V._verify(b, a).same   # one way round only
    one, other = V.verify(a, b), V.verify(b, a)
    assert not one.same and one.why == V.TINY_WHY and not other.same


def _perforated_plate(seed: int) -> Image.Image:
    """A 400 x 100 px photo of perforated metal: a staggered grid of dark oval holes every 25 px on a plate lit a
    little unevenly, with its own grain. Any two 100 px tiles of it show the same holes."""
    import cv2
    rng = np.random.default_rng(seed)
    g = np.full((100, 400), 190.0) + np.linspace(-10, 10, 400)[None, :]
    for y in range(12, 100, 25):
        for x in range(12 + (12 if (y // 25) % 2 else 0), 400, 25):
            cv2.ellipse(g, (x, y), (8, 6), 0, 0, 360, 35.0, -1, cv2.LINE_AA)
    g += rng.normal(0, 2.0, g.shape)
    return Image.fromarray(np.stack([g, g, g * 0.97], -1).clip(0, 255).astype(np.uint8))


def test_two_tiny_tiles_of_a_repeating_pattern_are_not_one_photo(monkeypatch):
    """At 53,645 pictures, adjacent 78 px tiles of perforated metal, of a pale wall along its stripes and of a
    dusk horizon were "the same photo" and kept their grain too (fine detail 0.70-0.95): a picture that small
    which matches itself slid a few pixels says nothing about which patch it is. A tiny copy of a picture that
    does not repeat still verifies (the tests above)."""
    plate = _perforated_plate(0)
    a, b = jpeg_features(plate.crop((0, 0, 100, 100))), jpeg_features(plate.crop((100, 0, 200, 100)))
    v = V.verify(a, b)
    assert not v.same and v.why == V.TINY_WHY
    assert V.self_match(a.grey) >= V.TINY_REPEATS and V.self_match(b.grey) >= V.TINY_REPEATS
    c = jpeg_features(plate.crop((150, 0, 250, 100)))   # two holes further on
    assert not V.verify(a, c).same and not V.verify(c, a).same
    monkeypatch.setattr(V, "TINY_REPEATS", 1.01)   # without the rule: one photo both ways round, grain and all
    assert V.verify(a, c).same and V.verify(c, a).same


def test_a_tiny_copy_with_a_plain_middle_is_still_one_photo():
    """A code review: a white middle half "matched" itself everywhere (OpenCV's correlation of a constant
    template is 1.0), so a tiny copy of a picture framed around a white card read as a repeating pattern."""
    for seed in (1, 2, 3):
        pic = scene(seed, size=(128, 96))
        ImageDraw.Draw(pic).rectangle((16, 8, 112, 88), fill=(255, 255, 255))
        buf = io.BytesIO()
        pic.save(buf, "JPEG", quality=80)
        a, b = jpeg_features(pic), V.features_from_image(Image.open(buf))
        assert V.self_match(a.grey) == 0.0 and V.verify(a, b).same, seed
