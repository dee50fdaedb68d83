"""Which of two aligned copies of one photo carries added noise: the keeper's evidence that a noisy copy is not
the original, although noise makes its JPEG the largest file (31 of the dev bench's 92 groups kept it).

Measured where both pictures are calm (the 30 % of the overlap with the least gradient), as the energy of each
picture's finest detail in its own pixels (a warp would smooth one of them). Added noise raises it there; a
re-save or a blur lowers it in the *other* copy, which must not read as the original being noisy, so the
noisier copy must keep about the other's detail where the picture is busy (a blur loses 9-1000x of it there,
added noise changes it 0.99-2.1x on the dev bench). Only copies of one size are compared: their grey pictures
were shrunk alike, so their finest detail is on one scale (a crop or a stretch resampled is softer)."""

from __future__ import annotations

import numpy as np

from .pixels import opencv

NOISE_EXCESS = 20.0   # calm-area fine-detail energy above the other copy's, in grey levels squared (σ ≈ 4.5)...
NOISE_RATIO = 1.8     # ...and this many times the other's. dev10 (92 groups, all edits of the same size): 46 of
                      # 92 noise copies flagged, no original flagged against any copy; 1.5x flagged originals
                      # against a re-saved copy whose JPEG had wiped faint grain (rot180 at quality 92)
BUSY_KEPT = (0.75, 3.0)   # the noisier copy's busy-area detail against the other's: added noise, not sharpness


def _fine_energy(grey: np.ndarray, region: np.ndarray) -> float:
    cv2 = opencv()
    g = grey.astype(np.float32)
    h = g - cv2.GaussianBlur(g, (0, 0), 1.0)
    return float(np.mean(h[region] ** 2)) if region.any() else 0.0


def added_noise(a_grey: np.ndarray, b_grey: np.ndarray, m, a_size, b_size) -> tuple[float, float]:
    """(a's noise over b's, b's over a's) in grey levels, 0 when none; ``m`` maps b's grey onto a's."""
    if tuple(a_size) != tuple(b_size) and tuple(a_size) != tuple(b_size)[::-1]:
        return 0.0, 0.0
    cv2 = opencv()
    m = np.asarray(m, np.float64)
    ha, wa = a_grey.shape
    hb, wb = b_grey.shape
    mask = cv2.warpAffine(np.full((hb, wb), 255, np.uint8), m, (wa, ha), flags=cv2.INTER_NEAREST)
    mask = cv2.erode(mask, np.ones((9, 9), np.uint8)) > 0
    if mask.sum() < 1000:
        return 0.0, 0.0
    ga = a_grey.astype(np.float32)
    warped = cv2.warpAffine(b_grey, m, (wa, ha), flags=cv2.INTER_LINEAR).astype(np.float32)
    calm = cv2.GaussianBlur((ga + warped) / 2, (0, 0), 2.5)
    grad = np.hypot(cv2.Sobel(calm, cv2.CV_32F, 1, 0), cv2.Sobel(calm, cv2.CV_32F, 0, 1))
    lo, hi = np.percentile(grad[mask], (30, 80))
    flat = (mask & (grad <= lo)).astype(np.uint8)
    tex = (mask & (grad >= hi)).astype(np.uint8)
    inv = cv2.invertAffineTransform(m)
    flat_b = cv2.warpAffine(flat, inv, (wb, hb), flags=cv2.INTER_NEAREST) > 0
    tex_b = cv2.warpAffine(tex, inv, (wb, hb), flags=cv2.INTER_NEAREST) > 0
    fa, ta = _fine_energy(a_grey, flat > 0), _fine_energy(a_grey, tex > 0)
    fb, tb = _fine_energy(b_grey, flat_b), _fine_energy(b_grey, tex_b)

    def over(f1: float, f0: float, t1: float, t0: float) -> float:
        if f1 - f0 < NOISE_EXCESS or f1 < NOISE_RATIO * f0:
            return 0.0
        if not BUSY_KEPT[0] * t0 <= t1 <= BUSY_KEPT[1] * t0 + 10.0:
            return 0.0
        return round(float(np.sqrt(f1 - f0)), 2)

    return over(fa, fb, ta, tb), over(fb, fa, tb, ta)
