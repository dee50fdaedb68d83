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
