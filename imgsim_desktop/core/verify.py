"""Is this pair the same photo? The second stage after the index's candidates.

A global descriptor ranks well but cannot tell "same photo" from "same scene, another shot" or from "two dark
frames". So a candidate pair is checked the way copy-detection systems do: local features (SIFT, which is
rotation- and scale-invariant; matched against the other photo and its mirror image, so all 8 orientations
are covered) and a RANSAC affine model that must explain enough matches; then the second photo is warped
onto the first and the overlap is compared cell by cell on grey, contrast-stretched pixels (so black and
white copies and exposure edits pass, while a burst shot whose subject moved, or two different photos that
share only a phone's status bar and app chrome, do not).

Both photos are decoded small (``WORK_SIDE``), so a pair costs tens of milliseconds; verdicts are cached in
the catalog by the two files' content hashes and ``VERIFIER_VERSION`` (see ``core/verdicts.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .framing import framed, one_screen, photos_on_screen, shown_on_screen
from .geometry import (MIN_INLIERS, SUBJECT_INLIERS, SUBJECT_SHIFT, area_inside, camera_moved, closer_view, fit,
                       moved_part, sane, scale, second_motion)
from .motion import part_moved
from .noise import added_noise
from .pixels import (busy, cells, highpass, match_sharpness, near_plain, opencv, overlap_ncc, patch_ncc,
                     self_match, unshaded)
from .trim import is_screen, located

# Bump when anything below changes a verdict: cached verdicts of another version are ignored.
VERIFIER_VERSION = ("v12-sift-affine-ncc-frame-detail-hp-tall-soft-direct-few-heavyblur-either-grid-burst-mirrordesc-"
                    "directtex-contained-framestep-detail45-directsym-onscreen-noise-parallax-subject-projective-"
                    "shaded-tiny-light-farsubject-tinyfine-repeats-flow-closer-tinyboth")

ANOTHER_SHOT = "(another shot)"   # ends every "not the same photo" that is a second exposure (core/shots.py too)
WORK_SIDE = 320            # longer side of the grey image features are found on
MIN_SIDE = 24              # smaller photos are never verified (too little to go on)
MAX_FEATURES = 600
MIN_CONTAINED = 0.9        # share of one picture that must lie inside the other's frame: a crop, a screenshot, a
                           # padded copy show all of one photo (true copies of the dev bench: 0.983 and more); two
                           # overlapping frames of a pan each show much the other lacks
MIN_INSET = 0.03           # the contained picture fills at least this share of the other's canvas (a small photo
                           # in a big screenshot)
MIN_AGREE = 0.65           # share of textured cells that must agree...
MIN_GLOBAL_NCC = 0.70      # ...with this correlation of the whole overlap,
MIN_AGREE_ALONE = 0.80     # or this share of cells (big stickers and overlays pull the whole overlap down; and
                           # two screenshots of one size: one canvas with different photos reached 0.74)
MIN_AGREE_DETAIL = 0.70    # share of cells agreeing after a row-wise high-pass (two pages of text, two photos
                           # on one busy canvas: 0.22-0.68 on the hard negatives; copies: >= 0.71 but blur)
DIRECT_NCC = 0.90          # whole-frame comparison when features fail (heavy blur, noise): stricter
DIRECT_AGREE = 0.85
DIRECT_STRETCH = 3.0        # ...in frames of up to this different a shape (thumbnails squashed to a square)
DIRECT_DETAIL = 0.45        # ...its fine detail must agree in this share of cells (different hazy mountains,
                            # planets, halves of a sun: 0.00-0.04; different ~100 px tiles sharing a vignette or
                            # a slope: 0.33-0.37; blurred and tiny copies of the dev bench, v11: 0.59-1.0)
DIRECT_NCC_BARE = 0.97      # ...or, with no fine detail left at all, the frames must correlate this well
                            # (different hazy 150 px landscapes: 0.92-0.96; blurred and tiny copies mostly >= 0.97)
HEAVY_BLUR = 2.8          # past this blur a copy has no fine detail of its own left: only close correlation counts
COARSER = 1.3             # also compare on b's grid when b's pixels are this much larger than a's (b is smaller)
GOOD_INLIERS = 40          # a direct fit this good needs no try against the mirror image
MIN_TEXTURED_CELLS = 6
DIRECT_TEXTURED = 40        # a whole-frame match needs this many of its 256 cells textured in both pictures: two
                            # different smooth ~100 px pictures (a dark slope and a grey rock edge, a sky and a
                            # sea) correlate at 0.92-0.99 with 16-35; true copies matched whole: 44 and more
DIRECT_SHADED = 30          # ...and this many once each frame's smooth shading is taken away (a Gaussian of
                            # SHADING_SIGMA on the 96 px frames): a ramp of colour fills cells with variance, not
                            # with picture. 76 px tiles of bokeh, skin and sky from 16 MP photos, different in
                            # colour, matched whole at 0.90-0.98 with 40-73 raw cells, 0-25 shaded; whole-frame
                            # copies of the dev bench and eval/pairs: 39 and more (121 pairs). Not asked of
                            # frames that correlate within re-encoding noise (a resized misty landscape: 0.99999;
                            # those tiles: 0.90-0.983)
SHADING_SIGMA = 3.0
DIRECT_NCC_RESAVED = 0.995
TINY_SIDE = 128             # two pictures this small (longest side of the file) carry little evidence: the left
TINY_AGREE = 0.90           # and right halves of a symmetric facade, two tiles of one brick wall or nave match
TINY_NCC = 0.97             # each other (mirrored) at 0.73-0.98. Both that small, a match must agree this
                            # closely: 76-128 px copies (mirrored, turned, grey, re-encoded at 50, cropped,
                            # blurred, noisy; 2,688 verified) keep 98 %; 76-117 px tiles of one photo or of
                            # different ones (92 pairs verified at 53,645 pictures) keep 26 %
TINY_FINE = 0.70            # ...and, aligned, correlate this well in their finest detail (a Gaussian of 1 px taken
                            # away): adjacent 76-108 px tiles of one wall, curtain or dusk sky that still passed
                            # (23 pairs at 53,645 pictures) share their shapes, not their grain: 0.31-0.95, median
                            # 0.67; the tiny copies above: 1st percentile 0.79, 0.3 % below the cut (crops the
                            # most: turned and mirrored). On both grids: scripts/verifier_checks/tiny_fine.py
TINY_REPEATS = 0.95         # ...unless both repeat themselves: matched against itself slid 12 % of its side or
                            # more, a picture this small that correlates this well (stripes, a horizon, a grid
                            # of holes) would match its neighbouring patch as well as a copy. 7 of the 10 tile
                            # pairs left at 53,645 pictures: 0.966-0.993; of 2,630 verified tiny copies, 11
                            # (one repeating piece); scripts/verifier_checks/tiny_fine.py
# ...and two tiny pictures are one photo only if each, asked first, finds the other in it: with so few matches the
# fit and the comparison on the first one's grid decide, and the verdict followed the order asked. Of 2,880 tiny
# copies (tiny_copies.py) 2,609 verify both ways, 10 only as asked, 17 only the other way round; two of the 6
# groups of different pictures left at 53,645 pictures (tiles of two shots of one newt, of one facade) held
# only one way.

# SIFT's 128 values are 4 x 4 cells (rows along the keypoint's normal, columns along its direction) of 8
# gradient directions; in the mirror image a keypoint's direction is reflected, so its rows come in reverse
# order and each direction d becomes -d (checked against SIFT run on mirrored photos: 2 % apart).
MIRROR_DESC = np.arange(128).reshape(4, 4, 8)[::-1][:, :, (-np.arange(8)) % 8].reshape(-1)

# Orientation of a copy relative to the other photo: the dihedral linear maps in image coordinates
# (x right, y down), as "how the copy was made from the original".
ORIENTATIONS = {
    "none": ((1, 0), (0, 1)),
    "rot90": ((0, -1), (1, 0)),      # turned 90° clockwise
    "rot180": ((-1, 0), (0, -1)),
    "rot270": ((0, 1), (-1, 0)),     # turned 90° anticlockwise
    "mirror": ((-1, 0), (0, 1)),     # left-right
    "flip": ((1, 0), (0, -1)),       # upside down
    "transpose": ((0, 1), (1, 0)),
    "transverse": ((0, -1), (-1, 0)),
}


@dataclass
class Features:
    """One photo, small and grey, with its local features (and those of its mirror image)."""

    grey: np.ndarray               # (h, w) uint8, contrast-stretched
    chroma: float                  # mean colourfulness of the photo (0 for black and white)
    size: tuple[int, int]          # the file's full (width, height)
    kp: np.ndarray                 # (n, 2) float32 keypoints at grey's scale
    desc: np.ndarray | None
    flat: bool = False             # near-uniform or near-black with no usable detail
    photo: tuple[int, int, int, int] | None = None   # on a screen: where core/trim.py locates the photo, in
                                                     # grey's pixels (None: not a screen, or not located)
    light: float = 255.0           # the 99th percentile of grey before the stretch: a near-black copy's is low

    def mirrored(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Keypoints and descriptors of the mirror image, in grey's coordinates: the same points, each
        descriptor as SIFT computes it on the mirrored picture (its 4 x 4 cells' rows in reverse, each cell's
        8 gradient directions reflected). SIFT is not mirror-invariant; detecting again on the mirrored
        picture cost a fifth of a first ``dupes`` and verified the same dev10 mirrored copies. Made on each call
        (tens of microseconds), not kept: a third less memory for each photo the verifier holds."""
        return self.kp, None if self.desc is None else np.ascontiguousarray(self.desc[:, MIRROR_DESC])

    @property
    def usable(self) -> bool:
        return not self.flat and self.desc is not None and len(self.kp) >= MIN_INLIERS


@dataclass
class PairVerdict:
    """The verifier's answer for (a, b). ``affine`` maps b's grey coordinates onto a's (2x3)."""

    same: bool
    why: str                       # short machine reason when not the same
    inliers: int = 0
    agree: float = 0.0
    ncc: float = 0.0
    affine: list | None = None
    a_grey: tuple[int, int] = (0, 0)   # (w, h) of the grey images the affine is in
    b_grey: tuple[int, int] = (0, 0)
    a_chroma: float = 0.0
    b_chroma: float = 0.0
    a_framed: bool = False             # b's picture sits inside a visible frame in a (a is a screenshot of b)
    b_framed: bool = False             # ...and the other way round
    a_blur: float = 0.0                # how blurred a is against b, in a's own pixels (0: not the softer one)
    b_blur: float = 0.0
    a_noise: float = 0.0               # noise a carries over b, in grey levels (core/noise.py; 0: none seen)
    b_noise: float = 0.0
    a_light: float = 0.0               # Features.light of a and b: which copy was darkened to near black
    b_light: float = 0.0

    def to_dict(self) -> dict:
        return {"same": self.same, "why": self.why, "inliers": self.inliers, "agree": round(self.agree, 4),
                "ncc": round(self.ncc, 4), "affine": self.affine, "a_grey": list(self.a_grey),
                "b_grey": list(self.b_grey), "a_chroma": round(self.a_chroma, 2),
                "b_chroma": round(self.b_chroma, 2), "a_framed": self.a_framed, "b_framed": self.b_framed,
                "a_blur": round(self.a_blur, 2), "b_blur": round(self.b_blur, 2), "a_noise": self.a_noise,
                "b_noise": self.b_noise, "a_light": round(self.a_light, 1), "b_light": round(self.b_light, 1)}

    @classmethod
    def from_dict(cls, d: dict) -> "PairVerdict":
        return cls(bool(d["same"]), str(d.get("why", "")), int(d.get("inliers", 0)), float(d.get("agree", 0)),
                   float(d.get("ncc", 0)), d.get("affine"), tuple(d.get("a_grey", (0, 0))),
                   tuple(d.get("b_grey", (0, 0))), float(d.get("a_chroma", 0)), float(d.get("b_chroma", 0)),
                   bool(d.get("a_framed", False)), bool(d.get("b_framed", False)), float(d.get("a_blur", 0)),
                   float(d.get("b_blur", 0)), float(d.get("a_noise", 0)), float(d.get("b_noise", 0)),
                   float(d.get("a_light", 0)), float(d.get("b_light", 0)))

    def swapped(self) -> "PairVerdict":
        """The same verdict seen from b's side (affine inverted)."""
        aff = None
        if self.affine is not None:
            m = np.vstack([np.asarray(self.affine, dtype=np.float64), [0, 0, 1]])
            try:
                aff = np.linalg.inv(m)[:2].tolist()
            except np.linalg.LinAlgError:
                aff = None
        return PairVerdict(self.same, self.why, self.inliers, self.agree, self.ncc, aff, self.b_grey, self.a_grey,
                           self.b_chroma, self.a_chroma, self.b_framed, self.a_framed, self.b_blur, self.a_blur,
                           self.b_noise, self.a_noise, self.b_light, self.a_light)


def _stretch(grey: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """Percentile contrast stretch, so a dark photo shows its detail; ``flat`` when there is none; and the
    99th percentile it stretched from (``Features.light``)."""
    lo, hi = np.percentile(grey, (1.0, 99.0))
    if hi - lo < 6.0:
        return grey, True, float(hi)
    out = np.clip((grey.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    return out, False, float(hi)


def features_from_image(img, size: tuple[int, int] | None = None) -> Features:
    """Features of a PIL image (any mode); ``size`` is the file's full size when the image was decoded small."""
    cv2 = opencv()
    rgb = np.asarray(img.convert("RGB"))
    h, w = rgb.shape[:2]
    s = WORK_SIDE / max(h, w)
    if is_screen(w, h):
        # a tall or wide canvas (a phone screenshot) holds its photo in a fraction of it: keep the shorter
        # side at WORK_SIDE (up to 2.5x that on the long side) so the photo inside keeps its detail
        s = min(WORK_SIDE / min(h, w), 2.5 * WORK_SIDE / max(h, w))
    if s < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    chroma = float(np.mean((np.abs(r - g) + np.abs(g - b) + np.abs(b - r)) / 3.0))
    grey0 = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    grey, flat, light = _stretch(grey0)
    full = size or (w, h)
    if flat or min(full) < MIN_SIDE or min(grey.shape) < 16:
        return Features(grey, chroma, full, np.zeros((0, 2), np.float32), None, flat=True, light=light)
    pts, desc = _sift(grey)
    return Features(grey, chroma, full, pts, desc, photo=_located_on_screen(img, grey.shape), light=light)


def _located_on_screen(img, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Where the trim finds the photo on a screen-shaped canvas, in the grey picture's pixels (``shape``)."""
    w, h = img.size
    found = located(img) if is_screen(w, h) else None
    if found is None:
        return None
    gh, gw = shape
    x0, y0, x1, y1 = found[0]
    return int(x0 * gw / w), int(y0 * gh / h), int(round(x1 * gw / w)), int(round(y1 * gh / h))


def _sift(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    cv2 = opencv()
    kp, desc = cv2.SIFT_create(nfeatures=MAX_FEATURES).detectAndCompute(grey, None)
    if desc is not None:  # SIFT's values are bytes already; a quarter of the memory while cached
        desc = np.clip(np.rint(desc), 0, 255).astype(np.uint8)
    return np.array([k.pt for k in kp], np.float32).reshape(-1, 2), desc


def features_from_path(path: str | Path) -> Features:
    from .decode import load_image

    img, info = load_image(path, max_side=WORK_SIDE)
    return features_from_image(img, (info.width, info.height))


def verify(a: Features, b: Features) -> PairVerdict:
    """Decide whether b is the same photo as a (an edited copy, in any orientation, cropped or inside a
    screenshot)."""
    v = _verify(a, b)
    if v.same and v.affine is not None:
        wider = closer_view(np.asarray(v.affine, np.float64), v.a_grey, a.size, v.b_grey, b.size)
        if (wider == "a" and not v.a_framed) or (wider == "b" and not v.b_framed):   # a screen's chrome is no loss
            v.same, v.why = False, CLOSER_WHY
    if v.same and _tiny(a, b):
        if fine_detail_ncc(a, b, v.affine) < TINY_FINE or _repeating(a, b):
            v.same, v.why = False, TINY_WHY
        else:
            back = _verify(b, a)
            if not back.same:   # another shot seen the other way round stays one (grouping leaves it out)
                v.same, v.why = False, back.why if ANOTHER_SHOT in back.why else TINY_WHY
    return v


def _repeating(a: Features, b: Features) -> bool:
    return min(self_match(a.grey), self_match(b.grey)) >= TINY_REPEATS


def fine_detail_ncc(a: Features, b: Features, affine) -> float:
    """How well two aligned pictures correlate in their finest detail (each less a 1 px Gaussian), at the common
    sharpness ``_aligned`` brings them to: a copy keeps its original's grain and texture, a neighbouring patch of
    one wall or sky shares only its shapes. On either picture's grid, the better (a 40 px copy of a 128 px
    picture keeps no such detail on the larger grid, 0.93 on its own): the same whichever is asked first. 0
    when neither has such detail."""
    m = np.asarray(affine, np.float64)

    def on_grid(x: Features, y: Features, to_x: np.ndarray) -> float:
        _, mask, gx, gy, _, _ = _aligned(x, y, to_x)
        return overlap_ncc(unshaded(gx, 1.0), unshaded(gy, 1.0), mask)

    return max(on_grid(a, b, m), on_grid(b, a, opencv().invertAffineTransform(m)))


def _verify(a: Features, b: Features) -> PairVerdict:
    cv2 = opencv()
    base = dict(a_grey=(a.grey.shape[1], a.grey.shape[0]), b_grey=(b.grey.shape[1], b.grey.shape[0]),
                a_chroma=a.chroma, b_chroma=b.chroma, a_light=a.light, b_light=b.light)
    if not a.usable or not b.usable:
        return PairVerdict(False, "too little detail to verify", **base)
    best, best_n, matched = None, 0, None
    for mirror in (False, True):
        pts, desc = b.mirrored() if mirror else (b.kp, b.desc)
        m, n, pairs = fit(a.kp, a.desc, pts, desc)
        if m is not None and n > best_n and sane(m):
            best, best_n, matched = m, n, pairs
        if best_n >= GOOD_INLIERS:
            break
    if best is None or best_n < MIN_INLIERS:
        return _direct_either_way(a, b, best_n, base)
    if moved_part(best, matched, max(a.grey.shape)):
        return PairVerdict(False, f"part of the picture moved {ANOTHER_SHOT}", best_n, affine=best.tolist(), **base)
    if camera_moved(best, matched):
        return PairVerdict(False, f"the camera moved between shots {ANOTHER_SHOT}", best_n, affine=best.tolist(),
                           **base)
    v = _compare(a, b, best, best_n, base, matched)
    if not v.same and scale(best) > COARSER:
        # b is the lower-resolution side: compared on a's grid, enlarged, a tiny copy's JPEG blocks and missing
        # detail read as detail that differs (19 of eval/pairs' real 128 px copies). Compare on b's grid too,
        # a shrunk onto it. Either may show the pair is one photo: on b's grid two screenshots' insets lost
        # the fine detail that had verified them on a's.
        swapped = dict(a_grey=base["b_grey"], b_grey=base["a_grey"], a_chroma=b.chroma, b_chroma=a.chroma,
                       a_light=b.light, b_light=a.light)
        w = _compare(b, a, cv2.invertAffineTransform(best), best_n, swapped, matched[::-1]).swapped()
        if w.same:
            return w
    return v


def _compare(a: Features, b: Features, best: np.ndarray, best_n: int, base: dict, matched: tuple) -> PairVerdict:
    """Given b's affine onto a (and the matches it came from), is the overlap the same picture? Compared on
    a's grid."""
    cv2 = opencv()
    ha, wa = a.grey.shape
    hb, wb = b.grey.shape
    # overlap: b's frame mapped into a, clipped; and a's frame mapped back into b
    corners_b = np.float32([[0, 0], [wb, 0], [wb, hb], [0, hb]])
    in_a = cv2.transform(corners_b[None], best)[0]
    ov_a = area_inside(in_a, wa, ha) / (wa * ha)
    inv = cv2.invertAffineTransform(best)
    corners_a = np.float32([[0, 0], [wa, 0], [wa, ha], [0, ha]])
    in_b = cv2.transform(corners_a[None], inv)[0]
    ov_b = area_inside(in_b, wb, hb) / (wb * hb)
    if max(ov_a, ov_b) < MIN_CONTAINED:
        return PairVerdict(False, "overlapping frames, each with much the other lacks", best_n,
                           affine=best.tolist(), **base)
    if min(ov_a, ov_b) < MIN_INSET:
        return PairVerdict(False, "too little overlap", best_n, affine=best.tolist(), **base)
    warped, mask, ga, gb, soft, b_soft = _aligned(a, b, best)
    # Plain areas (and a margin around them) say nothing and their edges agree trivially: two different
    # photos on one phone canvas share a status bar, chrome and the photo's outline. Compare the rest.
    detail = mask & ~near_plain(a.grey) & ~near_plain(warped) & (busy(ga) | busy(gb))
    same_phone = one_screen(a, b)
    if same_phone:
        # two screenshots of one size: their bars, icons and backdrop agree whatever photo they show (a plain
        # photo leaves nothing else to compare), so where the photos are located only that part is compared
        detail &= photos_on_screen(a, b)
    if detail.sum() < 0.05 * mask.sum():
        return PairVerdict(False, "too little detail in the overlap", best_n, affine=best.tolist(), **base)
    # ...and along rows with each row's local mean taken out: a page of text (or any picture built of the same
    # stripes) differs word by word, which the stripes alone hide
    agree_hp, _, textured_hp = cells(highpass(ga), highpass(gb), detail)
    agree, gncc, textured = cells(ga, gb, detail)
    v = PairVerdict(False, "", best_n, agree, gncc, best.tolist(), **base)
    # a handful of fine-detail cells proves nothing (two photos on one canvas share its gradient backdrop), nor
    # does the "detail" of a heavily blurred copy (its JPEG noise): then the pictures must correlate closely
    noise = soft >= HEAVY_BLUR and agree_hp < MIN_AGREE_DETAIL
    if textured < MIN_TEXTURED_CELLS:
        v.why = "too little detail in the overlap"
    elif (textured_hp < MIN_TEXTURED_CELLS or noise) and gncc < DIRECT_NCC_BARE:
        v.why = "too little fine detail in the overlap"
    elif not noise and agree_hp < MIN_AGREE_DETAIL:
        v.why = "the fine detail differs after alignment"
    elif agree >= MIN_AGREE_ALONE or (agree >= MIN_AGREE and gncc >= MIN_GLOBAL_NCC and not same_phone):
        v.same, v.why = True, "same photo"
        v.a_blur, v.b_blur = (0.0, soft) if b_soft else (soft, 0.0)
    else:
        v.why = "the pictures differ after alignment"
    if v.same and not _close_enough_if_tiny(a, b, agree, gncc):
        v.same, v.why = False, TINY_WHY
    if v.same and (_subject_moved(ga, gb, mask, best, matched) or part_moved(ga, gb, mask)):
        v.same, v.why = False, f"part of the picture moved {ANOTHER_SHOT}"
    if v.same:
        v.b_framed = framed(b.grey, in_b) or shown_on_screen(b, in_b)
        v.a_framed = framed(a.grey, in_a) or shown_on_screen(a, in_a)
        v.a_noise, v.b_noise = added_noise(a.grey, b.grey, best, a.size, b.size)
    return v


TINY_WHY = "two tiny pictures that do not agree closely"
# a zoomed second shot, or a detail cut from a larger original: marked as another shot so a group described
# around one leaves the other out (duplicates._another_shot), as it does a burst's other frame
CLOSER_WHY = f"a closer view: shows part of the other in more detail than the other holds {ANOTHER_SHOT}"


def _tiny(a: Features, b: Features) -> bool:
    return max(a.size) <= TINY_SIDE and max(b.size) <= TINY_SIDE


def _close_enough_if_tiny(a: Features, b: Features, agree: float, gncc: float) -> bool:
    return not _tiny(a, b) or (agree >= TINY_AGREE and gncc >= TINY_NCC)


def _subject_moved(ga: np.ndarray, gb: np.ndarray, mask: np.ndarray, m: np.ndarray, matched: tuple) -> bool:
    """A few matches follow a second motion, and at both ends of each the aligned pictures differ: something
    left where it stood in one shot and stands where it was not (a small subject that moved, too few matches
    for ``moved_part`` alone). An edited copy's stray matches land where its pixels agree (dev10: none of 18)."""
    moved = second_motion(m, matched, max(ga.shape), SUBJECT_INLIERS, SUBJECT_SHIFT)
    if moved is None:
        return False
    in_b, in_a = moved
    here = patch_ncc(ga, gb, mask, in_a)
    there = patch_ncc(ga, gb, mask, opencv().transform(in_b[None], m)[0])
    return int(((here < 0.5) & (there < 0.5)).sum()) >= SUBJECT_INLIERS


def _aligned(a: Features, b: Features, m: np.ndarray):
    """b's grey warped onto a's by ``m`` (b -> a), the overlap's mask, and both pictures blurred to a common
    scale: the smaller photo's resolution, then the softer one's sharpness, decide how sharp a copy can be;
    and how soft the softer one is (0: neither), and whether that is b."""
    cv2 = opencv()
    ha, wa = a.grey.shape
    hb, wb = b.grey.shape
    warped = cv2.warpAffine(b.grey, m, (wa, ha), flags=cv2.INTER_AREA if scale(m) > 1 else cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full((hb, wb), 255, np.uint8), m, (wa, ha), flags=cv2.INTER_NEAREST)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8)) > 0
    sigma = max(1.0, 0.8 * scale(m))
    wb_in = cv2.GaussianBlur(warped, (0, 0), sigma)
    ga, gb, extra = match_sharpness(cv2.GaussianBlur(a.grey, (0, 0), sigma), wb_in, mask)
    # how soft the softer picture is, in its own pixels (an enlarged tiny copy is soft on a's grid, not in itself)
    soft = math.hypot(sigma, extra) / max(scale(m), 1.0) if extra else 0.0
    return warped, mask, ga, gb, soft, gb is wb_in   # the side left untouched is the softer one


def _direct(a: Features, b: Features, inliers: int, base: dict) -> PairVerdict:
    """No feature match (a heavy blur or noise wipes fine detail out): compare whole frames in each of the
    8 orientations, with stricter cuts. The affine is the one that stretches b's frame onto a's."""
    cv2 = opencv()
    sa, sb = _small(a.grey), _small(b.grey)
    ha, wa = sa.shape
    hb, wb = sb.shape
    ga = cv2.GaussianBlur(sa, (0, 0), 1.0)
    best = None
    for name, ((p, q), (r, s)) in ORIENTATIONS.items():
        # b = orientation(a): map b's pixel grid back onto a's, through the inverse dihedral map
        d = np.array([[p, q], [r, s]], dtype=np.float64)
        dinv = np.linalg.inv(d)
        ow, oh = (wb, hb) if p != 0 else (hb, wb)   # b's frame size in a's orientation
        if max(ow / oh * ha / wa, oh / ow * wa / ha) > DIRECT_STRETCH:
            continue
        # b (centred) -> unit orientation -> a (centred), with a per-axis stretch
        cb = np.array([wb / 2, hb / 2])
        ca = np.array([wa / 2, ha / 2])
        stretch = np.diag([wa / ow, ha / oh])
        lin = stretch @ dinv
        m = np.hstack([lin, (ca - lin @ cb)[:, None]])
        warped = cv2.warpAffine(sb, m, (wa, ha), flags=cv2.INTER_AREA)
        mask = cv2.warpAffine(np.full((hb, wb), 255, np.uint8), m, (wa, ha), flags=cv2.INTER_NEAREST)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8)) > 0
        gb = cv2.GaussianBlur(warped, (0, 0), 1.0)
        gncc = overlap_ncc(ga, gb, mask)
        if best is None or gncc > best[0]:
            best = (gncc, gb, mask, m)
    if best is None:
        return PairVerdict(False, "no geometric match", inliers, **base)
    _, gb, mask, m = best
    agree, gncc, textured = cells(ga, gb, mask)   # the cells of the best orientation only
    # back to the grey images' scale, like the feature path's affine
    up = np.diag([a.grey.shape[1] / wa, a.grey.shape[0] / ha, 1.0])
    down = np.diag([wb / b.grey.shape[1], hb / b.grey.shape[0], 1.0])
    m = (up @ np.vstack([m, [0, 0, 1]]) @ down)[:2]
    v = PairVerdict(False, "no geometric match", inliers, agree, gncc, m.tolist(), **base)
    if textured >= MIN_TEXTURED_CELLS and gncc >= DIRECT_NCC and agree >= DIRECT_AGREE:
        shaded = (lambda: cells(unshaded(ga, SHADING_SIGMA), unshaded(gb, SHADING_SIGMA), mask)[2])
        if textured < DIRECT_TEXTURED or (gncc < DIRECT_NCC_RESAVED and shaded() < DIRECT_SHADED):
            v.why = "too little detail to verify the whole frame"
            return v
        if not _close_enough_if_tiny(a, b, agree, gncc):
            v.why = TINY_WHY
            return v
        # on a's grid, and (when b is the smaller picture) on b's, as in verify()
        for coarser in (False, True) if scale(m) > COARSER else (False,):
            detail, matched, (a_blur, b_blur) = _direct_detail(a, b, m, coarser)
            if detail is None and max(gncc, matched) < DIRECT_NCC_BARE:
                v.why = "too little detail to verify the whole frame"
            elif detail is not None and detail < DIRECT_DETAIL:
                v.why = "the fine detail differs after alignment"
            else:
                v.same, v.why = True, "same photo (whole-frame match)"
                v.a_blur, v.b_blur = a_blur, b_blur
                v.a_noise, v.b_noise = added_noise(a.grey, b.grey, m, a.size, b.size)
                break
    return v


def _direct_either_way(a: Features, b: Features, inliers: int, base: dict) -> PairVerdict:
    """The whole-frame comparison decides the same whichever photo is asked about first: the larger picture's
    side when one is clearly larger (a thumbnail is compared on its original), both sides when they are of about
    one size (different 100 px tiles were "the same photo" one way round and not the other)."""
    swapped = dict(a_grey=base["b_grey"], b_grey=base["a_grey"], a_chroma=b.chroma, b_chroma=a.chroma,
                   a_light=b.light, b_light=a.light)
    pa, pb = a.grey.size, b.grey.size
    if max(pa, pb) >= COARSER ** 2 * min(pa, pb):
        return _direct(a, b, inliers, base) if pa > pb else _direct(b, a, inliers, swapped).swapped()
    v = _direct(a, b, inliers, base)
    if v.same:
        w = _direct(b, a, inliers, swapped).swapped()
        if not w.same:
            return w
    return v


def _direct_detail(a: Features, b: Features, m: np.ndarray,
                   coarser: bool = False) -> tuple[float | None, float, tuple[float, float]]:
    """Share of cells whose fine detail agrees over the whole frame, at the softer picture's resolution (two
    hazy landscapes or two banded planets agree in their broad shapes, not in their detail), None when there
    is too little detail to say; the frames' correlation at a heavy blur's own scale (else 0); and how blurred
    a and b are (as :class:`PairVerdict` says it). ``coarser``: on b's grid instead of a's."""
    if coarser:
        detail, matched, (b_blur, a_blur) = _direct_detail(b, a, opencv().invertAffineTransform(np.asarray(m)))
        return detail, matched, (a_blur, b_blur)
    _, mask, ga, gb, soft, b_soft = _aligned(a, b, m)
    blurs = (0.0, soft) if b_soft else (soft, 0.0)
    detail = mask & (busy(ga) | busy(gb))
    agree, _, k = cells(highpass(ga), highpass(gb), detail)
    matched = cells(ga, gb, mask)[1] if soft >= HEAVY_BLUR else 0.0
    if k < MIN_TEXTURED_CELLS or (soft >= HEAVY_BLUR and agree < DIRECT_DETAIL):
        return None, matched, blurs   # no detail, or a heavy blur's noise for detail
    return agree, matched, blurs


def _small(grey: np.ndarray, side: int = 96) -> np.ndarray:
    cv2 = opencv()
    h, w = grey.shape
    s = side / max(h, w)
    if s >= 1.0:
        return grey
    return cv2.resize(grey, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
