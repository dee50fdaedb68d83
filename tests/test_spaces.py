"""A model with a lookalike head: one vector [duplicates | lookalikes] in the catalog, one index per part,
lookalike search in its space and duplicate grouping in the other, kept in step through scans, moves,
deletions and a reopen."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from imgsim_desktop.core.library import Library
from imgsim_desktop.core.model import create_random_model, load_model
from photos import write_photos


@pytest.fixture(scope="module")
def look_model(tmp_path_factory):
    return create_random_model(tmp_path_factory.mktemp("look"), name="look-model", input_size=32,
                               embedding_size=16, seed=3, look={"hidden": 24, "dim": 12})


def _brute(lib, query_path, space, k):
    """(ids, scores) of the nearest neighbours by exhaustive cosine over the catalog's vectors, cut to the
    space's columns."""
    from imgsim_desktop.core.decode import load_image

    a, b = lib.model.space(space)
    ids, vecs = lib.catalog.embeddings(lib.model.model_id)
    v = vecs[:, a:b] / np.linalg.norm(vecs[:, a:b], axis=1, keepdims=True)
    img, _ = load_image(query_path, max_side=lib.model.input_size)
    q = lib.model.embed(lib.model.preprocess(img)[None])[0]
    q = q[a:b] / np.linalg.norm(q[a:b])
    s = v @ q
    order = np.argsort(-s, kind="stable")[:k]
    return [int(ids[i]) for i in order], s[order]


def test_model_has_two_spaces(look_model):
    m = load_model(look_model, "cpu")
    assert m.spaces == {"duplicates": (0, 16), "lookalikes": (16, 28)} and m.embedding_size == 28
    assert m.space("lookalikes") == (16, 28)
    single = load_model(create_random_model(look_model.parent / "single", seed=1), "cpu")
    assert single.space("lookalikes") == single.space("duplicates") == (0, 16)


def test_each_search_uses_its_own_space(look_model, tmp_path):
    photos = write_photos(tmp_path / "photos", 14)
    lib = Library(tmp_path / "lib", model_path=look_model, workers=1)
    try:
        lib.add_folder(tmp_path / "photos")
        lib.scan()
        assert set(lib.index.parts) == {"duplicates", "lookalikes"}
        assert lib.index.part("duplicates").dim == 16 and lib.index.part("lookalikes").dim == 12
        assert lib.status()["model"]["spaces"] == {"duplicates": [0, 16], "lookalikes": [16, 28]}
        outside = write_photos(tmp_path / "q", 1, prefix="query")[0]
        brute = {}
        for sp in ("duplicates", "lookalikes"):
            ids, sims = _brute(lib, outside, sp, 100)
            brute[sp] = {int(i): float(s) for i, s in zip(ids, sims)}
        assert not np.allclose(list(brute["duplicates"].values()), list(brute["lookalikes"].values()), atol=1e-3)
        rank = {"exact": 0, "duplicate": 1, "lookalike": 2}
        for space in ("duplicates", "lookalikes"):
            got = lib.similar(outside, k=13, space=space)
            assert len(got) == 13
            for r in got:   # every score is the one of the space it says it comes from
                assert abs(r.score - brute[r.space][r.file_id]) < 1e-4, (space, r)
            keys = [(rank[r.kind], -r.score) for r in got]
            assert keys == sorted(keys), space          # near-duplicates first, each kind best first
            if space == "duplicates":
                assert all(r.space == "duplicates" for r in got)
                assert [r.file_id for r in got] == list(brute["duplicates"])[:13]
        default = lib.similar(outside, k=13)
        assert [r.to_dict() for r in default] == [r.to_dict() for r in lib.similar(outside, k=13, space="lookalikes")]
        cut = lib.model.thresholds["duplicates"]
        for r in default:   # lookalike results are those below the duplicate cut, scored in their own space
            assert (r.kind == "lookalike") == (brute["duplicates"][r.file_id] < cut)
        with pytest.raises(Exception, match="unknown space"):
            lib.similar(outside, space="colour")
    finally:
        lib.close()


def test_duplicate_groups_are_those_of_the_model_without_the_head(look_model, tmp_path):
    """Same seed, same weights, no lookalike head: grouping must not change by a hair."""
    plain = create_random_model(tmp_path / "plain", name="plain-model", input_size=32, embedding_size=16, seed=3)
    photos = write_photos(tmp_path / "photos", 12)
    shutil.copy(photos[0], tmp_path / "photos" / "copy.jpg")

    def groups(card, home):
        with Library(home, model_path=card, workers=1) as lib:
            lib.add_folder(tmp_path / "photos")
            lib.scan()
            out = []
            for tier, t in (("duplicates", 0.997), ("similar", 0.99)):
                out += [(g.tier, [(m.path, round(m.similarity, 4)) for m in g.members])
                        for g in lib.duplicates(tier, threshold=t)]
            return sorted(out)

    with_head, without = groups(look_model, tmp_path / "a"), groups(plain, tmp_path / "b")
    assert with_head == without
    assert any(p.endswith("copy.jpg") for _tier, members in with_head for p, _s in members)


def test_both_indexes_follow_deletions_and_survive_a_reopen(look_model, tmp_path):
    photos = write_photos(tmp_path / "photos", 8)
    with Library(tmp_path / "lib", model_path=look_model, workers=1) as lib:
        lib.add_folder(tmp_path / "photos")
        lib.scan()
        photos[3].unlink()
        lib.scan()
        assert all(len(p) == 7 for p in lib.index.parts.values())
        gone = lib.catalog.file_by_path(str(photos[3]))
        assert gone is None or all(gone.id not in p for p in lib.index.parts.values())
    assert (tmp_path / "lib" / "index.hnsw").exists() or any((tmp_path / "lib").glob("*-lookalikes*"))
    assert len(list((tmp_path / "lib").glob("*-lookalikes*.json"))) == 1
    with Library(tmp_path / "lib", model_path=look_model, workers=1) as lib:
        assert lib.index_origin == "unopened"  # nothing asked for an index yet
        lib.index.open_all()
        assert lib.index_origin == "loaded"
        assert all(len(p) == 7 for p in lib.index.parts.values())
        # a lookalikes index file from another model is rebuilt, not trusted
    meta = next((tmp_path / "lib").glob("*-lookalikes*.json"))
    m = json.loads(meta.read_text())
    m["cols"] = [0, 12]
    meta.write_text(json.dumps(m))
    with Library(tmp_path / "lib", model_path=look_model, workers=1) as lib:
        assert len(lib.index.part("lookalikes")) == 7 and lib.index_origin == "rebuilt"


def test_bench_scores_each_part_in_its_own_space(look_model, tmp_path, capsys):
    from imgsim_desktop.cli import main

    plain = create_random_model(tmp_path / "plain", name="plain-model", input_size=32, embedding_size=16, seed=3)
    b = tmp_path / "bench"
    for g in range(3):
        src = write_photos(b / "groups" / f"g{g}", 1, prefix=f"original{g}")[0]
        src.rename(src.with_name("original.jpg"))
        from PIL import Image

        Image.open(b / "groups" / f"g{g}" / "original.jpg").resize((160, 120)).save(
            b / "groups" / f"g{g}" / "downscale_jpeg.jpg", quality=40)
    for c in range(2):
        write_photos(b / "classes" / f"c{c}", 3, prefix=f"c{c}-")
    write_photos(b / "distractors", 3, prefix="d")

    def run(card):
        assert main(["bench", str(b), "--model", str(card), "--baselines", "none", "--json", "--quiet",
                     "--threads", "1"]) == 0
        return json.loads(capsys.readouterr().out)["methods"]["imgsim"]

    with_head, without = run(look_model), run(plain)
    assert with_head["spaces"] == {"duplicates": [0, 16], "lookalikes": [16, 28]}
    for key in ("map", "recall_at_p99", "best_f1", "sim_dup_pairs"):
        assert with_head["neardup"][key] == without["neardup"][key], key
    assert with_head["lookalike"]["sim_same_class_pairs"] != without["lookalike"]["sim_same_class_pairs"]
