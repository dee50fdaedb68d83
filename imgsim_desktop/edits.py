"""The photo edits people make, shared by training (augmentation) and ``imgsim bench-make``.

Every edit is a function ``edit(img, rng) -> img``: it takes any PIL image and a ``random.Random``, draws
all of its parameters from ``rng`` (so a given seed always gives the same copy), and returns a new RGB
image. Each works on tiny (tens of pixels) and large images and is cheap enough to run per training sample.

``EDITS`` maps the edit's name to its function; ``random_edit(img, rng)`` picks one uniformly and returns
``(name, edited)``.
"""

from __future__ import annotations

import io
import math
import random
from functools import lru_cache
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

EditFn = Callable[[Image.Image, random.Random], Image.Image]

_WORDS = ("holiday", "best day ever", "summer 2019", "LOL", "me and mum", "beach!", "happy birthday",
          "our trip", "look at this", "wow", "sunday", "#nofilter", "good times", "2021", "home",
          "miss you", "the gang", "road trip", "new year", "weekend vibes")


def _rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return img.convert("RGB")


def _resize(img: Image.Image, w: int, h: int) -> Image.Image:
    w, h = max(1, int(round(w))), max(1, int(round(h)))
    if (w, h) == img.size:
        return img.copy()
    return img.resize((w, h), Image.Resampling.BILINEAR)  # Pillow's bilinear is antialiased when shrinking


def _jpeg_roundtrip(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(63))


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=max(6, int(size)))
    except Exception:  # a Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _random_colour(rng: random.Random, bright: bool | None = None) -> tuple[int, int, int]:
    if bright is None:
        return (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    lo, hi = (150, 256) if bright else (0, 90)
    return (rng.randrange(lo, hi), rng.randrange(lo, hi), rng.randrange(lo, hi))


# ---------------------------------------------------------------------------------------------- edits


def jpeg(img: Image.Image, rng: random.Random) -> Image.Image:
    """Plain re-encode at JPEG quality 30-85."""
    return _jpeg_roundtrip(_rgb(img), rng.randint(30, 85))


def downscale_jpeg(img: Image.Image, rng: random.Random) -> Image.Image:
    """Shrink to 25-60 % of the linear size, then save as JPEG at quality 15-45 (a thumbnail / chat copy)."""
    img = _rgb(img)
    s = rng.uniform(0.25, 0.60)
    small = _resize(img, max(8, img.width * s), max(8, img.height * s))
    return _jpeg_roundtrip(small, rng.randint(15, 45))


def crop(img: Image.Image, rng: random.Random) -> Image.Image:
    """Keep 55-90 % of the area, with a slightly different aspect, at a random position."""
    img = _rgb(img)
    area = rng.uniform(0.55, 0.90)
    r = math.exp(rng.uniform(-0.2, 0.2))
    fw = min(1.0, math.sqrt(area) * r)
    fh = min(1.0, area / fw)
    w = max(1, int(round(img.width * fw)))
    h = max(1, int(round(img.height * fh)))
    x = rng.randint(0, img.width - w)
    y = rng.randint(0, img.height - h)
    return img.crop((x, y, x + w, y + h))


def exposure(img: Image.Image, rng: random.Random) -> Image.Image:
    """One to four of: brightness 0.6-1.45, contrast 0.6-1.5, saturation 0.3-1.8, gamma 0.6-1.6."""
    img = _rgb(img)
    ops = ["brightness", "contrast", "saturation", "gamma"]
    chosen = rng.sample(ops, rng.randint(1, 4))
    out = img
    for op in ops:  # fixed order; random subset
        if op not in chosen:
            continue
        if op == "brightness":
            out = ImageEnhance.Brightness(out).enhance(_away_from_one(rng, 0.6, 1.45))
        elif op == "contrast":
            out = ImageEnhance.Contrast(out).enhance(_away_from_one(rng, 0.6, 1.5))
        elif op == "saturation":
            out = ImageEnhance.Color(out).enhance(_away_from_one(rng, 0.3, 1.8))
        else:
            g = _away_from_one(rng, 0.6, 1.6)
            lut = [min(255, int(round(255.0 * (i / 255.0) ** g))) for i in range(256)]
            out = out.point(lut * 3)
    return out


def _away_from_one(rng: random.Random, lo: float, hi: float, gap: float = 0.12) -> float:
    """A factor in [lo, hi] that is at least ``gap`` away from 1 (so the edit is visible)."""
    for _ in range(20):
        v = rng.uniform(lo, hi)
        if abs(v - 1.0) >= gap:
            return v
    return lo


def rotate_crop(img: Image.Image, rng: random.Random) -> Image.Image:
    """Rotate by 3-15 degrees either way and crop to the largest upright rectangle with no border."""
    img = _rgb(img)
    angle = rng.uniform(3.0, 15.0) * rng.choice((-1, 1))
    rot = img.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    w, h = img.size
    cw, ch = _largest_rotated_rect(w, h, math.radians(angle))
    # one pixel of margin against interpolation fringes
    cw, ch = max(1, int(cw) - 2), max(1, int(ch) - 2)
    cx, cy = rot.width / 2.0, rot.height / 2.0
    left, top = int(round(cx - cw / 2.0)), int(round(cy - ch / 2.0))
    return rot.crop((left, top, left + cw, top + ch))


def _largest_rotated_rect(w: float, h: float, angle: float) -> tuple[float, float]:
    """Width and height of the largest axis-aligned rectangle inside a w×h rectangle rotated by angle."""
    if w <= 0 or h <= 0:
        return 0.0, 0.0
    long_side, short_side = (w, h) if w >= h else (h, w)
    sin_a, cos_a = abs(math.sin(angle)), abs(math.cos(angle))
    if short_side <= 2.0 * sin_a * cos_a * long_side or abs(sin_a - cos_a) < 1e-10:
        # half-constrained: two corners of the crop touch the longer side
        x = 0.5 * short_side
        wr, hr = (x / sin_a, x / cos_a) if w >= h else (x / cos_a, x / sin_a)
    else:
        cos_2a = cos_a * cos_a - sin_a * sin_a
        wr, hr = (w * cos_a - h * sin_a) / cos_2a, (h * cos_a - w * sin_a) / cos_2a
    return wr, hr


def caption(img: Image.Image, rng: random.Random) -> Image.Image:
    """A text bar (meme / social caption), text written over the photo, and/or a coloured sticker."""
    img = _rgb(img).copy()
    kind = rng.choice(("bar", "overlay", "sticker", "bar+sticker", "overlay+sticker"))
    w, h = img.size
    if "bar" in kind:
        bar_h = max(4, int(round(h * rng.uniform(0.10, 0.22))))
        bg = _random_colour(rng, bright=rng.random() < 0.6)
        fg = (0, 0, 0) if sum(bg) > 380 else (255, 255, 255)
        canvas = Image.new("RGB", (w, h + bar_h), bg)
        top = rng.random() < 0.5
        canvas.paste(img, (0, bar_h if top else 0))
        d = ImageDraw.Draw(canvas)
        font = _font(max(6, int(bar_h * 0.6)))
        text = rng.choice(_WORDS)
        tw = d.textlength(text, font=font)
        tx = max(1, int((w - tw) / 2)) if rng.random() < 0.6 else max(1, int(w * 0.04))
        ty = (0 if top else h) + max(0, int(bar_h * 0.15))
        d.text((tx, ty), text, fill=fg, font=font)
        img = canvas
        w, h = img.size
    if "overlay" in kind:
        d = ImageDraw.Draw(img)
        size = max(6, int(round(min(w, h) * rng.uniform(0.08, 0.18))))
        font = _font(size)
        text = rng.choice(_WORDS)
        if rng.random() < 0.5:
            text = text.upper()
        tw = d.textlength(text, font=font)
        x = rng.randint(0, max(0, int(w - tw)))
        y = rng.randint(0, max(0, h - size - 2))
        fill = _random_colour(rng, bright=rng.random() < 0.7)
        stroke = (0, 0, 0) if sum(fill) > 380 else (255, 255, 255)
        d.text((x, y), text, fill=fill, font=font, stroke_width=max(1, size // 12), stroke_fill=stroke)
    if "sticker" in kind:
        d = ImageDraw.Draw(img)
        for _ in range(rng.randint(1, 2)):
            s = max(3, int(round(min(w, h) * rng.uniform(0.10, 0.28))))
            x = rng.randint(0, max(0, w - s))
            y = rng.randint(0, max(0, h - s))
            fill = _random_colour(rng)
            outline = _random_colour(rng, bright=True)
            shape = rng.choice(("ellipse", "rect", "star", "heart"))
            box = (x, y, x + s, y + s)
            if shape == "ellipse":
                d.ellipse(box, fill=fill, outline=outline, width=max(1, s // 15))
            elif shape == "rect":
                d.rounded_rectangle(box, radius=max(1, s // 5), fill=fill, outline=outline,
                                    width=max(1, s // 15))
            elif shape == "star":
                cx, cy, ro = x + s / 2, y + s / 2, s / 2
                pts = []
                for i in range(10):
                    r = ro if i % 2 == 0 else ro * 0.45
                    a = -math.pi / 2 + i * math.pi / 5
                    pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
                d.polygon(pts, fill=fill, outline=outline)
            else:  # heart: two circles and a triangle
                r = s / 4
                d.ellipse((x, y, x + 2 * r, y + 2 * r), fill=fill)
                d.ellipse((x + 2 * r, y, x + 4 * r, y + 2 * r), fill=fill)
                d.polygon([(x, y + r * 1.2), (x + s, y + r * 1.2), (x + s / 2, y + s)], fill=fill)
    return img


def screenshot(img: Image.Image, rng: random.Random) -> Image.Image:
    """The photo shown smaller on a larger app / browser canvas with title bar, side bar and UI bits."""
    img = _rgb(img)
    frac = rng.uniform(0.45, 0.80)          # photo width / canvas width
    cw = max(16, int(round(img.width / frac)))
    ch = max(16, int(round(cw * rng.uniform(0.55, 1.9))))  # landscape desktop .. portrait phone
    dark = rng.random() < 0.4
    bg = _random_colour(rng, bright=not dark)
    canvas = Image.new("RGB", (cw, ch), bg)
    d = ImageDraw.Draw(canvas)
    bar_h = max(2, int(ch * rng.uniform(0.04, 0.10)))
    bar_col = _random_colour(rng, bright=rng.random() < 0.5)
    d.rectangle((0, 0, cw, bar_h), fill=bar_col)
    if rng.random() < 0.7:  # bottom bar (phone nav / status bar)
        d.rectangle((0, ch - bar_h, cw, ch), fill=bar_col)
    side_w = 0
    if rng.random() < 0.5:
        side_w = max(1, int(cw * rng.uniform(0.08, 0.18)))
        d.rectangle((0, bar_h, side_w, ch), fill=_random_colour(rng, bright=not dark))
    ui = (60, 60, 60) if not dark else (200, 200, 200)
    for i in range(rng.randint(2, 6)):  # text-like lines and buttons
        lx = side_w + rng.randint(2, max(3, cw // 10))
        ly = bar_h + rng.randint(2, max(3, ch - 2 * bar_h - 4))
        lw = rng.randint(max(2, cw // 10), max(3, cw // 2))
        lh = max(1, ch // 90)
        d.rectangle((lx, ly, lx + lw, ly + lh), fill=ui)
    # scale the photo to fit the free area, keep its aspect, paste it
    free_w, free_h = cw - side_w - 4, ch - 2 * bar_h - 4
    s = min(frac * cw / img.width, free_w / img.width, free_h / img.height)
    pw, ph = max(1, int(img.width * s)), max(1, int(img.height * s))
    photo = _resize(img, pw, ph)
    px = side_w + 2 + rng.randint(0, max(0, free_w - pw))
    py = bar_h + 2 + rng.randint(0, max(0, free_h - ph))
    canvas.paste(photo, (px, py))
    title_font = _font(max(6, int(bar_h * 0.6)))
    d.text((side_w + 4, max(0, int(bar_h * 0.15))), rng.choice(_WORDS), font=title_font,
           fill=(0, 0, 0) if sum(bar_col) > 380 else (255, 255, 255))
    if rng.random() < 0.5:
        canvas = _jpeg_roundtrip(canvas, rng.randint(60, 92))
    return canvas


def grayscale(img: Image.Image, rng: random.Random) -> Image.Image:
    """Black and white (plain luminance, sometimes with a contrast boost)."""
    g = _rgb(img).convert("L")
    if rng.random() < 0.3:
        g = ImageOps.autocontrast(g, cutoff=rng.uniform(0.0, 2.0))
    return g.convert("RGB")


def blur(img: Image.Image, rng: random.Random) -> Image.Image:
    """Gaussian blur of 0.6-2.5 % of the shorter side (at least 0.6 px)."""
    img = _rgb(img)
    radius = max(0.6, min(img.size) * rng.uniform(0.006, 0.025))
    return img.filter(ImageFilter.GaussianBlur(radius))


def noise(img: Image.Image, rng: random.Random) -> Image.Image:
    """Gaussian sensor-like noise, sigma 6-25 grey levels, sometimes colour, sometimes luminance only."""
    img = _rgb(img)
    g = _np_rng(rng)
    sigma = rng.uniform(6.0, 25.0)
    a = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.5:
        n = g.normal(0.0, sigma, size=a.shape).astype(np.float32)
    else:
        n = np.repeat(g.normal(0.0, sigma, size=a.shape[:2] + (1,)).astype(np.float32), 3, axis=2)
    return Image.fromarray(np.clip(a + n, 0, 255).astype(np.uint8), "RGB")


def aspect(img: Image.Image, rng: random.Random) -> Image.Image:
    """Squash or stretch one axis by 0.7-1.4 (at least 10 % off)."""
    img = _rgb(img)
    f = _away_from_one(rng, 0.7, 1.4, gap=0.1)
    if rng.random() < 0.5:
        return _resize(img, img.width * f, img.height)
    return _resize(img, img.width, img.height * f)


def mirror(img: Image.Image, rng: random.Random) -> Image.Image:
    """Left-right flip (selfie cameras, "flip" buttons)."""
    return ImageOps.mirror(_rgb(img))


def _orientation(op: Image.Transpose) -> EditFn:
    def edit(img: Image.Image, rng: random.Random) -> Image.Image:
        return _rgb(img).transpose(op)
    return edit


# The 8 orientations of a photo (the identity and "mirror" being two of them): a phone photo that lost its
# EXIF orientation, a scan fed sideways, an editor's rotate and flip buttons.
rot90 = _orientation(Image.Transpose.ROTATE_270)      # turned 90° clockwise
rot180 = _orientation(Image.Transpose.ROTATE_180)
rot270 = _orientation(Image.Transpose.ROTATE_90)      # turned 90° anticlockwise
flip = _orientation(Image.Transpose.FLIP_TOP_BOTTOM)
transpose = _orientation(Image.Transpose.TRANSPOSE)
transverse = _orientation(Image.Transpose.TRANSVERSE)


def _busy_background(img: Image.Image, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """What apps put behind a photo: the photo itself enlarged and blurred, or a colourful pattern."""
    w, h = size
    if rng.random() < 0.5:
        bg = _resize(img, w, h).filter(ImageFilter.GaussianBlur(max(2, min(w, h) // 25)))
        return ImageEnhance.Brightness(bg).enhance(rng.uniform(0.5, 0.9))
    g = _np_rng(rng)
    cells = (rng.randint(3, 9), rng.randint(3, 9))
    field = (g.random((cells[1], cells[0], 3)) * 255).astype(np.uint8)
    return Image.fromarray(field, "RGB").resize((w, h), Image.Resampling.BICUBIC)


def _status_bar(d: ImageDraw.ImageDraw, w: int, bar_h: int, rng: random.Random, colour, fg) -> None:
    d.rectangle((0, 0, w, bar_h), fill=colour)
    font = _font(max(6, int(bar_h * 0.6)))
    d.text((max(2, w // 20), max(0, bar_h // 6)), f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}", fill=fg,
           font=font)
    for i in range(rng.randint(2, 4)):  # signal, wifi, battery
        x = w - (i + 1) * max(4, bar_h) - max(2, w // 30)
        d.rectangle((x, bar_h // 4, x + max(2, bar_h * 2 // 3), bar_h * 3 // 4), fill=fg)


def _canvas_screenshot(img: Image.Image, rng: random.Random, tall: bool) -> Image.Image:
    img = _rgb(img)
    scale = rng.uniform(0.40, 0.90)   # photo width (tall) or height (wide) / canvas's
    if tall:   # a phone: 9:19.5 .. 9:16 portrait
        cw = max(32, int(round(img.width / scale)))
        ch = int(round(cw * rng.uniform(16 / 9, 19.5 / 9)))
    else:      # a desktop window or a landscape tablet
        ch = max(32, int(round(img.height / scale)))
        cw = int(round(ch * rng.uniform(1.45, 1.9)))
    dark = rng.random() < 0.4
    busy = rng.random() < 0.35
    canvas = _busy_background(img, (cw, ch), rng) if busy else Image.new("RGB", (cw, ch),
                                                                           _random_colour(rng, bright=not dark))
    d = ImageDraw.Draw(canvas)
    bar_h = max(3, int(ch * (0.03 if tall else 0.04)))
    bar_col = (0, 0, 0) if dark else _random_colour(rng, bright=True)
    fg = (255, 255, 255) if sum(bar_col) < 380 else (0, 0, 0)
    _status_bar(d, cw, bar_h, rng, bar_col, fg)
    top = bar_h
    if rng.random() < 0.8:  # the app's title bar
        app_h = max(3, int(ch * rng.uniform(0.04, 0.08)))
        app_col = _random_colour(rng, bright=not dark)
        d.rectangle((0, bar_h, cw, bar_h + app_h), fill=app_col)
        d.text((max(2, cw // 12), bar_h + app_h // 5), rng.choice(_WORDS), font=_font(max(6, app_h // 2)),
               fill=(0, 0, 0) if sum(app_col) > 380 else (255, 255, 255))
        top += app_h
    bottom = ch
    if rng.random() < 0.7:  # navigation bar with icons
        nav_h = max(3, int(ch * rng.uniform(0.05, 0.09)))
        nav_col = _random_colour(rng, bright=not dark)
        d.rectangle((0, ch - nav_h, cw, ch), fill=nav_col)
        for i in range(4):
            x = int((i + 0.5) * cw / 4)
            r = max(2, nav_h // 4)
            d.ellipse((x - r, ch - nav_h // 2 - r, x + r, ch - nav_h // 2 + r), outline=fg, width=max(1, r // 3))
        bottom -= nav_h
    # the photo, scaled to fit between the bars, keeping its aspect
    free_h = max(4, bottom - top - 4)
    s = min((scale * cw) / img.width if tall else (scale * ch) / img.height, (cw - 4) / img.width,
            free_h / img.height)
    pw, ph = max(1, int(img.width * s)), max(1, int(img.height * s))
    px = rng.randint(2, max(2, cw - pw - 2))
    py = top + 2 + rng.randint(0, max(0, free_h - ph))
    canvas.paste(_resize(img, pw, ph), (px, py))
    if rng.random() < 0.6:  # a caption line or two under (or over) the photo
        ty = py + ph + 4 if py + ph + 12 < bottom else max(top + 2, py - 12)
        d.rectangle((px, ty, px + int(pw * rng.uniform(0.3, 0.9)), ty + max(2, ch // 120)),
                    fill=(220, 220, 220) if dark else (60, 60, 60))
    if rng.random() < 0.5:
        canvas = _jpeg_roundtrip(canvas, rng.randint(70, 95))
    return canvas


def phone_screenshot(img: Image.Image, rng: random.Random) -> Image.Image:
    """The photo on a tall phone screen (40-90 % of its width): status bar, app bar, navigation bar, a plain
    or busy background."""
    return _canvas_screenshot(img, rng, tall=True)


def wide_screenshot(img: Image.Image, rng: random.Random) -> Image.Image:
    """The photo on a wide desktop / tablet screen (40-90 % of its height), with the same chrome."""
    return _canvas_screenshot(img, rng, tall=False)


EDITS: dict[str, EditFn] = {
    "downscale_jpeg": downscale_jpeg,
    "crop": crop,
    "exposure": exposure,
    "rotate_crop": rotate_crop,
    "caption": caption,
    "screenshot": screenshot,
    "grayscale": grayscale,
    "blur": blur,
    "noise": noise,
    "aspect": aspect,
    "mirror": mirror,
    "jpeg": jpeg,
    "rot90": rot90,
    "rot180": rot180,
    "rot270": rot270,
    "flip": flip,
    "transpose": transpose,
    "transverse": transverse,
    "phone_screenshot": phone_screenshot,
    "wide_screenshot": wide_screenshot,
}

# Edits training leaves out unless asked: the shipped encoder was trained without them, and orientations are
# covered by the grouping's orientation signatures and verifier instead (core/signature.py, core/verify.py).
BENCH_ONLY = ("rot90", "rot180", "rot270", "flip", "transpose", "transverse", "phone_screenshot",
              "wide_screenshot")


def pick_edit(rng: random.Random, weights: dict[str, float] | None = None) -> str:
    """An edit's name, drawn uniformly or by ``weights`` (name -> relative weight, missing names 1.0)."""
    names = [n for n in EDITS if n not in BENCH_ONLY or (weights and n in weights)]
    if weights:
        return rng.choices(names, weights=[float(weights.get(n, 1.0)) for n in names])[0]
    return rng.choice(names)


def random_edit(img: Image.Image, rng: random.Random,
                weights: dict[str, float] | None = None) -> tuple[str, Image.Image]:
    """Pick one edit with :func:`pick_edit` and apply it; returns ``(name, edited RGB image)``."""
    name = pick_edit(rng, weights)
    return name, EDITS[name](img, rng)
