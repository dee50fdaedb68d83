"""The shared photo edits: RGB out, any size in, deterministic per seed, visibly different, fast."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from PIL import Image

from imgsim_desktop.edits import BENCH_ONLY, EDITS, random_edit

REQUIRED = {"downscale_jpeg", "crop", "exposure", "rotate_crop", "caption", "screenshot", "grayscale",
            "blur", "noise", "aspect", "mirror"}


def _photo(w: int, h: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.stack([x / max(1, w) * 255, y / max(1, h) * 255, (x + y) / max(1, w + h) * 255], axis=2)
    a += r.normal(0, 10, size=a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB").convert(mode)


def test_required_edits_present():
    assert REQUIRED <= set(EDITS)


@pytest.mark.parametrize("name", sorted(EDITS))
@pytest.mark.parametrize("size", [(64, 64), (48, 90), (640, 427), (17, 9)])
def test_edit_returns_rgb_and_is_deterministic(name, size):
    img = _photo(*size, seed=1)
    for seed in range(3):
        a = EDITS[name](img, random.Random(seed))
        b = EDITS[name](img, random.Random(seed))
        assert a.mode == "RGB"
        assert a.width >= 1 and a.height >= 1
        assert a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b)), name
    assert img.size == size  # the input is not modified in place


@pytest.mark.parametrize("name", sorted(EDITS))
def test_edit_accepts_other_modes(name):
    for mode in ("L", "RGBA", "P"):
        out = EDITS[name](_photo(80, 60, seed=2, mode=mode), random.Random(5))
        assert out.mode == "RGB"


@pytest.mark.parametrize("name", sorted(EDITS))
def test_edit_changes_the_image(name):
    img = _photo(160, 120, seed=3)
    out = EDITS[name](img, random.Random(7))
    if out.size == img.size:
        assert np.abs(np.asarray(out, np.int16) - np.asarray(img, np.int16)).mean() > 0.5, name


def test_geometry_ranges():
    img = _photo(400, 300, seed=4)
    for seed in range(20):
        rng = random.Random(seed)
        c = EDITS["crop"](img, rng)
        frac = c.width * c.height / (400 * 300)
        assert 0.5 <= frac <= 0.92
        d = EDITS["downscale_jpeg"](img, random.Random(seed))
        assert 0.24 * 400 <= d.width <= 0.61 * 400
        s = EDITS["aspect"](img, random.Random(seed))
        ratio = (s.width / s.height) / (400 / 300)
        assert 0.69 <= ratio <= 1.43 and abs(ratio - 1) >= 0.09
        r = EDITS["rotate_crop"](img, random.Random(seed))
        assert r.width < 400 and r.height < 300
        sc = EDITS["screenshot"](img, random.Random(seed))
        assert sc.width > img.width * 1.2 or sc.height > img.height * 1.2


def test_rotate_crop_has_no_black_corners():
    img = Image.new("RGB", (300, 200), (200, 180, 160))
    for seed in range(10):
        out = np.asarray(EDITS["rotate_crop"](img, random.Random(seed)))
        assert out.min() > 100, seed


def test_mirror_and_grayscale():
    img = _photo(50, 40, seed=5)
    assert np.array_equal(np.asarray(EDITS["mirror"](img, random.Random(0))), np.asarray(img)[:, ::-1])
    g = np.asarray(EDITS["grayscale"](img, random.Random(0)))
    assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])


def test_random_edit_deterministic_and_covers_all():
    img = _photo(64, 64, seed=6)
    seen = set()
    for seed in range(200):
        n1, a = random_edit(img, random.Random(seed))
        n2, b = random_edit(img, random.Random(seed))
        assert n1 == n2 and np.array_equal(np.asarray(a), np.asarray(b))
        seen.add(n1)
    assert seen == set(EDITS) - set(BENCH_ONLY)  # training draws the bench-only edits only when weighted
    named = {random_edit(img, random.Random(s), {"rot90": 5.0})[0] for s in range(60)}
    assert "rot90" in named and not named & (set(BENCH_ONLY) - {"rot90"})


def test_orientation_edits_are_the_dihedral_turns():
    img = _photo(48, 32, seed=2)
    a = np.asarray(img)
    assert np.array_equal(np.asarray(EDITS["rot90"](img, random.Random(0))), np.rot90(a, -1))
    assert np.array_equal(np.asarray(EDITS["rot270"](img, random.Random(0))), np.rot90(a, 1))
    assert np.array_equal(np.asarray(EDITS["flip"](img, random.Random(0))), a[::-1])
    assert np.array_equal(np.asarray(EDITS["transpose"](img, random.Random(0))), a.transpose(1, 0, 2))


def test_phone_screenshot_is_a_tall_canvas_and_wide_one_wide():
    img = _photo(200, 150, seed=3)
    for seed in range(5):
        tall = EDITS["phone_screenshot"](img, random.Random(seed))
        wide = EDITS["wide_screenshot"](img, random.Random(seed))
        assert tall.height >= 1.7 * tall.width and wide.width >= 1.4 * wide.height


def test_edits_are_fast_on_training_sized_images():
    img = _photo(160, 160, seed=7)
    rng = random.Random(0)
    for name in EDITS:  # warm-up (font loading)
        EDITS[name](img, rng)
    t0 = time.perf_counter()
    n = 0
    for _ in range(10):
        for name in EDITS:
            EDITS[name](img, rng)
            n += 1
    per = (time.perf_counter() - t0) / n
    assert per < 0.02, f"{per * 1000:.1f} ms per edit"


def test_random_edit_weights():
    img = _photo(64, 48, seed=2)
    only = {n: 0.0 for n in EDITS} | {"mirror": 1.0}
    assert {random_edit(img, random.Random(s), only)[0] for s in range(20)} == {"mirror"}
    heavy = {"screenshot": 50.0}
    names = [random_edit(img, random.Random(s), heavy)[0] for s in range(60)]
    assert names.count("screenshot") > 30          # 50 / 61 expected
