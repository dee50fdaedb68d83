"""VectorIndex against real hnswlib: growth, updates, deletions, persistence with the deleted set."""

from __future__ import annotations

import numpy as np

from imgsim_desktop.core.index import MIN_CAPACITY, VectorIndex


def unit(rng, n, d=16):
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_grows_updates_deletes_and_revives(tmp_path):
    rng = np.random.default_rng(0)
    ix = VectorIndex(16, "m")
    n = MIN_CAPACITY * 2 + 100  # forces two resizes
    vecs = unit(rng, n)
    ids = np.arange(1, n + 1)
    for start in range(0, n, 500):
        ix.add(ids[start:start + 500], vecs[start:start + 500])
    assert len(ix) == n
    labels, sims = ix.query(vecs[:5], 1)
    assert list(labels[:, 0]) == [1, 2, 3, 4, 5] and np.allclose(sims[:, 0], 1.0, atol=1e-5)

    # Update: the same label gets a new vector.
    ix.add(np.array([1]), vecs[10:11])
    labels, _ = ix.query(vecs[10:11], 2)
    assert set(labels[0]) == {1, 11}

    # Delete: never returned again; re-adding revives it.
    ix.remove([3])
    assert 3 not in ix and 3 not in ix.query(vecs[2:3], 10)[0][0]
    ix.add(np.array([3]), vecs[2:3])
    assert 3 in ix and ix.query(vecs[2:3], 1)[0][0][0] == 3

    ix.remove([7, 8])
    ix.seq = 42
    ix.save(tmp_path / "ix.hnsw")
    back = VectorIndex.load(tmp_path / "ix.hnsw", "m", 16)
    assert back is not None and back.seq == 42 and len(back) == n - 2
    assert 7 not in back and 8 not in back
    assert VectorIndex.load(tmp_path / "ix.hnsw", "other-model", 16) is None
    assert VectorIndex.load(tmp_path / "ix.hnsw", "m", 32) is None


def test_query_on_small_and_empty_index():
    ix = VectorIndex(16, "m")
    labels, sims = ix.query(np.zeros((1, 16), np.float32) + 0.25, 5)
    assert labels.shape == (1, 0)
    rng = np.random.default_rng(1)
    ix.add(np.array([5, 6]), unit(rng, 2))
    labels, sims = ix.query(unit(rng, 1), 10)
    assert sorted(labels[0]) == [5, 6] and sims[0][0] >= sims[0][1]


def test_hnsw_settings_come_from_the_environment_and_are_recorded(tmp_path, monkeypatch):
    import json

    import numpy as np

    from imgsim_desktop.core.index import EF_SEARCH, M, HnswParams

    monkeypatch.setenv("IMGSIM_HNSW_M", "8")
    monkeypatch.setenv("IMGSIM_HNSW_EF", "nonsense")       # ignored with a warning: the default stays
    monkeypatch.setenv("IMGSIM_HNSW_EF_CONSTRUCTION", "40")
    p = HnswParams.from_env()
    assert (p.m, p.ef_construction, p.ef_search) == (8, 40, EF_SEARCH)
    ix = VectorIndex(16, "m")
    vecs = np.random.default_rng(0).standard_normal((50, 16)).astype(np.float32)
    ix.add(np.arange(50), vecs)
    ix.save(tmp_path / "ix.hnsw")
    meta = json.loads((tmp_path / "ix.hnsw.json").read_text())
    assert (meta["m"], meta["ef_construction"]) == (8, 40)
    monkeypatch.delenv("IMGSIM_HNSW_M")
    assert HnswParams.from_env().m == M
    labels, _ = VectorIndex.load(tmp_path / "ix.hnsw", "m", 16).query(vecs[:3], 1)
    assert labels[:, 0].tolist() == [0, 1, 2]
