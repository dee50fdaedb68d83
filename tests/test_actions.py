"""core/actions.py: trash and move with an undo log. Real files, a test trash under a temporary XDG_DATA_HOME."""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from imgsim_desktop.core import actions
from imgsim_desktop.core.actions import ActionLog, auto_mark, move_files, trash_files, undo
from imgsim_desktop.core.group_export import export_groups

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop trash is Linux-only")


def _write(p: Path, data: bytes) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


@linux_only
def test_trash_then_undo_restores_exact_bytes(tmp_path, trash_env):
    data = os.urandom(5000)
    photo = _write(tmp_path / "photos" / "a b%c.jpg", data)
    log = ActionLog(tmp_path / "lib")

    action = trash_files([photo], log)

    assert not photo.exists()
    assert len(action.done_items) == 1 and action.total_bytes == 5000
    item = action.items[0]
    assert Path(item.dst).parent == trash_env / "files"
    assert Path(item.dst).read_bytes() == data
    assert Path(item.info).is_file()
    assert action.undoable

    # the log is on disk: a fresh log object (the app restarted) can undo it
    again = ActionLog(tmp_path / "lib").last_undoable()
    assert again is not None and again.id == action.id
    report = undo(again, ActionLog(tmp_path / "lib"))

    assert report.restored == [str(photo)] and report.failed == []
    assert photo.read_bytes() == data
    assert not Path(item.dst).exists() and not Path(item.info).exists()
    assert ActionLog(tmp_path / "lib").last_undoable() is None
    assert ActionLog(tmp_path / "lib").actions()[0].undone


@linux_only
def test_a_name_that_is_not_utf8_is_trashed_logged_and_restored(tmp_path, trash_env):
    """Latin-1 "café copy.jpg" (byte 0xE9) went to the trash, then finding its entry raised (its name quoted
    as text) with another item already in the trash: no log entry, no undo, a traceback."""
    (trash_env / "files").mkdir(parents=True)
    (trash_env / "info").mkdir()
    (trash_env / "files" / "old.txt").write_text("x")
    (trash_env / "info" / "old.txt.trashinfo").write_text("[Trash Info]\nPath=/tmp/old.txt\n"
                                                         "DeletionDate=2026-01-01T00:00:00\n")
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = os.fsdecode(os.path.join(os.fsencode(folder), b"caf\xe9 copy.jpg"))
    data = os.urandom(3000)
    with open(photo, "wb") as f:
        f.write(data)
    log = ActionLog(tmp_path / "lib")
    action = trash_files([photo], log)
    assert not os.path.lexists(photo) and len(action.done_items) == 1
    assert action.undoable and Path(action.items[0].info).is_file()
    again = ActionLog(tmp_path / "lib").last_undoable()   # read back from the log on disk
    assert again is not None and again.id == action.id
    report = undo(again, ActionLog(tmp_path / "lib"))
    assert report.restored == [photo] and report.failed == []
    with open(photo, "rb") as f:
        assert f.read() == data


@linux_only
def test_trash_same_name_from_two_folders_restores_each_to_its_place(tmp_path, trash_env):
    a = _write(tmp_path / "p1" / "img.png", b"first")
    b = _write(tmp_path / "p2" / "img.png", b"second")
    log = ActionLog(tmp_path / "lib")
    action = trash_files([a, b], log)
    assert len({i.dst for i in action.items}) == 2
    report = undo(action.id, log)
    assert sorted(report.restored) == sorted([str(a), str(b)])
    assert a.read_bytes() == b"first" and b.read_bytes() == b"second"


@linux_only
def test_undo_never_overwrites(tmp_path, trash_env):
    photo = _write(tmp_path / "photos" / "x.jpg", b"old")
    log = ActionLog(tmp_path / "lib")
    action = trash_files([photo], log)
    _write(photo, b"new file with the same name")
    report = undo(action, log)
    assert report.restored == [] and report.failed and report.failed[0][0] == str(photo)
    assert photo.read_bytes() == b"new file with the same name"
    assert Path(action.items[0].dst).read_bytes() == b"old"  # still safe in the trash


def test_missing_file_is_reported_not_fatal(tmp_path, trash_env):
    log = ActionLog(tmp_path / "lib")
    ok = _write(tmp_path / "p" / "ok.jpg", b"1")
    action = move_files([tmp_path / "p" / "missing.jpg", ok], tmp_path / "out", log)
    assert len(action.failed_items) == 1 and len(action.done_items) == 1


def test_move_and_undo(tmp_path):
    data = os.urandom(1234)
    src = _write(tmp_path / "photos" / "sub" / "p.jpg", data)
    clash = _write(tmp_path / "photos" / "p.jpg", b"other")
    log = ActionLog(tmp_path / "lib")
    action = move_files([src, clash], tmp_path / "review", log)

    assert not src.exists() and not clash.exists()
    dsts = [Path(i.dst) for i in action.items]
    assert dsts[0] == (tmp_path / "review" / "p.jpg").resolve()
    assert dsts[1] == (tmp_path / "review" / "p (1).jpg").resolve()
    assert dsts[0].read_bytes() == data

    report = undo(action, log)
    assert len(report.restored) == 2
    assert src.read_bytes() == data and clash.read_bytes() == b"other"
    assert not dsts[0].exists() and not dsts[1].exists()
    assert not log.last_undoable()


@dataclass
class _M:
    path: str
    similarity: float = 1.0
    width: int = 10
    height: int = 10
    bytes: int = 100
    format: str = "JPEG"
    date_taken: str | None = None
    mtime_ns: int = 0


@dataclass
class _G:
    tier: str
    keeper: str
    members: list


def _groups(tmp_path):
    g1 = _G("duplicates", "a", [_M("a"), _M("b", 0.99), _M("c", 0.98)])
    g2 = _G("similar", "x", [_M("x"), _M("y", 0.9)])
    return [g1, g2]


def test_auto_mark_never_marks_a_whole_group(tmp_path):
    groups = _groups(tmp_path)
    assert auto_mark(groups) == ["b", "c", "y"]
    assert auto_mark(groups, keepers={0: "c"}) == ["a", "b", "y"]
    # a bogus keeper falls back to the first member, still one kept per group
    assert auto_mark(groups, keepers={1: "nope"}) == ["b", "c", "y"]
    for g in groups:
        assert actions.group_is_safe([m.path for m in g.members], set(auto_mark(groups)))
    assert not actions.group_is_safe(["a", "b"], {"a", "b"})


def test_nothing_is_deleted_without_the_explicit_call(tmp_path, trash_env):
    files = [_write(tmp_path / "p" / f"{i}.jpg", bytes([i]) * 10) for i in range(3)]
    log = ActionLog(tmp_path / "lib")
    groups = [_G("duplicates", str(files[0]), [_M(str(f)) for f in files])]
    auto_mark(groups)
    assert actions.summarize(files) == (3, 30)
    export_groups(groups, tmp_path / "g.csv")
    log.actions()
    log.last_undoable()
    assert all(f.exists() for f in files)
    assert not trash_env.exists()


def test_export_csv_and_json(tmp_path):
    groups = _groups(tmp_path)
    export_groups(groups, tmp_path / "g.csv")
    rows = list(csv.DictReader(open(tmp_path / "g.csv")))
    assert [r["path"] for r in rows] == ["a", "b", "c", "x", "y"]
    assert [r["keeper"] for r in rows] == ["True", "False", "False", "True", "False"]
    export_groups(groups, tmp_path / "g.json")
    data = json.loads((tmp_path / "g.json").read_text())
    assert [len(g["members"]) for g in data] == [3, 2] and data[1]["tier"] == "similar"
    with pytest.raises(ValueError):
        export_groups(groups, tmp_path / "g.txt")


def test_torn_log_line_is_ignored(tmp_path):
    log = ActionLog(tmp_path / "lib")
    src = _write(tmp_path / "p" / "a.jpg", b"a")
    move_files([src], tmp_path / "out", log)
    with open(log.path, "a") as f:
        f.write('{"type": "action", "id": "trunc')
    assert len(log.actions()) == 1


@linux_only
def test_an_undo_blocked_by_a_new_file_says_what_to_do_and_the_history_says_partly(tmp_path, trash_env):
    """From a new user's try: "not restored: a file is already at the original path" with no way on, and the
    history still read "Moved to trash: 13 files" as if nothing had come back."""
    files = []
    for i in range(2):
        p = tmp_path / f"p{i}.jpg"
        p.write_bytes(os.urandom(500))
        files.append(p)
    log = ActionLog(tmp_path / "lib")
    action = trash_files(files, log)
    files[0].write_bytes(b"a new file where the old one was")
    report = undo(action, log)
    assert report.restored == [str(files[1])]
    (why,) = [w for _, w in report.failed]
    assert "move it away, then undo again" in why
    (seen,) = ActionLog(tmp_path / "lib").actions()
    assert seen.describe().endswith("— 1 put back, 1 not")


@linux_only
def test_a_file_gone_before_its_trash_is_said_in_words(tmp_path, trash_env):
    """From a new user's try: "[Errno 2] No such file or directory: '…'" in the problems panel."""
    gone = tmp_path / "gone.jpg"
    action = trash_files([gone], ActionLog(tmp_path / "lib"))
    (item,) = action.failed_items
    assert item.error == "not found: moved or deleted since it was listed"
