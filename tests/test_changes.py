"""ChangeSet: the low-level events of one write fold into one typed answer (headless, no Qt)."""

from __future__ import annotations

from imgsim_desktop.core import changes
from imgsim_desktop.core.changes import ChangeSet
from imgsim_desktop.core.scanner import ChangeEvent


def test_events_of_one_write_fold_into_one_set():
    cs = ChangeSet(changes.SCAN)
    assert cs.empty and not cs.files_changed
    cs.add(ChangeEvent("added", [1, 2, 3], ["/a", "/b", "/c"]))
    cs.add(ChangeEvent("updated", [2, 4], ["/b", "/d"]))  # 2 is new in this write: it stays "added"
    cs.add(ChangeEvent("removed", [3], ["/c"]))           # added then removed: gone, not new
    cs.add(ChangeEvent("moved", [4], ["/e"]))
    assert cs.added == {1, 2} and cs.updated == {4} and cs.removed == {3}
    assert cs.removed_paths == {"/c"} and cs.moved == {4: "/e"}
    assert cs.files_changed and not cs.folders
    assert cs.summary() == "scan: 2 new, 1 changed, 1 moved, 1 gone"


def test_folder_moves_and_folder_list_changes():
    cs = ChangeSet(changes.WATCHER)
    cs.add(ChangeEvent("moved", [7, 8], ["/new-root"]))  # a folder moved: ids under one new root
    assert cs.moved == {7: "", 8: ""}
    cs2 = ChangeSet(changes.FOLDERS)
    cs2.add(ChangeEvent("folders", paths=["/photos"]))
    assert cs2.folders and not cs2.files_changed and not cs2.empty
    assert cs2.summary() == "folders: folders changed"
