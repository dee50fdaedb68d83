"""Locating the photo on a screen before it is embedded and signed (core/trim.py): plain and smooth backdrops,
tall and wide screens; an ordinary photo is left whole."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from imgsim_desktop.core.trim import photo_box, trimmed
from photos import scene


def screen(photo: Image.Image, size, at, backdrop: str) -> Image.Image:
    """A screen of ``size`` with a status bar, the photo pasted at ``at``, over a backdrop: "plain", "blurred"
    (the photo itself enlarged and blurred, as gallery apps do) or "gradient" (a smooth colour field)."""
    w, h = size
    if backdrop == "plain":
        canvas = Image.new("RGB", size, (60, 70, 60))
    elif backdrop == "blurred":
        canvas = photo.resize(size).filter(ImageFilter.GaussianBlur(min(size) // 25))
    else:
        rng = np.random.default_rng(3)
        canvas = Image.fromarray((rng.random((5, 4, 3)) * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    d = ImageDraw.Draw(canvas)
    d.rectangle([0, 0, w, h // 30], fill=(0, 0, 0))
    d.text((10, 2), "9:41", fill=(255, 255, 255))
    canvas.paste(photo, at)
    return canvas


def located(img: Image.Image, photo_at, photo_size) -> bool:
    """Does the trimmed part match the photo's rectangle to within 5 % of its size?"""
    part, _ = trimmed(img)
    box = part.getbbox()  # only to be sure the crop is non-empty
    assert box is not None
    w, h = img.size
    x0, y0 = photo_at
    pw, ph = photo_size
    return abs(part.width - pw) <= 0.05 * pw + 0.02 * w and abs(part.height - ph) <= 0.05 * ph + 0.02 * h


def test_photo_on_a_smooth_backdrop_of_a_phone_screen_is_located():
    photo = scene(11, (300, 200))
    for backdrop in ("blurred", "gradient", "plain"):
        shot = screen(photo, (560, 1200), (130, 500), backdrop)
        assert located(shot, (130, 500), (300, 200)), backdrop


def test_portrait_photo_on_a_wide_screen_is_located():
    photo = scene(12, (240, 360))  # 5.6 % of the screen
    for backdrop in ("plain", "gradient"):
        shot = screen(photo, (1700, 900), (1200, 400), backdrop)
        assert located(shot, (1200, 400), (240, 360)), backdrop


def test_small_photo_framed_on_a_plain_screen_is_located():
    photo = scene(13, (240, 160))  # about 4.5 % of a 540x1600 screen
    shot = screen(photo, (540, 1600), (150, 700), "plain")
    assert located(shot, (150, 700), (240, 160))


def test_ordinary_photos_are_left_whole():
    for seed, size in ((14, (480, 360)), (15, (900, 400)), (16, (360, 480))):
        img = scene(seed, size)
        assert trimmed(img)[1] == 1.0
        assert photo_box(np.asarray(img)) == (0, 0, size[0], size[1])


def test_a_misty_photo_on_a_tall_canvas_is_not_cut_to_its_sharpest_strip():
    """A photo whose own content is smooth (fog, a blurred shot) under a plain band keeps its whole body: the
    smooth-backdrop rule wants a backdrop with almost no detail all around the photo."""
    img = scene(17, (400, 900)).filter(ImageFilter.GaussianBlur(3))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 400, 30], fill=(0, 0, 0))
    part, share = trimmed(img)
    assert share >= 0.9


def test_a_photo_with_a_plain_sky_is_left_whole_and_signs_like_its_grey_copy():
    """Plain rows on one side are the photo's own sky: cutting them away made a colour photo and its grey copy
    cut at different heights, so neither the network nor the signature matched them."""
    from PIL import ImageOps

    from imgsim_desktop.core.signature import signature

    img = scene(18, (480, 320))
    ImageDraw.Draw(img).rectangle([0, 0, 480, 150], fill=(120, 170, 230))   # a clear sky over the top half
    assert trimmed(img)[1] == 1.0
    grey = ImageOps.grayscale(img).convert("RGB")
    assert trimmed(grey)[1] == 1.0
    assert float(signature(img) @ signature(grey)) >= 0.95


def test_portrait_photo_in_a_desktop_window_of_three_by_two_is_located():
    """Desktop windows and landscape tablets go down to 3:2, under the tall-or-wide shape of a screen: a
    portrait photo there fills so few of a row's pixels that every row reads as plain."""
    photo = scene(19, (240, 360))  # about 6 % of the window
    for backdrop in ("plain", "gradient"):
        shot = screen(photo, (1500, 1000), (900, 400), backdrop)
        assert located(shot, (900, 400), (240, 360)), backdrop


def test_a_three_by_two_photo_with_a_sharp_subject_on_a_smooth_surround_is_left_whole():
    """The window reading sets a smooth backdrop aside only under a plain band on top and only for a photo
    framed on all four sides: a photo's own bokeh or sky is part of it (its blurred copy would not be cut)."""
    subject = scene(20, (300, 200))
    for top in (False, True):
        img = scene(21, (600, 400)).filter(ImageFilter.GaussianBlur(12))
        img.paste(subject, (150, 100))
        if top:
            ImageDraw.Draw(img).rectangle([0, 0, 600, 80], fill=(120, 170, 230))   # a clear sky above
        assert trimmed(img)[1] == 1.0, top


def test_a_blurred_photo_keeps_its_whole_frame_and_a_letterboxed_copy_is_cut_to_it():
    """Blur makes a sky and a floor plain line by line, but their colour drifts from line to line; a
    letterbox's bars are one colour throughout. Cutting the blurred copy, and not its sharp original, made
    them embed and sign differently."""
    img = scene(22, (480, 320))
    d = ImageDraw.Draw(img)
    for y in range(0, 90):   # a sky brightening towards the horizon, and a pale floor
        d.line([(0, y), (480, y)], fill=(90 + y, 130 + y, 200))
    for y in range(260, 320):
        d.line([(0, y), (480, y)], fill=(200 - (y - 260), 190 - (y - 260), 170))
    assert trimmed(img)[1] == 1.0
    assert trimmed(img.filter(ImageFilter.GaussianBlur(6)))[1] == 1.0
    boxed = Image.new("RGB", (480, 480), (0, 0, 0))
    boxed.paste(scene(22, (480, 320)), (0, 80))
    part, share = trimmed(boxed)
    assert abs(part.height - 320) <= 12 and share < 0.8
