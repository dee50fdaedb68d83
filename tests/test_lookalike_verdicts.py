"""A lookalike search's closest results were labelled "same photo" by their cosine alone, and the newt's second
shot (0.908) read so. Each near-duplicate now says what the verifier found: the query's photo, another shot, or
another photo; unverified, only how close it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from imgsim_desktop.core import verify as V
from imgsim_desktop.core.library import Library
from photos import burst


def _cut_at(lib, monkeypatch, cut: float):
    """The near-duplicate cut, whatever the random test model's cosines (its card's thresholds are read anew
    each time)."""
    monkeypatch.setattr(type(lib.model), "thresholds", property(lambda _self: {"duplicates": cut, "similar": -1.0}))


def _near_everything(lib, monkeypatch):
    _cut_at(lib, monkeypatch, -1.0)


@pytest.fixture
def shots(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    return burst(folder)


def test_near_duplicates_say_whether_they_are_the_querys_photo(tmp_path, tiny_model, shots, monkeypatch):
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([Path(shots["first"]).parent])
        _near_everything(lib, monkeypatch)
        by = {r.path: r for r in lib.similar(Path(shots["first"]), k=5)}
    assert set(by) == {shots["second"], shots["grey"], shots["other"]}
    assert by[shots["grey"]].match["same_photo"] is True and by[shots["grey"]].reason == "same photo: grey"
    assert by[shots["second"]].match["kind"] == "another shot"
    assert by[shots["second"]].reason == "another shot: camera moved"
    assert by[shots["other"]].match["same_photo"] is False
    assert by[shots["grey"]].to_dict()["match"]["same_photo"] is True


def test_a_library_photo_uses_the_verifiers_cache(tmp_path, tiny_model, shots, monkeypatch):
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([Path(shots["first"]).parent])
        lib.duplicates("duplicates", threshold=-1.0)   # a dupes run verifies (and keeps) every pair
        _near_everything(lib, monkeypatch)

        def no_verifying(*_a, **_k):
            raise AssertionError("verified again")

        monkeypatch.setattr(V, "verify", no_verifying)
        first = lib.file_by_path(shots["first"])
        by = {r.path: r for r in lib.similar_to_id(first.id, k=5)}
    assert by[shots["grey"]].match["same_photo"] is True
    assert by[shots["second"]].match["kind"] == "another shot"


def test_pasted_pixels_are_verified_and_only_a_few(tmp_path, tiny_model, shots, monkeypatch):
    from imgsim_desktop.core import lookalike_verdicts

    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([Path(shots["first"]).parent])
        _near_everything(lib, monkeypatch)
        by = {r.path: r for r in lib.similar(Path(shots["first"]).read_bytes(), k=5)}
        assert by[shots["grey"]].match["same_photo"] is True
        # past the few verified per search, a result says nothing rather than a cosine's "same photo"
        monkeypatch.setattr(lookalike_verdicts, "VERIFY_AT_MOST", 1)
        monkeypatch.setattr(lookalike_verdicts.attach_verdicts, "__defaults__", (1, frozenset()))
        results = lib.similar(Path(shots["first"]).read_bytes(), k=5)
    assert sum(r.match is not None for r in results) == 1
    assert all(r.reason == "" for r in results if r.match is None)


def test_similar_json_and_text_carry_the_verdict(tmp_path, tiny_model, shots):
    """The CLI says it too; the model card's own cut makes every photo a near-duplicate here."""
    import shutil

    card = tmp_path / "model" / "near.json"
    card.parent.mkdir()
    data = json.loads(Path(tiny_model).read_text())
    shutil.copy(Path(tiny_model).with_name(data["weights"]), card.parent / data["weights"])
    card.write_text(json.dumps({**data, "thresholds": {"duplicates": -1.0, "similar": -1.0}}))
    lib_dir = tmp_path / "lib"
    with Library(lib_dir, model_path=card, workers=1) as lib:
        lib.scan([Path(shots["first"]).parent])
    cmd = [sys.executable, "-m", "imgsim_desktop", "similar", shots["first"], "--library", str(lib_dir),
           "--model", str(card)]
    out = subprocess.run(cmd + ["--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = {r["path"]: r for r in json.loads(out.stdout)["results"]}
    assert rows[shots["grey"]]["kind"] == "duplicate" and rows[shots["grey"]]["match"]["same_photo"] is True
    assert rows[shots["second"]]["match"]["kind"] == "another shot"
    # "kind" ranks by score; the verdict has its own field: a refused near-duplicate is no copy to a script
    assert rows[shots["grey"]]["same_photo"] is True
    assert rows[shots["second"]]["kind"] == "duplicate" and rows[shots["second"]]["same_photo"] is False
    text = subprocess.run(cmd, capture_output=True, text=True)
    assert text.returncode == 0 and "another shot: camera moved" in text.stdout, text.stdout + text.stderr


def test_the_lookalike_page_labels_by_the_verdict():
    from types import SimpleNamespace

    from imgsim_desktop.gui.lookalikes import _near_label

    def r(match):
        return SimpleNamespace(match=match)

    assert _near_label(r({"same_photo": True, "kind": "same photo"})) == "same photo"
    assert _near_label(r({"same_photo": False, "kind": "another shot"})) == "another shot"
    assert _near_label(r({"same_photo": False, "kind": "too plain"})) == "very close"
    assert _near_label(r(None)) == "very close"


def test_a_lookalike_the_verifier_compared_says_what_it_is(tmp_path, tiny_model, shots, monkeypatch):
    """A turned copy scores like a lookalike (0.2-0.4 as a near-duplicate): once a dupes run has verified it,
    the search says it is the query's photo; nothing new is verified for lookalikes."""
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([Path(shots["first"]).parent])
        lib.duplicates("duplicates", threshold=-1.0)
        _cut_at(lib, monkeypatch, 1.01)   # no near-duplicates: every result is a lookalike
        first = lib.file_by_path(shots["first"])
        by = {r.path: r for r in lib.similar_to_id(first.id, k=5)}
    assert all(r.kind == "lookalike" for r in by.values())
    assert by[shots["grey"]].match["same_photo"] is True and by[shots["grey"]].reason == "same photo: grey"
    assert by[shots["second"]].match["kind"] == "another shot"
    assert by[shots["other"]].match is None   # not a copy, not a shot: a lookalike, as before

    from types import SimpleNamespace

    from imgsim_desktop.gui.lookalikes import _far_label

    assert _far_label(by[shots["grey"]]) == "same photo" and _far_label(by[shots["other"]]) == "lookalike"
    assert _far_label(SimpleNamespace(match={"same_photo": False, "kind": "another shot"})) == "another shot"


def test_a_turned_copy_searched_from_outside_says_it_is_the_same_photo(tmp_path, tiny_model, shots, monkeypatch):
    """From a new user's try: a library photo turned 90° and searched from outside the library read
    "lookalike 0.93": a turned copy scores like a lookalike, and only near-duplicates were verified. A
    lookalike whose orientation signature matches the query's turned is verified too."""
    from PIL import Image

    turned = tmp_path / "outside_turned.jpg"
    Image.open(shots["first"]).rotate(90, expand=True).save(turned, quality=90)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([Path(shots["first"]).parent])
        _cut_at(lib, monkeypatch, 1.01)   # nothing is a near-duplicate: every result is a lookalike
        by = {r.path: r for r in lib.similar(turned, k=5)}
    assert all(r.kind == "lookalike" for r in by.values())
    assert by[shots["first"]].match["same_photo"] is True
    assert by[shots["first"]].reason == "same photo: turned 90° right"
    assert by[shots["other"]].match is None   # a lookalike, and nothing says otherwise


def test_the_original_of_a_cropped_query_is_said_to_be_uncropped(tmp_path, tiny_model, shots, monkeypatch):
    """It read "same photo: re-saved or retouched" (the original of a crop is no padded copy of it)."""
    from PIL import Image

    im = Image.open(shots["first"])
    w, h = im.size
    crop = tmp_path / "crop.jpg"
    im.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(crop, quality=92)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([Path(shots["first"]).parent])
        _near_everything(lib, monkeypatch)
        by = {r.path: r for r in lib.similar(crop, k=5)}
    r = by[shots["first"]]
    assert r.match["same_photo"] is True and 0.55 < r.match["uncropped_fraction"] < 0.75
    assert r.reason.startswith("same photo: uncropped: the other shows 6")


def test_every_tiny_copy_of_a_turned_thumbnail_says_it_is_the_same_photo(tmp_path, tiny_model, monkeypatch):
    """An outside try: searched from a thumbnail turned 180°, its photo's other thumbnails are all turned to it,
    and only the first two were verified ("lookalike" for the rest, though one duplicates group held them all).
    Tiny ones cost a few ms each: more of them are verified."""
    from PIL import ImageOps

    from imgsim_desktop.core import lookalike_verdicts as LV
    from photos import scene

    folder = tmp_path / "thumbs"
    folder.mkdir()
    photo = scene(11, (480, 320))
    copies = {"t96": photo.resize((96, 64)), "t120": photo.resize((120, 80)), "t128": photo.resize((128, 85)),
              "mirror": ImageOps.mirror(photo.resize((100, 67))),
              "grey": ImageOps.grayscale(photo.resize((110, 73))).convert("RGB")}
    for name, img in copies.items():
        img.save(folder / f"{name}.jpg", quality=80)
    query = tmp_path / "turned.jpg"
    photo.resize((84, 56)).rotate(180).save(query, quality=85)
    assert len(copies) > LV.TURNED_AT_MOST
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([folder])
        _cut_at(lib, monkeypatch, 1.01)   # nothing is a near-duplicate: every result is a lookalike
        by = {Path(r.path).stem: r for r in lib.similar(query, k=5)}
    assert sorted(by) == sorted(copies)
    assert all(r.match and r.match["same_photo"] is True for r in by.values()), {k: r.reason for k, r in by.items()}
