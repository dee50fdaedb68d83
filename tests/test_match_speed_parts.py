"""The parts that make verification cheaper must not change a verdict: the brute-force matcher finds the
neighbours OpenCV's matcher finds, and the heap setting takes on glibc."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from imgsim_desktop.core import geometry as G
from imgsim_desktop.core import heap
from imgsim_desktop.core import verify as V
from photos import scene


def opencv_match(da, db):
    import cv2

    out = []
    for pair in cv2.BFMatcher(cv2.NORM_L2).knnMatch(db.astype(np.float32), da.astype(np.float32), k=2):
        if len(pair) == 2 and pair[0].distance < G.RATIO * pair[1].distance:
            out.append((pair[0].trainIdx, pair[0].queryIdx))
    return out


def test_matches_are_opencvs_on_real_features():
    from PIL import ImageOps

    img = scene(7)
    feats = [V.features_from_image(x) for x in (img, ImageOps.grayscale(img).convert("RGB"),
                                                img.crop((30, 20, 400, 300)), scene(8))]
    total = 0
    for fa in feats:
        for fb in feats:
            got = G.match(fa.desc, fb.desc)
            assert sorted(got) == sorted(opencv_match(fa.desc, fb.desc))
            total += len(got)
    assert total > 500          # real matches were compared, not empty lists


def test_matches_with_few_or_no_descriptors():
    one = np.zeros((1, 128), np.uint8)
    many = np.random.default_rng(0).integers(0, 255, (50, 128)).astype(np.uint8)
    assert G.match(None, many) == [] and G.match(many, one) == [] and G.match(one, many) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_kept_on_glibc():
    import ctypes.util

    if "musl" in (ctypes.util.find_library("c") or ""):
        pytest.skip("not glibc")
    assert heap.keep_freed_memory() is True
    assert heap.keep_freed_memory() is True   # once per process; asking again is harmless


def test_overlap_correlation_is_the_one_cells_reports():
    from imgsim_desktop.core import pixels as P

    rng = np.random.default_rng(3)
    grey = np.asarray(scene(9).convert("L"))
    checked = 0
    for k in range(30):
        a = grey[rng.integers(0, 40):, rng.integers(0, 40):][:200, :300]
        noise = rng.normal(0, rng.uniform(1, 60), a.shape)
        b = np.clip(a * rng.uniform(0.3, 1.5) + noise, 0, 255).astype(np.uint8) if k % 3 else \
            np.asarray(scene(50 + k).convert("L"))[:a.shape[0], :a.shape[1]]
        mask = np.zeros(a.shape, bool)
        mask[rng.integers(0, 60):rng.integers(100, 200), rng.integers(0, 90):rng.integers(150, 300)] = True
        want = P.cells(a, b, mask)[1]
        assert P.overlap_ncc(a, b, mask) == pytest.approx(want, abs=1e-9)
        checked += want != 0.0
    flat = np.full((50, 50), 7, np.uint8)
    assert P.overlap_ncc(flat, flat, np.ones((50, 50), bool)) == P.cells(flat, flat, np.ones((50, 50), bool))[1]
    assert P.overlap_ncc(grey, grey, np.zeros(grey.shape, bool)) == 0.0
    assert checked >= 25


def test_mirrored_descriptors_are_those_sift_computes_on_the_mirrored_picture():
    import cv2

    grey = np.asarray(scene(12).convert("L"))
    sift = cv2.SIFT_create(nfeatures=600)
    kp1, d1 = sift.detectAndCompute(grey, None)
    kp2, d2 = sift.detectAndCompute(np.ascontiguousarray(grey[:, ::-1]), None)
    w = grey.shape[1]
    p2 = np.array([(w - 1 - k.pt[0], k.pt[1]) for k in kp2])
    a2 = np.array([k.angle for k in kp2])
    near, far = [], []
    for i, k in enumerate(kp1):
        d = np.linalg.norm(p2 - np.array(k.pt), axis=1)
        cand = np.nonzero(d < 0.5)[0]
        turn = np.abs((a2[cand] - (180 - k.angle) + 180) % 360 - 180)
        if len(cand) and turn.min() < 5:
            j = cand[np.argmin(turn)]
            norm = np.linalg.norm(d2[j])
            near.append(np.linalg.norm(d1[i][V.MIRROR_DESC] - d2[j]) / norm)
            far.append(np.linalg.norm(d1[i] - d2[j]) / norm)
    assert len(near) >= 30
    assert np.median(near) < 0.1 < 0.5 < np.median(far)


def test_a_mirrored_copy_is_verified_with_its_reflection():
    from PIL import Image, ImageOps

    img = scene(13)
    a = V.features_from_image(img)
    for copy, orient in ((ImageOps.mirror(img), "mirror"), (ImageOps.flip(img), "flip"),
                         (img.transpose(Image.Transpose.TRANSPOSE), "transpose")):
        v = V.verify(a, V.features_from_image(copy))
        assert v.same and v.inliers >= 40, orient
        assert np.linalg.det(np.asarray(v.affine)[:, :2]) < 0     # the affine found is a reflection
