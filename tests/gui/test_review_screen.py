"""The review screen as a new user meets it (issue 11, item 7): real widgets, real library, real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from imgsim_desktop.core import changes


def _index(qtbot, win, folder):
    with qtbot.waitSignal(win.scanFinished, timeout=60000):
        win.add_folder(str(folder))


def _find(qtbot, page):
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find()


@pytest.fixture
def messy(tmp_path, photo_factory):
    """Same file names in two folders (exact copies), a deep folder with a long name, a PNG re-save."""
    root = tmp_path / "messy"
    deep = root / ("a_very_long_folder_name_from_a_backup_drive_" * 3) / "2019" / "holiday"
    for d in (root / "camera", root / "backup", deep):
        d.mkdir(parents=True)
    for i in range(6):
        photo_factory(200 + i).save(root / "camera" / f"IMG_{i:04d}.jpg", quality=90)
    (root / "camera" / "Dragonfly.jpg").write_bytes((root / "camera" / "IMG_0000.jpg").read_bytes())
    (root / "backup" / "Dragonfly.jpg").write_bytes((root / "camera" / "IMG_0000.jpg").read_bytes())
    long_name = deep / ("the_keeper_of_this_group_has_a_really_long_file_name_" * 2 + ".jpg")
    long_name.write_bytes((root / "camera" / "IMG_0001.jpg").read_bytes())
    return {"root": root, "dragonflies": [root / "camera" / "Dragonfly.jpg", root / "backup" / "Dragonfly.jpg"],
            "long": long_name}


def test_threshold_box_shows_the_number_steps_by_hundredths_and_reruns(qtbot, window, messy):
    _index(qtbot, window, messy["root"])
    page = window.duplicates
    default = page.default_threshold("duplicates")
    assert page.threshold.value() == pytest.approx(round(default, 2))
    assert f"{default:.2f}" in page.threshold.text() and "Default" not in page.threshold.text()
    assert page.threshold.singleStep() == pytest.approx(0.01) and page.threshold.decimals() == 2
    lo, hi = page.threshold.minimum(), page.threshold.maximum()
    assert 0.3 <= lo < default <= hi == 1.0  # the tier's sensible range: never 0.001
    page.threshold.setValue(0.001)
    assert page.threshold.value() == pytest.approx(lo)
    page.threshold.setValue(round(default, 2))

    _find(qtbot, page)
    before = len(page.groups)
    page.threshold.stepUp()  # one click: one hundredth, and the groups are found again on their own
    assert page.threshold.value() == pytest.approx(round(default, 2) + 0.01)
    assert "again" in page.stale_label.text()
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        pass
    assert page.stale_label.text() == "" and len(page.groups) <= before + 1

    page.tier_combo.setCurrentIndex(1)  # the similar tier has its own default and range
    assert page.threshold.value() == pytest.approx(round(page.default_threshold("similar"), 2))
    assert page.threshold.minimum() < lo
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        pass


def test_same_names_show_their_folders_and_exact_copies_say_so(qtbot, window, messy):
    from imgsim_desktop.gui.models import FolderRole, LabelRole

    _index(qtbot, window, messy["root"])
    page = window.duplicates
    page.threshold.setValue(1.0)  # exact copies only
    _find(qtbot, page)
    a, b = (str(p) for p in messy["dragonflies"])
    gi = next(i for i, g in enumerate(page.groups) if {a, b} <= {str(m.path) for m in g.members})
    page.select_group(gi)
    rows = {page.model.item(r).path: page.model.index(r, 0) for r in range(page.model.rowCount())}
    assert rows[a].data(FolderRole) == "messy/camera" and rows[b].data(FolderRole) == "messy/backup"
    labels = {p: i.data(LabelRole) for p, i in rows.items()}
    keeper = page.keeper_of(gi)
    assert labels.pop(keeper) == "kept"
    assert set(labels.values()) == {"exact copy"} and {a, b} & set(labels)  # not "similarity 1.000"
    assert page.groups_view.topLevelItem(gi).text(0).endswith(" · exact")
    # the Library grid shows folders too
    window.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: any(window.grid_model.index(r, 0).data(FolderRole) == "messy/backup"
                                for r in range(window.grid_model.rowCount())), timeout=10000)


def test_folder_captions_start_at_the_library_folder_whatever_the_depth(tmp_path):
    from imgsim_desktop.gui.models import folder_of, set_roots

    root = tmp_path / "photos"
    try:
        set_roots([root, tmp_path / "other"])
        # one depth for all: the last two folders gave "2019/summer" for one photo and "photos/exports" for another
        assert folder_of(str(root / "2019" / "summer" / "a.jpg")) == "photos/2019/summer"
        assert folder_of(str(root / "exports" / "b.jpg")) == "photos/exports"
        assert folder_of(str(root / "c.jpg")) == "photos"
        assert folder_of(str(tmp_path / "photos-old" / "d.jpg")) == f"{tmp_path.name}/photos-old"  # not "under"
        assert folder_of("/elsewhere/x/y/z.jpg") == "x/y"   # outside the library: its last two folders
    finally:
        set_roots([])


def test_group_list_keeps_its_width_when_a_long_keeper_is_selected(qtbot, window, messy):
    _index(qtbot, window, messy["root"])
    page = window.duplicates
    window.tabs.setCurrentWidget(page)
    page.threshold.setValue(1.0)
    _find(qtbot, page)
    long_gi = next(i for i, g in enumerate(page.groups) if str(messy["long"]) in {str(m.path) for m in g.members})
    page.select_group(long_gi)
    page._select_member(str(messy["long"]))
    page.keep_current()  # the photo with the long path is now the keeper the title names
    assert page.keeper_of(long_gi) == str(messy["long"])
    page.select_group(0 if long_gi else 1)
    qtbot.waitUntil(lambda: page.groups_view.width() > 0)
    QApplication.processEvents()
    width, window_width = page.groups_view.width(), window.width()
    for _ in range(3):  # it used to shrink a little more each time (or push the window wider)
        page.select_group(long_gi)
        for _ in range(5):  # let the layouts settle
            QApplication.processEvents()
        assert (page.groups_view.width(), window.width()) == (width, window_width)
        page.select_group(0 if long_gi else 1)
    page.select_group(long_gi)
    assert page.group_title.toolTip() == page.keeper_of(long_gi)


def test_clicking_a_group_enables_keep_mark_compare(qtbot, indexed_window):
    page = indexed_window.duplicates
    indexed_window.tabs.setCurrentWidget(page)
    page.threshold.setValue(1.0)
    _find(qtbot, page)
    assert page.current_group_index() == 0 and len(page.groups) >= 2
    item = page.groups_view.topLevelItem(1)
    rect = page.groups_view.visualItemRect(item)
    qtbot.mouseClick(page.groups_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.current_group_index() == 1 and page.current_member_row() == 0  # the keeper looks selected
    assert page.keep_btn.isEnabled() and page.mark_btn.isEnabled() and page.compare_btn.isEnabled()


def test_compare_keeps_marks_and_steps_with_keys_and_esc_goes_back(qtbot, indexed_window):
    page = indexed_window.duplicates
    indexed_window.tabs.setCurrentWidget(page)
    page.threshold.setValue(1.0)  # exact copies: three groups of two
    _find(qtbot, page)
    assert len(page.groups) >= 2
    page.select_group(0)
    page.members.setFocus()
    qtbot.keyClick(page.members, Qt.Key.Key_Space)
    dlg = page.compare_dialog
    qtbot.waitUntil(lambda: dlg.isVisible() and dlg.isActiveWindow())
    g0 = page.groups[0]
    keeper, other = str(g0.members[0].path), str(g0.members[1].path)
    assert dlg.compare.table_rows()["Path"] == (keeper, other)
    assert "Group 1 of" in dlg.where.text()

    qtbot.keyClick(dlg, Qt.Key.Key_K)  # keep the right-hand photo
    assert page.keeper_of(0) == other
    assert dlg.compare.table_rows()["Path"] == (other, keeper)

    qtbot.keyClick(dlg, Qt.Key.Key_D)  # mark the right-hand one (the old keeper); moves on to the next pair
    assert keeper in page.marked and page.current_group_index() == 1
    g1 = page.groups[1]
    assert dlg.compare.table_rows()["Path"] == (str(g1.members[0].path), str(g1.members[1].path))

    qtbot.keyClick(dlg, Qt.Key.Key_P)  # back to the first pair, which shows the mark
    assert page.current_group_index() == 0 and "MARKED" in dlg.compare.right_title.text()
    assert dlg.mark_btn.text().startswith("Unmark")
    qtbot.keyClick(dlg, Qt.Key.Key_N)
    assert page.current_group_index() == 1

    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dlg.isVisible())
    assert page.current_group_index() == 1  # back in the group, where Compare left off
    # ...with its keys working at once: the page's window active again, the photos focused (an outside try's
    # K, D and Space did nothing after Esc until a click)
    qtbot.waitUntil(lambda: page.members.hasFocus(), timeout=5000)


def test_one_trash_is_one_change_set_that_every_page_follows(qtbot, indexed_window, photos, trash_env):
    win = indexed_window
    page = win.duplicates
    page.threshold.setValue(1.0)
    _find(qtbot, page)
    with qtbot.waitSignal(win.lookalikes.resultsReady, timeout=20000):
        win.lookalikes_for_path(str(photos["unique"][0]))
    n_groups, n_files = len(page.groups), win.grid_model.rowCount()
    sets = []
    win.controller.changed.connect(sets.append)
    page.select_group(0)
    page.auto_mark_group()
    (gone,) = page.marked_paths()
    page.confirm = lambda text: True
    with qtbot.waitSignal(page.actionDone, timeout=20000):
        page.trash_btn.click()
    (cs,) = sets  # one write, one change set
    assert cs.source == changes.TRASH and cs.removed_paths == {gone} and len(cs.removed) == 1
    # ...and every page followed it: the group left the list, the grid lost the file, lookalikes are stale
    assert len(page.groups) == n_groups - 1 and not page.marked
    qtbot.waitUntil(lambda: win.grid_model.rowCount() == n_files - 1, timeout=10000)
    assert "changed" in win.lookalikes.stale_label.text()
    qtbot.waitUntil(lambda: f"{n_files - 1} photos" in win.sidebar.totals.text(), timeout=10000)

    with qtbot.waitSignal(page.undoDone, timeout=20000):
        page.undo_last()
    assert [c.source for c in sets] == [changes.TRASH, changes.UNDO] and sets[1].added
    qtbot.waitUntil(lambda: win.grid_model.rowCount() == n_files, timeout=10000)
    assert os.path.exists(gone)


def test_lookalikes_tab_says_what_to_do_and_offers_a_button(qtbot, indexed_window, photos):
    win = indexed_window
    page = win.lookalikes
    win.tabs.setCurrentWidget(page)
    win.resize(1100, 700)  # the placeholder used to vanish on the first resize
    qtbot.waitUntil(lambda: page.query_label.isVisible())
    assert "Drop a photo" in page.query_label.text() and "paste" in page.query_label.text()
    assert page.open_btn.isVisible() and page.open_btn.text() == "Open photo…"
    win.choose_photo_file = lambda: str(photos["unique"][2])  # the file dialog, answered
    with qtbot.waitSignal(page.resultsReady, timeout=20000):
        page.open_btn.click()
    assert page.query_text.text() == str(photos["unique"][2])


def test_first_run_welcome_and_dialogs_open_in_pictures(qtbot, library, settings, photos, tmp_path, monkeypatch):
    from imgsim_desktop.gui.main_window import MainWindow
    from imgsim_desktop.gui.settings import pictures_dir

    home = tmp_path / "user"
    (home / "Pictures").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert Path(pictures_dir()) == home / "Pictures"
    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda parent, title, start: asked.append(start) or str(photos["root"])))
    win = MainWindow(library, settings, start_watcher=False)
    qtbot.addWidget(win)
    win.show()
    try:
        assert win.library_stack.currentWidget() is win.welcome and win.welcome.isVisible()
        assert "Add a folder" in win.welcome.text.text()
        with qtbot.waitSignal(win.scanFinished, timeout=60000):
            win.welcome.add_btn.click()
        assert asked == [str(home / "Pictures")]  # not the install folder
        qtbot.waitUntil(lambda: win.library_stack.currentIndex() == 1, timeout=10000)
    finally:
        win.shutdown()


def test_an_empty_library_s_pages_point_at_adding_a_folder(qtbot, window, photos):
    from imgsim_desktop.gui.duplicates import NO_PHOTOS

    win = window
    qtbot.waitUntil(lambda: win.duplicates.group_title.text() == NO_PHOTOS, timeout=10000)
    assert not win.duplicates.clear_btn.isEnabled()   # nothing marked, nothing to clear
    with qtbot.waitSignal(win.lookalikes.resultsReady, timeout=20000):
        win.lookalikes.search_path(photos["unique"][0])
    assert "no photos yet" in win.lookalikes.status.text() and "Ctrl+O" in win.lookalikes.status.text()
    with qtbot.waitSignal(win.scanFinished, timeout=60000):
        win.add_folder(str(photos["root"]))
    # "Press Find duplicates…", or the background check's "N groups … found: press Find duplicates"
    qtbot.waitUntil(lambda: "Find duplicates" in win.duplicates.group_title.text(), timeout=10000)
    with qtbot.waitSignal(win.lookalikes.resultsReady, timeout=20000):
        win.lookalikes.rerun()
    assert win.lookalikes.status.text().endswith("results")


def test_sidebar_shows_the_watcher_at_work(qtbot, library, settings, photos):
    pytest.importorskip("imgsim_desktop.core.watcher")
    from imgsim_desktop.gui.main_window import MainWindow

    win = MainWindow(library, settings, start_watcher=True)
    qtbot.addWidget(win)
    try:
        _index(qtbot, win, photos["root"])
        qtbot.waitUntil(lambda: not win.controller.watcher_busy, timeout=30000)
        assert "Done" not in win.sidebar.bar.format()
        texts = []
        win.controller.watcherActivity.connect(lambda busy: texts.append(win.sidebar.state_label.text()))
        (photos["root"] / "arrived.jpg").write_bytes(photos["unique"][8].read_bytes())
        qtbot.waitUntil(lambda: len(texts) >= 2, timeout=30000)
        assert texts[0].startswith("Watching") and texts[-1] == "Up to date"   # not the first scan's figures
        assert win.sidebar.detail.text() == "Watching your folders for changes"
    finally:
        win.shutdown()


def test_quit_with_the_watcher_and_a_scan_running(qtbot, library, settings, tmp_path, photo_factory):
    """Ctrl+Q in the middle of everything: the window closes, the scan stops, the watcher joins, and no
    thread or task is left behind (checked by the autouse fixture)."""
    pytest.importorskip("imgsim_desktop.core.watcher")
    from imgsim_desktop.gui.main_window import MainWindow

    big = tmp_path / "big"
    big.mkdir()
    for i in range(60):
        photo_factory(3000 + i).save(big / f"p{i:03d}.jpg")
    win = MainWindow(library, settings, start_watcher=True)
    qtbot.addWidget(win)
    win.show()
    progress = []
    win.controller.progressed.connect(progress.append)
    win.add_folder(str(big))
    qtbot.waitUntil(lambda: bool(progress), timeout=30000)
    quit_action = next(a for a in win.menuBar().actions()[0].menu().actions() if a.text() == "Quit")
    quit_action.trigger()
    assert not win.isVisible() and win.watcher is None
    qtbot.waitUntil(lambda: not win.scans.running, timeout=30000)


def test_the_qt_binding_does_not_leak_references():
    """The crash after minutes of use: PySide6 6.12.0 takes a reference from None/True on every call."""
    from imgsim_desktop.gui.qtcheck import binding_leaks

    assert binding_leaks() is None


def test_compare_says_the_last_pair_and_opens_anew_on_whole_photos(qtbot, indexed_window):
    """From a new user's try: N at the last pair did nothing without a word, and a Compare opened again kept
    "100 %" (a 4,352 px photo showed only sky)."""
    page = indexed_window.duplicates
    indexed_window.tabs.setCurrentWidget(page)
    page.threshold.setValue(1.0)
    _find(qtbot, page)
    page.select_group(len(page.groups) - 1)
    page.members.setFocus()
    qtbot.keyClick(page.members, Qt.Key.Key_Space)
    dlg = page.compare_dialog
    qtbot.waitUntil(lambda: dlg.isVisible() and dlg.isActiveWindow())
    dlg.compare.actual()
    qtbot.keyClick(dlg, Qt.Key.Key_N)
    assert dlg.where.text().endswith("that was the last pair")
    dlg.close()
    page.compare_current()   # Space again
    qtbot.waitUntil(dlg.isVisible)
    assert dlg.compare.fit_btn.isChecked() and not dlg.compare.actual_btn.isChecked()


def test_a_name_in_japanese_is_drawn_whole_on_its_tile(qtbot):
    """Its fallback font is taller than the tile's own: a line of the tile's font height cut it off."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionViewItem

    from imgsim_desktop.gui.models import ResultItem, ResultModel, ThumbDelegate

    name = "日本 写真 gyp.jpg"
    model = ResultModel(None)
    model.set_items([ResultItem(1, f"/x/{name}", None)])
    delegate = ThumbDelegate(thumb_size=120)
    opt = QStyleOptionViewItem()
    opt.rect = QRect(0, 0, 300, 240)
    opt.palette.setColor(opt.palette.ColorRole.Text, Qt.GlobalColor.black)

    def ink(paint) -> int:
        img = QImage(300, 240, QImage.Format.Format_RGB32)
        img.fill(Qt.GlobalColor.white)
        p = QPainter(img)
        paint(p)
        p.end()
        # the caption's band only: from under the thumbnail to where the folder line would end
        band = [img.pixelColor(x, y).lightness() for y in range(3 + 4 + 120 + 4, 3 + 4 + 120 + 4 + 40)
                for x in range(300)]
        return sum(v < 80 for v in band)   # black ink: the grey folder line is lighter

    def unclipped(p):
        p.setFont(opt.font)
        p.setPen(Qt.GlobalColor.black)
        p.drawText(QRect(5, 3 + 4 + 120 + 4, 290, 200), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                   name)

    drawn = ink(lambda p: delegate.paint(p, opt, model.index(0, 0)))
    assert drawn > 0 and drawn == pytest.approx(ink(unclipped), rel=0.02)


def test_a_group_named_in_japanese_gets_a_row_tall_enough_for_it(qtbot, window):
    """The group list's rows are of one height, the first's: "東京_0.jpg" further down lost its underscore."""
    from imgsim_desktop.core.duplicates import DuplicateGroup, GroupMember
    from imgsim_desktop.gui.models import line_height

    def group(name):
        members = [GroupMember(i, f"/x/{d}/{name}", 1.0, 10, 10, 100, "JPEG", None, 0) for i, d in enumerate("ab")]
        return DuplicateGroup("duplicates", members[0].path, members)

    page = window.duplicates
    page.groups, page.found = [group("pair_0.jpg"), group("東京_0.jpg")], True
    page._fill_groups()
    view = page.groups_view
    text = view.topLevelItem(1).text(0)
    assert "東京" in text
    assert view.visualItemRect(view.topLevelItem(1)).height() >= line_height(view.font(), view.fontMetrics(), text)
