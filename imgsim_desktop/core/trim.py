"""Find the photo inside a screenshot or a padded canvas, cheaply, before it is signed (core/signature.py).

A phone screenshot puts the photo between a status bar, app chrome and plain background; all of those are
rows (and columns) that are nearly one colour, while a photo's rows are not. The photo is the longest run
of busy rows, then the longest run of busy columns inside it. A busy background (a blurred copy, a
wallpaper) defeats this, and then the whole canvas is used: the verifier still locates the photo there.
"""

from __future__ import annotations

import numpy as np

TOL = 12            # grey levels (max over channels) from the line's median that still count as "the same"
UNIFORM = 0.80      # a line is plain when this share of its pixels is one colour
GAP = 1             # busy runs may bridge this many plain lines (a thin horizon, a flat stripe)
MIN_SHARE = 0.08    # a located photo smaller than this share of the canvas is not trusted
MAX_SHARE = 0.92    # ...and one this large is just the photo


def _plain(lines: np.ndarray) -> np.ndarray:
    """(n,) bool: which lines (n, m, 3) are nearly one colour."""
    med = np.median(lines, axis=1, keepdims=True)
    close = np.abs(lines.astype(np.int16) - med.astype(np.int16)).max(axis=2) <= TOL
    return close.mean(axis=1) >= UNIFORM


def _longest_busy_run(plain: np.ndarray) -> tuple[int, int]:
    best, start, gap = (0, 0), None, 0
    for i, p in enumerate(list(plain) + [True] * (GAP + 1)):
        if not p:
            if start is None:
                start = i
            gap = 0
            end = i + 1
            if end - start > best[1] - best[0]:
                best = (start, end)
        elif start is not None:
            gap += 1
            if gap > GAP:
                start, gap = None, 0
    return best


def photo_box(rgb: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the photo in an (h, w, 3) uint8 canvas; the whole canvas when nothing stands out."""
    h, w = rgb.shape[:2]
    whole = (0, 0, w, h)
    if h < 16 or w < 16:
        return whole
    y0, y1 = _longest_busy_run(_plain(rgb))
    if y1 - y0 < 4:
        return whole
    band = rgb[y0:y1]
    x0, x1 = _longest_busy_run(_plain(band.transpose(1, 0, 2)))
    if x1 - x0 < 4:
        return whole
    share = (x1 - x0) * (y1 - y0) / float(w * h)
    if not MIN_SHARE <= share <= MAX_SHARE:
        return whole
    return (x0, y0, x1, y1)


def trimmed(img, work_side: int = 64):
    """The PIL image cut to :func:`photo_box` (found on a copy at most ``work_side`` pixels long, which is
    plenty for a signature and keeps this well under a millisecond), and the share of the canvas it fills."""
    w, h = img.size
    s = min(1.0, work_side / max(w, h))
    small = img.convert("RGB") if s >= 1.0 else img.convert("RGB").resize(
        (max(1, round(w * s)), max(1, round(h * s))), 0)  # 0 = nearest: plain lines stay plain
    sw, sh = small.size
    x0, y0, x1, y1 = photo_box(np.asarray(small))
    if (x0, y0, x1, y1) == (0, 0, sw, sh):
        return img, 1.0
    box = (int(x0 * w / sw), int(y0 * h / sh), int(round(x1 * w / sw)), int(round(y1 * h / sh)))
    return img.crop(box), (x1 - x0) * (y1 - y0) / float(sw * sh)
