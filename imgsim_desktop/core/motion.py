"""Did a part of the picture move between two aligned pictures? Two frames of a burst without EXIF times
(a messaging app strips them) differ only where the subject moved a few pixels: too few features on a small
subject for the feature motions of ``core/geometry.py``, and too small a change for the cell comparison.
Dense optical flow sees it: one patch of the picture moved as a whole while its surroundings stood still, and
moving it back explains the difference. An edited copy's changed patch (a caption, a sticker) is explained
by no motion, and a soft copy's flow wanders everywhere, with no still surroundings.

Measured on 2,128 verified copies (dev10's 1,835, eval/pairs' 293 small copies) and 54 bursts the verifier
called one photo (made from real photos by bursts.py, and a pasted subject moved 6-14 px): see
``scripts/verifier_checks/moved_subjects.py`` and docs/benchmark.md, "A subject that moved a few pixels"."""

from __future__ import annotations

import numpy as np

from .pixels import busy, opencv

FLOW_PX = 1.5          # a pixel moved at least this far (grey pixels of the aligned pictures)...
DIFFER = 10.0          # ...where they differ by at least this (local mean of |a - b|, on a 0-255 scale, and
DIFFER_NOISE = 3.0     # this many times the overlap's median difference: a noisy copy differs everywhere)...
EXPLAINED = 0.5        # ...and moving it back leaves at most this share of the difference
PART = 0.025           # one such patch covers this share of the overlap (bursts 0.021-0.073; copies' patches
                       # that moving explains: at most 0.019, a caption's)
MOVED_NCC = 0.5        # moved back by one affine motion, its fine detail correlates this well with the other
GAIN = 0.2             # picture's, and this much better than where it stood (a plain sticker does neither)
TEXTURED = 0.5        # at least this share of the patch busy in both pictures (a caption band's edge slid
                      # onto a screenshot's bar of one grey is plain on one side; a subject over a plain sky is not)
STILL = 0.25           # its surroundings (a 15 px ring) mostly still: their lower quartile moved at most this
                       # share of the patch's motion (bursts <= 0.09; soft tiny copies' flow wanders, >= 0.37)


def _ncc(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    d = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / d if d > 1e-6 else 0.0


def part_moved(ga: np.ndarray, gb: np.ndarray, mask: np.ndarray) -> bool:
    """Is there one patch of the aligned pictures (b already warped onto a) that moved as a whole, a subject
    that stood elsewhere in the other shot?"""
    cv2 = opencv()
    if min(ga.shape) < 16:   # DIS crashes the process (not an exception) on pictures under 16 px high
        return False
    m = mask.astype(bool)
    inner = cv2.erode(m.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    if inner.sum() < 400:
        return False
    a = ga.astype(np.float32)
    b = gb.astype(np.float32)
    b = (b - b[m].mean()) * (a[m].std() + 1e-3) / (b[m].std() + 1e-3) + a[m].mean()   # exposure, grey: as a
    before = cv2.blur(np.abs(a - b), (7, 7))
    differ = inner & (before >= max(DIFFER, DIFFER_NOISE * float(np.median(before[inner]))))
    if differ.sum() < PART * inner.sum():
        return False              # most copies: too little differs for a moved subject (and the flow costs 8 ms)
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(
        np.clip(a, 0, 255).astype(np.uint8), np.clip(b, 0, 255).astype(np.uint8), None)
    h, w = a.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    back = cv2.remap(b, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    after = cv2.blur(np.abs(a - back), (7, 7))
    size = np.hypot(flow[..., 0], flow[..., 1])
    moving = differ & (size >= FLOW_PX) & (after <= EXPLAINED * before)
    moving = cv2.morphologyEx(moving.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(moving)
    fine_a = a - cv2.GaussianBlur(a, (0, 0), 2.0)
    fine_b = b - cv2.GaussianBlur(b, (0, 0), 2.0)
    textured = busy(a) & busy(b)
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < PART * inner.sum() or textured[labels == i].mean() < TEXTURED:
            continue
        if _moved_as_one(labels == i, flow, size, fine_a, fine_b, inner):
            return True
    return False


def _moved_as_one(part: np.ndarray, flow: np.ndarray, size: np.ndarray, fine_a: np.ndarray, fine_b: np.ndarray,
                  inner: np.ndarray) -> bool:
    """One affine motion fitted to the patch's flow brings b's fine detail onto a's there, and the patch's
    surroundings stood still."""
    cv2 = opencv()
    ys, xs = np.nonzero(part)
    xy1 = np.stack([xs, ys, np.ones_like(xs)], 1).astype(np.float64)
    cx = np.linalg.lstsq(xy1, flow[ys, xs, 0], rcond=None)[0]
    cy = np.linalg.lstsq(xy1, flow[ys, xs, 1], rcond=None)[0]
    near = cv2.dilate(part.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    near &= inner
    ys, xs = np.nonzero(near)
    xy1 = np.stack([xs, ys, np.ones_like(xs)], 1).astype(np.float64)
    dx, dy = xy1 @ cx, xy1 @ cy
    moved_b = cv2.remap(fine_b, (xs + dx).astype(np.float32)[None], (ys + dy).astype(np.float32)[None],
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]
    there, here = _ncc(fine_a[ys, xs], moved_b), _ncc(fine_a[ys, xs], fine_b[ys, xs])
    if there < MOVED_NCC or there - here < GAIN:
        return False
    shift = float(np.median(np.hypot(dx, dy)))
    ring = (cv2.dilate(part.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0) & ~near & inner
    return bool(ring.any()) and float(np.percentile(size[ring], 25)) <= STILL * shift
