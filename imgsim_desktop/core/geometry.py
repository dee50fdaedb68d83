"""Local features matched between two photos, and the geometry that explains the matches: the affine that
maps one onto the other (core/verify.py then compares pixels under it), whether it is one a copy can have, and
whether a second motion hides among the rest (a burst, not a copy)."""

from __future__ import annotations

import math

import numpy as np

from .pixels import opencv

RATIO = 0.8                # Lowe's ratio test
RANSAC_PX = 4.0            # reprojection error at the verifier's working size (320 px)
MIN_INLIERS = 12
SECOND_INLIERS = 10        # matches outside the affine that follow one motion of their own (a moved subject)...
SECOND_SIZE = (0.85, 1.18)  # ...at about the same scale (a screenshot's backdrop, the photo enlarged: 0.0-0.4)...
SECOND_TURN = 25.0          # ...turned at most this many degrees...
SECOND_SHIFT = (0.03, 0.25)  # ...and this far off the affine (share of a's longer side): two shots of one scene
SUBJECT_INLIERS = 4         # fewer matches may follow a second motion where the pictures differ at both of its
SUBJECT_SHIFT = (0.02, 0.6)   # ends (a small subject moved: core/verify.py looks at the pixels); as far as 0.6
                              # of the frame: a person who crossed 40 % of it between two shots was "the same
                              # photo" at 0.25 (an outside try)
DRIFT_MIN = 24              # matches the affine keeps needed to read how they stray...
DRIFT_NEAR = 8              # ...each against the mean stray of this many nearest matches:
DRIFT_CORR = 0.4            # the affine's strays follow their neighbours' this closely (copies: at most 0.21 where
DRIFT_PX = 0.2              # stray this far, in the smaller picture's grey pixels; two shots: 0.59-0.74, 0.25-0.38 px);
DRIFT_CORR_PROJECTIVE = 0.3  # and from the best projective map (copies, keystone fixes too: at most 0.40 where they
DRIFT_PX_PROJECTIVE = 0.15   # stray 0.1 px or more, 0.21 where 0.15 or more; two shots: 0.43-0.58, 0.19-0.33 px)


def match(da: np.ndarray, db: np.ndarray) -> list[tuple[int, int]]:
    """(index in a, index in b) of each of b's descriptors whose nearest in a passes Lowe's ratio test. Brute
    force by one matrix product: the neighbours of OpenCV's BFMatcher in half its time (1.8 against 3.8 ms
    for 455 x 455 descriptors of real photos); matching was a quarter of a first ``dupes``."""
    if da is None or db is None or len(da) < 2 or len(db) < 2:
        return []
    cv2 = opencv()
    a = da.astype(np.float32)
    b = db.astype(np.float32)
    # OpenCV's product, single-threaded like the rest: numpy's BLAS threads spin against verification's own.
    # Squared distance less each row's own constant |b|^2 (it moves no row's order): |a|^2 - 2 a.b. Descriptors
    # are bytes, so every term is an integer well inside float32's exact range and the sums are exact.
    d2 = cv2.gemm(b, a, -2.0, None, 0.0, flags=cv2.GEMM_2_T)
    d2 += (a * a).sum(1)[None, :]
    rows = np.arange(len(d2))
    first = d2.argmin(axis=1)        # nearest, then the second nearest with it taken out: two passes, where
    near = d2[rows, first]           # argpartition cost a third of a negative pair's verification
    d2[rows, first] = np.inf
    bb = (b * b).sum(1)
    near = np.sqrt(np.maximum(near + bb, 0.0))
    second = np.sqrt(np.maximum(d2.min(axis=1) + bb, 0.0))
    ok = np.nonzero(near < RATIO * second)[0]
    return [(int(first[j]), int(j)) for j in ok]


def fit(kp_a: np.ndarray, desc_a, pts_b: np.ndarray, desc_b) -> tuple[np.ndarray | None, int, tuple | None]:
    """The affine that maps b onto a, its inliers, and the matched points (b's, a's)."""
    cv2 = opencv()
    pairs = match(desc_a, desc_b)
    if len(pairs) < MIN_INLIERS:
        return None, 0, None
    src = np.float32([pts_b[j] for _, j in pairs])
    dst = np.float32([kp_a[i] for i, _ in pairs])
    m, inl = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
                                  maxIters=1000, confidence=0.995, refineIters=10)
    if m is None or inl is None:
        return None, 0, None
    return m, int(inl.sum()), (src, dst)


def moved_part(m: np.ndarray, matched: tuple, side: int) -> bool:
    """Do enough of the matches the affine leaves out follow a second motion of their own, the size of the
    first, a few percent of the frame away: a subject that moved between two shots of one scene (a burst),
    which agreement cell by cell cannot tell from an edited copy. An edited copy's stray matches follow no
    common motion, or a very different one (a screenshot's backdrop is the photo enlarged)."""
    return second_motion(m, matched, side, SECOND_INLIERS, SECOND_SHIFT) is not None


def second_motion(m: np.ndarray, matched: tuple, side: int, least: int,
                  shift_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray] | None:
    """The matches (b's points, a's points) the affine leaves out that follow one motion of their own, at
    least ``least`` of them, at about the first's scale and turn, ``shift_range`` of a's longer side away."""
    cv2 = opencv()
    src, dst = matched
    err = np.linalg.norm(cv2.transform(src[None], m)[0] - dst, axis=1)
    out = err > 3 * RANSAC_PX
    if out.sum() < least:
        return None
    flip = np.linalg.det(m[:, :2]) < 0   # a mirrored copy: its motions are compared in b's mirror image
    own = src[out] * np.float32([-1, 1]) if flip else src[out]
    first = m @ np.diag([-1.0, 1.0, 1.0]) if flip else m
    m2, inl = cv2.estimateAffinePartial2D(own, dst[out], method=cv2.RANSAC,
                                          ransacReprojThreshold=RANSAC_PX, maxIters=2000)
    if m2 is None or inl is None or inl.sum() < least:
        return None
    inl = inl.ravel().astype(bool)
    size = math.sqrt(abs(np.linalg.det(m2[:, :2])) / max(abs(np.linalg.det(first[:, :2])), 1e-12))
    turn = math.degrees(math.atan2(m2[1, 0], m2[0, 0]) - math.atan2(first[1, 0], first[0, 0]))
    turn = (turn + 180) % 360 - 180
    shift = float(np.median(err[out][inl])) / side
    if (SECOND_SIZE[0] <= size <= SECOND_SIZE[1] and abs(turn) <= SECOND_TURN
            and shift_range[0] <= shift <= shift_range[1]):
        return src[out][inl], dst[out][inl]
    return None


def camera_moved(m: np.ndarray, matched: tuple) -> bool:
    """Do the matches the affine keeps stray from it together, each the way its neighbours do, and still
    under the best projective map? Then the camera moved between two shots and near things shifted against
    far ones (parallax), which no map of one picture onto another explains. A copy is its original's pixels
    under one affine, so what its matches stray is where each feature was found, and a neighbour's stray says
    nothing of it (even a blurred, noisy or 128 px copy strays at random); a copy whose perspective was
    corrected (a keystone fix) strays together from the affine, at random from the projective map."""
    cv2 = opencv()
    src, dst = matched
    stray = cv2.transform(src[None], m)[0] - dst
    keep = np.linalg.norm(stray, axis=1) <= RANSAC_PX
    if keep.sum() < DRIFT_MIN:
        return False
    from scipy.spatial import cKDTree   # all pairwise distances cost 13 ms at 600 matches, the tree 0.9

    unit = max(scale(m), 1.0)                                  # strays in the smaller picture's pixels
    pts = dst[keep]
    _, nearest = cKDTree(pts).query(pts, k=DRIFT_NEAR + 1)
    itself = nearest == np.arange(len(pts))[:, None]           # first, unless others lie on the same point
    nearest = np.take_along_axis(nearest, np.argsort(itself, axis=1, kind="stable"), 1)[:, :DRIFT_NEAR]
    corr, size = _drift(stray[keep] / unit, nearest)
    if corr < DRIFT_CORR or size < DRIFT_PX:
        return False
    h, _ = cv2.findHomography(src[keep], pts, 0)
    if h is None:
        return True
    corr, size = _drift((cv2.perspectiveTransform(src[keep][None], h)[0] - pts) / unit, nearest)
    return corr >= DRIFT_CORR_PROJECTIVE and size >= DRIFT_PX_PROJECTIVE


def _drift(stray: np.ndarray, nearest: np.ndarray) -> tuple[float, float]:
    """How closely each stray follows the mean of its neighbours' (correlation), and how far those means
    stray (median length)."""
    near = stray[nearest].mean(1)
    corr = float((stray * near).sum() / math.sqrt(float((stray * stray).sum() * (near * near).sum()) + 1e-12))
    return corr, float(np.median(np.linalg.norm(near, axis=1)))


CLOSER = 1.2        # a picture whose file holds the part it shows at this many times the other file's pixels...
CLOSER_SHOWS = 0.6  # ...while showing at most this share of the other's frame is a closer view, not a copy


def closer_view(m: np.ndarray, a_grey: tuple[int, int], a_size: tuple[int, int], b_grey: tuple[int, int],
                b_size: tuple[int, int]) -> str | None:
    """Does each picture hold what the other lacks: one shows only part of the other's frame, in more pixels
    than the other's file has for that part? A crop cut from a file holds that file's pixels (or fewer), so
    neither can be rebuilt from the other: a second shot zoomed in (two eval/pairs flowers), or a detail cut from
    a larger original beside a small export of the whole. Trashing either loses something. Which side shows
    the wider frame ("a" or "b"; the caller asks whether that frame is more of the photo, or a screen's
    chrome), or None. Sizes are (width, height) of the grey picture the affine ``m`` (b onto a) works on and of
    the file."""
    finer = (max(b_size) / max(b_grey)) / scale(m) / (max(a_size) / max(a_grey))   # b's file pixels per a's
    if finer >= CLOSER:
        return "a" if frame_share(m, b_grey, a_grey) <= CLOSER_SHOWS else None
    if finer <= 1 / CLOSER:
        inv = opencv().invertAffineTransform(np.asarray(m, np.float64))
        return "b" if frame_share(inv, a_grey, b_grey) <= CLOSER_SHOWS else None
    return None


def sane(m: np.ndarray) -> bool:
    """An affine a copy can have: not degenerate, scale within 1/12..12, aspect within 1:2, little shear."""
    lin = m[:, :2]
    sv = np.linalg.svd(lin, compute_uv=False)
    if sv[1] < 1e-6:
        return False
    scale = math.sqrt(sv[0] * sv[1])
    if not 1 / 12 <= scale <= 12:
        return False
    return sv[0] / sv[1] <= 2.0


def frame_share(m: np.ndarray, from_wh: tuple[int, int], onto_wh: tuple[int, int]) -> float:
    """The share of a (w, h) frame that another frame of ``from_wh``, mapped onto it by ``m``, covers."""
    (wf, hf), (wo, ho) = from_wh, onto_wh
    corners = np.float32([[0, 0], [wf, 0], [wf, hf], [0, hf]])
    return area_inside(opencv().transform(corners[None], np.asarray(m, np.float64))[0], wo, ho) / (wo * ho)


def area_inside(poly: np.ndarray, w: float, h: float) -> float:
    """Area of a convex polygon clipped to the rectangle [0,w]x[0,h]."""
    cv2 = opencv()
    rect = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    area, _ = cv2.intersectConvexConvex(np.float32(poly), rect)
    return float(area)


def scale(m: np.ndarray) -> float:
    """a's grey pixels per b's grey pixel along each side, under the affine that maps b onto a (above 1: b is
    the smaller picture)."""
    m = np.asarray(m, dtype=np.float64)
    return math.sqrt(abs(np.linalg.det(m[:, :2])))
