"""The Qt-free review session on real files: marking rules, reference folders, RAW+JPEG units, reviewed
groups that stay reviewed, what an action removes, trash and undo through the library."""

from __future__ import annotations

import csv
import json
import shutil
import sys

import pytest
from PIL import Image

from imgsim_desktop.core import actions
from imgsim_desktop.core.catalog import INFO_VERSION
from imgsim_desktop.core.review import NOT_ITS_PHOTO, ReviewError, ReviewSession
from photos import photo
from review_photos import camera_jpeg, copies, fake_raw

ALL = -1.0
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop trash is Linux-only")


def _session(lib, tier="duplicates"):
    return ReviewSession(lib.duplicates(tier, ALL), tier)


def test_all_but_keeper_marks_the_copies_never_the_original(library, tmp_path):
    files = copies(tmp_path / "photos")
    library.scan([tmp_path / "photos"])
    s = _session(library)
    (g,) = s.groups
    report = s.mark_all_but_keeper()
    assert str(files["camera"]) not in s.marked
    assert set(s.marked) == {str(p) for k, p in files.items() if k != "camera"}
    assert report.marked == s.marked and report.skipped == []
    # the keeper itself cannot be marked, by rule or click
    with pytest.raises(ReviewError, match="keeper"):
        s.mark(files["camera"])
    r = s.removal()
    assert r.files == 5 and r.groups == 1
    assert r.bytes == sum(p.stat().st_size for k, p in files.items() if k != "camera")
    assert {f for f, _, _ in r.folders} == {str(files[k].parent) for k in files if k != "camera"}
    text = s.confirmation()
    assert "5 files" in text and str(files["png"].parent) in text


def test_never_every_member_and_keeper_choice(library, tmp_path):
    files = copies(tmp_path / "photos")
    library.scan([tmp_path / "photos"])
    s = _session(library)
    gid = s.groups[0].id
    s.set_keeper(gid, files["png"])
    assert s.keeper(gid) == str(files["png"]) and s.keeper_reason(gid) == "chosen by you"
    s.mark(files["camera"])
    assert s.toggle(files["camera"]) is False and not s.is_marked(files["camera"])
    s.mark_all_but_keeper(gid)
    assert str(files["png"]) not in s.marked and len(s.marked) == 5
    # a keeper that gets marked some other way is refused at the last line of defence
    s._marked[str(files["png"])] = None
    with pytest.raises(ReviewError, match="every photo"):
        s.check_safe()


def test_reference_folder_is_never_marked_whatever_the_rule(library, tmp_path):
    src = photo(3, (800, 600))
    cam = camera_jpeg(tmp_path / "photos" / "camera" / "IMG_0003.jpg", 3, img=src)
    ref = tmp_path / "photos" / "archive"
    ref.mkdir()
    small = ref / "IMG_0003-small.jpg"
    src.resize((400, 300)).save(small, quality=70)  # a worse copy, but in the reference folder
    library.add_folder(tmp_path / "photos")
    library.add_folder(ref, reference=True)
    assert library.reference_folders() == [ref.resolve()] and library.is_reference(small)
    library.scan()
    for rules in (None, ["resolution"], ["size", "camera"]):
        library.set_keeper_rules(rules)
        s = _session(library)
        (g,) = s.groups
        assert g.keeper == str(small) and g.keeper_reason.startswith("in a reference folder")
        assert [m.reference for m in g.members] == [True, False]
        s.mark_all_but_keeper(confirm_similar=True)
        assert s.marked == [str(cam)]
        with pytest.raises(ReviewError, match="reference"):
            s.mark(small)
        with pytest.raises(ReviewError, match="reference"):
            s.set_keeper(g.id, cam)
    # the library itself refuses to trash or move it, whoever asks
    action = library.trash([small])
    assert small.exists() and action.done_items == [] and "reference" in action.items[0].error
    action = library.move([small], tmp_path / "elsewhere")
    assert small.exists() and action.done_items == []
    # and so does core.actions for a caller that goes straight to the library's log
    action = actions.move_files([small, cam], tmp_path / "elsewhere", library.action_log)
    assert small.exists() and [i.src for i in action.done_items] == [str(cam)]
    library.set_reference(ref, False)
    assert library.reference_folders() == []


def test_raw_and_its_jpeg_stay_together(library, tmp_path):
    img = photo(7, (600, 400))
    raw = fake_raw(tmp_path / "p" / "IMG_0002.DNG", img)
    jpg = camera_jpeg(tmp_path / "p" / "IMG_0002.JPG", 7, img=img)
    wa = tmp_path / "p" / "IMG-WA0001.jpg"
    img.resize((300, 200)).save(wa, quality=60)
    library.scan([tmp_path / "p"])
    s = _session(library)
    (g,) = s.groups
    assert g.keeper == str(raw)
    report = s.mark_all_but_keeper()
    assert s.marked == [str(wa)]  # the camera JPEG goes with its RAW keeper
    assert any(p == str(jpg) and "RAW and JPEG" in why for p, why in report.skipped)
    with pytest.raises(ReviewError):
        s.mark(jpg)
    # keep the WhatsApp copy instead: the RAW and its JPEG are then marked as one unit
    s.clear()
    s.set_keeper(g.id, wa)
    assert s.mark(raw) == sorted([str(raw), str(jpg)])
    assert set(s.marked) == {str(raw), str(jpg)}
    s.unmark(jpg)
    assert s.marked == []


def test_a_raw_and_its_own_jpeg_are_no_group_to_clean_and_free_nothing(library, tmp_path):
    """From an outside try: a camera's RAW+JPEG pair was listed as a group with "Can free 339 KB", and "Mark
    all but keeper" then said "Marked 0 photos"."""
    img = photo(7, (600, 400))
    raw = fake_raw(tmp_path / "p" / "DSC_1005.DNG", img)
    jpg = camera_jpeg(tmp_path / "p" / "DSC_1005.JPG", 7, img=img)
    library.scan([tmp_path / "p"])
    assert library.duplicates("duplicates", ALL) == [] and library.duplicates("similar", ALL) == []
    backup = tmp_path / "p" / "Backup" / "DSC_1005.JPG"
    backup.parent.mkdir()
    shutil.copy(jpg, backup)
    library.scan([tmp_path / "p"])
    (g,) = library.duplicates("duplicates", ALL)
    by = {m.path: m for m in g.members}
    assert g.keeper == str(raw) and set(by) == {str(raw), str(jpg), str(backup)}
    assert by[str(jpg)].reason == "JPEG of the kept RAW"
    assert g.reclaimable_bytes == backup.stat().st_size
    s = ReviewSession([g])
    s.mark_all_but_keeper()
    assert s.marked == [str(backup)]


def test_a_raw_and_the_dng_converted_from_it_are_copies_not_one_shot():
    """A code review: a NEF and the DNG a converter wrote beside it counted as "RAW and JPEG of one shot", so
    their group vanished and neither could be marked."""
    from imgsim_desktop.core.duplicates import DuplicateGroup, GroupMember
    from imgsim_desktop.core.units import partners, with_raw_pairs

    members = [GroupMember(i, p, 1.0, 600, 400, 1000, f, None, 0) for i, (p, f) in
               enumerate([("/p/DSC_1.NEF", "NEF"), ("/p/DSC_1.dng", "DNG")])]
    g = DuplicateGroup("duplicates", "/p/DSC_1.NEF", members)
    assert not partners("/p/DSC_1.NEF", "/p/DSC_1.dng") and partners("/p/DSC_1.NEF", "/p/DSC_1.JPG")
    assert with_raw_pairs([g]) == [g] and g.reclaimable_bytes == 1000
    s = ReviewSession([g])
    assert s.mark("/p/DSC_1.dng") == ["/p/DSC_1.dng"]


def test_similar_tier_needs_a_second_confirmation(library, tmp_path):
    for i in range(3):
        camera_jpeg(tmp_path / "p" / f"burst{i}.jpg", 10 + i)
    library.scan([tmp_path / "p"])
    s = _session(library, "similar")
    assert [g.tier for g in s.groups] == ["similar"]
    report = s.mark_all_but_keeper()
    assert s.marked == [] and report.skipped and "confirm" in report.skipped[0][1]
    report = s.mark_all_but_keeper(confirm_similar=True)
    # confirmed: the keeper's copies and other shots are marked, a different photo never (said why)
    kinds = {str(m.path): (m.match or {}).get("kind") for m in s.groups[0].members if str(m.path) != s.groups[0].keeper}
    assert sorted(s.marked) == sorted(p for p, k in kinds.items() if k in ("same photo", "another shot"))
    assert all(why == NOT_ITS_PHOTO for p, why in report.skipped if p in kinds and p not in s.marked)


def test_reviewed_group_stays_reviewed_until_a_member_changes(library, tmp_path):
    src = photo(5, (640, 480))
    a = camera_jpeg(tmp_path / "p" / "a.jpg", 5, img=src)
    shutil.copy(a, tmp_path / "p" / "a copy.jpg")
    png = tmp_path / "p" / "a.png"
    src.save(png)
    library.scan([tmp_path / "p"])
    s = _session(library)
    gid = s.groups[0].id
    assert library.duplicates("duplicates", ALL)[0].id == gid  # stable across queries
    s.dismiss(gid, library, "keep_all")
    assert s.groups == [] and library.reviewed_groups() == {gid: "keep_all"}
    assert library.duplicates("duplicates", ALL) == []
    library.scan()  # a rescan does not bring it back
    assert library.duplicates("duplicates", ALL) == []
    assert [g.id for g in library.duplicates("duplicates", ALL, include_reviewed=True)] == [gid]
    # a member changes: the group is a new one, and comes back
    src.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(png)
    library.scan()
    back = library.duplicates("duplicates", ALL)
    assert len(back) == 1 and back[0].id != gid and len(back[0].members) == 3
    assert library.unset_reviewed(gid) and library.reviewed_groups() == {}


def test_export_json_and_csv(library, tmp_path):
    files = copies(tmp_path / "photos")
    library.scan([tmp_path / "photos"])
    s = _session(library)
    s.mark_all_but_keeper()
    data = json.loads(s.export(tmp_path / "out.json").read_text())
    (g,) = data["groups"]
    assert g["id"] == s.groups[0].id and g["keeper"] == str(files["camera"]) and g["keeper_reason"]
    assert sum(m["marked"] for m in g["members"]) == 5 and data["marked"]["files"] == 5
    with open(s.export(tmp_path / "out.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and sum(r["keeper"] == "True" for r in rows) == 1
    assert {r["marked"] for r in rows if r["path"] == str(files["camera"])} == {"False"}


@linux_only
def test_trash_and_undo_through_the_session(library, tmp_path, trash_env):
    files = copies(tmp_path / "photos")
    before = {k: p.read_bytes() for k, p in files.items()}
    library.scan([tmp_path / "photos"])
    s = _session(library)
    s.mark_all_but_keeper()
    action = s.trash(library)
    assert len(action.done_items) == 5 and s.groups == [] and s.marked == []
    assert files["camera"].exists() and not files["png"].exists()
    assert library.count() == 1 and library.history()[-1].id == action.id
    report = library.undo()
    assert report.failed == [] and len(report.restored) == 5
    assert {k: p.read_bytes() for k, p in files.items()} == before
    assert library.count() == 6
    assert len(_session(library).groups) == 1


def test_update_keeps_choices_and_marks_that_still_apply(library, tmp_path):
    files = copies(tmp_path / "photos")
    library.scan([tmp_path / "photos"])
    s = _session(library)
    gid = s.groups[0].id
    s.set_keeper(gid, files["backup"])
    s.mark(files["png"])
    s.mark(files["camera"])
    s.update(library.duplicates("duplicates", ALL))  # nothing changed: same id, same choices
    assert s.keeper(gid) == str(files["backup"]) and s.keeper_reason(gid) == "chosen by you"
    assert s.marked == [str(files["png"]), str(files["camera"])]
    files["whatsapp"].unlink()  # a member goes: a new group, the rule's keeper, marks that still apply
    library.scan()
    s.update(library.duplicates("duplicates", ALL))
    (g,) = s.groups
    assert g.id != gid and s.keeper(g.id) == str(files["camera"])
    assert s.marked == [str(files["png"])]


def test_the_confirmation_says_when_a_chosen_keeper_is_smaller_than_a_copy_going_away(library, tmp_path):
    """From a new user's try: K on the half-size copy made its tile say only "kept", and the trash's
    confirmation did not say that the larger original was going."""
    files = copies(tmp_path / "photos")
    library.scan([tmp_path / "photos"])
    s = _session(library)
    gid = s.groups[0].id
    s.mark_all_but_keeper(gid)
    assert "Note:" not in s.confirmation()   # the keeper rule's choice: explained beside the group already
    reason = s.groups[0].keeper_reason
    assert reason
    s.set_keeper(gid, files["whatsapp"])
    s.mark_all_but_keeper(gid)
    text = s.confirmation()
    # the photo the rule kept goes too: named, with why it was the keeper (a K in Compare had taken the
    # keeper from a camera original, and the note spoke only of pixels: the fourth outside try)
    assert (f"Note: IMG_0001.jpg (800×600), the photo this group would keep ({reason}), goes away; you chose to "
            "keep IMG-20210502-WA0003.jpg (480×360).") in text
    s.unmark(files["camera"])   # the rule's keeper stays: the note is about pixels only
    text = s.confirmation()
    assert "Note: IMG-20210502-WA0003.jpg (480×360) is kept, smaller than IMG_0001-2.jpg (1600×1200)" in text


def test_a_file_of_several_pictures_is_never_marked_with_the_copies(library, tmp_path):
    """From an outside try: a two-page TIFF and an animated GIF whose first picture is a photo of the library
    were "same photo: re-saved or retouched", and "all but keeper" would have trashed their other pages."""
    import os

    folder = tmp_path / "photos"
    folder.mkdir()
    first, second, third = (photo(s, (480, 360)) for s in (21, 22, 23))
    first.save(folder / "IMG_0001.jpg", quality=92)
    first.save(folder / "scan.tif", save_all=True, append_images=[second])
    first.save(folder / "clip.gif", save_all=True, append_images=[second, third], duration=100)
    library.scan([folder])
    s = _session(library)
    (g,) = s.groups
    pictures = {os.path.basename(m.path): m.pictures for m in g.members}
    assert pictures == {"IMG_0001.jpg": 1, "scan.tif": 2, "clip.gif": 3}
    many = [m for m in g.members if m.pictures > 1 and m.path != g.keeper]
    assert many and all(m.reason.endswith("only its first was compared") for m in many)
    report = s.mark_all_but_keeper()
    assert not any(s.is_marked(m.path) for m in many)
    assert {p for p, why in report.skipped if "pictures (pages or frames)" in why} == {m.path for m in many}
    s.mark(many[0].path)   # by hand, it may go: the trash's question says what goes with it
    assert f"Note: {os.path.basename(many[0].path)} ({many[0].pictures}) holds several pictures" in s.confirmation()
    counted = {os.path.basename(d["path"]): d["pictures"] for d in library.duplicates("duplicates", ALL)[0]
               .to_dict()["members"]}
    assert counted == pictures   # in --json too
    # a library upgraded from before the count (the column empty until its next scan): read from the header
    with library._lock, library.catalog.transaction():
        library.catalog.conn.execute("UPDATE files SET pictures=NULL")
    again = {os.path.basename(m.path): m.pictures for m in _session(library).groups[0].members}
    assert again == pictures
    # ...and its next scan stores the count: headers read again only for formats that can hold several
    with library._lock, library.catalog.transaction():
        library.catalog.conn.execute("UPDATE files SET info_version=2")
    library.scan()
    stored = {os.path.basename(r.path): (r.pictures, r.info_version) for r in library.catalog.all_files()}
    assert stored == {k: (n, INFO_VERSION) for k, n in pictures.items()}


def test_a_file_of_several_pictures_stays_when_its_raw_partner_or_a_copy_of_it_goes(library, tmp_path):
    """From a review: a RAW marked with its same-named partner took a 3-page TIFF along; and a byte-identical
    copy of an animation is a plain copy (the same pages), marked as any other."""
    import os
    import shutil

    folder = tmp_path / "p"
    a, b, c, d = (photo(s, (480, 360)) for s in (31, 32, 33, 34))
    folder.mkdir()
    a.save(folder / "a.jpg", quality=92)
    a.save(folder / "IMG_1.tif", save_all=True, append_images=[c, d])     # group 1: a.jpg keeps
    fake_raw(folder / "keep.DNG", b)
    fake_raw(folder / "IMG_1.DNG", b.resize((240, 180)))                    # group 2: keep.DNG keeps
    c.save(folder / "anim.gif", save_all=True, append_images=[d, b], duration=80)
    shutil.copy(folder / "anim.gif", folder / "anim copy.gif")              # group 3: exact copies
    library.scan([folder])
    s = _session(library)
    keepers = {os.path.basename(g.keeper) for g in s.groups}
    assert {"a.jpg", "keep.DNG"} <= keepers and len(s.groups) == 3
    s.mark_all_but_keeper()
    assert not s.is_marked(folder / "IMG_1.tif") and not s.is_marked(folder / "IMG_1.DNG")
    (exact,) = [g for g in s.groups if g.tier == "exact"]
    assert [m.path for m in exact.members if s.is_marked(m.path)] == [m.path for m in exact.members
                                                                       if m.path != exact.keeper]
    assert "several pictures" not in s.confirmation()   # the copy holds the same pages as its keeper


def test_an_identical_copy_kept_in_a_reference_folder_reads_as_the_photo_and_the_other_as_its_copy(library, tmp_path):
    """An outside try: with Drive B a reference folder, its copy was kept but read "exact copy", and Drive A's
    file, the one offered for the trash, read "the whole photo the others were matched against"."""
    import shutil

    src = photo(4, (640, 480))
    a, b = tmp_path / "Drive A" / "Xmas", tmp_path / "Drive B" / "Xmas"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    src.save(a / "P1.JPG", quality=90)
    src.resize((320, 240)).save(a / "P1-small.JPG", quality=80)
    shutil.copy2(a / "P1.JPG", b / "P1.JPG")
    shutil.copy2(a / "P1-small.JPG", b / "P1-small.JPG")
    library.add_folder(tmp_path / "Drive A")
    library.add_folder(tmp_path / "Drive B", reference=True)
    library.scan()
    (g,) = library.duplicates("duplicates")
    words = {m.path: m.reason for m in g.members}
    assert g.keeper == str(b / "P1.JPG")
    assert words[str(b / "P1.JPG")] == "the whole photo the others were matched against"
    assert words[str(a / "P1.JPG")] == "exact copy"
