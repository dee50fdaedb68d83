"""What a trash may never do, from an outside attack on the CLI: trash the other copies of a photo whose kept
copy is gone or replaced since the groups were found; move files no undo record follows (Ctrl-C or a kill in
the middle, or an undo log it cannot write); lose the history to one stray byte."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from imgsim_desktop.core import actions
from imgsim_desktop.core.actions import ActionLog, trash_files, undo
from imgsim_desktop.core.errors import LibraryError
from imgsim_desktop.core.library import Library
from imgsim_desktop.core.review import UNKEPT, ReviewSession
from photos import scene

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop trash is Linux-only")


def _files(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"f{i:02d}.jpg"
        p.write_bytes(os.urandom(2000))
        out.append(p)
    return out


@linux_only
@pytest.mark.parametrize("what", ["deleted", "replaced"])
def test_a_group_whose_keeper_went_keeps_its_other_copies(tmp_path, tiny_model, trash_env, what):
    folder = tmp_path / "photos"
    folder.mkdir()
    keeper, copy = folder / "a.jpg", folder / "b.jpg"
    scene(11, (320, 240)).save(keeper, quality=92)
    shutil.copy(keeper, copy)
    os.utime(keeper, (1_500_000_000,) * 2)   # the older file: the keeper
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([folder])
        (group,) = lib.duplicates()
        assert group.keeper == str(keeper)
        session = ReviewSession([group], "duplicates")
        session.mark_all_but_keeper()
        assert session.marked == [str(copy)]
        if what == "deleted":
            keeper.unlink()
        else:
            scene(99, (320, 240)).save(keeper, quality=92)   # another picture under the keeper's name
        action = session.trash(lib)
    assert copy.exists() and not action.done_items
    assert [i.error for i in action.items] == [UNKEPT]


@linux_only
def test_a_marked_copy_gone_since_its_group_was_found_is_said_to_be_gone_not_changed(tmp_path, tiny_model, trash_env):
    """A folder renamed in the shell while the app was open: its marked copy was refused as "changed since its
    group was found" (the fourth outside try); it is not there at all."""
    from imgsim_desktop.core.review import GONE_SINCE_FOUND

    folder = tmp_path / "photos"
    (folder / "phone").mkdir(parents=True)
    keeper, copy = folder / "a.jpg", folder / "phone" / "b.jpg"
    scene(12, (320, 240)).save(keeper, quality=92)
    shutil.copy(keeper, copy)
    os.utime(keeper, (1_500_000_000,) * 2)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([folder])
        session = ReviewSession(lib.duplicates(), "duplicates")
        session.mark_all_but_keeper()
        assert session.marked == [str(copy)]
        (folder / "phone").rename(folder / "phone old")
        assert session.refusals() == {str(copy): GONE_SINCE_FOUND}
        action = session.trash(lib)
    assert (folder / "phone old" / "b.jpg").exists() and not action.done_items


@linux_only
def test_ctrl_c_in_the_middle_leaves_an_undoable_record(tmp_path, trash_env, monkeypatch):
    files = _files(tmp_path / "photos", 6)
    data = {p: p.read_bytes() for p in files}
    from send2trash import send2trash as real

    calls = []

    def moved_then_interrupted(path):
        real(path)
        calls.append(path)
        if len(calls) == 3:   # a real Ctrl-C, arriving just after the third file left
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr("send2trash.send2trash", moved_then_interrupted)
    log = ActionLog(tmp_path / "lib")
    with pytest.raises(KeyboardInterrupt):
        trash_files(files, log)
    assert sum(not p.exists() for p in files) == 3
    (action,) = ActionLog(tmp_path / "lib").actions()
    assert len(action.done_items) == 3 and action.undoable
    report = undo(action, log)
    assert len(report.restored) == 3 and all(p.read_bytes() == b for p, b in data.items())


@linux_only
def test_a_kill_in_the_middle_leaves_the_moved_files_in_the_record(tmp_path, trash_env):
    """A kill runs no finally: each file's line is on its way to the disk before the next file moves."""
    files = _files(tmp_path / "photos", 3)
    log = ActionLog(tmp_path / "lib")
    action = actions._new_action(actions.TRASH)
    actions._sync_send2trash_env()   # as trash_files does: the test's trash
    log.begin(action)
    actions._trash_each(files[:2], action, log, [], None, set(), True, __import__("send2trash").send2trash)
    # ...and the process died here: no final record
    (seen,) = ActionLog(tmp_path / "lib").actions()
    assert seen.id == action.id and len(seen.done_items) == 2 and seen.undoable


@linux_only
def test_nothing_moves_when_the_undo_log_cannot_be_written(tmp_path, trash_env):
    files = _files(tmp_path / "photos", 2)
    (tmp_path / "lib" / actions.LOG_NAME).mkdir(parents=True)   # not a file: any write fails, root or not
    with pytest.raises(LibraryError, match="nothing was moved"):
        trash_files(files, ActionLog(tmp_path / "lib"))
    assert all(p.exists() for p in files)


@linux_only
def test_a_stray_byte_in_the_log_spoils_one_line_not_the_history(tmp_path, trash_env):
    files = _files(tmp_path / "photos", 1)
    log = ActionLog(tmp_path / "lib")
    action = trash_files(files, log)
    with open(log.path, "ab") as f:
        f.write(b"\xff\n")
    assert [a.id for a in ActionLog(tmp_path / "lib").actions()] == [action.id]
    assert ActionLog(tmp_path / "lib").last_undoable().id == action.id


def test_a_move_cut_short_is_undone_like_a_trash(tmp_path, monkeypatch):
    files = _files(tmp_path / "photos", 5)
    data = {p: p.read_bytes() for p in files}
    real = actions.shutil.move
    calls = []

    def moved_then_interrupted(src, dst):
        real(src, dst)
        calls.append(src)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(actions.shutil, "move", moved_then_interrupted)
    log = ActionLog(tmp_path / "lib")
    with pytest.raises(KeyboardInterrupt):
        actions.move_files(files, tmp_path / "elsewhere", log)
    monkeypatch.setattr(actions.shutil, "move", real)
    (action,) = ActionLog(tmp_path / "lib").actions()
    assert len(action.done_items) == 2 and action.undoable
    undo(action, log)
    assert all(p.read_bytes() == b for p, b in data.items())


@linux_only
def test_a_kill_between_a_move_and_its_line_still_leaves_it_undoable(tmp_path, trash_env):
    """The file in hand when a kill comes: moved, its line never written. The line that announced it is, and
    reading the log finds it in the trash; a file announced that did not move is not counted."""
    from send2trash import send2trash

    files = _files(tmp_path / "photos", 3)
    data = {p: p.read_bytes() for p in files}
    log = ActionLog(tmp_path / "lib")
    action = actions._new_action(actions.TRASH)
    actions._sync_send2trash_env()
    log.begin(action)
    actions._trash_each(files[:1], action, log, [], None, set(), True, send2trash)
    log.record_plan(action, str(files[1]))
    send2trash(str(files[1]))          # ...moved, and the process was killed before its line
    log.record_plan(action, str(files[2]))   # announced, never moved
    (seen,) = ActionLog(tmp_path / "lib").actions()
    assert sorted(i.src for i in seen.done_items) == sorted(str(p) for p in files[:2]) and seen.undoable
    report = undo(seen, log)
    assert len(report.restored) == 2 and all(p.read_bytes() == b for p, b in data.items())


def test_a_kill_in_the_middle_of_a_move_leaves_it_undoable(tmp_path):
    files = _files(tmp_path / "photos", 2)
    log = ActionLog(tmp_path / "lib")
    target = tmp_path / "elsewhere"
    target.mkdir()
    action = actions._new_action(actions.MOVE, target=str(target))
    log.begin(action)
    log.record_plan(action, str(files[0]), str(target / files[0].name))
    shutil.move(files[0], target / files[0].name)   # ...and killed before its line
    (seen,) = ActionLog(tmp_path / "lib").actions()
    assert [i.src for i in seen.done_items] == [str(files[0])]
    undo(seen, log)
    assert files[0].exists() and not (target / files[0].name).exists()


@linux_only
def test_an_undo_stopped_by_ctrl_c_keeps_what_came_back_in_the_record_and_the_catalog(tmp_path, tiny_model,
                                                                                        trash_env, monkeypatch):
    """An undo stopped half way left its files back on disk, the log saying they were still in the trash and the
    catalog without them until the next index."""
    folder = tmp_path / "photos"
    folder.mkdir()
    files = []
    for i in range(5):
        scene(400 + i, (160, 120)).save(folder / f"p{i}.jpg", quality=90)
        files.append(folder / f"p{i}.jpg")
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([folder])
        action = lib.trash([str(p) for p in files])
        assert len(action.done_items) == 5 and lib.catalog.counts()["ok"] == 0
        real, calls = actions.shutil.move, []

        def back_then_interrupted(src, dst):
            real(src, dst)
            calls.append(dst)
            if len(calls) == 2:   # a real Ctrl-C, just after the second file came back
                os.kill(os.getpid(), signal.SIGINT)

        monkeypatch.setattr(actions.shutil, "move", back_then_interrupted)
        with pytest.raises(KeyboardInterrupt):
            lib.undo()
        monkeypatch.setattr(actions.shutil, "move", real)
        assert sum(p.exists() for p in files) == 2
        # the two are in the catalog again, and the log knows the other three are still in the trash
        assert {r.path for r in lib.catalog.all_files() if r.status == "ok"} == {str(p) for p in calls}
        (seen,) = lib.history()
        assert len(seen.pending_undo) == 3 and seen.undoable
        assert len(lib.undo().restored) == 3 and all(p.exists() for p in files)


@linux_only
def test_an_action_whose_files_left_the_trash_is_not_offered_for_undo(tmp_path, trash_env):
    """History said "can undo" for a trash whose files the user had emptied from the trash since."""
    files = _files(tmp_path / "photos", 3)
    log = ActionLog(tmp_path / "lib")
    trash_files(files[:1], log)
    second = trash_files(files[1:], log)
    assert second.undoable and log.last_undoable().id == second.id
    for it in second.done_items:   # the trash emptied of the second action's files
        os.remove(it.dst)
    (_, seen) = ActionLog(tmp_path / "lib").actions()
    assert not seen.undoable
    from imgsim_desktop.cli.review_cmds import _state

    assert _state(seen) == "cannot undo: its files left the trash"   # what `imgsim history` says of it
    assert log.last_undoable().id != second.id   # the first one's file still waits in the trash


@linux_only
def test_history_says_how_much_of_a_partial_undo_came_back(tmp_path, trash_env):
    """4 trashed, one of them emptied from the trash, undo: 3 came back, and the history said only
    "cannot undo: its files left the trash" (an outside try)."""
    from imgsim_desktop.cli.review_cmds import _state

    files = _files(tmp_path / "photos", 4)
    log = ActionLog(tmp_path / "lib")
    action = trash_files(files, log)
    os.remove(action.done_items[0].dst)
    report = undo(action.id, log)
    assert len(report.restored) == 3 and len(report.failed) == 1
    (seen,) = ActionLog(tmp_path / "lib").actions()
    assert _state(seen) == "partly undone (3 of 4 back); the rest left the trash"
