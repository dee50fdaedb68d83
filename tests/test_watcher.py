"""Live sync over real files: a real watchdog observer, a real Library with a tiny random model.

Every test changes files in ``tmp_path`` the way people and programs do (copy in, rename, move folders,
delete, write in chunks, replace atomically) and waits, with a timeout, for the library to follow.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from imgsim_desktop.core.hashing import file_hash
from imgsim_desktop.core.watcher import LibraryWatcher

SMALL = (64, 64)

# watchdog warns when a folder moved back in already had a watch; harmless (the watcher filters it too)
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


RECORDERS: list = []   # the current test's recorders, summarised when a wait times out


def wait_for(cond, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    recent = [r.summary() for r in RECORDERS[-1:]]
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; recent batches: {recent}")


class Recorder:
    """on_batch / on_error / library change listener that the tests read from."""

    def __init__(self, lib=None):
        self.batches = []
        self.errors = []
        self.changes = []
        self.lock = threading.Lock()
        if lib is not None:
            lib.subscribe(self.on_change)
        RECORDERS.append(self)

    def summary(self) -> list:
        with self.lock:
            return [(b.number, b.reason, b.events, [os.path.basename(p) for p in b.updated],
                     [(os.path.basename(a), os.path.basename(c)) for a, c in b.moved],
                     [os.path.basename(p) for p in b.removed], b.errors) for b in self.batches[-6:]] + \
                   [("changes", self.changes[-8:]), ("errors", self.errors)]

    def on_batch(self, b):
        with self.lock:
            self.batches.append(b)

    def on_error(self, exc):
        with self.lock:
            self.errors.append(exc)

    def on_change(self, ev):
        with self.lock:
            self.changes.extend((ev.kind, p) for p in ev.paths)

    def kinds_for(self, path) -> list[str]:
        with self.lock:
            return [k for k, p in self.changes if p == str(path)]

    def event_batches(self):
        with self.lock:
            return [b for b in self.batches if b.reason == "events"]


def watcher(lib, rec: Recorder, **kw) -> LibraryWatcher:
    kw.setdefault("debounce_s", 0.2)
    kw.setdefault("settle_s", 0.5)
    kw.setdefault("poll_s", 0.3)
    return LibraryWatcher(lib, on_batch=rec.on_batch, on_error=rec.on_error, **kw)


def known(lib, path) -> bool:
    return lib.file_by_path(path) is not None


def catalog_paths(lib) -> list[str]:
    return sorted(r.path for r in lib.catalog.all_files())


def disk_images(root: Path) -> list[str]:
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        out += [os.path.join(d, f) for f in files if f.endswith((".jpg", ".png")) and not f.startswith(".")]
    return sorted(out)


def test_copy_rename_move_delete_follow_in_search_results(library, photos_dir, make_photo, tmp_path):
    library.add_folder(photos_dir)
    rec = Recorder(library)
    outside = tmp_path / "outside"
    outside.mkdir()
    srcs = [make_photo(outside / f"p{i}.jpg", seed=i, size=SMALL) for i in range(4)]
    with watcher(library, rec):
        # copy in (what a file manager does: create, write, close)
        for s in srcs:
            shutil.copy(s, photos_dir / s.name)
        p = [photos_dir / s.name for s in srcs]
        wait_for(lambda: all(known(library, x) for x in p), what="copied photos to be indexed")
        wait_for(lambda: {r.path for r in library.similar(p[0], k=5)} >= {str(x) for x in p[1:]},
                 what="similar() to find the copies")

        # rename: same file id and the very same vector, reported as a move
        before = library.file_by_path(p[0])
        vec = library.catalog.embedding(before.id, library.model.model_id)
        renamed = photos_dir / "renamed.jpg"
        os.rename(p[0], renamed)
        wait_for(lambda: known(library, renamed) and not known(library, p[0]), what="the rename")
        assert library.file_by_path(renamed).id == before.id, rec.summary()
        assert (library.catalog.embedding(before.id, library.model.model_id) == vec).all()
        # the batch is reported after its changes are in the catalog: wait for the report, too
        wait_for(lambda: any((str(p[0]), str(renamed)) in b.moved for b in rec.batches),
                 what="the rename reported as a move")
        assert "added" not in rec.kinds_for(renamed), rec.summary()

        # move into a new sub-folder, then move the folder itself: still the same id
        (photos_dir / "trip").mkdir()
        moved = photos_dir / "trip" / "renamed.jpg"
        shutil.move(renamed, moved)
        wait_for(lambda: known(library, moved), what="the move into a folder")
        os.rename(photos_dir / "trip", photos_dir / "trip-2024")
        final = photos_dir / "trip-2024" / "renamed.jpg"
        wait_for(lambda: known(library, final) and not known(library, moved), what="the folder move")
        assert library.file_by_path(final).id == before.id, rec.summary()
        folder_move = (str(photos_dir / "trip"), str(photos_dir / "trip-2024"))
        wait_for(lambda: any(folder_move in b.moved for b in rec.batches), what="the folder move's report")
        folder_batches = [b for b in rec.batches if folder_move in b.moved]
        assert len(folder_batches) == 1 and folder_batches[0].moved_count == 1, rec.summary()  # one move_path
        assert not [b for b in rec.batches if any("trip-2024" in p for p in b.updated)], rec.summary()
        assert {r.path for r in library.similar(p[1], k=5)} >= {str(final)}

        # delete: gone from the catalog and from search results
        os.remove(p[1])
        wait_for(lambda: not known(library, p[1]), what="the deletion")
        assert str(p[1]) not in {r.path for r in library.similar(p[2], k=10)}

        # a folder moved out of the tree is a deletion, moved back in it is new again
        shutil.move(str(photos_dir / "trip-2024"), str(outside / "trip-2024"))
        wait_for(lambda: not known(library, final), what="the folder moved out")
        shutil.move(str(outside / "trip-2024"), str(photos_dir / "back"))
        wait_for(lambda: known(library, photos_dir / "back" / "renamed.jpg"), what="the folder moved back in")

        # ignored: not an image, hidden file, hidden folder
        (photos_dir / "notes.txt").write_text("not a photo")
        make_photo(photos_dir / ".hidden.jpg", seed=50, size=SMALL)
        make_photo(photos_dir / ".cache" / "thumb.jpg", seed=51, size=SMALL)
        make_photo(photos_dir / "last.jpg", seed=52, size=SMALL)
        wait_for(lambda: known(library, photos_dir / "last.jpg"), what="a photo written after ignored files")
    assert catalog_paths(library) == disk_images(photos_dir)
    touched = [p for b in rec.batches for p in b.updated]
    assert not [p for p in touched if "hidden" in p or ".cache" in p or p.endswith(".txt")]
    assert not rec.errors


def test_moves_into_a_folder_made_a_moment_before_keep_their_ids(library, photos_dir, make_photo):
    # mkdir + mv at once: the new folder may not be watched yet when the file lands in it, so the kernel
    # reports the move as a deletion here and a creation there; the watcher must still keep the id
    for i in range(4):
        make_photo(photos_dir / f"m{i}.jpg", seed=i, size=SMALL)
    library.scan([photos_dir])
    ids = {i: library.file_by_path(photos_dir / f"m{i}.jpg").id for i in range(4)}
    rec = Recorder(library)
    with watcher(library, rec):
        wait_for(lambda: rec.batches, what="the start-up pass")
        for i in range(4):
            os.mkdir(photos_dir / f"d{i}")
            os.rename(photos_dir / f"m{i}.jpg", photos_dir / f"d{i}" / f"m{i}.jpg")
            wait_for(lambda: known(library, photos_dir / f"d{i}" / f"m{i}.jpg")
                     and not known(library, photos_dir / f"m{i}.jpg"), what="the move")
    assert {i: library.file_by_path(photos_dir / f"d{i}" / f"m{i}.jpg").id for i in range(4)} == ids
    assert not [k for k, _ in rec.changes if k == "added"]


def test_burst_of_files_is_applied_in_a_few_batches(library, photos_dir, make_photo, tmp_path):
    library.add_folder(photos_dir)
    rec = Recorder(library)
    staged = [make_photo(tmp_path / "stage" / f"b{i:03d}.png", seed=i, size=(32, 32)) for i in range(300)]
    card = photos_dir / "card"
    card.mkdir()
    with watcher(library, rec, debounce_s=0.5):
        wait_for(lambda: rec.batches, what="the start-up pass")
        for s in staged:  # a camera import: one file after another, as fast as the disk takes them
            shutil.copy(s, card / s.name)
        # each batch reports after its catalog write: wait until the reports cover all 300 files too
        wait_for(lambda: library.count() == 300 and sum(len(b.updated) for b in rec.event_batches()) >= 300,
                 timeout=40, what="all 300 files to be indexed and reported")
        batches = [b for b in rec.event_batches() if b.updated]
        assert 1 <= len(batches) <= 5, [len(b.updated) for b in batches]
        assert sum(b.events for b in batches) > 300            # many events, coalesced
        assert sorted(p for b in batches for p in b.updated) == disk_images(photos_dir)  # each file once

        # the whole import renamed: one batch, one move_path, 300 entries re-pathed, nothing re-embedded
        n = len(rec.batches)
        os.rename(card, photos_dir / "2024-06 holiday")
        wait_for(lambda: known(library, photos_dir / "2024-06 holiday" / "b299.png"), what="the folder rename")
        wait_for(lambda: len(rec.batches) > n, what="the batch")
        assert [(len(b.moved), b.moved_count, len(b.updated)) for b in rec.batches[n:]] == [(1, 300, 0)]
    assert catalog_paths(library) == disk_images(photos_dir)


def test_file_written_in_chunks_is_embedded_once_and_complete(library, photos_dir, make_photo, tmp_path):
    library.add_folder(photos_dir)
    rec = Recorder(library)
    data = make_photo(tmp_path / "big.jpg", seed=7, size=(256, 192)).read_bytes()
    target = photos_dir / "slow.jpg"
    with watcher(library, rec, settle_s=0.4):
        wait_for(lambda: rec.batches, what="the start-up pass")
        with open(target, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(1.5)  # longer than settle_s: size and mtime are stable, yet the file is not done
            f.write(data[len(data) // 2:])
        wait_for(lambda: known(library, target), what="the slowly written file")
        time.sleep(1.0)  # give a second (wrong) update the chance to happen
    r = library.file_by_path(target)
    assert r.status == "ok" and r.size == len(data) and r.hash == file_hash(target)
    assert rec.kinds_for(target) == ["added"]
    assert not library.errors()


def test_atomic_replace_updates_in_place(library, photos_dir, make_photo):
    photo = make_photo(photos_dir / "edit.jpg", seed=1, size=SMALL)
    library.scan([photos_dir])
    before = library.file_by_path(photo)
    rec = Recorder(library)
    with watcher(library, rec):
        wait_for(lambda: rec.batches, what="the start-up pass")
        tmp = photos_dir / ".edit.jpg.tmp"          # how editors save: write aside, rename over
        make_photo(tmp, seed=99, size=SMALL, format="JPEG")
        os.replace(tmp, photo)
        wait_for(lambda: library.file_by_path(photo).hash != before.hash, what="the replaced photo")
    after = library.file_by_path(photo)
    assert after.id == before.id and after.hash == file_hash(photo)
    assert library.count() == 1


def test_move_over_another_photo_replaces_it(library, photos_dir, make_photo):
    a = make_photo(photos_dir / "a.jpg", seed=1, size=SMALL)
    b = make_photo(photos_dir / "b.jpg", seed=2, size=SMALL)
    library.scan([photos_dir])
    a_id = library.file_by_path(a).id
    rec = Recorder(library)
    with watcher(library, rec):
        wait_for(lambda: rec.batches, what="the start-up pass")
        os.rename(a, b)
        wait_for(lambda: not known(library, a), what="the move")
    assert library.file_by_path(b).id == a_id
    st = library.status()
    assert st["files"] == st["indexed"] == 1       # b's old vector left the index with it


def test_reconciles_at_start_overflow_and_when_a_folder_comes_back(library, photos_dir, make_photo, tmp_path):
    library.add_folder(photos_dir)
    for i in range(3):
        make_photo(photos_dir / f"s{i}.jpg", seed=i, size=SMALL)
    rec = Recorder(library)
    with watcher(library, rec) as w:
        # start: what happened while nobody watched is picked up
        # the batch's report comes after its catalog write: wait for both
        wait_for(lambda: library.count() == 3 and rec.batches, what="the start-up reconciliation")
        assert rec.batches[0].reason == "start" and rec.batches[0].scanned == [str(photos_dir)]

        # the drive goes away (the folder vanishes), changes happen elsewhere, the drive comes back
        offline = tmp_path / "offline"
        os.rename(photos_dir, offline)
        wait_for(lambda: w._root_ids.get(str(photos_dir), 0) is None, what="the watcher to notice")
        assert library.count() == 3                   # an unmounted drive is not a mass deletion
        photos_dir.mkdir()                            # the bare mount point shows up again, empty
        time.sleep(1.0)
        assert library.count() == 3 and not [b for b in rec.batches if b.reason == "remount"]
        os.remove(offline / "s0.jpg")
        make_photo(offline / "new.jpg", seed=20, size=SMALL)
        photos_dir.rmdir()
        os.rename(offline, photos_dir)
        wait_for(lambda: any(b.reason == "remount" for b in rec.batches), what="the rescan after remount")
        wait_for(lambda: catalog_paths(library) == disk_images(photos_dir), what="catalog == folder")

        # the kernel dropped events: watchdog logs it, the watcher rescans everything
        n = len(rec.batches)
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost")
        wait_for(lambda: any(b.reason == "overflow" for b in rec.batches[n:]), what="the overflow rescan")

        # a folder added to the library while watching is watched and scanned
        other = tmp_path / "other"
        make_photo(other / "o.jpg", seed=30, size=SMALL)
        library.add_folder(other)
        wait_for(lambda: known(library, other / "o.jpg"), what="the new folder's scan")
        make_photo(other / "o2.jpg", seed=31, size=SMALL)
        wait_for(lambda: known(library, other / "o2.jpg"), what="an event in the new folder")
    assert not rec.errors


def test_library_folder_inside_a_watched_folder_is_ignored(tiny_model, photos_dir, make_photo):
    from imgsim_desktop.core.library import Library

    with Library(photos_dir / "imgsim-library", model_path=tiny_model, workers=1) as lib:
        lib.add_folder(photos_dir)
        rec = Recorder(lib)
        with watcher(lib, rec):
            wait_for(lambda: rec.batches, what="the start-up pass")
            make_photo(photos_dir / "imgsim-library" / "thumb.jpg", seed=1, size=SMALL)
            make_photo(photos_dir / "a.jpg", seed=2, size=SMALL)
            wait_for(lambda: known(lib, photos_dir / "a.jpg"), what="the photo")
        assert [r.path for r in lib.catalog.all_files()] == [str(photos_dir / "a.jpg")]
        assert not [p for b in rec.batches for p in b.updated if "imgsim-library" in p]


def test_a_failing_batch_is_reported_and_the_watcher_goes_on(library, photos_dir, make_photo):
    library.add_folder(photos_dir)
    rec = Recorder(library)
    real = library.update_paths
    calls = {"n": 0}

    def flaky(paths, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk on fire")
        return real(paths, **kw)

    library.update_paths = flaky
    with watcher(library, rec, scan_on_start=False) as w:
        make_photo(photos_dir / "a.jpg", seed=1, size=SMALL)
        wait_for(lambda: rec.errors, what="the error to be reported")
        make_photo(photos_dir / "b.jpg", seed=2, size=SMALL)
        wait_for(lambda: known(library, photos_dir / "b.jpg"), what="the next batch")
        assert w.running
    assert "disk on fire" in str(rec.errors[0])
    assert any("disk on fire" in e for b in rec.batches for e in b.errors)


def test_stop_is_prompt_idempotent_and_start_works_again(library, photos_dir, make_photo):
    library.add_folder(photos_dir)
    w = watcher(library, Recorder())
    w.start()
    assert w.wait_idle(10)
    t = time.monotonic()
    w.stop()
    w.stop()
    assert time.monotonic() - t < 3 and not w.running
    make_photo(photos_dir / "while-stopped.jpg", seed=1, size=SMALL)
    with w:  # the start-up pass catches what happened while stopped; events flow again
        wait_for(lambda: known(library, photos_dir / "while-stopped.jpg"), what="the catch-up")
        make_photo(photos_dir / "after.jpg", seed=2, size=SMALL)
        wait_for(lambda: known(library, photos_dir / "after.jpg"), what="an event after restart")


def test_a_refused_file_is_indexed_when_a_chmod_makes_it_readable(library, photos_dir, make_photo):
    """A chmod changes neither size nor time: the watcher's attribute event found the refused file "unchanged"
    and it stayed "permission denied" until a full rescan (an outside try; the README promises the retry)."""
    from imgsim_desktop.core.catalog import REFUSED, STATUS_ERROR, STATUS_OK

    make_photo(photos_dir / "a.jpg", seed=1, size=SMALL)
    locked = make_photo(photos_dir / "locked.jpg", seed=2, size=SMALL)
    library.scan([photos_dir])
    st = os.stat(locked)
    os.chmod(locked, 0o000)
    rec = Recorder(library)
    try:
        with watcher(library, rec):
            wait_for(lambda: rec.batches, what="the start-up pass")
            # as a scan by a user it refused records it (root reads any file, so it is written here)
            with library._lock, library.catalog.transaction():
                library.catalog.upsert_file({"path": str(locked), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                             "status": STATUS_ERROR, "error": REFUSED})
            os.chmod(locked, 0o644)   # readable again: an attribute event, same size and time
            wait_for(lambda: library.file_by_path(locked).status == STATUS_OK, what="the refused file indexed")
    finally:
        os.chmod(locked, 0o644)
    assert os.stat(locked).st_mtime_ns == st.st_mtime_ns and library.file_by_path(locked).error is None
