"""Lookalike results for a person: exact copies shown once, near-duplicates first, each score from its space;
checked on hand-made hits and on a real library with a backup copy and an edited copy of the query."""

from __future__ import annotations

import shutil

from PIL import Image

from imgsim_desktop.core.ranking import rank_for_person
from photos import write_photos


def test_rank_for_person_on_hand_made_hits():
    paths = {i: f"/p/{i}.jpg" for i in range(1, 8)}
    hashes = {1: "q", 2: "q", 3: "a", 4: "a", 5: "b", 6: "c", 7: "d"}   # 1, 2: the query's bytes; 3, 4: one file twice
    look = [(5, 0.9), (3, 0.8), (4, 0.8), (6, 0.7), (7, 0.6), (1, 0.5)]
    dup = [(1, 1.0), (2, 1.0), (6, 0.85), (7, 0.80), (5, 0.3), (3, 0.2)]
    got = rank_for_person(10, hashes, paths, look, dup, dup_cut=0.8, query_hash="q")
    assert [(r.file_id, r.kind, r.space) for r in got] == [
        (1, "exact", "duplicates"), (6, "duplicate", "duplicates"), (7, "duplicate", "duplicates"),
        (5, "lookalike", "lookalikes"), (3, "lookalike", "lookalikes")]
    assert got[0].copies == ["/p/2.jpg"] and got[-1].copies == ["/p/4.jpg"]
    assert [r.score for r in got] == [1.0, 0.85, 0.80, 0.9, 0.8]
    # k cuts after collapsing copies
    assert len(rank_for_person(2, hashes, paths, look, dup, 0.8, "q")) == 2
    # the duplicates space ranks everything by its own score
    only = rank_for_person(10, hashes, paths, look, dup, 0.8, "q", primary="duplicates")
    assert all(r.space == "duplicates" for r in only) and [r.file_id for r in only] == [1, 6, 7, 5, 3]


def test_library_shows_a_backup_once_and_ranks_by_kind(library, tmp_path):
    d = tmp_path / "photos"
    photos = write_photos(d, 10)
    q = photos[0]
    shutil.copy(q, d / "backup-a.jpg")
    shutil.copy(q, d / "backup-b.jpg")
    Image.open(q).resize((200, 150)).save(d / "small.jpg", quality=70)
    library.add_folder(d)
    library.scan()
    got = library.similar(q, k=20)
    paths = [r.path for r in got]
    assert str(q) not in paths
    exact = [r for r in got if r.kind == "exact"]
    assert len(exact) == 1 and sorted([exact[0].path] + exact[0].copies) == sorted(
        [str(d / "backup-a.jpg"), str(d / "backup-b.jpg")])
    assert got[0].kind == "exact"
    kinds = [r.kind for r in got]
    assert kinds == sorted(kinds, key=["exact", "duplicate", "lookalike"].index)
    assert len(got) == 11   # 12 other files, the two backups shown as one
