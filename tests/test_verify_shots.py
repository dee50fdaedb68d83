"""The verifier against second exposures: a subject that moved (far, a little, over a plain sky), a camera that
moved, and a closer view of part of a picture. Each is another shot, or holds what the other lacks, so it is
never offered for the trash as a copy; edited copies of the same kinds (captions, stickers, keystone fixes,
screenshots) stay copies."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from imgsim_desktop.core import verify as V
from photos import scene
from test_verify import jpeg_features, phone_screenshot


def two_shots(seed: int, subject: Image.Image, here: tuple[int, int], there: tuple[int, int]):
    """Two shots of one scene (480 x 320): the same background, the subject moved from ``here`` to ``there``."""
    background = scene(100 + seed, (480, 320))
    first, second = background.copy(), background.copy()
    first.paste(subject, here)
    second.paste(subject, there)
    return first, second


def test_two_shots_of_one_scene_whose_subject_moved_are_not_the_same_photo():
    """A burst: one background, the subject 30 px further on. Most cells agree, so the cell check alone
    called such pairs "the same photo" (57 of 60 bursts made by scripts/verifier_checks/bursts.py). The
    subject's matches follow a second motion of their own, at the first's scale, a few percent away; an
    edited copy's stray matches do not, so a captioned copy still verifies."""
    for seed in range(3):
        first, second = two_shots(seed, scene(200 + seed, (130, 100)), (150, 110), (180, 122))
        v = V.verify(jpeg_features(first), jpeg_features(second))
        assert not v.same and "moved" in v.why, (seed, v.why)
    captioned = first.copy()
    ImageDraw.Draw(captioned).rectangle([0, 262, 480, 320], fill=(20, 20, 20))
    ImageDraw.Draw(captioned).text((20, 280), "Summer 2024 - the lake, from the north shore", fill=(255, 255, 255))
    assert V.verify(jpeg_features(first), jpeg_features(captioned)).same


def test_two_shots_a_moved_camera_took_are_not_the_same_photo():
    """Two shots from a hand-held camera: near things shift against far ones (parallax), which no affine
    explains, while every cell still agrees (a newt beside a dandelion, two Flickr shots, was "the same
    photo"). The affine's matches then stray together, neighbour with neighbour, and from the best projective
    map too; a blurred, noisy, shrunk copy's matches stray as much, but each its own way, and a keystone fix
    is one projective map: both stay the same photo."""
    import cv2
    from PIL import ImageFilter

    for seed in range(3):
        first = scene(300 + seed, (480, 320))
        a = np.asarray(first)
        ys, xs = np.mgrid[0:320, 0:480].astype(np.float32)
        near = np.sin(np.pi * ys / 320) * np.sin(np.pi * xs / 480)   # nearest in the middle: it shifts most
        second = Image.fromarray(cv2.remap(a, xs + 3 * near, ys + 1.5 * near, cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_REFLECT))
        v = V.verify(jpeg_features(first), jpeg_features(second))
        assert not v.same and "camera moved" in v.why, (seed, v.why)
        noisy = np.asarray(first.filter(ImageFilter.GaussianBlur(1.5)), np.float32)
        noisy += np.random.default_rng(seed).normal(0, 12, noisy.shape)
        copy = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).resize((240, 160))
        assert V.verify(jpeg_features(first), jpeg_features(copy)).same, seed
        # a keystone fix (the top edge pulled in by 2 %): strays together from the affine, not from the
        # projective map that made it, so still the same photo (v12 before that: 1 of 30 eval/originals)
        corners = np.float32([[0, 0], [480, 0], [480, 320], [0, 320]])
        pulled = np.float32([[9.6, 0], [470.4, 0], [480, 320], [0, 320]])
        fixed = cv2.warpPerspective(a, cv2.getPerspectiveTransform(corners, pulled), (480, 320),
                                    borderMode=cv2.BORDER_REFLECT)
        assert V.verify(jpeg_features(first), jpeg_features(Image.fromarray(fixed))).same, seed


def test_a_small_subject_that_moved_is_another_shot_and_a_sticker_is_not():
    """A subject too small for ten matches of its own (50 x 40 px of 480): four or more of its matches
    follow one motion, and at both ends of each the aligned pictures differ (it left one place and stands in
    another), which v11 missed. A copy with a foreign sticker of that size differs in one place only, and
    stays the same photo."""
    for seed in (1, 4, 6, 7):
        first, second = two_shots(seed, scene(400 + seed, (50, 40)), (200, 130), (228, 140))
        v = V.verify(jpeg_features(first), jpeg_features(second))
        assert not v.same and "moved" in v.why, (seed, v.why)
        stickered = first.copy()
        stickered.paste(scene(700 + seed, (50, 40)), (330, 200))
        assert V.verify(jpeg_features(first), jpeg_features(stickered)).same, seed


def test_a_subject_that_moved_a_few_pixels_is_another_shot_and_a_large_sticker_is_not(monkeypatch):
    """Frames of a burst without EXIF times: a 90 px subject 10 px further on (2 % of the frame), too close for
    its matches to follow a motion of their own, so v12 called the frames one photo and "all but keeper"
    offered one. Dense motion sees the subject move as one patch while its surroundings stand still. A copy
    with a sticker as large (a different picture in that place) is explained by no motion: the same photo."""
    from imgsim_desktop.core import motion

    for seed in range(4):
        subject = scene(500 + seed, (90, 90))
        first, second = two_shots(seed, subject, (200, 120), (210, 120))
        v = V.verify(jpeg_features(first), jpeg_features(second))
        assert not v.same and "moved" in v.why, (seed, v.why)
        stickered = first.copy()
        stickered.paste(scene(700 + seed, (90, 90)), (40, 200))
        assert V.verify(jpeg_features(first), jpeg_features(stickered)).same, seed
    # and it is the dense check that tells: without it the frames pass as one photo
    first, second = two_shots(0, scene(500, (90, 90)), (200, 120), (210, 120))
    assert motion.part_moved is V.part_moved
    monkeypatch.setattr(V, "part_moved", lambda *a: False)
    assert V.verify(jpeg_features(first), jpeg_features(second)).same


def test_a_closer_view_is_not_a_copy_of_a_small_export_and_a_crop_at_the_files_own_size_is():
    """Two eval/pairs flowers were grouped with a second shot zoomed in on them: the close-up shows a quarter
    of the other's frame in twice its pixels, detail no crop of that file can hold. So does a detail cut from
    a large original beside a small export of the whole: neither can be rebuilt from the other, and trashing
    either loses something. A crop cut from the file itself holds its pixels, and stays a copy."""
    from imgsim_desktop.core.match_reason import similar_match

    for seed in range(3):
        large = scene(900 + seed, (1200, 800))
        export = large.resize((300, 200), Image.Resampling.LANCZOS)
        detail = large.crop((300, 200, 1060, 706)).resize((400, 266), Image.Resampling.LANCZOS)
        v = V.verify(jpeg_features(export), jpeg_features(detail))
        assert not v.same and v.why == V.CLOSER_WHY, (seed, v.why)
        assert similar_match(v, export.size, detail.size)[1] == "closer view: more detail"
        back = V.verify(jpeg_features(detail), jpeg_features(export))   # either way round; kept the close-up,
        assert back.why == V.CLOSER_WHY                                  # the export is the wider view
        assert similar_match(back, detail.size, export.size)[1] == "wider view: less detail"
        cut = export.crop((75, 50, 265, 176))   # the same part, from the export's own pixels
        assert V.verify(jpeg_features(export), jpeg_features(cut)).same, seed
        # a screenshot shows the photo smaller than its file: the original holds the screen's photo area in
        # more pixels, but what the screenshot adds is chrome, not more of the photo
        shot = phone_screenshot([large.resize((480, 320), Image.Resampling.LANCZOS)], scale=0.5)
        original = large.resize((480, 320), Image.Resampling.LANCZOS)
        assert V.verify(jpeg_features(original), jpeg_features(shot)).same, seed
        assert V.verify(jpeg_features(shot), jpeg_features(original)).same, seed


def test_a_subject_that_crossed_the_frame_is_another_shot(monkeypatch):
    """From an outside try: a subject a quarter of the frame wide that moved 40 % across it between two shots
    was "the same photo" (a second motion was looked for up to 25 % of the frame only), and "mark all" sent
    the second shot to the trash. A sticker of that size on a copy still leaves it the same photo."""
    for seed in (1, 4):
        subject = scene(500 + seed, (110, 150))
        first, second = two_shots(seed, subject, (30, 90), (220, 100))   # 190 px of 480: 0.40
        v = V.verify(jpeg_features(first), jpeg_features(second))
        assert not v.same and "moved" in v.why, (seed, v.why)
        stickered = first.copy()
        stickered.paste(scene(800 + seed, (110, 150)), (330, 60))
        assert V.verify(jpeg_features(first), jpeg_features(stickered)).same, seed
    monkeypatch.setattr(V, "SUBJECT_SHIFT", (0.02, 0.25))   # the old reach: the first shot's pair was one photo
    first, second = two_shots(1, scene(501, (110, 150)), (30, 90), (220, 100))
    assert V.verify(jpeg_features(first), jpeg_features(second)).same


def test_a_subject_that_moved_over_a_plain_sky_is_another_shot():
    """From a code review: only pixels busy in both pictures counted, so a subject moving over a plain backdrop
    lost its edges to the backdrop's margin and its frames passed as one photo. A patch counts when most of it is
    busy in both (a caption band's edge slid onto a screenshot's plain bar is not: tests above)."""
    for seed in range(3):
        backdrop = scene(100 + seed, (480, 320))
        backdrop.paste(Image.new("RGB", (220, 150), (150, 190, 230)), (140, 90))   # a patch of plain sky
        subject = scene(500 + seed, (90, 90))
        first, second = backdrop.copy(), backdrop.copy()
        first.paste(subject, (200, 120))
        second.paste(subject, (210, 120))
        v = V.verify(jpeg_features(first), jpeg_features(second))
        assert not v.same and "moved" in v.why, (seed, v.why)
