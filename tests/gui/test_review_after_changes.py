"""The review after a new user's third try, with the folder watcher on: what the trash refuses once a group
changed on disk, Compare and the counts following the disk, a window that long messages do not widen, what
Compare shows to decide with, and the keys."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from test_duplicates_gui import _find, _group_of


@pytest.mark.parametrize("replaced", ["keeper", "marked"])
def test_the_app_trashes_nothing_whose_group_changed_since_it_was_found(qtbot, indexed_window, photos, trash_env,
                                                                          photo_factory, replaced):
    """From a new user's try with the folder watcher on: the kept photo overwritten with another picture, then
    its copy trashed from the app, sent away the photo's last copy (the app's trash skipped the check the CLI
    makes); a marked copy overwritten with another picture was trashed once the watcher had indexed it."""
    win = indexed_window
    page = _find(qtbot, win)
    original, copy = (str(p) for p in photos["exact"][0])
    gi = _group_of(page, original)
    keeper = page.keeper_of(gi)
    other = copy if keeper == original else original
    page.auto_mark_all()
    assert other in page.marked_paths()
    target = keeper if replaced == "keeper" else other
    photo_factory(4242).save(target, "JPEG", quality=90)   # another picture, of another size
    os.utime(target, (1_800_000_000,) * 2)
    win.lib.scan()   # as the watcher would: the catalog now agrees with the disk
    page.confirm = lambda text: True
    with qtbot.waitSignal(page.actionDone, timeout=20000) as blocker:
        page.trash_btn.click()
    action = blocker.args[0]
    assert os.path.exists(other) and other not in {i.src for i in action.done_items}
    (why,) = [i.error for i in action.failed_items if i.src == other]
    assert ("keeps no copy" if replaced == "keeper" else "changed since its group was found") in why
    # an eighth try: the refused photo stayed marked under its old label; now unmarked, and the page says why
    assert other not in page.marked_paths()
    assert page.stale_label.text().startswith("1 photo changed on disk since the groups were found, not moved")
    assert any(p.endswith("find duplicates again") for _, p in win.errors.rows())
    win.errors.add_message("Move", "something else")
    with qtbot.waitSignal(page.groupsReady, timeout=20000):   # found again: the refusal is old news
        page.find_btn.click()
    assert not any(p.endswith("find duplicates again") for _, p in win.errors.rows())
    assert ("Move", "something else") in win.errors.rows()


def test_a_long_message_does_not_widen_the_window(qtbot, indexed_window):
    """From a new user's try: "Not duplicates" and a "marks kept" note grew a 1,000 px window to 1,315 and
    1,448 px (past the screen, the right-hand buttons off it), and it never shrank back."""
    win = indexed_window
    win.resize(1000, 700)
    win.tabs.setCurrentWidget(win.duplicates)
    page = _find(qtbot, win)
    qtbot.waitUntil(lambda: win.width() == 1000, timeout=5000)
    note = "Group not duplicates: it stays out of the list until one of its photos changes " * 4
    page.status.setText(note)
    page.stale_label.setText("The library changed — Find again to update")
    page.summary.setText(note)
    for _ in range(5):
        QApplication.processEvents()
    assert win.width() == 1000
    assert page.status.text() == note and page.status.toolTip() == note   # cut on screen, whole in its tooltip


def test_compare_and_the_counts_follow_a_photo_deleted_on_disk(qtbot, indexed_window, photos):
    """From a new user's try: Compare kept showing a photo deleted in the shell, and D then jumped to a pair of
    another group ("That is the photo this group keeps"); the page still said "14 groups" over a list of 13."""
    win = indexed_window
    page = _find(qtbot, win)
    assert page.status.text() == page._summary_text()
    n = len(page.groups)
    (a0, c0), (a1, c1) = [(str(a), str(c)) for a, c in photos["exact"][:2]]
    gi = _group_of(page, a0)
    page.select_group(gi)
    other = next(str(m.path) for m in page.groups[gi].members if str(m.path) != page.keeper_of(gi))
    page._select_member(other)
    page.compare_current()
    assert page.compare_dialog.isVisible()
    os.remove(other)
    win.lib.scan()   # as the watcher would
    qtbot.waitUntil(lambda: not page.compare_dialog.isVisible(), timeout=10000)
    assert len(page.groups) == n - 1 and page.status.text().startswith("Compare closed: ")
    # the counts follow the list when they are what the page shows
    page.status.setText(page._summary_text())
    gone = c1 if page.keeper_of(_group_of(page, a1)) == a1 else a1
    os.remove(gone)
    win.lib.scan()
    qtbot.waitUntil(lambda: len(page.groups) == n - 2, timeout=10000)
    assert page.status.text() == page._summary_text() and page.status.text().startswith(f"{n - 2} group")


def test_compare_shows_the_camera_and_how_each_photo_matched(qtbot, window, tmp_path):
    """From a new user's try: the keeper was kept as "camera original: EXIF Canon EOS 5D", but Compare had no
    camera row, no word on how the right photo matched, a raw "2021-07-14T10:00:00" and "0.0 MP"."""
    from review_photos import copies

    files = copies(tmp_path / "photos")
    with qtbot.waitSignal(window.scanFinished, timeout=60000):
        window.add_folder(str(tmp_path / "photos"))
    page = _find(qtbot, window)
    gi = _group_of(page, files["camera"])
    assert page.keeper_of(gi) == str(files["camera"])
    page.select_group(gi)
    page._select_member(str(files["whatsapp"]))
    page.compare_current()
    rows = page.compare_dialog.compare.table_rows()
    member = next(m for m in page.groups[gi].members if str(m.path) == str(files["whatsapp"]))
    assert rows["Path"] == (str(files["camera"]), str(files["whatsapp"]))
    assert rows["Camera"] == ("Canon EOS 80D", "—")
    assert rows["Match"][1] == member.reason and member.reason.startswith("same photo")
    assert "T" not in rows["Date taken"][0] and rows["Date taken"][0][:4].isdigit()
    assert len(rows["Date taken"][0]) == 19   # to the second: two shots of a burst a second apart differ
    assert rows["Resolution"][1] == "480 × 360  (0.17 MP)"


def test_delete_marks_as_d_does_and_f1_lists_the_keys(qtbot, indexed_window, monkeypatch):
    """From a new user's try: Delete did nothing in the review, and no list of the keys was to be found."""
    from PySide6.QtWidgets import QMessageBox

    page = _find(qtbot, indexed_window)
    indexed_window.tabs.setCurrentWidget(page)
    page.select_group(0)
    page.members.setFocus()
    qtbot.keyClick(page.members, Qt.Key.Key_Right)
    other = page.model.item(page.current_member_row()).path
    qtbot.keyClick(page.members, Qt.Key.Key_Delete)
    assert other in page.marked
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: shown.append(a[2]))
    help_menu = next(a.menu() for a in indexed_window.menuBar().actions() if a.text() == "&Help")
    help_menu.actions()[0].trigger()
    assert "D or Delete" in shown[0] and "Ctrl+Z" in shown[0]
