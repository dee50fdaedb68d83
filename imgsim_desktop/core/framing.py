"""Where one picture sits inside another (core/verify.py has matched them): inside a frame or on a screen,
which makes it the copy shown (a screenshot, a padded copy), not the original; and two screenshots of one
phone, whose bars and backdrop agree whatever photo they show."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .trim import is_screen

if TYPE_CHECKING:
    from .verify import Features


def shown_on_screen(f: Features, quad: np.ndarray) -> bool:
    """Is the other picture's region where the trim located a photo on this screen-shaped canvas? Then it is
    shown on a screen, whatever its border looks like (the photo's own picture blurred behind it runs on
    past the border as a photo's would)."""
    gh, gw = f.grey.shape
    if f.photo is None or (f.photo[2] - f.photo[0]) * (f.photo[3] - f.photo[1]) >= 0.9 * gw * gh:
        return False   # no photo located, or one filling the screen: nothing around it to be a frame
    x0, y0 = (float(c) for c in quad.min(axis=0))
    x1, y1 = (float(c) for c in quad.max(axis=0))
    px0, py0, px1, py1 = f.photo
    x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(gw)), min(y1, float(gh))
    if (x1 - x0) * (y1 - y0) >= 0.9 * gw * gh:
        return False   # the other picture fills this canvas: nothing around it
    inter = max(0.0, min(x1, px1) - max(x0, px0)) * max(0.0, min(y1, py1) - max(y0, py0))
    union = (x1 - x0) * (y1 - y0) + (px1 - px0) * (py1 - py0) - inter
    return union > 0 and inter / union >= 0.5


def one_screen(a: Features, b: Features) -> bool:
    """Two screenshots of one shape and size (one phone, one app): their bars, icons and backdrop agree
    whatever photo they show, so only cells that agree nearly everywhere (verify.MIN_AGREE_ALONE) make them one."""
    (wa, ha), (wb, hb) = a.size, b.size
    return is_screen(wa, ha) and abs(wa - wb) <= 0.02 * wa and abs(ha - hb) <= 0.02 * ha


def photos_on_screen(a: Features, b: Features) -> np.ndarray:
    """Where either of two same-size screenshots shows its photo, in a's grey pixels (one size and shape: b's
    pixels are a's, what affine there is is tiny); everywhere when neither photo was located."""
    region = np.zeros(a.grey.shape, bool)
    for f in (a, b):
        if f.photo is not None:
            x0, y0, x1, y1 = f.photo
            region[y0:y1, x0:x1] = True
    return region if region.any() else np.ones(a.grey.shape, bool)


def framed(grey: np.ndarray, quad: np.ndarray) -> bool:
    """Does the picture's region ``quad`` inside ``grey`` end at a frame (plain surroundings or a hard edge)
    rather than run on into more of the same picture? The first is a screenshot or a padded copy, the second
    the uncropped original of a crop."""
    h, w = grey.shape
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    g = grey.astype(np.float32)
    votes = sides = 0
    d = 3
    for side in ("top", "bottom", "left", "right"):
        if side in ("top", "bottom"):
            y = y0 if side == "top" else y1
            if not d <= y < h - d or x1 - x0 < 8:
                continue
            xa, xb = max(0, x0) + (x1 - x0) // 10, min(w, x1) - (x1 - x0) // 10
            if xb - xa < 6:
                continue
            inner = g[y + d if side == "top" else y - d, xa:xb]
            outer = g[y - d if side == "top" else y + d, xa:xb]
            inner2 = g[min(h - 1, y + 3 * d) if side == "top" else max(0, y - 3 * d), xa:xb]
            outer2 = g[max(0, y - 3 * d) if side == "top" else min(h - 1, y + 3 * d), xa:xb]
        else:
            x = x0 if side == "left" else x1
            if not d <= x < w - d or y1 - y0 < 8:
                continue
            ya, yb = max(0, y0) + (y1 - y0) // 10, min(h, y1) - (y1 - y0) // 10
            if yb - ya < 6:
                continue
            inner = g[ya:yb, x + d if side == "left" else x - d]
            outer = g[ya:yb, x - d if side == "left" else x + d]
            inner2 = g[ya:yb, min(w - 1, x + 3 * d) if side == "left" else max(0, x - 3 * d)]
            outer2 = g[ya:yb, max(0, x - 3 * d) if side == "left" else min(w - 1, x + 3 * d)]
        sides += 1
        # a step across the border, against how much the picture changes over the same distance on either side
        # (the calmer side: a screenshot's blurred backdrop); a busy picture running on changes as much inside
        texture = min(np.abs(inner - inner2).mean(), np.abs(outer - outer2).mean()) + 1.0
        edge = np.abs(inner - outer).mean()
        # plain surroundings frame a picture that is not itself plain in the same tone (a soft background
        # running on is the uncropped original)
        plain = outer.std() < 6.0 and (inner.std() >= 6.0 or abs(float(inner.mean() - outer.mean())) > 10.0)
        votes += bool(plain or edge > 2.5 * texture + 10.0)
    return sides > 0 and votes * 2 > sides
