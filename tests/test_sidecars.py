"""A photo's sidecars (XMP edits, iPhone AAE) go to the trash with it and come back with its undo; a sidecar
named after a stem that a RAW and its JPEG share stays while either stays (core/sidecars.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from imgsim_desktop.core.library import Library
from imgsim_desktop.core.review import ReviewSession
from imgsim_desktop.core.sidecars import going_with
from photos import write_photo

XMP = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>\n'


def _library(root: Path) -> dict[str, Path]:
    photos = root / "photos"
    (photos / "Backup").mkdir(parents=True)
    p = {"photo": write_photo(photos / "DSC_1001.JPG", 1), "other": write_photo(photos / "DSC_1004.JPG", 2),
         "other_tif": photos / "DSC_1004.TIF"}
    from PIL import Image

    Image.open(p["other"]).save(p["other_tif"])   # the same stem: one XMP for both ("DSC_1004.xmp")
    p["backup"] = photos / "Backup" / "DSC_1001.JPG"
    shutil.copy(p["photo"], p["backup"])
    for name in ("DSC_1001.xmp", "DSC_1004.xmp"):
        (photos / name).write_text(XMP)
    p["backup_xmp"] = photos / "Backup" / "DSC_1001.xmp"          # Lightroom names it after the stem...
    p["backup_dt"] = photos / "Backup" / "DSC_1001.JPG.xmp"       # ...darktable after the whole name
    p["backup_xmp"].write_text(XMP)
    p["backup_dt"].write_text(XMP + "<!-- darktable -->\n")
    return p


def test_a_trashed_copy_takes_its_sidecars_and_the_undo_brings_them_back(tmp_path, tiny_model, trash_env):
    """From an outside try: trashing the backup copies left DSC_1001.xmp behind, orphaned, and the
    confirmation said nothing of sidecars."""
    p = _library(tmp_path)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([tmp_path / "photos"])
        groups = [g for g in lib.duplicates("duplicates") if g.tier == "exact"]
        assert [sorted(m.path for m in g.members) for g in groups] == [[str(p["backup"]), str(p["photo"])]]
        session = ReviewSession(groups)
        session.mark_all_but_keeper()
        assert session.marked == [str(p["backup"])]
        text = session.removal().describe()
        assert "DSC_1001.JPG.xmp" in text and "DSC_1001.xmp" in text and "go with them" in text
        action = session.trash(lib)
        assert not p["backup"].exists() and not p["backup_xmp"].exists() and not p["backup_dt"].exists()
        assert (p["photo"].parent / "DSC_1001.xmp").exists()       # the kept photo's own stays
        assert action.describe(state=False).startswith("Moved to trash: 1 file and 2 sidecars")
        report = lib.undo(action.id)
        assert sorted(report.restored) == sorted(map(str, (p["backup"], p["backup_xmp"], p["backup_dt"])))
        assert p["backup_dt"].read_text().endswith("<!-- darktable -->\n")
        counts = lib.catalog.counts()    # a sidecar put back is not catalogued, nor taken for an unreadable photo
        assert counts["errors"] == 0 and counts["files"] == 4


def test_a_sidecar_shared_by_a_stem_stays_while_one_of_its_files_stays(tmp_path, tiny_model, trash_env):
    p = _library(tmp_path)
    shared = p["other"].parent / "DSC_1004.xmp"
    assert going_with([p["other"]]) == []
    assert going_with([p["other"], p["other_tif"]]) == [os.path.normpath(str(shared))]
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([tmp_path / "photos"])
        lib.trash([p["other"]])
        assert shared.exists()
        action = lib.trash([p["other_tif"]])   # its last file goes: the sidecar has nothing left to describe
        assert not shared.exists()
        assert [i.src for i in action.done_items] == [str(p["other_tif"]), os.path.normpath(str(shared))]


def test_a_sidecar_goes_only_with_every_file_it_may_describe(tmp_path):
    """A code review: "X.NEF.xmp" is darktable's for X.NEF and, by its stem, an export "X.NEF.jpg"'s: trashing
    the export took the kept RAW's edit history. "IMG_1.jpg.xmp" beside IMG_1.jpg and IMG_1.JPG (a
    case-sensitive disk) is the same question."""
    folder = tmp_path / "a"
    folder.mkdir()
    for name in ("DSC_1001.NEF", "DSC_1001.NEF.jpg", "DSC_1001.NEF.xmp", "IMG_1.jpg", "IMG_1.JPG", "IMG_1.jpg.xmp",
                 "IMG_2.jpg", "IMG_2.aae"):
        (folder / name).write_bytes(b"x")
    assert going_with([folder / "DSC_1001.NEF.jpg"]) == []
    assert going_with([folder / "DSC_1001.NEF", folder / "DSC_1001.NEF.jpg"]) == [str(folder / "DSC_1001.NEF.xmp")]
    if len(os.listdir(folder)) == 8:   # a case-insensitive disk holds one IMG_1 file
        assert going_with([folder / "IMG_1.JPG"]) == []
    assert going_with([folder / "IMG_2.jpg"]) == [str(folder / "IMG_2.aae")]
    assert going_with([folder / "IMG_2.aae"]) == []   # a sidecar asked for goes as itself, not twice


def test_a_moved_photo_takes_its_sidecars_renamed_with_it_and_the_undo_brings_them_back(tmp_path, tiny_model):
    """The code review: a move left the sidecars behind (the confirmation had said they went). A photo renamed
    in the target folder ("DSC_1001 (1).JPG") takes its sidecars under the same new name."""
    p = _library(tmp_path)
    target = tmp_path / "photos" / "sorted"   # inside the library: the moved photo stays catalogued
    target.mkdir()
    write_photo(target / "DSC_1001.JPG", 9)   # taken: the backup copy arrives as "DSC_1001 (1).JPG"
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([tmp_path / "photos"])
        action = lib.move([p["backup"]], target)
        assert sorted(os.listdir(target)) == ["DSC_1001 (1).JPG", "DSC_1001 (1).JPG.xmp", "DSC_1001 (1).xmp",
                                              "DSC_1001.JPG"]
        assert (target / "DSC_1001 (1).JPG.xmp").read_text().endswith("<!-- darktable -->\n")
        assert not p["backup_xmp"].exists() and not p["backup_dt"].exists()
        assert lib.file_by_path(target / "DSC_1001 (1).JPG") is not None
        report = lib.undo(action.id)
        assert sorted(report.restored) == sorted(map(str, (p["backup"], p["backup_xmp"], p["backup_dt"])))
        assert sorted(os.listdir(target)) == ["DSC_1001.JPG"] and lib.file_by_path(p["backup"]) is not None
        counts = lib.catalog.counts()
        assert counts["errors"] == 0 and counts["files"] == 5


def test_a_takeout_photo_takes_its_json_and_an_unrelated_json_stays(tmp_path, tiny_model, trash_env):
    """An outside try (a family archive): a Google Takeout copy trashed as an exact copy left
    "DSC_0101.JPG.json" (its date, place and people) alone in the folder. Takeout names the JSON after the
    whole name, so an "-edited" copy leaves its original's, and a JSON named after a stem is not a sidecar."""
    photos = tmp_path / "photos"
    (photos / "Takeout").mkdir(parents=True)
    original = write_photo(photos / "DSC_0101.JPG", 1)
    copy = photos / "Takeout" / "DSC_0101.JPG"
    shutil.copy(original, copy)
    meta = photos / "Takeout" / "DSC_0101.JPG.json"
    meta.write_text('{"title": "DSC_0101.JPG", "photoTakenTime": {"timestamp": "1436180000"}}')
    newer = photos / "Takeout" / "DSC_0101.JPG.supplemental-metadata.json"
    newer.write_text("{}")
    stem = photos / "Takeout" / "DSC_0101.json"
    stem.write_text("{}")
    assert going_with([copy]) == sorted([str(meta), str(newer)])
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([photos])
        (group,) = [g for g in lib.duplicates("duplicates") if g.tier == "exact"]
        session = ReviewSession([group])
        session.mark(str(copy))
        assert "DSC_0101.JPG.json" in session.removal().describe()
        action = session.trash(lib)
        assert not copy.exists() and not meta.exists() and not newer.exists() and stem.exists()
        assert action.describe(state=False).startswith("Moved to trash: 1 file and 2 sidecars")
        lib.undo(action.id)
        assert copy.exists() and meta.read_text().startswith('{"title"') and newer.exists()
