"""training/: the photo cache, edited pairs, a few CPU steps whose loss falls, resume, export, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from imgsim_desktop.core.model import load_model
from imgsim_desktop.training.data import PairSampler, TrainingDataError, build_cache, list_images
from imgsim_desktop.training.train import TrainConfig, nt_xent, train
from photos import write_photo

torch.set_num_threads(1)

TINY = {"widths": [8, 16, 32], "extra": [0, 1, 0], "dec_widths": [16, 8, 8]}


@pytest.fixture
def photo_folder(tmp_path):
    d = tmp_path / "train"
    for i in range(10):
        write_photo(d / f"sub{i % 2}" / f"p{i}.jpg", seed=i, size=(200 + 10 * i, 150))
    (d / "notes.txt").write_text("not a photo")
    return d


def _cfg(tmp_path, folder, **kw) -> TrainConfig:
    base = dict(folders=[folder], out=tmp_path / "out", name="tiny", steps=12, batch=8, lr=3e-3, warmup_steps=2,
                device="cpu", seed=0, input_size=32, embedding_size=16, arch=dict(TINY), threads=1,
                run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", short_side=64, log_every=2)
    base.update(kw)
    return TrainConfig(**base)


def test_cache_and_pairs(tmp_path, photo_folder):
    assert len(list_images([photo_folder])) == 10
    cache, path, _ = build_cache([photo_folder], tmp_path / "cache", short_side=64, log=lambda m: None)
    assert len(cache) == 10 and path.is_file()
    assert min(cache.image(0).shape[:2]) == 64
    again, path2, _ = build_cache([photo_folder], tmp_path / "cache", short_side=64, log=lambda m: None)
    assert path2 == path and np.array_equal(again.pixels, cache.pixels)
    c1, e1 = PairSampler(cache, 32, seed=3).batch(5)
    c2, e2 = PairSampler(cache, 32, seed=3).batch(5)
    assert c1.shape == e1.shape == (5, 32, 32, 3) and c1.dtype == np.uint8
    assert np.array_equal(c1, c2) and np.array_equal(e1, e2)      # seeded
    assert not np.array_equal(c1, e1)                              # edited copies differ
    pc, pe = PairSampler(cache, 32, seed=3, plain=True).batch(3)
    assert np.array_equal(pc, pe)                                  # plain AE: no edits


def test_refuses_eval_folders(tmp_path):
    d = tmp_path / "eval" / "x"
    write_photo(d / "a.jpg", seed=1)
    with pytest.raises(TrainingDataError):
        list_images([d])


def test_nt_xent_prefers_matching_pairs():
    z = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    good = nt_xent(z, z + 0.01 * torch.randn(6, 8), 0.1)
    bad = nt_xent(z, z[torch.tensor([1, 2, 3, 4, 5, 0])], 0.1)
    assert good < bad


def test_training_loss_falls_and_exports(tmp_path, photo_folder):
    summary = train(_cfg(tmp_path, photo_folder), echo=None)
    hist = summary["history"]
    assert summary["steps"] == 12 and len(hist) == 6
    assert np.mean([h["loss"] for h in hist[-2:]]) < hist[0]["loss"], hist
    card_path = tmp_path / "out" / "tiny.json"
    card = json.loads(card_path.read_text())
    assert card["random_init"] is False
    assert card["training"]["steps"] == 12 and card["training"]["device"] == "cpu"
    assert card["input_size"] == 32 and card["embedding_size"] == 16 and "benchmark" in card
    m = load_model(card_path, "cpu")
    e = m.embed(np.zeros((2, 32, 32, 3), np.uint8))
    assert e.shape == (2, 16)
    assert (tmp_path / "run" / "last.ckpt").is_file() and (tmp_path / "run" / "train.log").is_file()


def test_resume_continues_from_checkpoint(tmp_path, photo_folder):
    train(_cfg(tmp_path, photo_folder, steps=4, export=False), echo=None)
    s = train(_cfg(tmp_path, photo_folder, steps=6, resume=True), echo=None)
    assert s["steps"] == 6 and len(s["history"]) == 1
    log = (tmp_path / "run" / "train.log").read_text()
    assert "resumed from" in log and "at step 4" in log


def test_plain_autoencoder_trains_reconstruction_only(tmp_path, photo_folder):
    s = train(_cfg(tmp_path, photo_folder, plain=True, name="plain", arch={**TINY, "latent_channels": 4}),
              echo=None)
    hist = s["history"]
    assert all(h["nce"] == 0 for h in hist)
    assert hist[-1]["rec"] < hist[0]["rec"], hist
    m = load_model(tmp_path / "out" / "plain.json", "cpu")
    assert m.card["arch"]["embed"] == "latent" and m.embedding_size == 4 * 4 * 4


def test_cli_train_and_reconstruct(tmp_path, photo_folder):
    from imgsim_desktop.cli import main

    rc = main(["train", str(photo_folder), "--steps", "2", "--batch", "4", "--input-size", "32",
               "--embedding-size", "16", "--arch", json.dumps(TINY), "--out", str(tmp_path / "o"),
               "--name", "cli", "--run-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c"),
               "--device", "cpu", "--threads", "1", "--log-every", "1"])
    assert rc == 0
    card = tmp_path / "o" / "cli.json"
    out = tmp_path / "rec.png"
    rc = main(["reconstruct", str(next(photo_folder.rglob("*.jpg"))), "-o", str(out), "--model", str(card),
               "--scale", "1"])
    assert rc == 0
    img = Image.open(out)
    assert img.size == (2 * 32 + 4, 32)
    assert main(["reconstruct", str(tmp_path / "missing.jpg"), "-o", str(out), "--model", str(card)]) != 0
    assert main(["reconstruct", str(out), "-o", str(out), "--model", str(tmp_path / "nope.json")]) == 3


def test_edit_weights_and_edit_grouped_batches(tmp_path, photo_folder):
    from imgsim_desktop.edits import EDITS

    cache, _, _ = build_cache([photo_folder], tmp_path / "cache", short_side=64, log=lambda m: None)
    only_gray = {n: 0.0 for n in EDITS} | {"grayscale": 1.0}
    s = PairSampler(cache, 32, seed=1, edit_weights=only_gray, p_second=0.0)
    _, edited = s.batch(6)
    assert s.last_edits == ["grayscale"] * 6
    e = edited.astype(int)
    assert np.abs(e[..., 0] - e[..., 1]).max() <= 1 and np.abs(e[..., 1] - e[..., 2]).max() <= 1  # really grey

    g = PairSampler(cache, 32, seed=2, group_size=4, p_grouped=1.0, p_second=0.0)
    kinds = set()
    for _ in range(5):
        g.batch(12)
        runs = [g.last_edits[i:i + 4] for i in range(0, 12, 4)]
        assert all(len(set(r)) == 1 for r in runs), g.last_edits
        kinds.update(r[0] for r in runs)
    assert len(kinds) > 3                      # runs draw different edits
    u = PairSampler(cache, 32, seed=2, p_second=0.0)
    u.batch(24)
    assert len(set(u.last_edits)) > 4          # ungrouped batches mix edits


def test_init_from_exported_model(tmp_path, photo_folder):
    from imgsim_desktop.core.errors import ModelError

    train(_cfg(tmp_path, photo_folder, steps=3, name="first"), echo=None)
    first = tmp_path / "out" / "first.json"
    s = train(_cfg(tmp_path, photo_folder, steps=0, name="second", init_from=first, run_dir=tmp_path / "run2"),
              echo=None)
    assert s["steps"] == 0
    x = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    a = load_model(first, "cpu").embed(x)
    b = load_model(tmp_path / "out" / "second.json", "cpu").embed(x)
    assert np.allclose(a, b, atol=1e-6)
    assert "initial weights from" in (tmp_path / "run2" / "train.log").read_text()
    with pytest.raises(ModelError):
        train(_cfg(tmp_path, photo_folder, steps=1, name="third", init_from=first, run_dir=tmp_path / "run3",
                   arch={**TINY, "widths": [8, 16, 48]}), echo=None)


def test_cli_rejects_unknown_edit_weights(tmp_path, photo_folder, capsys):
    from imgsim_desktop.cli import main

    rc = main(["train", str(photo_folder), "--steps", "1", "--edit-weights", '{"sepia": 2}',
               "--run-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c")])
    assert rc == 2
    assert "sepia" in capsys.readouterr().err


# What a bare GPU machine has (torch, numpy, pillow, safetensors) must be enough to train there.
_BARE = r"""
import sys, importlib.abc
BLOCK = {"hnswlib", "watchdog", "PySide6", "shiboken6", "pillow_heif", "rawpy", "imagehash", "send2trash",
         "platformdirs"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCK:
            raise ImportError("not on the GPU machine: " + name)
sys.meta_path.insert(0, Block())
from imgsim_desktop.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_training_needs_only_what_a_bare_gpu_machine_has(tmp_path, photo_folder):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"}
    env.pop("IMGSIM_HOME", None)
    r = subprocess.run([sys.executable, "-c", _BARE, "train", str(photo_folder), "--steps", "2", "--batch", "4",
                        "--input-size", "32", "--embedding-size", "16", "--arch", json.dumps(TINY),
                        "--out", str(tmp_path / "o"), "--run-dir", str(tmp_path / "r"),
                        "--cache-dir", str(tmp_path / "c"), "--threads", "1"],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "o" / "imgsim-ae.safetensors").is_file()


def test_lookalike_head_trains_on_a_frozen_base_and_keeps_its_duplicates(tmp_path, photo_folder):
    from imgsim_desktop.core.errors import ModelError
    from imgsim_desktop.training.lookhead import LookConfig, train_lookalike_head

    train(_cfg(tmp_path, photo_folder, steps=3, name="base"), echo=None)
    base = tmp_path / "out" / "base.json"
    cfg = LookConfig(base=base, folders=[photo_folder], out=tmp_path / "look", steps=16, batch=12, lr=3e-3,
                     hidden=32, dim=8, device="cpu", threads=1, cache_dir=tmp_path / "cache", short_side=64,
                     run_dir=tmp_path / "lrun", log_every=2, tta="mirror")
    s = train_lookalike_head(cfg, echo=None)
    hist = [h["loss"] for h in s["history"]]
    assert s["steps"] == 16 and np.mean(hist[-3:]) < hist[0], hist
    m = load_model(tmp_path / "look" / "base.json", "cpu")
    b = load_model(base, "cpu")
    assert m.spaces == {"duplicates": (0, 16), "lookalikes": (16, 24)} and m.tta == "mirror"
    assert m.card["lookalike_head"]["base_model"] == b.model_id and "thresholds" not in m.card
    x = np.random.default_rng(1).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    b.tta = "mirror"
    e = m.embed(x)
    assert np.allclose(e[:, :16], b.embed(x), atol=1e-5)             # duplicates untouched
    assert np.allclose(np.linalg.norm(e[:, 16:], axis=1), 1.0, atol=1e-5)
    with pytest.raises(ModelError, match="already has a lookalike head"):
        train_lookalike_head(LookConfig(base=tmp_path / "look" / "base.json", folders=[photo_folder], steps=1,
                                        out=tmp_path / "x", cache_dir=tmp_path / "cache", short_side=64,
                                        device="cpu", run_dir=tmp_path / "x"), echo=None)
