"""The stored neighbour graph: built once, followed by every write, read with SQL by dupes (issue 13)."""

from __future__ import annotations

import shutil

import numpy as np

from imgsim_desktop.core import neighbours
from imgsim_desktop.core.library import Library
from imgsim_desktop.core.progress import Progress
from photos import write_photo, write_photos


def brute_pairs(lib: Library, t: float):
    """Mutual k-NN pairs by exact search over every vector (what the graph must reproduce)."""
    ids, vecs = lib.catalog.embeddings(lib.model.model_id)
    a, b = lib.model.space("duplicates")
    v = vecs[:, a:b] / np.linalg.norm(vecs[:, a:b], axis=1, keepdims=True)
    sims = v @ v.T
    k = min(neighbours.K + 1, len(ids))
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    labels = ids[order]
    return neighbours.knn_pairs(ids, labels, np.take_along_axis(sims, order, 1), t)


def as_set(pairs) -> set[tuple[int, int]]:
    return set(zip(pairs[0].tolist(), pairs[1].tolist()))


def assert_same_graph(lib: Library, t: float) -> None:
    """The stored graph's pairs equal exact search's, except for ties at a photo's K-th neighbour: the test
    model puts every photo at cosine ~0.99 from every other, so which of two neighbours 1e-6 apart is the
    K-th is float noise (hnswlib adds with several threads), not a graph error."""
    got, want = as_set(neighbours.candidate_pairs(lib.catalog, t)), as_set(brute_pairs(lib, t))
    if got == want:
        return
    ids, vecs = lib.catalog.embeddings(lib.model.model_id)
    a, b = lib.model.space("duplicates")
    v = vecs[:, a:b] / np.linalg.norm(vecs[:, a:b], axis=1, keepdims=True)
    row = {int(i): n for n, i in enumerate(ids)}
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    kth = np.sort(sims, axis=1)[:, ::-1][:, min(neighbours.K, len(ids) - 1) - 1]
    for x, y in got ^ want:
        s = sims[row[x], row[y]]
        assert min(abs(s - kth[row[x]]), abs(s - kth[row[y]])) < 1e-4, (x, y, s, kth[row[x]], kth[row[y]])


def test_graph_matches_exact_search_and_follows_adds_and_removals(tmp_path, tiny_model):
    photos = write_photos(tmp_path / "photos", 20)
    for i in range(3):  # re-encoded copies: close neighbours
        write_photo(tmp_path / "photos" / f"copy{i}.jpg", seed=i, quality=60)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        states = []

        class Seen(Progress):
            def on_update(self, s):
                states.append((s.phase, s.done, s.total))

        lib.scan([tmp_path / "photos"], progress=Seen(min_interval_s=0))  # a full scan builds the graph
        assert states[-1] == ("neighbours", 23, 23)
        cut = lib._graph_cut()
        assert neighbours.is_current(lib.catalog, lib.model.model_id, cut)
        for t in (cut, 0.9):
            assert_same_graph(lib, t)

        # a write keeps the graph current, touching only the changed vectors
        for i in range(4):
            write_photo(tmp_path / "photos" / f"late{i}.jpg", seed=100 + i)
        shutil.copy(photos[5], tmp_path / "photos" / "exact5.jpg")
        photos[7].unlink()
        lib.scan()
        assert neighbours.is_current(lib.catalog, lib.model.model_id, cut)
        assert_same_graph(lib, cut)
        gone = [r[0] for r in lib.catalog.conn.execute("SELECT a FROM edges UNION SELECT b FROM edges")]
        live = set(lib.catalog.embedded_ids(lib.model.model_id))
        assert set(gone) <= live  # a removed photo leaves no edge behind
        groups = lib.duplicates()

    # a fresh open answers dupes from the stored graph without opening any index
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        again = lib.duplicates()
        assert lib.index_origin == "unopened"
        assert [g.to_dict() for g in again] == [g.to_dict() for g in groups]
        together = [g for g in again if {str(photos[5]), str(tmp_path / "photos" / "exact5.jpg")}
                    <= {m.path for m in g.members}]
        assert len(together) == 1  # exact copies come from SQL, and still group


def test_a_looser_threshold_than_the_graph_keeps_falls_back_to_search(tmp_path, tiny_model):
    write_photos(tmp_path / "photos", 12)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([tmp_path / "photos"])
        t = lib._graph_cut() - 0.3
        got = lib.duplicates("similar", threshold=t)
        pairs = brute_pairs(lib, t)
        grouped = {m.file_id for g in got for m in g.members}
        assert grouped <= set(pairs[0].tolist()) | set(pairs[1].tolist())
        assert bool(grouped) == bool(len(pairs[0]))


def test_a_graph_for_another_cut_is_rebuilt(tmp_path, tiny_model):
    write_photos(tmp_path / "photos", 10)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([tmp_path / "photos"])
        lib.duplicates()
        neighbours._set_state(lib.catalog, lib.model.model_id, 0.1, neighbours.K, lib.catalog.seq())
        assert not neighbours.is_current(lib.catalog, lib.model.model_id, lib._graph_cut())
        assert lib.sync_neighbours()
        cut = lib._graph_cut()
        assert_same_graph(lib, cut)


def test_a_reader_beside_a_writer_searches_when_the_graph_is_behind(tmp_path, tiny_model):
    from imgsim_desktop.core.library import open_for_query

    write_photos(tmp_path / "photos", 10)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as writer:
        writer.scan([tmp_path / "photos"])
        write_photo(tmp_path / "photos" / "copy.jpg", seed=3, quality=50)
        writer.scanner.scan_roots(writer._roots(None), None, None)  # a write the graph has not followed yet
        assert not neighbours.is_current(writer.catalog, writer.model.model_id, writer._graph_cut())
        with open_for_query(tmp_path / "lib", model_path=tiny_model) as reader:
            assert reader.readonly
            seen = [g.to_dict() for g in reader.duplicates()]
        assert not neighbours.is_current(writer.catalog, writer.model.model_id, writer._graph_cut())
        assert seen == [g.to_dict() for g in writer.duplicates()]  # the writer catches up, same answer
        assert any(m["path"].endswith("copy.jpg") for g in seen for m in g["members"])
