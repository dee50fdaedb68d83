"""The widget-free controller: scans, the watcher, settings and change routing, driven without a window.

One write -> one ChangeSet on ``changed`` (Anki-style operation changes): a scan, a trash, a folder removal
and a watcher batch each announce exactly one set that says what they did."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtWidgets import QApplication

from imgsim_desktop.core import changes


@pytest.fixture
def controller(qtbot, library, settings):
    from imgsim_desktop.gui.controller import LibraryController

    ctl = LibraryController(library, settings)
    sets = []
    ctl.changed.connect(sets.append)
    ctl.sets = sets
    yield ctl
    ctl.shutdown()


def test_builds_no_widget(controller):
    from PySide6.QtWidgets import QWidget

    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert not controller.findChildren(QWidget)


def test_a_scan_announces_one_change_set(qtbot, controller, photos):
    with qtbot.waitSignal(controller.scanFinished, timeout=60000) as blocker:
        assert controller.add_folder(str(photos["root"]))
    report = blocker.args[0]
    assert report.added == len(photos["unique"]) + 5
    (cs,) = controller.sets  # the scan's many batches: one set
    assert cs.source == changes.SCAN and cs.result is report
    assert cs.added == set(controller.lib.file_ids()) and cs.folders
    assert controller.last_outcome == "done" and not controller.scans.running


def test_queued_scans_run_in_turn(qtbot, controller, photos, tmp_path, photo_factory):
    other = tmp_path / "other"
    other.mkdir()
    photo_factory(99).save(other / "x.jpg")
    finished = []
    controller.scanFinished.connect(finished.append)
    controller.add_folder(str(photos["root"]))
    controller.add_folder(str(other))  # queued behind the first
    assert controller.scan_queue == [[str(other)]]
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=60000)
    assert [cs.source for cs in controller.sets] == [changes.SCAN, changes.SCAN]
    assert {str(p) for p in controller.lib.folders()} == {str(photos["root"]), str(other)}


def test_a_trash_announces_what_left(qtbot, controller, photos, trash_env):
    with qtbot.waitSignal(controller.scanFinished, timeout=60000):
        controller.add_folder(str(photos["root"]))
    controller.sets.clear()
    _orig, copy = photos["exact"][0]
    fid = controller.lib.file_by_path(copy).id
    lib = controller.lib

    def work():   # as the Duplicates page does
        return lib.trash([str(copy)])

    done = []
    with qtbot.waitSignal(controller.changed, timeout=20000):
        controller.run_write(changes.TRASH, work, done.append)
    (cs,) = controller.sets
    assert cs.source == changes.TRASH and cs.removed == {fid} and cs.removed_paths == {str(copy)}
    assert done == [cs.result] and not copy.exists()  # the caller hears after the pages


def test_removing_a_folder_is_one_change(qtbot, controller, photos):
    with qtbot.waitSignal(controller.scanFinished, timeout=60000):
        controller.add_folder(str(photos["root"]))
    n = len(controller.lib.file_ids())
    controller.sets.clear()
    with qtbot.waitSignal(controller.changed, timeout=20000):
        controller.remove_folder(str(photos["root"]))
    (cs,) = controller.sets
    # every record left, the unreadable file's too; the write's own count is the set's result
    assert cs.source == changes.FOLDERS and cs.folders and len(cs.removed) == cs.result == n + 1
    assert controller.lib.file_ids() == []


def test_watcher_batch_is_one_change_set_and_shows_activity(qtbot, controller, photos):
    pytest.importorskip("imgsim_desktop.core.watcher")
    with qtbot.waitSignal(controller.scanFinished, timeout=60000):
        controller.add_folder(str(photos["root"]))
    activity = []
    controller.watcherActivity.connect(activity.append)
    assert controller.start_watcher()
    qtbot.waitUntil(lambda: controller.watcher.idle.is_set(), timeout=30000)  # its start-up reconcile
    controller.sets.clear()
    new = photos["root"] / "arrived.jpg"
    shutil.copy(photos["unique"][6], new)
    qtbot.waitUntil(lambda: any(new_id in cs.added for cs in controller.sets
                                for new_id in [getattr(controller.lib.file_by_path(new), "id", -1)]),
                    timeout=30000)
    cs = next(cs for cs in controller.sets if cs.added)
    assert cs.source == changes.WATCHER
    assert True in activity  # the sidebar was told the watcher was busy...
    qtbot.waitUntil(lambda: not controller.watcher_busy, timeout=30000)
    assert activity[-1] is False  # ...and when it was done


def test_settings_switch_says_when_the_library_must_reopen(controller, tmp_path):
    from imgsim_desktop.gui.settings import AppSettings

    seen = []
    controller.settingsChanged.connect(seen.append)
    same_place = AppSettings(**{**controller.settings.__dict__, "lookalikes_k": 7})
    assert controller.apply_settings(same_place) is False and seen[-1].lookalikes_k == 7
    moved = AppSettings(**{**controller.settings.__dict__, "library_dir": str(tmp_path / "elsewhere")})
    assert controller.apply_settings(moved) is True
    assert AppSettings.load().library_dir == str(tmp_path / "elsewhere")


def test_shutdown_with_a_scan_and_the_watcher_running(qtbot, controller, photos, tmp_path, photo_factory):
    """Stopping in the middle of everything: the scan is cancelled, the watcher thread joins, no task is
    left (the autouse fixture fails the test on any leaked thread)."""
    pytest.importorskip("imgsim_desktop.core.watcher")
    big = tmp_path / "big"
    big.mkdir()
    for i in range(60):
        photo_factory(1000 + i).save(big / f"p{i:03d}.jpg")
    assert controller.start_watcher()
    started = []
    controller.progressed.connect(started.append)
    controller.add_folder(str(big))
    qtbot.waitUntil(lambda: bool(started), timeout=30000)
    controller.shutdown()
    assert controller.watcher is None and controller.scan_queue == []
    qtbot.waitUntil(lambda: not controller.scans.running, timeout=30000)
