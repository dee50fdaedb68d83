"""Grouping logic on hand-made vectors: exact copies, thresholds, keeper choice, and no chaining."""

from __future__ import annotations

import numpy as np

from imgsim_desktop.core.catalog import FileRecord
from imgsim_desktop.core.duplicates import DuplicateGroup, GroupMember, find_groups
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


def _rule_one_keeper_at_a_time(records, ids, vecs, pairs, threshold):
    """The keeper split written plainly (as it was before issue 13): compare the best photo left with every
    other photo of its component, group those within the threshold, repeat."""
    from imgsim_desktop.core.duplicates import _UnionFind, keeper_key

    uf = _UnionFind()
    for a, b in zip(pairs[0].tolist(), pairs[1].tolist()):
        uf.union(a, b)
    by_hash = {}
    for r in records.values():
        by_hash.setdefault(r.hash, []).append(r.id)
    for same in by_hash.values():
        for other in same[1:]:
            uf.union(same[0], other)
    vec_of = dict(zip(ids.tolist(), vecs))
    out = set()
    for comp in uf.groups():
        rest = sorted((records[f] for f in comp), key=keeper_key)
        while len(rest) >= 2:
            k = rest[0]
            sims = [1.0 if r.hash == k.hash else float(np.dot(vec_of[k.id], vec_of[r.id])) for r in rest]
            inside = [r.id for r, s in zip(rest, sims) if r is k or s >= threshold]
            rest = [r for r, s in zip(rest, sims) if r is not k and s < threshold]
            if len(inside) >= 2:
                out.add(frozenset(inside))
    return out


def _bursts(seed, n=600, d=16):
    """Photos in bursts drifting along chains (the shape that makes components sprawl), a few exact copies."""
    rng = np.random.default_rng(seed)
    vecs = np.zeros((n, d), np.float32)
    cur = rng.standard_normal(d)
    for i in range(n):
        cur = rng.standard_normal(d) if rng.random() < 0.05 else cur + 0.35 * rng.standard_normal(d) / np.sqrt(d)
        vecs[i] = cur / np.linalg.norm(cur)
    records = {}
    for i in range(n):
        copy_of = i - 1 if i % 37 == 0 and i else None
        if copy_of is not None:
            vecs[i] = vecs[copy_of]
        records[i + 1] = rec(i + 1, w=100 + (i * 7919) % 300, size=1000 + (i * 104729) % 5000,
                             h_=f"hash{copy_of + 1 if copy_of is not None else i + 1}")
    return records, np.arange(1, n + 1), vecs


def test_the_vectorised_split_groups_as_the_plain_rule_does():
    for seed in range(3):
        records, ids, vecs = _bursts(seed)
        ix = VectorIndex(vecs.shape[1], "m")
        ix.add(ids, vecs)
        pairs = knn_pairs(ids, *ix.query(vecs, 8), 0.8)
        groups = find_groups(records, ids, vecs, pairs, 0.8, "similar")
        assert max(len(g.members) for g in groups) > 2
        assert {frozenset(m.file_id for m in g.members) for g in groups} == \
            _rule_one_keeper_at_a_time(records, ids, vecs, pairs, 0.8)


def test_a_sprawling_component_is_cut_apart_and_every_group_holds_to_its_keeper(monkeypatch):
    """Above SPLIT_CAP a component is cut at tighter cuts first (it used to take a quadratic keeper split):
    no piece of it exceeds the cap, each photo is in at most one group, and every member is still within
    the threshold of the photo its group was split around."""
    import imgsim_desktop.core.duplicates as dup

    monkeypatch.setattr(dup, "SPLIT_CAP", 60)
    records, ids, vecs = _bursts(7, n=1500)
    ix = VectorIndex(vecs.shape[1], "m")
    ix.add(ids, vecs)
    pairs = knn_pairs(ids, *ix.query(vecs, 8), 0.8)
    uf = dup._UnionFind()
    for a, b in zip(pairs[0].tolist(), pairs[1].tolist()):
        uf.union(a, b)
    assert max(len(c) for c in uf.groups()) > 60  # the case under test: a component past the cap
    groups = find_groups(records, ids, vecs, pairs, 0.8, "similar")
    seen = [m.file_id for g in groups for m in g.members]
    assert len(seen) == len(set(seen)) and groups
    vec_of = dict(zip(ids.tolist(), vecs))
    def holds_to(k, m):
        return records[m].hash == records[k].hash or float(np.dot(vec_of[k], vec_of[m])) >= 0.8 - 1e-6

    for g in groups:  # the keeper rule may then crown another member: one of them holds the group together
        ms = [m.file_id for m in g.members]
        assert len(ms) <= 60 and any(all(holds_to(k, m) for m in ms) for k in ms)


def test_numpy_components_match_the_union_find():
    from imgsim_desktop.core.duplicates import _components, _UnionFind

    rng = np.random.default_rng(2)
    for n, m in ((1, 0), (50, 0), (300, 200), (2000, 1500), (2000, 4000)):
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        chain = np.arange(n - 1)  # and one long chain in shuffled labels (the worst case for hooking)
        perm = rng.permutation(n)
        a, b = np.concatenate([a, perm[chain]]) if n > 400 else a, np.concatenate([b, perm[chain + 1]]) if n > 400 else b
        label = _components(n, a, b)
        uf = _UnionFind()
        for x in range(n):
            uf.find(x)
        for x, y in zip(a.tolist(), b.tolist()):
            uf.union(x, y)
        assert [label[x] for x in range(n)] == [uf.find(x) for x in range(n)]


def test_similarities_are_to_the_keeper_the_rule_chose():
    """The split begins at the photo with the best file facts; a keeper rule may then choose another member
    (the oldest here), and each member's similarity is then shown against that one, the keeper at 1.0."""
    records = [rec(1, w=400, date="2021-01-01T00:00:00"), rec(2, date="2019-01-01T00:00:00"),
               rec(3, date="2020-01-01T00:00:00")]
    vecs = {1: unit_at(0), 2: unit_at(10), 3: unit_at(20)}
    ids = np.array(sorted(vecs), dtype=np.int64)
    mat = np.stack([vecs[i] for i in ids])
    ix = VectorIndex(4, "m")
    ix.add(ids, mat)
    (g,) = find_groups({r.id: r for r in records}, ids, mat, knn_pairs(ids, *ix.query(mat, 8), 0.9), 0.9,
                       "similar", keeper_rules=["date", "resolution"])
    assert g.keeper == "/p/2.jpg"
    sims = {m.file_id: round(m.similarity, 4) for m in g.members}
    assert sims == {2: 1.0, 1: round(float(np.cos(np.deg2rad(10))), 4), 3: round(float(np.cos(np.deg2rad(10))), 4)}


def test_reclaimable_bytes_leave_out_reference_photos():
    """A reference photo is never trashed, so it frees nothing (the CLI said "0.2 MB reclaimable" of 0.1 MB)."""
    from imgsim_desktop.core.duplicates import DuplicateGroup, GroupMember

    def m(i, size, ref=False):
        return GroupMember(i, f"/p/{i}.jpg", 1.0, 10, 10, size, "JPEG", None, 0, reference=ref)

    g = DuplicateGroup("duplicates", "/p/1.jpg", [m(1, 100), m(2, 50, ref=True), m(3, 30)])
    assert g.reclaimable_bytes == 30 and g.to_dict()["reclaimable_bytes"] == 30


def test_a_similar_group_can_free_only_what_all_but_keeper_would_take():
    """"Can free" counted a sea and a glacier the verifier had found to be different photos, which "mark all
    but keeper" leaves (the sixth outside try: "up to 11.9 MB to free")."""
    def member(i, kind=None):
        return GroupMember(i, f"/p/{i}.jpg", 0.7, 100, 100, 1000 * i, "JPEG", None, 0,
                           match={"kind": kind} if kind else {})
    g = DuplicateGroup("similar", "/p/1.jpg", [member(1), member(2, "same photo"), member(3, "another shot"),
                                               member(4, "not the same photo"), member(5, "too plain")])
    assert g.reclaimable_bytes == 2000 + 3000
    assert DuplicateGroup("duplicates", "/p/1.jpg", [member(1), member(4)]).reclaimable_bytes == 4000
    pages = member(6)
    pages.pictures = 3   # a multi-page TIFF stays too, unless it is a byte-identical copy
    assert DuplicateGroup("duplicates", "/p/1.jpg", [member(1), member(4), pages]).reclaimable_bytes == 4000
    assert DuplicateGroup("exact", "/p/1.jpg", [member(1), pages]).reclaimable_bytes == 6000


def test_a_burst_frame_that_is_another_shot_of_the_photo_kept_leaves_its_group(tmp_path, tiny_model, monkeypatch):
    """An outside try: three frames of a phone burst without EXIF, the subject a little further each time. The
    middle one is "the same photo" as either neighbour, the first and last are another shot. Grouped around
    the middle frame (the largest file) and kept as the first (the oldest), the group offered the last frame
    for the trash with the middle one: a shot the user would lose. The verifier's dense-motion check now
    tells all three apart (tests/test_verify.py); it is off here, because grouping must hold wherever the
    verifier still chains two shots through a third (a smaller move than it sees)."""
    import os

    monkeypatch.setattr("imgsim_desktop.core.verify.part_moved", lambda *a: False)

    from imgsim_desktop.core import verify as V
    from imgsim_desktop.core.library import Library
    from photos import scene

    folder = tmp_path / "Cousin phone"
    folder.mkdir()
    background, subject = scene(100, (480, 320)), scene(500, (90, 90))
    paths = []
    for i, quality in enumerate((90, 93, 90)):   # the middle one the largest file, all one quality to the keeper
        frame = background.copy()
        frame.paste(subject, (200 + 10 * i, 120))
        paths.append(folder / f"IMG-20160312-WA001{i + 1}.jpg")
        frame.save(paths[-1], quality=quality)
        os.utime(paths[-1], (1_600_000_000 + i, 1_600_000_000 + i))
    f = [V.features_from_path(p) for p in paths]
    assert V.verify(f[0], f[1]).same and V.verify(f[1], f[2]).same   # the case: a chain...
    assert "(another shot)" in V.verify(f[0], f[2]).why                # ...whose ends are two shots
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([folder])
        groups = lib.duplicates("duplicates", threshold=-1.0)
    assert [[m.path for m in g.members] for g in groups] == [[str(paths[0]), str(paths[1])]]
    assert groups[0].keeper == str(paths[0])
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:   # from the catalog's verdicts,
        again = lib.duplicates("duplicates", threshold=-1.0)                # which kept "another shot" too
    assert [[m.path for m in g.members] for g in again] == [[str(paths[0]), str(paths[1])]]


def test_a_closer_view_leaves_the_group_its_smaller_copy_joined(tmp_path, tiny_model):
    """From the dev bench: a close-up shot, a smaller copy of it, and the wide shot. The smaller copy shows no
    more than the wide shot's pixels there, so to the verifier it is a crop of either, and it joined the two
    shots into one group. Described around the close-up (the most pixels), the wide shot is a closer view's
    other side, another shot: it leaves the group, and "all but keeper" offers only the smaller copy."""
    from PIL import Image

    from imgsim_desktop.core.library import Library
    from photos import scene

    folder = tmp_path / "Flowers"
    folder.mkdir()
    large = scene(901, (1200, 800))
    wide = large.resize((300, 200), Image.Resampling.LANCZOS)
    close = large.crop((300, 200, 1060, 706)).resize((400, 266), Image.Resampling.LANCZOS)
    small = close.resize((200, 133), Image.Resampling.LANCZOS)
    for name, img in (("wide.jpg", wide), ("close.jpg", close), ("close_small.jpg", small)):
        img.save(folder / name, quality=92)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([folder])
        groups = lib.duplicates("duplicates", threshold=-1.0)
    assert [sorted(m.path for m in g.members) for g in groups] == \
        [[str(folder / "close.jpg"), str(folder / "close_small.jpg")]]
    assert groups[0].keeper == str(folder / "close.jpg")
