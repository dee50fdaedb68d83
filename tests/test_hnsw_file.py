"""A saved index searched in place (core/hnsw_file.py) answers as hnswlib does after loading it (issue 13).

hnswlib is the oracle: the same file is loaded the usual way and queried with the same ef.
"""

from __future__ import annotations

import numpy as np
import pytest

from imgsim_desktop.core.hnsw_file import FormatError, MappedIndex
from imgsim_desktop.core.index import VectorIndex
from imgsim_desktop.core.library import Library, open_for_query
from photos import write_photo, write_photos


def unit(v):
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """5,000 clustered vectors (like photos: many near one another), 40 of them deleted, saved."""
    rng = np.random.default_rng(11)
    centres = rng.standard_normal((50, 32))
    vecs = unit(centres[rng.integers(0, 50, 5000)] + 0.4 * rng.standard_normal((5000, 32)))
    ids = np.arange(10, 5010)
    ix = VectorIndex(32, "m")
    ix.add(ids, vecs)
    ix.remove(ids[::125].tolist())
    path = tmp_path_factory.mktemp("ix") / "ix.hnsw"
    ix.save(path)
    back = VectorIndex.load(path, "m", 32)
    queries = unit(vecs[rng.integers(0, 5000, 60)] + 0.1 * rng.standard_normal((60, 32)))
    return path, back, queries, set(ids[::125].tolist())


@pytest.mark.parametrize("k", [1, 10, 48])
def test_the_in_place_search_finds_what_hnswlib_finds(saved, k):
    path, loaded, queries, deleted = saved
    m = MappedIndex(path, 32, has_deleted=True)
    try:
        same = total = 0
        for q in queries:
            labels, sims = loaded.query(q, k)
            hits = m.search(q, k, max(loaded.params.ef_search, 2 * k))
            got = [label for label, _ in hits]
            assert len(got) == k and not set(got) & deleted
            assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
            same += len(set(got) & set(labels[0].tolist()))
            total += k
            assert abs(hits[0][1] - float(sims[0][0])) < 1e-4
        assert same / total >= 0.99
    finally:
        m.close()


def test_excluded_labels_are_passed_over_but_never_returned(saved):
    path, loaded, queries, _ = saved
    m = MappedIndex(path, 32, has_deleted=True)
    try:
        first = [label for label, _ in m.search(queries[0], 10, 64)]
        hits = [label for label, _ in m.search(queries[0], 10, 64, excluded=set(first[:5]))]
        assert len(hits) == 10 and not set(hits) & set(first[:5]) and set(first[5:]) <= set(hits)
    finally:
        m.close()


def test_a_file_of_another_layout_is_refused(saved, tmp_path):
    path, *_ = saved
    with pytest.raises(FormatError):
        MappedIndex(path, 64)  # the records are not 64-d vectors
    short = tmp_path / "short.hnsw"
    short.write_bytes(path.read_bytes()[:50])
    with pytest.raises(FormatError):
        MappedIndex(short, 32)


def test_a_read_only_query_loads_no_index_and_sees_unsaved_changes(tmp_path, tiny_model):
    """`similar` from a read-only open reads the saved files in place (no part is loaded) and lays the
    writer's changes that are not saved yet over them: a new photo is found, a removed one is not."""
    photos = write_photos(tmp_path / "photos", 10)
    home = tmp_path / "lib"
    with Library(home, model_path=tiny_model, workers=1) as lib:
        lib.scan([tmp_path / "photos"])
    with Library(home, model_path=tiny_model) as writer, open_for_query(home, model_path=tiny_model) as full:
        full.index.mapped_queries = False  # the reference: loads the parts and catches up
        for space in ("lookalikes", "duplicates"):
            with open_for_query(home, model_path=tiny_model) as ro:
                quick = [(r.path, round(r.score, 4)) for r in ro.similar(photos[0], k=5, space=space)]
                assert ro.index.parts == {} and ro.index_origin == "unopened"
            assert quick == [(r.path, round(r.score, 4)) for r in full.similar(photos[0], k=5, space=space)]
        kept = open_for_query(home, model_path=tiny_model)  # open before the change, asked after it
        assert str(photos[1]) in {r.path for r in kept.similar(photos[0], k=20)}
        late = write_photo(tmp_path / "photos" / "late.jpg", seed=99)
        photos[1].unlink()
        writer.update_paths([late, photos[1]])  # a watcher-sized change: the writer does not save yet
        assert writer.catalog.seq() > writer.index.saved_seq
        with open_for_query(home, model_path=tiny_model) as ro:
            got = {r.path for r in ro.similar(photos[0], k=20)}
            assert ro.index.parts == {}
        assert got == {str(p) for p in [*photos[2:], late]}
        with kept:
            assert {r.path for r in kept.similar(photos[0], k=20)} == got and kept.index.parts == {}
