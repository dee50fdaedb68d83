"""End to end: bench-make writes a benchmark, bench measures it (tiny random model + hashes)."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from imgsim_desktop.cli import main  # noqa: E402
from imgsim_desktop.core.model import create_random_model  # noqa: E402
from imgsim_desktop.edits import EDITS  # noqa: E402
from imgsim_desktop.evaluation import bench as B  # noqa: E402


def _photo(seed: int, w: int = 120, h: int = 90) -> Image.Image:
    """A smooth random 'photo': low-frequency colour blobs plus a little texture, distinct per seed."""
    r = np.random.default_rng(seed)
    small = r.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    img = Image.fromarray(small, "RGB").resize((w, h), Image.Resampling.BICUBIC)
    a = np.asarray(img, dtype=np.float32) + r.normal(0, 6, size=(h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    originals = root / "originals"
    originals.mkdir()
    for i in range(4):
        _photo(100 + i).save(originals / f"photo{i}.jpg", quality=92)
    out = root / "bench"
    assert main(["bench-make", str(originals), str(out), "--seed", "3", "--quiet"]) == 0
    # byte-identical copies: every method must find these perfectly
    for i in range(3):
        g = out / "groups" / f"same{i}"
        g.mkdir(parents=True)
        _photo(200 + i).save(g / "original.jpg", quality=90)
        shutil.copyfile(g / "original.jpg", g / "identical.jpg")
    d = out / "distractors"
    d.mkdir()
    for i in range(8):
        _photo(300 + i).save(d / f"d{i}.jpg", quality=90)
    (d / "broken.jpg").write_bytes(b"not a jpeg at all")
    for c, base in (("reds", (200, 40, 40)), ("blues", (40, 60, 200))):
        cd = out / "classes" / c
        cd.mkdir(parents=True)
        for i in range(4):
            a = np.asarray(_photo(400 + i + (0 if c == "reds" else 50)), np.float32) * 0.3 + np.array(base) * 0.7
            Image.fromarray(a.astype(np.uint8), "RGB").save(cd / f"{c}{i}.jpg", quality=90)
    model = create_random_model(root / "models", name="tiny", input_size=32, embedding_size=16, seed=1)
    return out, model


def test_bench_make_layout_and_determinism(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _photo(1).save(src / "a.jpg", quality=90)
    _photo(2).convert("L").save(src / "b.png")
    (src / "notes.txt").write_text("not a photo")
    main(["bench-make", str(src), str(tmp_path / "o1"), "--seed", "7", "--quiet"])
    main(["bench-make", str(src), str(tmp_path / "o2"), "--seed", "7", "--quiet"])
    main(["bench-make", str(src), str(tmp_path / "o3"), "--seed", "8", "--quiet"])
    groups = sorted(p.name for p in (tmp_path / "o1" / "groups").iterdir())
    assert groups == ["a", "b"]
    for g in groups:
        names = sorted(p.stem for p in (tmp_path / "o1" / "groups" / g).iterdir())
        assert names == sorted(["original", *EDITS])
    # the original JPEG is copied byte for byte
    assert (tmp_path / "o1/groups/a/original.jpg").read_bytes() == (src / "a.jpg").read_bytes()

    def digest(root):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*.jpg"))}

    assert digest(tmp_path / "o1") == digest(tmp_path / "o2")
    assert digest(tmp_path / "o1")["groups/a/crop.jpg"] != digest(tmp_path / "o3")["groups/a/crop.jpg"]


def test_bench_make_extra_parts(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _photo(1).save(src / "a.jpg")
    pairs = tmp_path / "pairs" / "x1"
    pairs.mkdir(parents=True)
    _photo(5, 200, 150).save(pairs / "full.jpg")
    _photo(5, 200, 150).resize((64, 64)).save(pairs / "small.jpg")
    (tmp_path / "cls" / "c1").mkdir(parents=True)
    _photo(9).save(tmp_path / "cls" / "c1" / "i.jpg")
    (tmp_path / "dis").mkdir()
    _photo(10).save(tmp_path / "dis" / "j.jpg")
    out = tmp_path / "out"
    assert main(["bench-make", str(src), str(out), "--edits", "crop,mirror", "--pairs", str(tmp_path / "pairs"),
                 "--classes", str(tmp_path / "cls"), "--distractors", str(tmp_path / "dis"), "--quiet"]) == 0
    assert sorted(p.name for p in (out / "groups" / "a").iterdir()) == ["crop.jpg", "mirror.jpg", "original.jpg"]
    pg = out / "groups" / "pair_x1"
    assert (pg / "original.jpg").resolve() == (pairs / "full.jpg").resolve()
    assert (pg / "squash_reencode.jpg").resolve() == (pairs / "small.jpg").resolve()
    assert (out / "classes" / "c1" / "i.jpg").is_file() and (out / "distractors" / "j.jpg").is_file()
    lay = B.read_layout(out)
    assert {(it.part, it.kind) for it in lay.items} >= {("group", "original"), ("group", "squash_reencode"),
                                                        ("class", None), ("distractor", None)}


def test_unknown_edit_is_an_error(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    _photo(1).save(tmp_path / "src" / "a.jpg")
    assert main(["bench-make", str(tmp_path / "src"), str(tmp_path / "o"), "--edits", "sepia", "--quiet"]) != 0
    assert "unknown edit" in capsys.readouterr().err


def test_bench_json_end_to_end(bench, capsys):
    out, model = bench
    big = out.parent / "big"
    big.mkdir(exist_ok=True)
    _photo(700, 1600, 1200).save(big / "camera.jpg", quality=90)
    assert main(["bench", str(out), "--model", str(model), "--baselines", "phash,dhash", "--json", "--quiet",
                 "--threads", "1", "--speed-dir", str(big)]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["benchmark"] == str(out)
    assert set(r["methods"]) == {"imgsim", "phash", "dhash"}
    assert r["counts"]["groups"] == 7 and r["counts"]["classes"] == 2 and r["counts"]["unreadable"] == 1
    assert len(r["errors"]) == 1 and r["errors"][0][0].endswith("broken.jpg")
    for name, m in r["methods"].items():
        nd, lk, sp = m["neardup"], m["lookalike"], m["speed"]
        for key in ("map", "top1", "top_k", "recall_at_10", "recall_at_p99", "best_f1", "best_f1_threshold",
                    "default_threshold", "precision_at_default", "recall_at_default", "f1_at_default"):
            assert key in nd, (name, key)
            assert nd[key] is None or -1.0 <= nd[key] <= 1.0, (name, key, nd[key])
        for key in ("map", "top1", "top_k", "recall_at_10", "recall_at_p99", "best_f1", "precision_at_default",
                    "recall_at_default", "f1_at_default"):
            assert 0.0 <= nd[key] <= 1.0, (name, key)
        assert set(nd["recall_at_10_by_edit"]) == set(EDITS) | {"identical"}
        assert all(0.0 <= v <= 1.0 for v in nd["recall_at_10_by_edit"].values())
        # byte-identical copies are found every time, and are above any sane threshold
        assert nd["recall_at_10_by_edit"]["identical"] == 1.0
        assert nd["recall_at_default_by_edit"]["identical"] == 1.0
        assert nd["median_sim_by_edit"]["identical"] == pytest.approx(1.0, abs=1e-4)
        assert nd["n_groups"] == 7 and nd["n_pool"] == 4 * (1 + len(EDITS)) + 3 * 2 + 8  # original + one copy per edit
        assert 0.0 <= lk["precision_at_10"] <= 1.0 and 0.0 <= lk["map"] <= 1.0
        assert set(lk["by_class"]) == {"reds", "blues"}
        assert sp["images_per_s"] > 0 and 0 < sp["ms_per_image_p50"] <= sp["ms_per_image_p90"]
        assert sp["device"] in ("cpu", "cuda") or sp["device"].startswith("cuda")
        assert m["speed_photos"]["n_images"] == 1 and m["speed_photos"]["images_per_s"] > 0
    assert r["methods"]["phash"]["neardup"]["default_threshold"] == pytest.approx(1 - 10 / 64, abs=1e-4)
    from imgsim_desktop.core.model_card import DEFAULT_THRESHOLDS

    assert r["methods"]["imgsim"]["neardup"]["default_threshold"] == pytest.approx(DEFAULT_THRESHOLDS["duplicates"])
    # the hashes see through a mirror-free re-encode: their plain jpeg copies are found
    assert r["methods"]["phash"]["neardup"]["recall_at_10_by_edit"]["jpeg"] == 1.0


def test_identical_only_benchmark_is_perfect(tmp_path, capsys, bench):
    _, model = bench
    root = tmp_path / "b"
    for i in range(3):
        g = root / "groups" / f"g{i}"
        g.mkdir(parents=True)
        _photo(500 + i).save(g / "original.jpg")
        shutil.copyfile(g / "original.jpg", g / "copy.jpg")
    d = root / "distractors"
    d.mkdir()
    for i in range(5):
        _photo(600 + i).save(d / f"{i}.jpg")
    assert main(["bench", str(root), "--model", str(model), "--json", "--quiet", "--baselines", "phash"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["methods"]) == {"imgsim", "phash"}
    for m in r["methods"].values():
        nd = m["neardup"]
        assert nd["map"] == 1.0 and nd["top1"] == 1.0 and nd["recall_at_10"] == 1.0
        assert nd["recall_at_p99"] == 1.0 and nd["best_f1"] == 1.0
        assert nd["recall_at_default"] == 1.0
        assert m["lookalike"] is None


def test_table_output_and_limit(bench, capsys):
    out, model = bench
    assert main(["bench", str(out), "--model", str(model), "--baselines", "dhash", "--limit", "2", "--quiet"]) == 0
    text = capsys.readouterr().out
    for word in ("near-duplicates", "lookalikes", "speed", "imgsim", "dhash", "recall@10 by edit"):
        assert word in text
    assert "benchmark" in text and "2 groups" in text


def test_plain_ae_row_when_present(bench, tmp_path, capsys, monkeypatch):
    out, model = bench
    res = tmp_path / "resources"
    create_random_model(res / "models", name="plain-ae", input_size=32, embed="latent", latent_channels=2)
    monkeypatch.setenv("IMGSIM_RESOURCES", str(res))
    assert main(["bench", str(out), "--model", str(model), "--json", "--quiet", "--limit", "2"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["methods"]) == {"imgsim", "phash", "dhash", "plain_ae"}
    assert 0.0 <= r["methods"]["plain_ae"]["neardup"]["map"] <= 1.0


def test_missing_plain_ae_only_skipped_by_default(bench, tmp_path, capsys, monkeypatch):
    out, model = bench
    monkeypatch.setenv("IMGSIM_RESOURCES", str(tmp_path / "nothing"))
    assert main(["bench", str(out), "--model", str(model), "--json", "--quiet", "--limit", "1"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert "plain_ae" in r["skipped"] and "plain_ae" not in r["methods"]
    assert main(["bench", str(out), "--model", str(model), "--baselines", "plain_ae", "--quiet", "--limit", "1"]) != 0
    assert "plain-ae" in capsys.readouterr().err


def test_bad_bench_dir(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "nope"), "--quiet"]) != 0
    assert "not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["bench", str(tmp_path / "empty"), "--quiet"]) != 0
    assert "no images" in capsys.readouterr().err


def test_bench_report_renders(bench, tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    out, model = bench
    assert main(["bench", str(out), "--model", str(model), "--json", "--quiet", "--baselines", "phash,dhash"]) == 0
    result = json.loads(capsys.readouterr().out)
    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_report.py"
    spec = importlib.util.spec_from_file_location("bench_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    md = mod.render(result, ["imgsim bench X --json"], 12.0)
    for word in ("| **imgsim** |", "| **phash** |", "Recall by edit", "Choosing the default thresholds",
                 "random-initialised", "imgsim bench X --json"):
        assert word in md, word
    # pick(): highest recall at the precision floor, highest threshold among ties
    grid = {"rows": [[0.9, 1.0, 0.5, 0.6], [0.85, 0.995, 0.7, 0.8], [0.8, 0.98, 0.9, 0.9], [0.75, 0.99, 0.7, 0.8]]}
    assert mod.pick(grid, 0.99)[0] == 0.85
    assert mod.pick(grid, 0.97)[0] == 0.8
    assert mod.pick(grid, 1.01) is None
    # nothing predicted (precision 1 by convention, recall 0) is never a recommendation
    assert mod.pick({"rows": [[1.0, 1.0, 0.0, 0.0], [0.95, 0.5, 0.9, 0.6]]}, 0.99) is None
