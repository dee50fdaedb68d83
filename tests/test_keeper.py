"""The keeper rule on real files through a real library: the original is kept, with a reason."""

from __future__ import annotations

import os
import sqlite3

import pytest
from PIL import Image

from imgsim_desktop.core import keeper, keeper_choice
from imgsim_desktop.core.decode import load_image, read_info
from imgsim_desktop.core.errors import LibraryError
from review_photos import copies

ALL = -1.0  # a threshold that puts every photo of these small libraries in one group


def _one_group(lib):
    groups = lib.duplicates("duplicates", ALL)
    assert len(groups) == 1
    return groups[0]


def test_camera_exif_is_read(tmp_path):
    files = copies(tmp_path)
    info = read_info(files["camera"])
    assert (info.make, info.model, info.software) == ("Canon", "Canon EOS 80D", None)
    assert read_info(files["lightroom"]).software.startswith("Adobe Photoshop Lightroom")
    assert read_info(files["png"]).make is None
    _, shot = load_image(files["screenshot"], max_side=64)
    _, cam = load_image(files["camera"], max_side=64)
    assert shot.content_fraction < 0.5 and cam.content_fraction == 1.0


def test_keeper_is_the_camera_original_not_the_png_or_screenshot(library, tmp_path):
    files = copies(tmp_path / "photos")
    library.scan([tmp_path / "photos"])
    g = _one_group(library)
    assert len(g.members) == 6
    assert g.keeper in (str(files["camera"]), str(files["backup"]))
    assert g.keeper == str(files["camera"])  # same bytes: the older file, not the later backup
    assert g.members[0].path == g.keeper
    assert g.keeper_reason.startswith("camera original: EXIF Canon EOS 80D")
    assert g.keeper_reason.endswith("the oldest of 2 identical copies")
    assert "Canon EOS 80D" in g.keeper_reason
    order = [m.path for m in g.members]
    # the Lightroom export has the camera's EXIF but an editor's tag: after both camera files
    assert order.index(str(files["lightroom"])) == 2
    assert order.index(str(files["screenshot"])) > order.index(str(files["png"]))
    d = g.to_dict()
    assert d["keeper_reason"] == g.keeper_reason and len(d["id"]) == 16
    assert all(m["reference"] is False for m in d["members"])


def test_rule_order_is_a_setting(library, tmp_path):
    files = copies(tmp_path / "photos")
    library.scan([tmp_path / "photos"])
    assert library.keeper_rules() == keeper.RULES
    library.set_keeper_rules(["resolution"])
    g = _one_group(library)
    assert g.keeper == str(files["screenshot"])  # the most pixels, when resolution comes first
    assert g.keeper_reason.startswith("highest resolution: 1080×2340")
    with pytest.raises(LibraryError):
        library.set_keeper_rules(["bogus"])
    library.set_keeper_rules(None)
    assert _one_group(library).keeper == str(files["camera"])


def test_keeper_reason_names_what_decided(tmp_path):
    class R:  # a catalog-like record
        def __init__(self, path, fmt, w, h, size, make=None, model=None, software=None, cf=None):
            self.path, self.format, self.width, self.height, self.size = path, fmt, w, h, size
            self.camera_make, self.camera_model, self.software, self.content_fraction = make, model, software, cf
            self.date_taken, self.mtime_ns = None, 0

    heic = keeper.evidence(R("/p/IMG_1.HEIC", "HEIF", 4032, 3024, 2_000_000))
    jpeg = keeper.evidence(R("/p/IMG_1.jpg", "JPEG", 4032, 3024, 5_000_000))
    ranked = keeper.rank([jpeg, heic])
    assert ranked[0] is heic  # Immich #15411: the bigger JPEG is the conversion
    assert keeper.keeper_reason(ranked) == "original HEIF"
    crop = keeper.evidence(R("/p/a.jpg", "JPEG", 5000, 4000, 9_000_000), match={"crop_fraction": 0.6})
    full = keeper.evidence(R("/p/b.jpg", "JPEG", 4000, 3000, 4_000_000), match={"crop_fraction": 1.0})
    ranked = keeper.rank([crop, full])
    assert ranked[0] is full and keeper.keeper_reason(ranked).startswith("full frame")
    padded = keeper.evidence(R("/p/c.jpg", "JPEG", 4000, 3000, 4_000_000), match={"inset_fraction": 0.7})
    assert padded.screenshot and keeper.rank([padded, full])[0] is full


def test_existing_library_gets_the_evidence_on_rescan(library, tmp_path):
    files = copies(tmp_path / "photos")
    library.scan([tmp_path / "photos"])
    con = sqlite3.connect(library.home / "catalog.sqlite")
    with con:  # as a catalog written before this evidence existed
        con.execute("UPDATE files SET camera_make=NULL, camera_model=NULL, software=NULL, info_version=0")
    con.close()
    assert library.file_by_path(files["camera"]).camera_model is None
    library.scan()
    rec = library.file_by_path(files["camera"])
    assert (rec.camera_make, rec.camera_model) == ("Canon", "Canon EOS 80D") and rec.info_version >= 1
    assert library.file_by_path(files["lightroom"]).software.startswith("Adobe")


def test_raw_and_jpeg_pair_keeper_is_the_raw(library, tmp_path):
    from photos import photo
    from review_photos import camera_jpeg, fake_raw

    img = photo(7, (600, 400))
    raw = fake_raw(tmp_path / "p" / "IMG_0002.DNG", img)
    jpg = camera_jpeg(tmp_path / "p" / "IMG_0002.JPG", 7, img=img)
    camera_jpeg(tmp_path / "p" / "backup" / "IMG_0002.JPG", 7, img=img.resize((300, 200)))  # (a pair alone is
    library.scan([tmp_path / "p"])                                                         # no group)
    assert library.file_by_path(raw).format == "DNG"
    g = _one_group(library)
    assert g.keeper == str(raw) and str(jpg) in [m.path for m in g.members]
    assert "RAW" in g.keeper_reason


def test_a_catalog_from_before_is_migrated_and_filled_on_rescan(tmp_path, tiny_model):
    """A real schema-1 catalog (as the previous version wrote it) with an embedded camera photo: opening
    migrates it, and the next scan reads the camera EXIF from the header without embedding again."""
    import numpy as np

    from imgsim_desktop.core.catalog import _MIGRATIONS, INFO_VERSION
    from imgsim_desktop.core.jpeg_trace import read_trace
    from imgsim_desktop.core.hashing import file_hash
    from imgsim_desktop.core.library import Library
    from imgsim_desktop.core.model import load_model

    files = copies(tmp_path / "photos")
    cam = files["camera"]
    model = load_model(tiny_model, device="cpu")
    home = tmp_path / "old-library"
    home.mkdir()
    con = sqlite3.connect(home / "catalog.sqlite")
    con.executescript(_MIGRATIONS[0])
    st = cam.stat()
    with con:
        con.execute("INSERT INTO meta VALUES('schema_version', '1'), ('seq', '1')")
        con.execute("INSERT INTO folders(path, added_at) VALUES(?, 0)", (str(cam.parent),))
        con.execute("INSERT INTO files(path, size, mtime_ns, hash, width, height, format, date_taken, status,"
                    " scanned_at) VALUES(?,?,?,?,800,600,'JPEG','2021-05-01T10:00:00','ok',0)",
                    (str(cam), st.st_size, st.st_mtime_ns, file_hash(cam)))
        con.execute("INSERT INTO embeddings VALUES(1, ?, ?, 1)",
                    (model.model_id, np.ones(model.embedding_size, np.float32).tobytes()))
    con.close()
    with Library(home, model=model) as lib:
        assert lib.file_by_path(cam).camera_model is None and lib.reference_folders() == []
        report = lib.scan()
        assert report.unchanged == 1 and report.embedded == 0
        rec = lib.file_by_path(cam)
        assert (rec.camera_make, rec.camera_model, rec.info_version) == ("Canon", "Canon EOS 80D", INFO_VERSION)
        assert rec.jpeg_quality is not None and rec.jpeg_quality == read_trace(str(cam)).quality


def test_a_phone_screenshot_with_bars_of_other_colours_and_a_blurred_backdrop_is_no_keeper(library, tmp_path):
    """A status bar, a navigation bar and a blurred copy of the photo behind it leave no uniform border; the
    photo located on the screen-shaped canvas is the file-level evidence that this is a screenshot. (Where the
    verifier also saw no frame around the photo, the larger screenshot was kept: a phone shot in a messy
    library tried by hand.)"""
    from PIL import ImageDraw, ImageFilter

    from imgsim_desktop.core.decode import screen_fraction
    from photos import scene

    folder = tmp_path / "photos"
    folder.mkdir()
    photo = scene(70, (320, 480))
    photo.save(folder / "IMG_0001.jpg", quality=92)
    canvas = photo.resize((560, 1200)).filter(ImageFilter.GaussianBlur(24))
    d = ImageDraw.Draw(canvas)
    d.rectangle([0, 0, 560, 40], fill=(10, 10, 10))           # status bar
    d.rectangle([0, 1110, 560, 1200], fill=(200, 60, 90))     # navigation bar
    canvas.paste(photo.resize((400, 600)), (80, 300))
    canvas.save(folder / "shot.jpg", quality=90)
    _, info = load_image(folder / "shot.jpg", max_side=112)
    assert info.content_fraction < 0.5 and screen_fraction(photo) == 1.0
    library.scan([folder])
    g = _one_group(library)
    assert g.keeper == str(folder / "IMG_0001.jpg"), g.keeper_reason


def test_junk_bytes_in_exif_make_and_model_are_no_camera(tmp_path, tiny_model):
    """A make of b"\\xff\\xfe" read as "ÿþ" made a file "the camera original: EXIF ÿþ"; damaged EXIF also made
    Pillow print warnings with no file name in the middle of a scan."""
    import os
    import struct
    import subprocess
    import sys

    from photos import scene

    assert keeper.camera_label("\xff\xfe", None) is None and keeper.camera_label(" ", "\x01\x02") is None
    assert keeper.camera_label("SONY\x00", "ILCE-7M3") == "SONY ILCE-7M3"
    ifd = b"II*\x00" + struct.pack("<IH", 8, 3)
    for tag, typ, count, value in ((271, 2, 4, b"\xff\xfe\x00\x00"), (272, 2, 3, b"\x00\x00\x00"),
                                   (0x8769, 4, 1, struct.pack("<I", 10**9))):   # Exif block far past the end
        ifd += struct.pack("<HHI", tag, typ, count) + value
    photos = tmp_path / "photos"
    photos.mkdir()
    p = photos / "junk.jpg"
    scene(1, (320, 240)).save(p, quality=90, exif=b"Exif\x00\x00" + ifd + struct.pack("<I", 0))
    info = read_info(p)
    assert keeper.camera_label(info.make, info.model) is None
    proc = subprocess.run([sys.executable, "-m", "imgsim_desktop", "index", str(photos), "--model", str(tiny_model)],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, IMGSIM_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1"))
    assert proc.returncode == 0 and "added 1" in proc.stdout
    assert "Warning" not in proc.stderr and "EXIF" not in proc.stderr, proc.stderr


def test_of_identical_copies_the_camera_folder_s_is_kept_not_the_backup_s(library, tmp_path):
    """From an outside try: a backup made with its original's file time was kept over the file in the camera's
    folder ("the shortest path of 2 identical copies"), and the trash emptied DCIM."""
    import os
    import shutil

    files = copies(tmp_path / "photos")
    camera = tmp_path / "photos" / "DCIM" / "100CANON" / "IMG_2042.JPG"
    backup = tmp_path / "photos" / "Backup 2024" / "IMG_2042.JPG"
    for p in (camera, backup):
        p.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(files["camera"], camera)
    shutil.copy2(camera, backup)                                  # the same bytes and file time
    os.remove(files["camera"])
    assert os.stat(camera).st_mtime_ns == os.stat(backup).st_mtime_ns and len(str(backup)) < len(str(camera))
    library.scan([tmp_path / "photos"])
    (g,) = [g for g in library.duplicates("duplicates", -1.0) if str(camera) in [m.path for m in g.members]]
    assert g.keeper == str(camera), g.keeper_reason
    assert "; the one in the camera's folder of " in g.keeper_reason and g.keeper_reason.endswith(
        " identical copies"), g.keeper_reason
    assert keeper.where_kept("/a/Backup 2024/x.jpg") == 2 and keeper.where_kept("/a/Photos/x.jpg") == 1


def test_a_scanner_s_tiff_master_is_kept_over_the_jpeg_made_from_it_and_a_png_conversion_is_not(library, tmp_path):
    """An outside try: six scans, each a TIFF and the JPEG the scanner compressed from it, kept the JPEG
    ("original JPEG") and offered every TIFF master for the trash. A PNG decoded from a JPEG stays the
    conversion it is."""
    from photos import scene

    scans, converted = tmp_path / "Scans", tmp_path / "Exports"
    scans.mkdir()
    converted.mkdir()
    master = scene(5, (640, 480))
    master.save(scans / "scan_0001.tif", compression="tiff_lzw")
    master.save(scans / "scan_0001.jpg", quality=85)
    other = scene(9, (640, 480))
    other.save(converted / "IMG_0002.jpg", quality=85)
    Image.open(converted / "IMG_0002.jpg").save(converted / "IMG_0002.png")
    library.scan([scans, converted])
    groups = {os.path.dirname(g.keeper): g for g in library.duplicates("duplicates")}
    scan, export = groups[str(scans)], groups[str(converted)]
    assert scan.keeper == str(scans / "scan_0001.tif")
    assert scan.keeper_reason.startswith("the TIFF master the JPEG was compressed from")
    assert scan.members[1].reason == "same photo: a JPEG compressed from the kept TIFF"
    assert export.keeper == str(converted / "IMG_0002.jpg")


def test_of_copies_nothing_tells_apart_the_one_that_cannot_be_trashed_is_kept(library, tmp_path, monkeypatch):
    """An outside try: an album copied to two drives tied on everything, the shorter path kept Drive A's, and
    "all but keeper" offered the read-only Drive B's four files, which then failed to move. The folder's
    write permission is the operating system's answer (a read-only mount says no even to root): asked here
    of a folder the test makes read-only by answering for it."""
    import shutil

    from photos import write_photo

    a, b = tmp_path / "Drive A" / "Xmas", tmp_path / "Drive B (backup)" / "Xmas"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    shutil.copy2(write_photo(a / "P1000231.JPG", 3), b / "P1000231.JPG")
    real = os.access
    monkeypatch.setattr(keeper_choice.os, "access", lambda p, mode: False if str(p) == str(b) else real(p, mode))
    library.scan([tmp_path])
    (g,) = library.duplicates("duplicates")
    assert g.keeper == str(b / "P1000231.JPG")
    assert g.keeper_reason == "the read-only one of 2 identical copies"
    monkeypatch.setattr(keeper_choice.os, "access", real)
    (g,) = library.duplicates("duplicates")
    assert g.keeper == str(a / "P1000231.JPG")   # writable both: outside the backups, as before
