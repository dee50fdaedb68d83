"""Comparing two aligned grey pictures (core/verify.py): cell by cell, in their fine detail, and at a common
sharpness. The verifier decides; this says how alike the pixels are."""

from __future__ import annotations

import math

import numpy as np

CELL_GRID = 16              # the overlap is cut into CELL_GRID x CELL_GRID cells for the pixel check
CELL_NCC = 0.6             # a textured cell "agrees" when its correlation reaches this
SOFT = 0.075               # a picture this soft (fine / fine-and-middle detail; sharp photos and pages >= 0.09)...
BLUR_RATIO = 2.5           # ...or its middle detail (against coarse) this much scarcer than the other's, place by
                           # place (captions 1.0-1.9 times their original, dev-bench blurs 1.5-23)...
BLUR_STEPS = (0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.0)   # ...is matched by the best of these blurs


def opencv():
    """OpenCV, imported when first needed and single-threaded (the caller parallelises, if anything)."""
    import cv2

    cv2.setNumThreads(1)
    return cv2


def _corr(n, sa, sb, saa, sbb, sab):
    """Correlation (and the two variances) from the sums over n pixels: per cell, or of the whole overlap."""
    n = np.maximum(n, 1.0)
    va = saa / n - (sa / n) ** 2
    vb = sbb / n - (sb / n) ** 2
    cov = sab / n - sa * sb / (n * n)
    return cov / np.sqrt(np.maximum(va, 1e-9) * np.maximum(vb, 1e-9)), va, vb


def _whole(tot) -> float:
    """The overlap's correlation, 0 where either side is flat."""
    return float(tot[0]) if tot[1] > 1 and tot[2] > 1 else 0.0


def overlap_ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """The correlation of the whole overlap that :func:`cells` reports, alone (a ninth of its time at 96 px),
    for choosing among the 8 orientations of a whole-frame comparison before the cells of the best are counted."""
    sel = mask.astype(bool)
    n = int(sel.sum())
    if n < 64:
        return 0.0
    af = a[sel].astype(np.float64)
    bf = b[sel].astype(np.float64)
    return _whole(_corr(float(n), af.sum(), bf.sum(), (af * af).sum(), (bf * bf).sum(), (af * bf).sum()))


def cells(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> tuple[float, float, int]:
    """(share of textured cells that agree, correlation of the whole overlap, textured cells)."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 64:
        return 0.0, 0.0, 0
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    m = mask[y0:y1, x0:x1].astype(np.float64)
    af = a[y0:y1, x0:x1].astype(np.float64) * m
    bf = b[y0:y1, x0:x1].astype(np.float64) * m
    rows = np.unique(np.linspace(0, y1 - y0, CELL_GRID + 1).astype(int)[:-1])
    cols = np.unique(np.linspace(0, x1 - x0, CELL_GRID + 1).astype(int)[:-1])

    def sums(x):
        return np.add.reduceat(np.add.reduceat(x, rows, axis=0), cols, axis=1)

    n, sa, sb = sums(m), sums(af), sums(bf)
    saa, sbb, sab = sums(af * af), sums(bf * bf), sums(af * bf)

    gncc = _whole(_corr(n.sum(), sa.sum(), sb.sum(), saa.sum(), sbb.sum(), sab.sum()))
    c, va, vb = _corr(n, sa, sb, saa, sbb, sab)
    hs = np.diff(np.append(rows, y1 - y0))[:, None]
    ws = np.diff(np.append(cols, x1 - x0))[None, :]
    textured = (n >= 0.3 * hs * ws) & (va >= 36.0) & (vb >= 36.0)   # flat in either: says nothing
    k = int(textured.sum())
    if not k:
        return 0.0, gncc, 0
    return float((c[textured] >= CELL_NCC).sum() / k), gncc, k


def match_sharpness(ga: np.ndarray, gb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Blur the sharper of two aligned pictures to the other's sharpness, and say by how much (0: left as they
    are). A blurred or tiny copy cannot show detail its original has, so it is compared at its own
    resolution. Only a pair with one genuinely soft side is matched: its finest detail scarce (SOFT: a tiny or
    enlarged copy; sharp photos and pages measure 0.09 and more), or its middle detail scarce everywhere
    (BLUR_RATIO: a heavy blur, whose JPEG noise passes for fine detail). Two different pictures equally
    sharp (pages of one layout, photos on one canvas) are left alone. The blur applied is the one under which
    the sharper side correlates best with the softer."""
    cv2 = opencv()
    if mask.sum() < 64:
        return ga, gb, 0.0

    def bands(g):
        g = g.astype(np.float32)
        g1 = cv2.GaussianBlur(g, (0, 0), 1.0)
        g3 = cv2.GaussianBlur(g, (0, 0), 3.0)
        g9 = cv2.GaussianBlur(g, (0, 0), 9.0)
        fine, mid = float(np.var((g - g1)[mask])), (g1 - g3) ** 2
        # middle detail against coarse, place by place, and its median: a heavy blur is soft everywhere, while
        # a caption or sticker is sharp in one place (over the whole frame, captions read as 1.4-3.7 times
        # sharper than their original, like many blurs; place by place 1.0-1.9, blurs 1.5-23)
        local = cv2.boxFilter(mid, -1, (31, 31)) / np.maximum(cv2.boxFilter((g3 - g9) ** 2, -1, (31, 31)), 1e-3)
        return fine / max(float(mid[mask].mean()), 1e-6), float(np.median(local[mask]))

    (sa, ma), (sb, mb) = bands(ga), bands(gb)
    if min(sa, sb) < SOFT and sa != sb:
        swap = sb > sa      # finest detail scarce on one side (a tiny or enlarged copy, a light blur)
    elif max(ma, mb) >= BLUR_RATIO * max(min(ma, mb), 1e-6):
        swap = mb > ma      # middle detail scarce on one side (a heavy blur: JPEG noise fakes fine detail)
    else:
        return ga, gb, 0.0
    sharp, soft = (gb, ga) if swap else (ga, gb)
    # how much: the blur under which the sharper side best correlates with the softer one
    y = soft[mask].astype(np.float32)
    y -= y.mean()
    best = (-2.0, 0.0, sharp)
    for sigma in BLUR_STEPS:
        out = cv2.GaussianBlur(sharp, (0, 0), sigma)
        x = out[mask].astype(np.float32)
        x -= x.mean()
        r = float((x * y).sum() / max(np.sqrt(float((x * x).sum()) * float((y * y).sum())), 1e-6))
        if r <= best[0]:
            break
        best = (r, sigma, out)
    _, sigma, out = best
    return ((soft, out) if swap else (out, soft)) + (sigma,)


def busy(grey: np.ndarray, radius: int = 3, tol: float = 4.0) -> np.ndarray:
    """Pixels with local contrast: picture detail, not a smooth gradient or a blurred backdrop."""
    cv2 = opencv()
    g = grey.astype(np.float32)
    k = (2 * radius + 1, 2 * radius + 1)
    mean = cv2.boxFilter(g, -1, k)
    var = cv2.boxFilter(g * g, -1, k) - mean * mean
    return var >= tol * tol


def patch_ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray, pts: np.ndarray, radius: int = 7) -> np.ndarray:
    """Correlation of two aligned pictures in a square around each point; NaN where the square leaves the
    overlap or is plain in both (it says nothing there)."""
    h, w = a.shape
    out = np.full(len(pts), np.nan)
    for i, (x, y) in enumerate(np.rint(pts).astype(int)):
        x0, x1, y0, y1 = max(x - radius, 0), min(x + radius + 1, w), max(y - radius, 0), min(y + radius + 1, h)
        if x1 - x0 < 5 or y1 - y0 < 5 or mask[y0:y1, x0:x1].mean() < 0.8:
            continue
        pa = a[y0:y1, x0:x1].astype(np.float64)
        pb = b[y0:y1, x0:x1].astype(np.float64)
        if pa.std() < 3 and pb.std() < 3:
            continue
        pa, pb = pa - pa.mean(), pb - pb.mean()
        out[i] = (pa * pb).sum() / max(math.sqrt((pa * pa).sum() * (pb * pb).sum()), 1e-9)
    return out


def self_match(grey: np.ndarray, shift: float = 0.12) -> float:
    """How well a picture matches itself slid by ``shift`` of its side or more (its middle half moved over it, up
    to a quarter of its side): near 1 for stripes, a horizon or a grid of holes, whose every neighbouring patch
    looks the same; a photo's own detail does not repeat (tiny copies: median 0.56)."""
    g = grey.astype(np.float32)
    h, w = g.shape
    th, tw = h // 2, w // 2
    if th < 4 or tw < 4:
        return 0.0
    y0, x0 = (h - th) // 2, (w - tw) // 2
    middle = g[y0:y0 + th, x0:x0 + tw]
    if middle.std() < 1.0:   # a plain middle "matches" everywhere (OpenCV answers 1.0): no pattern to repeat
        return 0.0
    r = opencv().matchTemplate(g, middle, opencv().TM_CCOEFF_NORMED)
    yy, xx = np.mgrid[0:r.shape[0], 0:r.shape[1]]
    far = (np.abs(yy - y0) >= shift * h) | (np.abs(xx - x0) >= shift * w)
    return float(r[far].max()) if far.any() else 0.0


def highpass(grey: np.ndarray, width: int = 15) -> np.ndarray:
    cv2 = opencv()
    g = grey.astype(np.float32)
    return g - cv2.blur(g, (width, 1)) + 128.0


def unshaded(grey: np.ndarray, sigma: float) -> np.ndarray:
    """The picture less its smooth shading (a Gaussian of ``sigma``): edges and texture, not a ramp of light.
    The band-pass twin of :func:`highpass`."""
    g = grey.astype(np.float32)
    return g - opencv().GaussianBlur(g, (0, 0), sigma) + 128.0


def near_plain(grey: np.ndarray, radius: int = 2, tol: float = 1.5, margin: int = 7) -> np.ndarray:
    """Pixels in or within ``margin`` of a plain (locally uniform) area."""
    cv2 = opencv()
    g = grey.astype(np.float32)
    k = (2 * radius + 1, 2 * radius + 1)
    mean = cv2.boxFilter(g, -1, k)
    var = cv2.boxFilter(g * g, -1, k) - mean * mean
    plain = (var < tol * tol).astype(np.uint8)
    return cv2.dilate(plain, np.ones((margin, margin), np.uint8)) > 0
