"""Grouping logic on hand-made vectors: exact copies, thresholds, keeper choice, and no chaining."""

from __future__ import annotations

import numpy as np

from imgsim_desktop.core.catalog import FileRecord
from imgsim_desktop.core.duplicates import find_groups
from imgsim_desktop.core.index import VectorIndex
from imgsim_desktop.core.neighbours import knn_pairs


def rec(i, w=100, h=100, size=1000, h_=None, date=None):
    return FileRecord(i, f"/p/{i}.jpg", size, 0, h_ or f"hash{i}", w, h, "JPEG", date, "ok", None)


def unit_at(deg):
    a = np.deg2rad(deg)
    return np.array([np.cos(a), np.sin(a), 0, 0], np.float32)


def group(records, vecs, threshold, tier="duplicates"):
    ids = np.array(sorted(vecs), dtype=np.int64)
    mat = np.stack([vecs[i] for i in ids])
    ix = VectorIndex(4, "m")
    ix.add(ids, mat)
    return find_groups({r.id: r for r in records}, ids, mat, knn_pairs(ids, *ix.query(mat, 8), threshold),
                       threshold, tier)


def test_chain_is_split_around_the_keeper():
    # 1..4 sit 20 degrees apart: neighbours are similar (cos 20 = 0.94), the ends are not (cos 60 = 0.5).
    records = [rec(1, w=400), rec(2), rec(3), rec(4)]
    vecs = {1: unit_at(0), 2: unit_at(20), 3: unit_at(40), 4: unit_at(60)}
    groups = group(records, vecs, threshold=0.9)
    assert [sorted(m.file_id for m in g.members) for g in groups] in ([[1, 2], [3, 4]], [[3, 4], [1, 2]])
    for g in groups:
        assert all(m.similarity >= 0.9 for m in g.members)


def test_exact_copies_group_at_any_threshold_and_keeper_rules():
    records = [rec(1, w=100, size=900, h_="same", date="2020-01-02T00:00:00"),
               rec(2, w=100, size=900, h_="same", date="2019-05-05T00:00:00"),
               rec(3, w=50)]
    vecs = {1: unit_at(0), 2: unit_at(0), 3: unit_at(90)}
    (g,) = group(records, vecs, threshold=0.99)
    assert g.tier == "exact" and g.keeper == "/p/2.jpg"  # same size: earliest date taken wins
    assert [m.similarity for m in g.members] == [1.0, 1.0]


def test_threshold_decides_and_bigger_photo_keeps():
    records = [rec(1, w=50, size=5000), rec(2, w=200, size=100), rec(3)]
    vecs = {1: unit_at(0), 2: unit_at(10), 3: unit_at(80)}
    (g,) = group(records, vecs, threshold=0.95)
    assert g.tier == "duplicates" and g.keeper == "/p/2.jpg"  # resolution beats file size
    assert round(g.members[1].similarity, 3) == round(float(np.cos(np.deg2rad(10))), 3)
    assert group(records, vecs, threshold=0.99) == []
