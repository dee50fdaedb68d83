"""The Library facade over real files, SQLite and hnswlib: scanning, incremental updates, queries, groups."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from imgsim_desktop.core.catalog import SCHEMA_VERSION
from imgsim_desktop.core.errors import LibraryError, LibraryLockedError
from imgsim_desktop.core.library import Library
from imgsim_desktop.core.progress import CancelToken, Progress
from photos import write_photos


def _embedding(lib, path):
    rec = lib.file_by_path(path)
    return lib.catalog.embedding(rec.id, lib.model.model_id)


def test_scan_indexes_photos_and_records_bad_files(library, photos_dir, make_photo):
    write_photos(photos_dir, 5)
    make_photo(photos_dir / "sub" / "deep.png", seed=9)
    (photos_dir / "empty.jpg").write_bytes(b"")
    (photos_dir / "notes.jpg").write_text("this is not a photo")
    good = photos_dir / "p0.jpg"
    (photos_dir / "truncated.jpg").write_bytes(good.read_bytes()[:200])
    (photos_dir / "readme.txt").write_text("ignored: not an image extension")

    report = library.scan([photos_dir])

    assert report.added == 6 and report.embedded == 6
    assert report.failed == 3
    reasons = dict(library.errors())
    assert reasons[str(photos_dir / "empty.jpg")] == "empty file"
    assert "not an image" in reasons[str(photos_dir / "notes.jpg")]
    assert "truncated" in reasons[str(photos_dir / "truncated.jpg")]
    st = library.status()
    assert st["files"] == 9 and st["indexed"] == 6 and st["errors"] == 3
    rec = library.file_by_path(photos_dir / "sub" / "deep.png")
    assert (rec.width, rec.height, rec.format) == (320, 240, "PNG")


def test_rescan_is_incremental(library, photos_dir, make_photo):
    write_photos(photos_dir, 4)
    library.scan([photos_dir])
    again = library.scan()
    assert (again.unchanged, again.embedded, again.added) == (4, 0, 0)

    # Edit one photo: new content -> re-embedded, same file id.
    before = library.file_by_path(photos_dir / "p1.jpg")
    make_photo(photos_dir / "p1.jpg", seed=77)
    os.utime(photos_dir / "p1.jpg", ns=(before.mtime_ns + 10**9, before.mtime_ns + 10**9))
    rep = library.scan()
    assert (rep.updated, rep.embedded, rep.unchanged) == (1, 1, 3)
    assert library.file_by_path(photos_dir / "p1.jpg").id == before.id

    # Touch without changing content: only the mtime is updated, nothing embedded.
    os.utime(photos_dir / "p2.jpg", ns=(before.mtime_ns + 5 * 10**9, before.mtime_ns + 5 * 10**9))
    rep = library.scan()
    assert (rep.updated, rep.embedded) == (1, 0)


def test_rename_and_move_keep_embedding_without_reencoding(library, photos_dir, make_photo):
    write_photos(photos_dir, 3)
    library.scan([photos_dir])
    old = library.file_by_path(photos_dir / "p0.jpg")
    vec = _embedding(library, photos_dir / "p0.jpg")

    (photos_dir / "moved").mkdir()
    os.rename(photos_dir / "p0.jpg", photos_dir / "moved" / "renamed.jpg")
    rep = library.scan()

    assert (rep.moved, rep.embedded, rep.removed, rep.added) == (1, 0, 0, 0)
    new = library.file_by_path(photos_dir / "moved" / "renamed.jpg")
    assert new.id == old.id
    assert np.array_equal(_embedding(library, photos_dir / "moved" / "renamed.jpg"), vec)
    assert library.file_by_path(photos_dir / "p0.jpg") is None


def test_exact_copy_reuses_vector_and_groups_as_exact(library, photos_dir, make_photo):
    make_photo(photos_dir / "a.jpg", seed=1)
    make_photo(photos_dir / "b.jpg", seed=2)
    library.scan([photos_dir])
    shutil.copy(photos_dir / "a.jpg", photos_dir / "a copy.jpg")
    rep = library.scan()
    assert (rep.added, rep.reused, rep.embedded) == (1, 1, 0)

    groups = library.duplicates("duplicates", threshold=0.9999999)
    exact = [g for g in groups if g.tier == "exact"]
    assert len(exact) == 1
    assert {m.path for m in exact[0].members} == {str(photos_dir / "a.jpg"), str(photos_dir / "a copy.jpg")}
    assert all(m.similarity == 1.0 for m in exact[0].members)


def test_deleted_file_leaves_results(library, photos_dir, make_photo):
    write_photos(photos_dir, 4)
    library.scan([photos_dir])
    assert str(photos_dir / "p3.jpg") in [r.path for r in library.similar(photos_dir / "p0.jpg", k=10)]
    os.remove(photos_dir / "p3.jpg")
    rep = library.scan()
    assert rep.removed == 1
    paths = [r.path for r in library.similar(photos_dir / "p0.jpg", k=10)]
    assert str(photos_dir / "p3.jpg") not in paths and len(paths) == 2


def test_similar_query_outside_library_and_from_bytes(library, photos_dir, make_photo, tmp_path):
    write_photos(photos_dir, 6)
    library.scan([photos_dir])
    outside = make_photo(tmp_path / "query.png", seed=3)
    res = library.similar(outside, k=3)
    assert len(res) == 3
    assert res[0].path == str(photos_dir / "p3.jpg")  # same pixels, other format
    assert res[0].score > 0.99
    assert [r.score for r in res] == sorted((r.score for r in res), reverse=True)
    res_b = library.similar(outside.read_bytes(), k=3)
    assert [r.path for r in res_b] == [r.path for r in res]
    # An indexed file is not its own lookalike.
    assert str(photos_dir / "p2.jpg") not in [r.path for r in library.similar(photos_dir / "p2.jpg", k=5)]
    with pytest.raises(LibraryError):
        library.similar(tmp_path / "missing.jpg")


def test_keeper_is_highest_resolution_then_largest_file(library, photos_dir, make_photo):
    big = make_photo(photos_dir / "big.jpg", seed=5, size=(640, 480), quality=95)
    Image.open(big).resize((320, 240)).save(photos_dir / "small.jpg", quality=70)
    Image.open(big).save(photos_dir / "big_low_quality.jpg", quality=40)
    for i in range(3):
        make_photo(photos_dir / f"other{i}.jpg", seed=100 + i)
    library.scan([photos_dir])
    groups = library.duplicates("duplicates", threshold=0.98)
    g = next(g for g in groups if str(big) in [m.path for m in g.members])
    assert g.keeper == str(big)
    assert g.members[0].path == g.keeper
    assert {m.path for m in g.members} >= {str(big), str(photos_dir / "small.jpg"),
                                            str(photos_dir / "big_low_quality.jpg")}
    assert g.reclaimable_bytes == sum(m.bytes for m in g.members[1:])


def test_unmounted_folder_keeps_its_photos(library, tmp_path, make_photo):
    drive = tmp_path / "drive"
    write_photos(drive, 3)
    library.scan([drive])
    os.rename(drive, tmp_path / "unplugged")
    rep = library.scan()
    assert rep.missing_folders == [str(drive)] and rep.removed == 0
    assert library.status()["indexed"] == 3


def test_empty_mount_point_is_offline_not_a_mass_deletion(library, tmp_path, make_photo):
    drive = tmp_path / "mnt"
    write_photos(drive / "DCIM", 3)
    library.scan([drive])
    shutil.rmtree(drive)
    drive.mkdir()  # what an unmounted drive leaves behind
    rep = library.scan()
    assert rep.missing_folders == [str(drive)] and rep.removed == 0 and library.count() == 3
    (drive / "notes.txt").write_text("the folder is in use again, and the photos really are gone")
    rep = library.scan()
    assert rep.removed == 3 and library.count() == 0


def test_hidden_folders_library_home_and_symlink_loops_are_skipped(tiny_model, tmp_path, make_photo):
    root = tmp_path / "root"
    make_photo(root / "visible.jpg", seed=1)
    make_photo(root / ".hidden" / "secret.jpg", seed=2)
    (root / "loop").mkdir()
    os.symlink(root, root / "loop" / "back")
    with Library(root / "lib", model_path=tiny_model) as lib:  # the library lives inside a watched folder
        rep = lib.scan([root])
        make_photo(root / "lib" / "cache.jpg", seed=3)
        rep2 = lib.scan()
        assert rep.added == 1 and rep2.added == 0
        assert [r.path for r in lib.files_by_ids(lib.file_ids())] == [str(root / "visible.jpg")]


def test_cancel_keeps_finished_work_and_resume_finishes(tiny_model, tmp_path, make_photo):
    d = tmp_path / "photos"
    for i in range(150):
        make_photo(d / f"p{i:03d}.jpg", seed=i, size=(96, 64))
    cancel = CancelToken()

    class StopHalfway(Progress):
        def on_update(self, state):
            if state.phase == "indexing" and state.done >= 70:
                cancel.cancel()

    with Library(tmp_path / "lib", model_path=tiny_model) as lib:
        rep = lib.scan([d], progress=StopHalfway(min_interval_s=0), cancel=cancel)
        assert rep.cancelled
        done = lib.status()["indexed"]
        assert 64 <= done < 150
        rep2 = lib.scan()
        assert rep2.embedded == 150 - done and rep2.unchanged == done
        assert lib.status()["indexed"] == 150


def test_index_is_saved_reloaded_and_rebuilt(tiny_model, tmp_path, make_photo):
    d = tmp_path / "photos"
    write_photos(d, 8)
    home = tmp_path / "lib"
    with Library(home, model_path=tiny_model) as lib:
        lib.scan([d])
        expected = [r.path for r in lib.similar(d / "p0.jpg", k=5)]
    with Library(home, model_path=tiny_model) as lib:
        assert lib.index_origin == "unopened"  # opening a library reads no index
        assert [r.path for r in lib.similar(d / "p0.jpg", k=5)] == expected
        assert lib.index_origin == "loaded"
    (home / "index.hnsw").write_bytes(b"garbage")
    with Library(home, model_path=tiny_model) as lib:
        assert [r.path for r in lib.similar(d / "p0.jpg", k=5)] == expected
        assert lib.index_origin == "rebuilt"
    (home / "index.hnsw").unlink()
    with Library(home, model_path=tiny_model) as lib:
        assert len(lib.index) == 8 and lib.index_origin == "rebuilt"


def test_other_model_rebuilds_and_reembeds(tiny_model, tmp_path, make_photo):
    from imgsim_desktop.core.model import create_random_model

    d = tmp_path / "photos"
    write_photos(d, 4)
    home = tmp_path / "lib"
    with Library(home, model_path=tiny_model) as lib:
        lib.scan([d])
    other = create_random_model(tmp_path / "m2", name="other", input_size=32, embedding_size=24, seed=3)
    with Library(home, model_path=other) as lib:
        assert len(lib.index) == 0 and lib.index_origin == "rebuilt"
        rep = lib.scan()
        assert rep.embedded == 4 and len(lib.index) == 4
        assert lib.similar(d / "p1.jpg", k=2)


def test_index_catches_up_after_a_crash_before_saving(tiny_model, tmp_path, make_photo):
    """A process killed after its catalog commits but before it saved the index."""
    d = tmp_path / "photos"
    write_photos(d, 4)
    home = tmp_path / "lib"
    with Library(home, model_path=tiny_model) as lib:
        lib.scan([d])
    make_photo(d / "new.jpg", seed=50)
    os.remove(d / "p0.jpg")
    script = (
        "import os, signal, sys\n"
        "from imgsim_desktop.core.library import Library\n"
        "lib = Library(sys.argv[1], model_path=sys.argv[2])\n"
        "lib.scanner.scan_roots(lib._roots(None), None, None)  # commits to the catalog, no index save\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(home), str(tiny_model)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    with Library(home, model_path=tiny_model) as lib:
        paths = {r.path for r in lib.similar(d / "p1.jpg", k=10)}
        assert lib.index_origin == "loaded"
        assert str(d / "new.jpg") in paths and str(d / "p0.jpg") not in paths
        assert len(lib.index) == 4
        assert lib.scan().unchanged == 4


def test_second_writer_is_refused_and_readers_allowed(tiny_model, tmp_path, make_photo):
    home = tmp_path / "lib"
    make_photo(tmp_path / "p" / "a.jpg", seed=1)
    with Library(home, model_path=tiny_model) as lib:
        lib.scan([tmp_path / "p"])
        with pytest.raises(LibraryLockedError, match="in use by another imgsim process"):
            Library(home, model_path=tiny_model)
        with Library(home, model_path=tiny_model, readonly=True) as ro:
            assert ro.status()["indexed"] == 1
            with pytest.raises(LibraryError):
                ro.scan()
    with Library(home, model_path=tiny_model) as lib:  # the lock is released on close
        assert lib.count() == 1


def test_catalog_is_sqlite_wal_with_schema_version(library, photos_dir, make_photo):
    make_photo(photos_dir / "a.jpg", seed=1)
    library.scan([photos_dir])
    con = sqlite3.connect(library.home / "catalog.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert con.execute("SELECT model_id FROM embeddings").fetchone()[0] == library.model.model_id
    con.close()


def test_remove_folder_forgets_photos_but_keeps_files(library, tmp_path, make_photo):
    a, b = tmp_path / "a", tmp_path / "b"
    make_photo(a / "1.jpg", seed=1)
    make_photo(b / "2.jpg", seed=2)
    library.scan([a, b])
    assert library.remove_folder(a) == 1
    assert [str(f) for f in library.folders()] == [str(b)]
    assert (a / "1.jpg").exists() and library.count() == 1
    with pytest.raises(LibraryError):
        library.add_folder(tmp_path / "nope")


def test_move_over_a_catalogued_photo_drops_its_vector(library, photos_dir, make_photo):
    write_photos(photos_dir, 3)
    library.scan([photos_dir])
    os.replace(photos_dir / "p0.jpg", photos_dir / "p1.jpg")  # p1 is overwritten by p0
    assert library.move_path(photos_dir / "p0.jpg", photos_dir / "p1.jpg") == 1
    st = library.status()
    assert st["files"] == 2 and st["indexed"] == 2
    library.close()
    from imgsim_desktop.core.library import Library
    with Library(library.home, model=library.model) as again:
        assert len(again.index) == 2 and again.scan().unchanged == 2


def test_update_paths_counts_a_deleted_folder_once(library, photos_dir, make_photo):
    write_photos(photos_dir / "trip", 4)
    library.scan([photos_dir])
    shutil.rmtree(photos_dir / "trip")
    rep = library.update_paths([photos_dir / "trip", photos_dir / "trip" / "p0.jpg", photos_dir / "trip" / "p1.jpg"])
    assert rep.removed == 4 and library.count() == 0


def test_folders_are_case_sensitive_and_counted(library, tmp_path, make_photo):
    make_photo(tmp_path / "photos" / "a.jpg", seed=1)
    make_photo(tmp_path / "Photos" / "b.jpg", seed=2)
    make_photo(tmp_path / "photos2" / "c.jpg", seed=3)
    library.scan([tmp_path / "photos", tmp_path / "Photos", tmp_path / "photos2"])
    counts = {f["path"]: f["files"] for f in library.status()["folders"]}
    assert counts == {str(tmp_path / "photos"): 1, str(tmp_path / "Photos"): 1, str(tmp_path / "photos2"): 1}
    assert library.folder_count(tmp_path / "photos") == (1, 0)
    library.remove_folder(tmp_path / "photos")
    assert library.count() == 2


def test_excluded_folders_are_skipped(tiny_model, tmp_path, make_photo):
    root = tmp_path / "root"
    make_photo(root / "keep.jpg", seed=1)
    make_photo(root / "private" / "skip.jpg", seed=2)
    with Library(tmp_path / "lib", model_path=tiny_model, exclude=[root / "private"]) as lib:
        assert lib.scan([root]).added == 1
        assert lib.update_paths([root / "private" / "skip.jpg"]).added == 0
        with pytest.raises(LibraryError, match="excluded"):
            lib.add_folder(root / "private")


def test_excluded_folders_are_the_library_s_for_every_program(tiny_model, tmp_path, make_photo):
    """The app kept them in its settings: `imgsim index` brought the excluded photos back and `dupes` and
    `trash` acted on them (the fourth outside try). Now the catalog holds them."""
    root = tmp_path / "root"
    make_photo(root / "keep.jpg", seed=1)
    make_photo(root / "Backup" / "copy.jpg", seed=2)
    with Library(tmp_path / "lib", model_path=tiny_model) as lib:
        assert lib.scan([root]).added == 2
        assert lib.set_excluded([root / "Backup"]) == 1            # what it held leaves the library at once
        assert lib.count() == 1 and lib.excluded_folders() == [(root / "Backup").resolve()]
    with Library(tmp_path / "lib", model_path=tiny_model) as lib:   # another program, no setting passed
        assert lib.excluded_folders() == [(root / "Backup").resolve()]
        assert lib.scan([root]).added == 0 and lib.count() == 1
        assert lib.set_excluded([]) == 0
        assert lib.scan([root]).added == 1 and lib.count() == 2      # included again: indexed by the scan
    # the older app's list (its settings) joins the library's when it opens it
    with Library(tmp_path / "lib", model_path=tiny_model, exclude=[root / "Backup"]) as lib:
        assert lib.excluded_folders() == [(root / "Backup").resolve()]


def test_the_cli_excludes_and_includes_folders(tiny_model, tmp_path, make_photo):
    import subprocess
    import sys

    root = tmp_path / "root"
    make_photo(root / "keep.jpg", seed=1)
    make_photo(root / "Backup" / "copy.jpg", seed=2)
    lib = tmp_path / "lib"

    def imgsim(*args, rc=0, library_first=False):
        opts = ["--library", lib, "--model", tiny_model]
        argv = [*map(str, args[:2]), *opts, *map(str, args[2:])] if library_first else [*map(str, args), *opts]
        proc = subprocess.run([sys.executable, "-m", "imgsim_desktop", *map(str, argv)], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == rc and "Traceback" not in proc.stderr, proc.stderr
        return proc.stdout + proc.stderr

    imgsim("index", root)
    # a folder outside the library's is refused, not "excluded" without a word (a typo, an outside try)
    out = imgsim("folders", "exclude", tmp_path / "elsewhere", rc=2)
    assert "no such folder, nor inside a library folder" in out and str((tmp_path / "elsewhere").resolve()) in out
    # the folder may come after --library too (argparse took it for an unrecognised argument)
    out = imgsim("folders", "exclude", root / "Backup", library_first=True)
    assert f"excluded {(root / 'Backup').resolve()}" in out and "1 photos forgotten" in out
    assert f"{(root / 'Backup').resolve()}  (excluded)" in imgsim("folders", "list")
    assert "added 0" in imgsim("index")
    out = imgsim("folders", "include", root / "Backup")
    assert f"included {(root / 'Backup').resolve()}" in out
    assert "added 1" in imgsim("index")


def test_queries_are_served_while_a_scan_is_paused(tiny_model, tmp_path, make_photo):
    """The writer holds the data lock per batch only: a paused scan does not block queries."""
    import threading

    d = tmp_path / "photos"
    for i in range(200):
        make_photo(d / f"p{i:03d}.jpg", seed=i, size=(64, 48))
    cancel = CancelToken()
    paused = threading.Event()

    class PauseAt(Progress):
        def on_update(self, state):
            if state.phase == "indexing" and state.done >= 100 and not cancel.paused and not paused.is_set():
                cancel.pause()
                paused.set()

    with Library(tmp_path / "lib", model_path=tiny_model) as lib:
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("r", lib.scan([d], PauseAt(min_interval_s=0), cancel)))
        t.start()
        assert paused.wait(60)
        got = []
        q = threading.Thread(target=lambda: got.append((lib.count(), lib.similar(d / "p000.jpg", k=3))))
        q.start()
        q.join(10)
        alive = q.is_alive()
        cancel.resume()
        t.join(60)
        assert not alive, "a query waited for the paused scan"
        assert got[0][0] >= 64 and len(got[0][1]) == 3
        assert result["r"].added == 200 and lib.count() == 200


def test_unusable_library_folder_is_a_clear_error(tiny_model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the library folder should be")
    with pytest.raises(LibraryError, match="cannot create the library folder"):
        Library(blocker / "lib", model_path=tiny_model)
    with pytest.raises(LibraryError, match="is a file, not a library folder"):   # was "…: File exists"
        Library(blocker, model_path=tiny_model)


def test_an_exact_copy_met_in_the_same_batch_keeps_its_size_and_date(library, photos_dir):
    """The second of two identical files reuses the first one's vector before either is in the catalog; it
    must still get the photo's size, format and date, or the keeper rule would rank it as 0 pixels."""
    from PIL import Image

    img = Image.new("RGB", (300, 200), (120, 40, 200))
    exif = Image.Exif()
    exif[306] = "2020:01:02 03:04:05"
    img.save(photos_dir / "a.jpg", exif=exif)
    shutil.copy(photos_dir / "a.jpg", photos_dir / "b.jpg")
    library.add_folder(photos_dir)
    library.scan()
    recs = {os.path.basename(library.file(i).path): library.file(i) for i in library.file_ids()}
    for name in ("a.jpg", "b.jpg"):
        r = recs[name]
        assert (r.width, r.height, r.format, r.date_taken) == (300, 200, "JPEG", "2020-01-02T03:04:05"), name
