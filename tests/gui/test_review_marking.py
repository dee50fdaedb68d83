"""The Duplicates page marks through the core's review rules (issue 11, items 2-4; issue 10's reasons):
reference folders, the similar tier's second confirmation, the confirmation's folders and bytes, reviewed
groups, the sidebar's reference checkbox. Real widgets, real library, real files."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt


def _index(qtbot, win, folder):
    with qtbot.waitSignal(win.scanFinished, timeout=60000):
        win.add_folder(str(folder))


def _find(qtbot, page, tier="duplicates"):
    page.tier_combo.setCurrentIndex(0 if tier == "duplicates" else 1)
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find()


def _group_of(page, path) -> int:
    return next((gi for gi, g in enumerate(page.groups) if str(path) in {str(m.path) for m in g.members}), -1)


@pytest.fixture
def with_reference(qtbot, window, tmp_path, photo_factory):
    """camera/ holds a photo; backup/ (a reference folder) holds two byte copies of it and a unique photo."""
    camera, backup = tmp_path / "camera", tmp_path / "backup"
    camera.mkdir()
    backup.mkdir()
    photo_factory(11).save(camera / "IMG_0011.jpg", quality=90)
    data = (camera / "IMG_0011.jpg").read_bytes()
    (backup / "IMG_0011.jpg").write_bytes(data)
    (backup / "IMG_0011 (copy).jpg").write_bytes(data)
    photo_factory(12).save(backup / "IMG_0012.jpg", quality=90)
    _index(qtbot, window, camera)
    _index(qtbot, window, backup)
    window.lib.set_reference(backup, True)
    return {"camera": camera, "backup": backup, "original": camera / "IMG_0011.jpg",
            "refs": [backup / "IMG_0011.jpg", backup / "IMG_0011 (copy).jpg"]}


def test_all_but_keeper_never_marks_a_reference_photo(qtbot, window, with_reference):
    page = window.duplicates
    page.threshold.setValue(1.0)  # byte copies only, whatever the model
    _find(qtbot, page)
    gi = _group_of(page, with_reference["original"])
    assert gi >= 0 and len(page.groups[gi].members) == 3
    refs = {str(p) for p in with_reference["refs"]}
    assert page.keeper_of(gi) in refs  # a reference photo is always the keeper
    page.auto_mark_all()
    # the other reference copy stays unmarked: only the photo outside the reference folder is marked
    assert page.marked == {str(with_reference["original"])}
    assert "reference folder" in page.status.text()

    # a click on the other reference photo is refused, and the status line says why
    page.select_group(gi)
    page.clear_marks()
    other = next(r for r in refs if r != page.keeper_of(gi))
    row = next(i for i, it in enumerate(page.model.items) if it.path == other)
    page.members.setCurrentIndex(page.model.index(row, 0))
    page.toggle_mark_current()
    assert not page.marked and "reference folder" in page.status.text()
    # ...and so is choosing a non-reference photo as keeper
    row = next(i for i, it in enumerate(page.model.items) if it.path == str(with_reference["original"]))
    page.members.setCurrentIndex(page.model.index(row, 0))
    page.keep_current()
    assert page.keeper_of(gi) in refs and "reference" in page.status.text()


def test_the_similar_tier_asks_before_marking(qtbot, indexed_window):
    page = indexed_window.duplicates
    _find(qtbot, page, "similar")
    similar = [g for g in page.groups if g.tier == "similar"]
    if not similar:
        pytest.skip("the test model made no similar group of these photos")
    from imgsim_desktop.core.duplicates import MARKED_WITH_THE_REST

    asked = []
    takes_any = any((getattr(m, "match", None) or {}).get("kind") in MARKED_WITH_THE_REST
                    for g in similar for m in g.members if str(m.path) != str(g.keeper))
    copies = [g for g in page.groups if g.tier != "similar"]
    # one question, three answers when groups of copies are listed too (an outside try: "No" still marked them)
    if copies and takes_any:
        page.ask_similar = lambda text: asked.append(text) or None    # cancel: nothing at all
        page.auto_mark_all()
        assert not page.marked and page.status.text() == "Nothing marked."
        asked.clear()
    page.confirm = lambda text: asked.append(text) or False  # the user says no
    page.ask_similar = lambda text: asked.append(text) or "copies"
    page.auto_mark_all()
    # asked when there is something to take; with only other photos there, no question (the sixth try was
    # asked "Mark the copies and the other shots?" of groups that held neither)
    assert len(asked) == int(takes_any) and all("similar" in a for a in asked)
    if takes_any:
        assert not any(str(m.path) in page.marked for g in similar for m in g.members)
    for g in copies:   # "only groups of copies": those marked all but their keeper
        assert {str(m.path) for m in g.members} - page.marked == {str(g.keeper)}
    page.confirm = lambda text: asked.append(text) or True
    page.ask_similar = lambda text: asked.append(text) or "all"
    page.auto_mark_all()
    assert len(asked) == 2 * int(takes_any)

    for g in similar:   # the keeper's copies and other shots; a different photo only by hand
        takes = [str(m.path) for m in g.members if str(m.path) != str(g.keeper)
                 and (getattr(m, "match", None) or {}).get("kind") in MARKED_WITH_THE_REST]
        assert sorted(p for p in page.marked if p in {str(m.path) for m in g.members}) == sorted(takes)


def test_trash_confirmation_names_files_bytes_and_folders(qtbot, indexed_window, photos, trash_env):
    page = indexed_window.duplicates
    page.threshold.setValue(1.0)
    _find(qtbot, page)
    page.auto_mark_all()
    marked = page.marked_paths()
    assert marked
    asked = []
    page.confirm = lambda text: asked.append(text) or False
    page.trash_btn.click()
    from imgsim_desktop.core.actions import format_bytes

    size = sum(os.path.getsize(p) for p in marked)
    assert f"{len(marked)} files ({format_bytes(size)})" in asked[0]
    for folder in {os.path.dirname(p) for p in marked}:
        assert folder in asked[0]
    assert all(os.path.exists(p) for p in marked)  # said no: nothing moved



def test_keeper_reason_and_each_members_match_are_shown(qtbot, window, tmp_path):
    from review_photos import copies

    from imgsim_desktop.gui.models import LabelRole

    c = copies(tmp_path / "photos")
    _index(qtbot, window, tmp_path / "photos")
    page = window.duplicates
    _find(qtbot, page)
    gi = _group_of(page, c["camera"])
    assert gi >= 0 and page.keeper_of(gi) == str(c["camera"])
    page.select_group(gi)
    reason = page.groups[gi].keeper_reason
    assert "camera original" in reason
    assert page.keeper_why.isVisibleTo(page) and reason in page.keeper_why.text()
    assert reason in page.groups_view.topLevelItem(gi).toolTip(0)

    rows = {it.path: page.model.index(i, 0) for i, it in enumerate(page.model.items)}
    labels = {p: i.data(LabelRole) for p, i in rows.items()}
    assert labels[str(c["camera"])] == "kept"
    assert labels[str(c["backup"])] == "exact copy"
    members = {str(m.path): m for m in page.groups[gi].members}
    for name in ("whatsapp", "screenshot"):
        p = str(c[name])
        if p in labels:  # the verifier's words, not a bare similarity
            assert labels[p] == members[p].reason and labels[p].startswith("same photo")
            assert members[p].reason in rows[p].data(Qt.ItemDataRole.ToolTipRole)
    assert str(c["whatsapp"]) in labels

    # the user's own choice of keeper says so
    row = list(rows).index(str(c["png"])) if str(c["png"]) in rows else list(rows).index(str(c["whatsapp"]))
    page.members.setCurrentIndex(page.model.index(row, 0))
    page.keep_current()
    assert page.keeper_why.text() == "Kept because: chosen by you"


def test_not_duplicates_and_keep_all_remove_the_group_for_good(qtbot, indexed_window, photos):
    win = indexed_window
    page = win.duplicates
    page.threshold.setValue(1.0)  # the three byte-copy groups, whatever the model
    _find(qtbot, page)
    n = len(page.groups)
    assert n >= 2
    sets = []
    win.controller.changed.connect(sets.append)
    page.select_group(0)
    first = page.groups[0].id
    assert page.not_dupes_btn.isEnabled()
    with qtbot.waitSignal(page.groupReviewed, timeout=20000) as blocker:
        page.not_dupes_btn.click()
    assert blocker.args == [first, "not_duplicates"] and len(sets) == 1  # one write, one change set
    assert len(page.groups) == n - 1 and first not in {g.id for g in page.groups}
    assert page.groups_view.topLevelItemCount() == n - 1
    page.select_group(0)
    second = page.groups[0].id
    with qtbot.waitSignal(page.groupReviewed, timeout=20000):
        page.keep_all_btn.click()
    assert win.lib.reviewed_groups() == {first: "not_duplicates", second: "keep_all"}

    # a new search, and a rescan of the folder, do not bring them back
    _find(qtbot, page)
    assert len(page.groups) == n - 2 and not {first, second} & {g.id for g in page.groups}
    with qtbot.waitSignal(win.scanFinished, timeout=60000):
        win.add_folder(str(photos["root"]))
    _find(qtbot, page)
    assert len(page.groups) == n - 2 and not {first, second} & {g.id for g in page.groups}


def test_sidebar_reference_checkbox_sets_the_folder_as_reference(qtbot, window, tmp_path, photo_factory):
    camera, backup = tmp_path / "camera", tmp_path / "backup"
    camera.mkdir()
    backup.mkdir()
    photo_factory(21).save(camera / "IMG_0021.jpg", quality=90)
    (backup / "IMG_0021.jpg").write_bytes((camera / "IMG_0021.jpg").read_bytes())
    _index(qtbot, window, camera)
    _index(qtbot, window, backup)
    bar = window.sidebar
    qtbot.waitUntil(lambda: bar.folders.count() == 2 and not bar.pending(), timeout=10000)

    def item():
        return next(bar.folders.item(i) for i in range(bar.folders.count())
                    if bar.folders.item(i).data(Qt.ItemDataRole.UserRole) == str(backup.resolve()))

    assert not bar.reference_box.isEnabled()  # nothing selected yet
    bar.folders.setCurrentItem(item())
    assert bar.reference_box.isEnabled() and not bar.reference_box.isChecked()
    sets = []
    window.controller.changed.connect(sets.append)
    with qtbot.waitSignal(window.controller.changed, timeout=20000):
        bar.reference_box.click()
    assert window.lib.reference_folders() == [backup.resolve()]
    assert sets[0].folders  # one write, announced as a folders change
    qtbot.waitUntil(lambda: "reference" in item().text(), timeout=10000)
    assert bar.reference_box.isChecked()

    # the Duplicates page now keeps the backup copy and never marks it
    page = window.duplicates
    page.threshold.setValue(1.0)
    _find(qtbot, page)
    gi = _group_of(page, camera / "IMG_0021.jpg")
    assert page.keeper_of(gi) == str(backup.resolve() / "IMG_0021.jpg")
    page.auto_mark_all()
    assert page.marked == {str(camera.resolve() / "IMG_0021.jpg")}

    bar.folders.setCurrentItem(item())
    with qtbot.waitSignal(window.controller.changed, timeout=20000):
        bar.reference_box.click()  # and off again
    assert window.lib.reference_folders() == []
    qtbot.waitUntil(lambda: "reference" not in item().text(), timeout=10000)


def test_all_but_keeper_keeps_a_raw_and_its_jpeg_together(qtbot, window, tmp_path):
    from photos import photo
    from review_photos import camera_jpeg, fake_raw

    img = photo(7, (600, 400))
    shot = tmp_path / "photos" / "shoot"
    raw = fake_raw(shot / "IMG_0002.DNG", img)
    jpg = camera_jpeg(shot / "IMG_0002.JPG", 7, img=img)
    backup = tmp_path / "photos" / "backup" / "IMG_0002.JPG"
    backup.parent.mkdir(parents=True)
    backup.write_bytes(jpg.read_bytes())
    _index(qtbot, window, tmp_path / "photos")
    page = window.duplicates
    _find(qtbot, page)
    gi = _group_of(page, raw)
    assert gi >= 0 and {str(raw), str(jpg), str(backup)} <= {str(m.path) for m in page.groups[gi].members}
    assert page.keeper_of(gi) == str(raw)
    page.select_group(gi)
    page.auto_mark_group()
    assert str(jpg) not in page.marked and str(backup) in page.marked  # the camera's pair stays whole
    # marking the keeper's JPEG by hand is refused, with the reason
    row = next(i for i, it in enumerate(page.model.items) if it.path == str(jpg))
    page.members.setCurrentIndex(page.model.index(row, 0))
    page.toggle_mark_current()
    assert str(jpg) not in page.marked and "RAW and JPEG" in page.status.text()


def test_keep_all_and_not_duplicates_can_be_undone(qtbot, indexed_window):
    """One click hid a group for good, with no confirmation and no way back; Undo now brings it back."""
    win = indexed_window
    page = win.duplicates
    page.threshold.setValue(1.0)  # the three byte-copy groups, whatever the model
    _find(qtbot, page)
    n = len(page.groups)
    page.select_group(1)
    gid = page.groups[1].id
    page.auto_mark_group()   # a mark the user made before deciding to keep them all
    marks = set(page.marked)
    assert marks
    with qtbot.waitSignal(page.groupReviewed, timeout=20000):
        page.keep_all_btn.click()
    assert len(page.groups) == n - 1 and "Undo" in page.status.text() and page.undo_btn.isEnabled()
    assert not page.marked and "mark taken off" in page.status.text()   # every photo is kept
    page.undo_btn.click()
    qtbot.waitUntil(lambda: len(page.groups) == n, timeout=20000)
    assert page.groups[1].id == gid and page.current_group_index() == 1
    assert page.marked == marks   # the undo gave the mark back, as it was
    assert win.lib.reviewed_groups() == {} and not page.undo_btn.isEnabled()
    _find(qtbot, page)   # and a new search finds it again
    assert gid in {g.id for g in page.groups}


def test_marking_a_jpeg_says_its_raw_goes_with_it(qtbot, window, tmp_path, photo_factory):
    """From an outside try: marking a backup JPEG marked its RAW too, and the status line still showed an older
    message. The open dialog listed no RAW file either."""
    import shutil

    from imgsim_desktop.gui.main_window import photo_filter

    assert "*.nef" in photo_filter() and "*.NEF" in photo_filter() and "*.heif" in photo_filter()
    cam, backup = tmp_path / "cam", tmp_path / "cam" / "Backup"
    backup.mkdir(parents=True)
    img = photo_factory(21)
    img.save(cam / "DSC_1004.TIF")
    img.save(cam / "DSC_1004.JPG", quality=92)
    shutil.copy(cam / "DSC_1004.TIF", backup / "DSC_1004.DNG")   # a TIFF-structured RAW stand-in, as DNG is
    shutil.copy(cam / "DSC_1004.JPG", backup / "DSC_1004.JPG")
    _index(qtbot, window, cam)
    page = window.duplicates
    page.threshold.setValue(1.0)
    _find(qtbot, page)
    gi = _group_of(page, backup / "DSC_1004.JPG")
    assert gi >= 0
    page.select_group(gi)
    row = next(i for i, it in enumerate(page.model.items) if it.path == str(backup / "DSC_1004.JPG"))
    page.members.setCurrentIndex(page.model.index(row, 0))
    page.toggle_mark_current()
    assert page.marked == {str(backup / "DSC_1004.JPG"), str(backup / "DSC_1004.DNG")}
    assert page.status.text() == "Marked DSC_1004.JPG with DSC_1004.DNG: RAW and JPEG of one shot go together."
    # Clear marks on the JPEG's group takes its RAW's mark off too (a code review: the RAW stayed marked, and
    # the next action marked the JPEG again by the unit rule)
    page.clear_marks()
    assert page.marked == set()
    assert page.status.text() == "Took 1 mark off this group, and DSC_1004.DNG (RAW and JPEG of one shot)."
    assert page.review().marked == []


def test_a_group_left_with_the_keeper_and_its_own_jpeg_leaves_the_list(qtbot, window, tmp_path, trash_env,
                                                                       monkeypatch):
    """Seen in a real window: after the backup copy went to the trash, the group stayed as the RAW and its
    camera JPEG, "Can free 0 B": a pair the grouping no longer lists."""
    import shutil

    from photos import photo   # detailed enough to verify (the window's synthetic photos are flat shapes)

    cam = tmp_path / "cam"
    (cam / "Backup").mkdir(parents=True)
    img = photo(7, (600, 400))
    img.save(cam / "DSC_1007.DNG", format="TIFF")   # a TIFF-structured RAW stand-in, as DNG is
    img.save(cam / "DSC_1007.JPG", quality=92)
    shutil.copy(cam / "DSC_1007.JPG", cam / "Backup" / "DSC_1007.JPG")
    _index(qtbot, window, cam)
    page = window.duplicates
    from imgsim_desktop.core import library_groups

    monkeypatch.setattr(library_groups, "CANDIDATE_SIM", -1.0)   # the test model's cosines are no guide
    _find(qtbot, page)
    gi = _group_of(page, cam / "Backup" / "DSC_1007.JPG")
    assert gi >= 0 and {str(m.path) for m in page.groups[gi].members} == {
        str(cam / "DSC_1007.DNG"), str(cam / "DSC_1007.JPG"), str(cam / "Backup" / "DSC_1007.JPG")}
    page.select_group(gi)
    page.auto_mark_group()
    assert page.marked == {str(cam / "Backup" / "DSC_1007.JPG")}
    page.confirm = lambda text: True
    with qtbot.waitSignal(page.actionDone, timeout=20000):
        page.trash_btn.click()
    assert _group_of(page, cam / "DSC_1007.DNG") == -1
