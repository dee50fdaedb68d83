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
    the uncropped original of a crop. Each side inside the picture votes; columns are rows of the transpose."""
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    g = grey.astype(np.float32)
    sides = [_across(g, y0, x0, x1, 1), _across(g, y1, x0, x1, -1),       # top, bottom
             _across(g.T, x0, y0, y1, 1), _across(g.T, x1, y0, y1, -1)]   # left, right
    votes = [_frame_vote(*lines) for lines in sides if lines is not None]
    return bool(votes) and sum(votes) * 2 > len(votes)


def _across(g: np.ndarray, at: int, lo: int, hi: int, inward: int):
    """The rows 3 and 9 pixels inside and outside a border at row ``at`` (the picture lies towards
    ``inward``), over the middle 80 % of columns ``lo..hi``; None where the border is not inside ``g``."""
    n, m = g.shape
    d = 3
    if not d <= at < n - d or hi - lo < 8:
        return None
    a, b = max(0, lo) + (hi - lo) // 10, min(m, hi) - (hi - lo) // 10
    if b - a < 6:
        return None

    def row(k: int) -> np.ndarray:
        return g[min(n - 1, max(0, at + k)), a:b]

    return row(inward * d), row(-inward * d), row(3 * inward * d), row(-3 * inward * d)


def _frame_vote(inner: np.ndarray, outer: np.ndarray, inner2: np.ndarray, outer2: np.ndarray) -> bool:
    # a step across the border, against how much the picture changes over the same distance on either side
    # (the calmer side: a screenshot's blurred backdrop); a busy picture running on changes as much inside
    texture = min(np.abs(inner - inner2).mean(), np.abs(outer - outer2).mean()) + 1.0
    edge = np.abs(inner - outer).mean()
    # plain surroundings frame a picture that is not itself plain in the same tone (a soft background
    # running on is the uncropped original)
    plain = outer.std() < 6.0 and (inner.std() >= 6.0 or abs(float(inner.mean() - outer.mean())) > 10.0)
    return bool(plain or edge > 2.5 * texture + 10.0)
