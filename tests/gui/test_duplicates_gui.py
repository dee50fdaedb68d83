"""Duplicates screen: find groups, mark with keys and auto-mark, trash to a test trash, undo, compare."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


def _find(qtbot, win, tier="duplicates"):
    page = win.duplicates
    page.tier_combo.setCurrentIndex(0 if tier == "duplicates" else 1)
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find_btn.click()
    return page


def _group_of(page, path) -> int:
    for gi, g in enumerate(page.groups):
        if str(path) in {str(m.path) for m in g.members}:
            return gi
    return -1


def test_find_duplicates_groups_exact_copies(qtbot, indexed_window, photos):
    page = _find(qtbot, indexed_window)
    assert page.groups, "exact copies must form groups"
    for original, copy in photos["exact"]:
        gi = _group_of(page, original)
        assert gi >= 0 and gi == _group_of(page, copy)
    # no photo is in two groups; every group has a keeper among its members, listed first
    seen = [str(m.path) for g in page.groups for m in g.members]
    assert len(seen) == len(set(seen))
    for g in page.groups:
        assert str(g.members[0].path) == str(g.keeper)
    assert page.groups_view.topLevelItemCount() == len(page.groups)
    # selecting a group shows its members side by side, keeper marked
    page.select_group(0)
    assert page.model.rowCount() == len(page.groups[0].members)
    assert page.model.item(0).state == "keeper"
    assert all(page.model.item(r).state == "" for r in range(1, page.model.rowCount()))


def test_similar_tier_with_threshold(qtbot, indexed_window, photos):
    page = indexed_window.duplicates
    page.tier_combo.setCurrentIndex(1)
    page.threshold.setValue(0.999)
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find()
    for original, copy in photos["exact"]:
        assert _group_of(page, original) == _group_of(page, copy) >= 0


def test_keyboard_keep_mark_arrows_and_compare(qtbot, indexed_window, photos):
    page = _find(qtbot, indexed_window)
    indexed_window.tabs.setCurrentWidget(page)
    page.select_group(0)
    page.members.setFocus()
    g = page.groups[0]
    keeper, other = str(g.members[0].path), str(g.members[1].path)

    # D on the keeper is refused: a group can never be marked whole
    page.members.setCurrentIndex(page.model.index(0, 0))
    qtbot.keyClick(page.members, Qt.Key.Key_D)
    assert keeper not in page.marked

    # Right, D marks the second photo
    qtbot.keyClick(page.members, Qt.Key.Key_Right)
    assert page.current_member_row() == 1
    qtbot.keyClick(page.members, Qt.Key.Key_D)
    assert other in page.marked and page.model.item(1).state == "marked"
    assert page.trash_btn.isEnabled() and "1 marked" in page.summary.text()

    # K on the marked photo makes it the keeper and unmarks it; the old keeper can now be marked
    page.members.setCurrentIndex(page.model.index(1, 0))
    qtbot.keyClick(page.members, Qt.Key.Key_K)
    assert page.keeper_of(0) == other and other not in page.marked
    page.members.setCurrentIndex(page.model.index(0, 0))
    qtbot.keyClick(page.members, Qt.Key.Key_D)
    assert keeper in page.marked

    # Space compares the current photo with the keeper
    page.members.setCurrentIndex(page.model.index(0, 0))
    qtbot.keyClick(page.members, Qt.Key.Key_Space)
    dlg = page.compare_dialog
    assert dlg is not None and dlg.isVisible()
    rows = dlg.compare.table_rows()
    assert rows["Path"] == (other, keeper)
    assert set(rows) >= {"Resolution", "File size", "Format", "Date taken", "Path"}
    dlg.close()

    # Down moves to the next group
    if len(page.groups) > 1:
        page.members.setFocus()
        qtbot.keyClick(page.members, Qt.Key.Key_Down)
        assert page.current_group_index() == 1


def test_auto_mark_never_marks_a_whole_group(qtbot, indexed_window):
    page = _find(qtbot, indexed_window)
    asked = []
    page.confirm = lambda text: asked.append(text) or True
    page.auto_mark_all()
    assert page.groups and not asked   # copies of one photo: nothing to ask
    for gi, g in enumerate(page.groups):
        paths = [str(m.path) for m in g.members]
        assert sum(p in page.marked for p in paths) == len(paths) - 1
        assert page.keeper_of(gi) not in page.marked
    gi = page.current_group_index()
    others = page.marked - {str(m.path) for m in page.groups[gi].members}
    page.clear_marks()   # the selected group's own marks only (an outside try lost every group's to it)
    assert page.marked == others and "off this group" in page.status.text()
    page.clear_all_marks()   # Edit > Clear all marks, after a question when there are any
    assert not page.marked and not page.trash_btn.isEnabled()
    assert bool(asked) == bool(others)


def test_mark_trash_and_undo_restores_bytes(qtbot, indexed_window, photos, trash_env):
    win = indexed_window
    page = _find(qtbot, win)
    page.auto_mark_all()
    marked = page.marked_paths()
    assert marked
    data = {p: Path(p).read_bytes() for p in marked}
    asked = []
    page.confirm = lambda text: asked.append(text) or True
    with qtbot.waitSignal(page.actionDone, timeout=20000) as blocker:
        page.trash_btn.click()
    action = blocker.args[0]
    # the confirmation said how many files and how many bytes
    n_bytes = sum(len(b) for b in data.values())
    assert f"{len(marked)} files" in asked[0] and "trash" in asked[0]
    from imgsim_desktop.core.actions import format_bytes
    assert format_bytes(n_bytes) in asked[0]
    assert sorted(i.src for i in action.done_items) == sorted(marked)
    for p in marked:
        assert not os.path.exists(p)
    assert len(list((trash_env / "files").iterdir())) == len(marked)
    assert not page.marked
    assert page.undo_btn.isEnabled()
    # the library forgot the trashed files
    assert all(win.lib.file_by_path(p) is None for p in marked)

    with qtbot.waitSignal(page.groupsReady, timeout=30000):   # the groups they come back to, found again
        with qtbot.waitSignal(page.undoDone, timeout=20000) as blocker:
            page.undo_btn.click()
    report = blocker.args[0]
    assert sorted(report.restored) == sorted(marked) and not report.failed
    for p, b in data.items():
        assert Path(p).read_bytes() == b
    assert not list((trash_env / "files").iterdir())
    # ... and indexed them again
    assert all(win.lib.file_by_path(p) is not None for p in marked)
    # ...and, grouped again, marked as they were before the trash (an outside try found them unmarked)
    assert page.marked == set(marked) and f"{len(marked)} marks kept" in page.status.text()
    lines = [json.loads(x) for x in (Path(win.lib.home) / "actions.jsonl").read_text().splitlines()]
    # the action opened, each file announced then logged as it moved, the whole action, then the undo
    assert [x["type"] for x in lines] == ["begin"] + ["plan", "item"] * len(marked) + ["action", "undo"]


def test_cancelled_confirmation_moves_nothing(qtbot, indexed_window, trash_env):
    page = _find(qtbot, indexed_window)
    page.auto_mark_all()
    marked = page.marked_paths()
    page.confirm = lambda text: False
    page.trash_btn.click()
    qtbot.wait(100)
    assert all(os.path.exists(p) for p in marked)
    assert not trash_env.exists()


def test_move_to_folder_export_and_undo(qtbot, indexed_window, tmp_path):
    page = _find(qtbot, indexed_window)
    page.select_group(0)
    page.auto_mark_group()
    marked = page.marked_paths()
    assert marked and len(marked) == len(page.groups[0].members) - 1
    target = tmp_path / "review"
    page.choose_folder = lambda: str(target)
    page.confirm = lambda text: str(target) in text
    with qtbot.waitSignal(page.actionDone, timeout=20000):
        page.move_btn.click()
    assert sorted(p.name for p in target.iterdir()) == sorted(Path(p).name for p in marked)

    page.choose_export = lambda: str(tmp_path / "groups.json")
    page.export()
    qtbot.waitUntil(lambda: page.status.text().startswith("Exported"), timeout=5000)  # written, not just created
    assert isinstance(json.loads((tmp_path / "groups.json").read_text()), list)

    with qtbot.waitSignal(page.undoDone, timeout=20000):
        page.undo_last()
    assert all(os.path.exists(p) for p in marked) and not list(target.iterdir())


def test_compare_view_synchronises_zoom_and_pan(qtbot, photos):
    from imgsim_desktop.core.decode import read_info
    from imgsim_desktop.gui.compare import CompareWidget

    class M:
        def __init__(self, p):
            info = read_info(p)
            self.path, self.width, self.height, self.format = str(p), info.width, info.height, info.format
            self.date_taken, self.bytes, self.mtime_ns = info.date_taken, os.path.getsize(p), os.stat(p).st_mtime_ns

    a, b = photos["reencoded"][0]
    w = CompareWidget()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    w.set_members(M(a), M(b))
    qtbot.waitUntil(lambda: not w.left._item.pixmap().isNull() and not w.right._item.pixmap().isNull(),
                    timeout=10000)
    rows = w.table_rows()
    assert rows["Format"] == ("JPEG", "PNG") and rows["Resolution"][0] == rows["Resolution"][1]
    w.actual()
    assert abs(w.left.scale_factor() - 1.0) < 1e-6 and abs(w.right.scale_factor() - 1.0) < 1e-6
    w.left.scale(2.0, 2.0)
    w.left._emit()
    assert abs(w.right.scale_factor() - 2.0) < 1e-6
    w.left.horizontalScrollBar().setValue(w.left.horizontalScrollBar().maximum())
    assert w.right.horizontalScrollBar().value() == pytest.approx(w.right.horizontalScrollBar().maximum(), abs=2)
    w.fit()
    assert w.left.fit_mode and w.right.fit_mode
    assert QApplication.activeModalWidget() is None


def test_a_new_pair_in_100_percent_shows_the_left_photo_at_its_pixels(qtbot, tmp_path):
    """"100 %" stayed pressed from pair to pair while the zoom came from whichever photo loaded last: a
    481 px keeper beside a phone screenshot opened at 225 %, blurred."""
    from PIL import Image

    from imgsim_desktop.gui.compare import CompareWidget
    from photos import scene

    class M:
        def __init__(self, p, w, h):
            self.path, self.width, self.height, self.format = str(p), w, h, "PNG"
            self.date_taken, self.bytes, self.mtime_ns = None, os.path.getsize(p), os.stat(p).st_mtime_ns

    small, big = tmp_path / "small.png", tmp_path / "big.png"
    scene(5, (481, 320)).save(small)
    Image.new("RGB", (1080, 2340), (200, 200, 200)).save(big)
    w = CompareWidget()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    w.set_members(M(small, 481, 320), M(big, 1080, 2340))
    qtbot.waitUntil(lambda: not w.left._item.pixmap().isNull() and not w.right._item.pixmap().isNull(),
                    timeout=10000)
    w.actual()
    for _ in range(3):   # the next pairs, each loading in its own order
        w.set_members(M(big, 1080, 2340), M(small, 481, 320))
        qtbot.waitUntil(lambda: w.left._item.pixmap().width() == 1080 and w.right._item.pixmap().width() == 481,
                        timeout=10000)
        qtbot.wait(50)
        assert abs(w.left.scale_factor() - 1.0) < 1e-6
        assert w.right.scale_factor() == pytest.approx(1080 / 481, rel=1e-3)
        w.set_members(M(small, 481, 320), M(big, 1080, 2340))
        qtbot.waitUntil(lambda: w.left._item.pixmap().width() == 481 and w.right._item.pixmap().width() == 1080,
                        timeout=10000)
        qtbot.wait(50)
        assert abs(w.left.scale_factor() - 1.0) < 1e-6 and w.actual_btn.isChecked()


def test_history_lists_actions_and_undoes_an_older_one(qtbot, indexed_window, tmp_path, trash_env):
    page = indexed_window.duplicates
    page.threshold.setValue(0.9999)  # byte copies only: three groups of two, whatever the model
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find()
    assert len(page.groups) >= 2
    page.confirm = lambda text: True
    page.choose_folder = lambda: str(tmp_path / "first")
    page.select_group(0)
    page.auto_mark_group()
    first = page.marked_paths()
    with qtbot.waitSignal(page.actionDone, timeout=20000):
        page.move_btn.click()
    page.select_group(0)
    page.auto_mark_group()
    second = page.marked_paths()
    with qtbot.waitSignal(page.actionDone, timeout=20000):
        page.trash_btn.click()
    page.history_btn.click()
    dlg = page.history_dialog
    assert dlg.isVisible() and dlg.tree.topLevelItemCount() == 2
    # newest first: select the older move and undo it; the trash stays
    dlg.tree.setCurrentItem(dlg.tree.topLevelItem(1))
    assert dlg.undo_btn.isEnabled()
    with qtbot.waitSignal(page.undoDone, timeout=20000):
        dlg.undo_btn.click()
    assert all(os.path.exists(p) for p in first)
    assert not any(os.path.exists(p) for p in second)
    assert "undone" in dlg.tree.topLevelItem(1).text(1)
    dlg.close()


def test_move_into_a_library_folder_keeps_the_embedding(qtbot, indexed_window, photos):
    """Moving marked photos into a watched folder is a move for the library (same file id), not a new file."""
    win = indexed_window
    page = win.duplicates
    page.threshold.setValue(0.9999)
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find()
    page.select_group(0)
    page.auto_mark_group()
    (src,) = page.marked_paths()
    fid = win.lib.file_by_path(src).id
    target = photos["root"] / "to_review"
    page.choose_folder = lambda: str(target)
    page.confirm = lambda text: True
    with qtbot.waitSignal(page.actionDone, timeout=20000) as blocker:
        page.move_btn.click()
    dst = blocker.args[0].items[0].dst
    rec = win.lib.file_by_path(dst)
    assert rec is not None and rec.id == fid and win.lib.file_by_path(src) is None
    with qtbot.waitSignal(page.undoDone, timeout=20000):
        page.undo_last()
    assert win.lib.file_by_path(src).id == fid and os.path.exists(src)


def test_grouping_can_be_stopped_and_found_again(qtbot, indexed_window, photos):
    """The first grouping of a large library verifies for minutes: Stop ends it without an error box, and
    the next Find duplicates completes."""
    page = indexed_window.duplicates
    messages = []
    page.message.connect(lambda *a: messages.append(a))
    lib = page.lib
    with lib._lock:  # the worker waits for the library here, so the stop lands before any work
        page.find()
        assert page.stop_btn.isVisibleTo(page) and page.busy
        page.stop_btn.click()
    qtbot.waitUntil(lambda: not page.busy, timeout=20000)
    assert page.status.text().startswith("Stopped") and not page.stop_btn.isVisibleTo(page)
    assert not messages and not page.groups
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find_btn.click()
    assert page.groups and not page.stop_btn.isVisibleTo(page)
    for original, copy in photos["exact"]:
        assert _group_of(page, original) == _group_of(page, copy) >= 0


def test_photos_left_out_of_verification_are_named_in_the_status(qtbot, indexed_window, photos):
    """The verifier skips a photo rewritten since it was indexed (tests/test_verify_trust.py); the page says
    so, and which, instead of dropping its groups without a word."""
    from imgsim_desktop.core.catalog import CHANGED

    page = _find(qtbot, indexed_window)
    n = len(page.groups)
    groups = indexed_window.lib.duplicates("duplicates")
    page._found((groups, {}, [("/photos/rewritten.jpg", CHANGED)]))
    assert len(page.groups) == n
    assert page.status.text().endswith(" · 1 photo not verified")
    assert f"/photos/rewritten.jpg: {CHANGED}" in page.status.toolTip()
    page._found((groups, {}, []))
    assert "not verified" not in page.status.text() and page.status.toolTip() == ""


def test_similar_members_say_which_is_the_keepers_photo_and_which_another_shot(qtbot, window, tmp_path):
    """The similar tier groups by likeness; each tile's caption says what the member is to the keeper, and
    its tooltip gives the verifier's own words."""
    from photos import burst

    folder = tmp_path / "burst"
    folder.mkdir()
    p = burst(folder)
    with qtbot.waitSignal(window.scanFinished, timeout=60000):
        window.add_folder(str(folder))
    page = window.duplicates
    page.tier_combo.setCurrentIndex(page.tier_combo.findData("similar"))
    page.threshold.setMinimum(0.0)
    page.threshold.setValue(0.0)   # the random test model's likeness says nothing: take every photo
    with qtbot.waitSignal(page.groupsReady, timeout=60000):
        page.find()
    gi = _group_of(page, p["first"])
    assert gi >= 0 and str(page.groups[gi].keeper) == p["first"]
    page.select_group(gi)
    items = {it.path: it for it in page.model.items}
    assert items[p["grey"]].extra["label"] == "same photo: grey"
    assert items[p["second"]].extra["label"] == "another shot: camera moved"
    assert "the camera moved between shots" in items[p["second"]].extra["reason"]
    assert items[p["other"]].extra["label"].startswith("not the same photo")
    assert items[p["first"]].extra["label"] == "kept"
    # before marking the extras of a similar group, the question says what they are
    asked = []
    page.confirm = lambda text: asked.append(text) or False
    page.auto_mark_group()
    assert "Besides the keepers: 1 the same photo, 1 another shot, 1 not the same photo" in asked[0]
    assert not page.marked      # answered no: nothing marked
    # a caption too wide for its tile breaks after its headline rather than losing its end
    delegate, fm = page.members.delegate, page.members.fontMetrics()
    label = "another shot: camera moved"
    narrow = fm.horizontalAdvance(label) - 1
    assert delegate.label_lines_for(fm, label, narrow) == ["another shot:", "camera moved"]
    (one,) = window.grid.delegate.label_lines_for(fm, label, narrow)
    assert one != label and one.startswith("another shot")   # the library grid keeps one elided line


def test_the_group_list_has_room_for_group_names(qtbot, window):
    """The members' buttons no longer make their side so wide that the group list keeps its 220 px minimum
    ("1. …" for every group in a 1,320 px window)."""
    window.resize(1320, 840)
    page = window.duplicates
    window.tabs.setCurrentWidget(page)
    qtbot.waitUntil(lambda: page.isVisible() and page._split_sized, timeout=5000)
    assert page.groups_view.width() >= 0.25 * page.width()


def test_before_any_search_the_page_says_how_to_start(qtbot, indexed_window):
    page = indexed_window.duplicates   # (an empty library's page points at adding a folder: test_review_screen)
    qtbot.waitUntil(lambda: "Find duplicates" in page.group_title.text(), timeout=10000)
    assert page.groups_view.textElideMode() == Qt.TextElideMode.ElideMiddle   # names keep their ends


def test_trashing_the_last_groups_copy_raises_nothing(qtbot, indexed_window, trash_env):
    """The group list was rebuilt while its selection signals still carried the old items' indices into the
    new, shorter list (an IndexError in a slot, seen in a real window)."""
    page = _find(qtbot, indexed_window)
    last = len(page.groups) - 1
    assert last >= 1
    page.select_group(last)
    page.auto_mark_group()
    page.confirm = lambda text: True
    with qtbot.waitSignal(page.actionDone, timeout=20000):
        page.trash_btn.click()
    qtbot.wait(50)   # the change set's refill of the list runs from the event loop
    assert page.groups_view.topLevelItemCount() == len(page.groups) == last
    assert 0 <= page.current_group_index() < len(page.groups)


def test_choosing_another_keeper_updates_title_and_what_can_be_freed(qtbot, indexed_window):
    page = _find(qtbot, indexed_window)
    indexed_window.tabs.setCurrentWidget(page)
    page.select_group(0)
    g = page.groups[0]
    other = g.members[1]
    page.members.setFocus()
    page.members.setCurrentIndex(page.model.index(1, 0))
    qtbot.keyClick(page.members, Qt.Key.Key_K)
    name = str(other.path).rsplit("/", 1)[-1]
    assert f"keeper: {name}" in page.group_title.text()
    assert page.groups_view.topLevelItem(0).text(0).endswith(name) or name in page.groups_view.topLevelItem(0).text(0)
    from imgsim_desktop.core.actions import format_bytes
    freed = sum(m.bytes or 0 for m in g.members if m is not other)
    assert page.groups_view.topLevelItem(0).text(2) == format_bytes(freed)
    total = sum(sum(m.bytes or 0 for m in gr.members[1:]) for gr in page.groups[1:]) + freed
    assert f"up to {format_bytes(total)} to free" in page.status.text()


def test_marks_outlive_a_new_search(qtbot, indexed_window):
    """Switching tier (or Find again) dropped every mark without a word; marks on photos the new groups
    still offer for removal are kept, and the status says so."""
    page = _find(qtbot, indexed_window)
    page.auto_mark_all()
    marked = set(page.marked)
    assert marked
    page.confirm = lambda text: True
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find()
    assert page.marked == marked
    assert f"{len(marked)} marks kept" in page.status.text() or f"{len(marked)} mark kept" in page.status.text()
    assert f"{len(marked)} marked" in page.summary.text()


def test_undo_after_the_last_group_went_brings_the_groups_back(qtbot, indexed_window, trash_env):
    """The list stayed empty after an undo, with "Find again" cut to "Find agai…" (the fourth outside try)."""
    page = _find(qtbot, indexed_window)
    n = len(page.groups)
    page.auto_mark_all()
    page.confirm = lambda text: True
    with qtbot.waitSignal(page.actionDone, timeout=20000):
        page.trash_btn.click()
    qtbot.waitUntil(lambda: not page.groups, timeout=5000)
    assert page.group_title.text() == "No groups."
    with qtbot.waitSignals([page.undoDone, page.groupsReady], timeout=20000):
        page.undo_btn.click()
    qtbot.waitUntil(lambda: len(page.groups) == n and not page.busy, timeout=20000)
    assert page.stale_label.text() == ""


def test_compare_follows_the_same_detail_in_a_crop(qtbot, window, tmp_path):
    """Synced pan kept the same relative position in each file, so a crop and its original panned apart (seen
    in a real window); where the verifier placed the crop in its original, the right view follows the detail."""
    from photos import scene

    folder = tmp_path / "crop"
    folder.mkdir()
    big = scene(21, (1600, 1200))
    big.save(folder / "original.jpg", quality=92)
    big.crop((800, 0, 1600, 1200)).save(folder / "right_half.jpg", quality=92)
    os.utime(folder / "original.jpg", (1_500_000_000,) * 2)
    with qtbot.waitSignal(window.scanFinished, timeout=60000):
        window.add_folder(str(folder))
    page = _find(qtbot, window)
    window.tabs.setCurrentWidget(page)
    crop = str(folder / "right_half.jpg")
    gi = _group_of(page, crop)
    assert gi >= 0 and page.keeper_of(gi) == str(folder / "original.jpg")
    page.select_group(gi)
    page.members.setCurrentIndex(page.model.index([it.path for it in page.model.items].index(crop), 0))
    page.compare_current()
    dlg = page.compare_dialog
    dlg.resize(700, 600)   # each view narrower than the crop at 100 %: any centre can be reached
    w = dlg.compare
    qtbot.waitUntil(lambda: not w.left._item.pixmap().isNull() and not w.right._item.pixmap().isNull(),
                    timeout=10000)
    assert w._map is not None
    w.actual()
    r = w.left._scene.sceneRect()
    w.left.centerOn(r.left() + 0.8 * r.width(), r.top() + 0.4 * r.height())   # in the original's right half
    w.left._emit()
    assert w.left._rel_center() == pytest.approx((0.8, 0.4), abs=0.01)
    cx, cy = w.right._rel_center()
    assert cx == pytest.approx(0.6, abs=0.03) and cy == pytest.approx(0.4, abs=0.03)   # the same spot of the crop
    assert w.right.scale_factor() == pytest.approx(1.0, abs=0.03)   # a crop has the original's pixels
    dlg.close()


def test_can_free_counts_what_all_but_keeper_takes():
    """The page's "Can free" is the core's rule: a similar member the verifier found to be another photo is
    left unmarked, so it frees nothing (the sixth try's sea and glacier: "9.8 KB to free")."""
    from types import SimpleNamespace

    from imgsim_desktop.core.duplicates import GroupMember
    from imgsim_desktop.gui.duplicates import reclaimable

    def member(i, kind):
        return GroupMember(i, f"/p/{i}.jpg", 0.7, 10, 10, 1000 * i, "JPEG", None, 0, match={"kind": kind})
    g = SimpleNamespace(tier="similar", members=[member(1, "same photo"), member(2, "another shot"),
                                                 member(3, "not the same photo")])
    assert reclaimable(g) == 2000 and reclaimable(g, "/p/2.jpg") == 1000
