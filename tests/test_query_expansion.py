"""Lookalike search expands the query with its closest lookalikes: a photo of the same kind as those, but
not the closest to the query itself, comes before a stranger that happens to resemble the query a little
more. Real catalog, real hnswlib index, the bundled model's card (two spaces); hand-made vectors."""

from __future__ import annotations

import numpy as np

from imgsim_desktop.core.catalog import Catalog
from imgsim_desktop.core.library import CATALOG_NAME, Library
from imgsim_desktop.core.model_card import LazyModel
from imgsim_desktop.core.ranking import expanded_query


def _unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_expanded_query_is_the_unit_sum_of_query_and_alike_neighbours():
    q = np.array([3.0, 0.0, 0.0])
    n = np.array([[2.0, 2.0, 0.0], [1.0, 0.0, 1.0]])        # both 0.707 alike
    e = expanded_query(q, n)
    assert np.allclose(e, _unit(_unit([1.0, 0, 0]) + _unit([1.0, 1.0, 0]) + _unit([1.0, 0, 1.0])))
    assert np.allclose(expanded_query(q, np.zeros((0, 3))), [1.0, 0.0, 0.0])
    # strangers (below the floor) do not pull the query their way
    assert np.allclose(expanded_query(q, np.array([[0.3, 1.0, 0.0], [0.0, 0.0, 1.0]])), [1.0, 0.0, 0.0])


def test_similar_ranks_the_query_kind_before_a_closer_stranger(tmp_path):
    model = LazyModel(None)
    (da, db), (la, lb) = model.spaces["duplicates"], model.spaces["lookalikes"]
    dim = lb - la
    e = np.eye(dim, dtype=np.float32)
    look = {
        "query": _unit(0.7 * e[2] + 0.714 * e[1]),
        "kind-1": _unit(0.95 * e[2] + 0.31 * e[3]),
        "kind-2": _unit(0.95 * e[2] + 0.31 * e[4]),
        "kind-3": _unit(0.95 * e[2] + 0.31 * e[5]),
        "kind-far": _unit(0.8 * e[2] + 0.6 * e[7]),        # the query's kind, less like the query itself
        "stranger": _unit(0.85 * e[1] + 0.527 * e[8]),     # another kind, sharing the query's quirk
    }
    home = tmp_path / "lib"
    home.mkdir()
    root = tmp_path / "photos"
    root.mkdir()
    cat = Catalog(home / CATALOG_NAME)
    cat.add_folder(str(root))
    ids = {}
    with cat.transaction():
        rows = []
        for j, (name, lv) in enumerate(look.items()):
            p = root / f"{name}.jpg"
            p.write_bytes(name.encode())
            st = p.stat()
            fid = cat.upsert_file({"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                   "hash": f"{j:032x}", "width": 4000, "height": 3000, "format": "JPEG",
                                   "status": "ok"})
            v = np.zeros(model.embedding_size, dtype=np.float32)
            v[da + 10 + j] = 1.0                          # no two alike in the duplicates space
            v[la:lb] = lv
            rows.append((fid, v))
            ids[fid] = name
        cat.put_embeddings(rows, model.model_id)
    cat.close()
    qid = next(i for i, n in ids.items() if n == "query")
    # the plain nearest neighbours put the stranger first ...
    plain = sorted((n for n in look if n != "query"), key=lambda n: -float(look[n] @ look["query"]))
    assert plain.index("stranger") < plain.index("kind-far")
    lib = Library(home, readonly=True)
    try:
        got = [ids[r.file_id] for r in lib.similar_to_id(qid, k=5)]
        dup_only = [ids[r.file_id] for r in lib.similar_to_id(qid, k=5, space="duplicates")]
    finally:
        lib.close()
    # ... the expanded query puts the query's kind first
    assert sorted(got[:3]) == ["kind-1", "kind-2", "kind-3"]
    assert got.index("kind-far") < got.index("stranger")
    assert "query" not in got and "query" not in dup_only


def test_the_bench_ranks_lookalikes_as_the_app_does():
    from imgsim_desktop.evaluation.methods import Embedded, expanded_similarity

    e = np.eye(16, dtype=np.float32)
    rows = [_unit(0.7 * e[2] + 0.714 * e[1]), _unit(0.95 * e[2] + 0.31 * e[3]), _unit(0.95 * e[2] + 0.31 * e[4]),
            _unit(0.95 * e[2] + 0.31 * e[5]), _unit(0.8 * e[2] + 0.6 * e[7]), _unit(0.85 * e[1] + 0.527 * e[8])]
    v = np.stack(rows)
    emb = Embedded("m", "model", v, np.ones(len(v), bool), np.zeros(len(v)), 0.0, "cpu", 0.8)
    idx = np.arange(len(v))
    sim = expanded_similarity(emb, idx)
    assert sim[0, 4] > sim[0, 5] and (v @ v.T)[0, 4] < (v @ v.T)[0, 5]
    hashes = Embedded("h", "hash", v > 0.5, np.ones(len(v), bool), np.zeros(len(v)), 0.0, "cpu", 0.8)
    assert expanded_similarity(hashes, idx).shape == (6, 6)
