"""A still scene shot in a burst from a tripod differs frame to frame by a shift and fresh noise: to the
pixels, crops of one photo. Each frame's capture time says it is a shot of its own (core/shots.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from imgsim_desktop.core import verify as V
from imgsim_desktop.core.library import Library
from imgsim_desktop.core.shots import as_taken, seconds_apart
from photos import scene


def _exif(when: str, software: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[271], exif[272] = "SONY", "ILCE-7M3"
    if software:
        exif[305] = software
    exif.get_ifd(0x8769)[36867] = when
    return exif


def _still_burst(folder: Path) -> dict[str, Path]:
    """Three frames a second apart, each a 94 % crop of one still scene shifted a little further, with its own
    sensor noise; an editor's export of the first (smaller, same EXIF) and a copy of it whose clock was moved
    6 hours (a time-zone fix)."""
    big = scene(41, (560, 420))
    rng = np.random.default_rng(0)
    out = {}
    for i in range(3):
        x, y = 8 + 7 * i, 6 + 5 * i
        frame = np.asarray(big.crop((x, y, x + 526, y + 395)), float) + rng.normal(0, 3, (395, 526, 3))
        out[f"frame{i}"] = folder / f"DSC0710{i}.JPG"
        Image.fromarray(frame.clip(0, 255).astype(np.uint8)).save(out[f"frame{i}"], quality=92,
                                                                   exif=_exif(f"2024:05:13 11:00:{10 + i:02d}"))
    first = Image.open(out["frame0"])
    out["export"] = folder / "DSC07100-Edit.jpg"
    first.resize((400, 300)).save(out["export"], quality=90,
                                  exif=_exif("2024:05:13 11:00:10", "Adobe Lightroom Classic 13.0"))
    out["shifted"] = folder / "DSC07100-tz.jpg"
    first.save(out["shifted"], quality=95, exif=_exif("2024:05:13 17:00:10"))
    return out


def test_frames_of_a_still_burst_are_shots_of_their_own_and_copies_stay_copies(tmp_path, tiny_model):
    """From an outside try: a still-camera burst was "same photo: re-saved or retouched" and "all but keeper"
    offered four of five frames for the trash, with their capture times a second apart in the JSON."""
    folder = tmp_path / "photos"
    folder.mkdir()
    p = _still_burst(folder)
    # to the pixels alone, the next frame is the first one again (the case the capture time decides)
    assert V.verify(V.features_from_path(p["frame0"]), V.features_from_path(p["frame1"])).same
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([folder])
        (dup,) = lib.duplicates("duplicates", threshold=-1.0)   # every pair a candidate: the test model's
                                                                # cosines are no guide
        assert {m.path for m in dup.members} == {str(p["frame0"]), str(p["export"]), str(p["shifted"])}
        assert dup.keeper == str(p["frame0"])
        words = {m.path: m.reason for m in dup.members}   # an editor's export says whose (another outside try)
        assert words[str(p["export"])] == "same photo: smaller (76 % as wide), saved by Adobe Lightroom Classic"
        assert "saved by" not in words[str(p["shifted"])]
        (sim,) = lib.duplicates("similar", threshold=-1.0)
        words = {m.path: m.reason for m in sim.members}
        assert words[str(p["frame1"])] == "another shot: taken 1 s apart"
        assert words[str(p["frame2"])] == "another shot: taken 2 s apart"
        assert sim.members[[m.path for m in sim.members].index(str(p["frame1"]))].match["kind"] == "another shot"
        assert words[str(p["export"])] == "same photo: smaller (76 % as wide), saved by Adobe Lightroom Classic"


def test_capture_times_tell_shots_apart_only_from_one_camera():
    class Rec:
        def __init__(self, when, model="ILCE-7M3", make="SONY", software="ILCE-7M3 v3.01"):
            self.date_taken, self.camera_model, self.camera_make, self.software = when, model, make, software

    v = V.PairVerdict(True, "same photo", 40)
    a = Rec("2024-05-13T11:00:10")
    assert seconds_apart(a, Rec("2024-05-13T11:00:14")) == 4
    assert as_taken(v, a, Rec("2024-05-13T11:02:10")).why == "taken 2 min apart (another shot)"
    assert not as_taken(v, a, Rec("2024-05-13T11:00:14")).same and v.same   # a copy, the verdict left alone
    for other in (Rec("2024-05-13T11:00:10"),              # the same second: a copy (or one second's burst)
                  Rec("2024-05-13T20:00:10"),              # whole hours: a clock moved, not a second exposure
                  Rec("2024-05-13T11:00:14", model="Pixel 8", make="Google"),   # another camera's clock
                  Rec(None), Rec("2024-05-13T11:00:14", model=None),            # a copy without EXIF
                  Rec("2024-05-13T11:00:14", software="GIMP 2.10")):  # re-saved by a program, its date rewritten
        assert as_taken(v, a, other) is v


def test_a_lookalike_search_from_a_burst_frame_calls_the_next_one_another_shot(tmp_path):
    """The outside try's `imgsim similar DSC07112.JPG` said "same photo" of the next frame."""
    from imgsim_desktop.core.catalog import FileRecord
    from imgsim_desktop.core.decode import read_info
    from imgsim_desktop.core.lookalike_verdicts import attach_verdicts
    from imgsim_desktop.core.ranking import DUPLICATE, SimilarResult

    folder = tmp_path / "photos"
    folder.mkdir()
    p = _still_burst(folder)

    def record(i, path):
        info = read_info(path)
        return FileRecord(i, str(path), path.stat().st_size, 0, None, info.width, info.height, info.format,
                          info.date_taken, "ok", None, info.make, info.model, info.software)

    records = {1: record(1, p["frame0"]), 2: record(2, p["export"])}
    results = [SimilarResult(1, str(p["frame0"]), 0.99, kind=DUPLICATE),
               SimilarResult(2, str(p["export"]), 0.98, kind=DUPLICATE)]
    attach_verdicts(results, records, {}, str(p["frame1"]), None)
    assert results[0].reason == "another shot: taken 1 s apart" and results[0].match["kind"] == "another shot"
    assert results[1].match["same_photo"] is True   # an editor's export of the first frame: the pixels decide


def test_frames_of_one_second_are_told_apart_by_the_fraction_the_camera_wrote(tmp_path):
    """A burst takes ten frames in a second: to the second they share one capture time. Cameras write the
    fraction beside it (SubSecTimeOriginal); a copy keeps it, a file with the second alone is compared to the
    second."""
    from imgsim_desktop.core.decode import read_info

    class Rec:
        def __init__(self, when):
            self.date_taken, self.camera_model, self.camera_make, self.software = when, "ILCE-7M3", "SONY", "v3.01"

    paths = []
    for i, sub in enumerate(("12", "420", "12", None, "000", "x1")):   # "000": a frame on the second
        exif = _exif("2024:05:13 11:00:10")
        if sub is not None:
            exif.get_ifd(0x8769)[37521] = sub
        paths.append(tmp_path / f"f{i}.jpg")
        Image.new("RGB", (64, 48), (90, 120, 150)).save(paths[-1], exif=exif)
    taken = [read_info(p).date_taken for p in paths]
    assert taken == ["2024-05-13T11:00:10.120", "2024-05-13T11:00:10.420", "2024-05-13T11:00:10.120",
                     "2024-05-13T11:00:10", "2024-05-13T11:00:10.000", "2024-05-13T11:00:10"]
    v = V.PairVerdict(True, "same photo", 40)
    first, second, copy, to_the_second = (Rec(t) for t in taken[:4])
    assert seconds_apart(first, second) == 0.3
    assert as_taken(v, first, second).why == "taken 0.3 s apart (another shot)"
    assert as_taken(v, first, copy) is v and as_taken(v, first, to_the_second) is v
    assert as_taken(v, first, Rec("2024-05-13T17:00:10.120")) is v    # a clock fix keeps the fraction
    assert seconds_apart(first, Rec("2024-05-13T11:00:12.620")) == 2.5
    assert as_taken(v, first, Rec("2024-05-13T11:00:12")).why == "taken 2 s apart (another shot)"
    assert seconds_apart(Rec(taken[4]), first) == 0.12   # the frame on the second keeps its ".000"


def test_the_fraction_beside_the_modification_date_is_its_own(tmp_path):
    """SubSecTime goes with DateTime (no DateTimeOriginal), SubSecTimeOriginal with DateTimeOriginal."""
    from imgsim_desktop.core.decode import read_info

    exif = Image.Exif()
    exif[306] = "2024:05:13 11:00:10"
    exif.get_ifd(0x8769)[37520], exif.get_ifd(0x8769)[37521] = "5", "7"
    Image.new("RGB", (64, 48)).save(tmp_path / "m.jpg", exif=exif)
    assert read_info(tmp_path / "m.jpg").date_taken == "2024-05-13T11:00:10.500"
    exif.get_ifd(0x8769)[36867] = "2024:05:13 10:59:58"
    Image.new("RGB", (64, 48)).save(tmp_path / "o.jpg", exif=exif)
    assert read_info(tmp_path / "o.jpg").date_taken == "2024-05-13T10:59:58.700"


def test_a_copy_that_lost_the_fraction_is_not_the_earlier_photo():
    """"Earliest date" compared the strings: "…:10" sorted before "…:10.120", so the copy won over its
    original."""
    from types import SimpleNamespace

    from imgsim_desktop.core.keeper import evidence

    def rec(when, mtime):
        return SimpleNamespace(path=f"/p/{mtime}.jpg", date_taken=when, mtime_ns=mtime, width=800, height=600,
                               size=1000, format="JPEG", camera_make=None, camera_model=None, software=None)

    assert evidence(rec("2024-05-13T11:00:10.120", 1)).date_key < evidence(rec("2024-05-13T11:00:10", 2)).date_key


def test_a_copy_without_a_capture_time_is_the_same_photo_as_one_frame_of_a_burst_only(tmp_path):
    """An eighth outside try: a messaging app's copy of one burst frame, its EXIF gone, was "same photo
    0.994-1.000" of all four frames in Lookalikes. The frames' own times tell them apart: the closest one
    stays the same photo, the others are another shot."""
    from imgsim_desktop.core.catalog import FileRecord
    from imgsim_desktop.core.decode import read_info
    from imgsim_desktop.core.lookalike_verdicts import attach_verdicts
    from imgsim_desktop.core.ranking import DUPLICATE, SimilarResult

    folder = tmp_path / "photos"
    folder.mkdir()
    p = _still_burst(folder)
    whatsapp = tmp_path / "IMG-20240513-WA0002.jpg"
    Image.open(p["frame1"]).resize((400, 300)).save(whatsapp, quality=75)   # no EXIF

    def record(i, path):
        info = read_info(path)
        return FileRecord(i, str(path), path.stat().st_size, 0, None, info.width, info.height, info.format,
                          info.date_taken, "ok", None, info.make, info.model, info.software)

    order = ("frame1", "frame0", "frame2")
    records = {i: record(i, p[k]) for i, k in enumerate(order)}
    results = [SimilarResult(i, str(p[k]), 0.999 - 0.01 * i, kind=DUPLICATE) for i, k in enumerate(order)]
    frames = [V.features_from_path(p[k]) for k in order]
    query = V.features_from_path(whatsapp)
    assert all(V.verify(query, f).same for f in frames)   # to the pixels, each frame is the copy's photo
    attach_verdicts(results, records, {}, str(whatsapp), None)
    assert results[0].match["same_photo"] is True
    assert [r.reason for r in results[1:]] == ["another shot: taken 1 s from DSC07101.JPG"] * 2
    assert all(r.match["kind"] == "another shot" and r.match["same_photo"] is False for r in results[1:])
