"""core/model.py: preprocessing, embedding, save/load round trip, clear errors, and the shipped model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from imgsim_desktop.core import model as M
from imgsim_desktop.core.errors import ModelError
from photos import photo

torch.set_num_threads(1)

SHIPPED = Path(__file__).resolve().parents[1] / "resources" / "models" / "imgsim-ae.json"
SHIPPED_PLAIN = SHIPPED.with_name("plain-ae.json")


@pytest.fixture
def rand_card(tmp_path) -> Path:
    return M.create_random_model(tmp_path / "m", name="test-model", input_size=32, embedding_size=16, seed=0)


def _batch(m, n=4):
    return np.stack([m.preprocess(photo(i)) for i in range(n)])


def test_preprocess_squashes_whole_image_any_mode():
    for mode in ("RGB", "L", "RGBA", "P", "CMYK"):
        img = photo(1, (300, 90)).convert(mode)
        a = M.preprocess_image(img, 48)
        assert a.shape == (48, 48, 3) and a.dtype == np.uint8
    # no crop: a bright stripe at the far left edge survives the squash
    img = Image.new("RGB", (400, 100), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 20, 100))
    a = M.preprocess_image(img, 40)
    assert a[:, 0].mean() > 200 and a[:, -1].mean() < 5


def test_random_model_loads_and_embeds(rand_card):
    card = json.loads(rand_card.read_text())
    assert card["random_init"] is True and card["format_version"] == M.FORMAT_VERSION
    m = M.load_model(rand_card, device="cpu")
    assert m.input_size == 32 and m.embedding_size == 16 and m.device == "cpu"
    assert m.model_id.startswith("test-model-0-") and len(m.model_id.split("-")[-1]) == 12
    assert m.card["model_id"] == m.model_id
    e = m.embed(_batch(m))
    assert e.shape == (4, 16) and e.dtype == np.float32
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert m.embed(np.zeros((0, 32, 32, 3), np.uint8)).shape == (0, 16)
    rec = m.reconstruct(photo(3))
    assert rec.size == (32, 32) and rec.mode == "RGB"
    with pytest.raises(ValueError):
        m.embed(np.zeros((2, 31, 32, 3), np.uint8))
    # the .safetensors path works as well as the card
    assert M.load_model(rand_card.with_suffix(".safetensors")).model_id == m.model_id


def test_export_load_round_trip_identical_embeddings(tmp_path):
    arch = M.full_arch({"widths": [8, 16, 32], "extra": [0, 1, 1], "dec_widths": [16, 8]})
    torch.manual_seed(1)
    net = M.build_network(arch, 32, 24)
    # make BN statistics non-trivial, as after training
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(8, 3, 32, 32))
    net.eval()
    card_path = M.save_model(net, {"arch": arch, "input_size": 32, "embedding_size": 24}, tmp_path, "rt")
    a, b = M.load_model(card_path, "cpu"), M.load_model(card_path, "cpu")
    x = _batch(a, 6)
    ea, eb = a.embed(x), b.embed(x)
    assert np.array_equal(ea, eb)
    with torch.inference_mode():
        direct = net.embed(a._to_tensor(x)).numpy()
    assert np.allclose(ea, direct, atol=1e-5)
    assert a.model_id == b.model_id


def test_latent_model_for_plain_baseline(tmp_path):
    card = M.create_random_model(tmp_path, name="plain", input_size=32, embed="latent", latent_channels=4)
    m = M.load_model(card)
    assert m.embedding_size == 4 * 4 * 4
    assert m.embed(_batch(m, 2)).shape == (2, 64)


def _expect_model_error(path, match=None):
    with pytest.raises(ModelError) as ei:
        M.load_model(path, "cpu")
    msg = str(ei.value)
    assert "\n" not in msg and msg
    if match:
        assert match in msg, msg
    return msg


def test_missing_files_give_clear_errors(tmp_path, rand_card):
    _expect_model_error(tmp_path / "nope.json", "not found")
    rand_card.with_suffix(".safetensors").unlink()
    _expect_model_error(rand_card, "not found")


def test_corrupt_weights_give_clear_error(rand_card):
    w = rand_card.with_suffix(".safetensors")
    w.write_bytes(b"\x00" * 3 + b"not a safetensors file at all" * 20)
    _expect_model_error(rand_card, "corrupt")


def test_truncated_weights_give_clear_error(rand_card):
    w = rand_card.with_suffix(".safetensors")
    data = w.read_bytes()
    w.write_bytes(data[: len(data) // 2])
    _expect_model_error(rand_card)


def test_mismatched_weights_give_clear_error(tmp_path, rand_card):
    # weights of another architecture under this card
    other = M.create_random_model(tmp_path / "other", name="test-model", input_size=32, embedding_size=8)
    rand_card.with_suffix(".safetensors").write_bytes(other.with_suffix(".safetensors").read_bytes())
    _expect_model_error(rand_card, "do not match")


def test_mismatched_card_gives_clear_error(rand_card):
    card = json.loads(rand_card.read_text())
    bad = dict(card, embedding_size=99)
    rand_card.write_text(json.dumps(bad))
    _expect_model_error(rand_card, "do not match")
    rand_card.write_text(json.dumps(dict(card, format_version=999)))
    _expect_model_error(rand_card, "format version")
    rand_card.write_text("{not json")
    _expect_model_error(rand_card, "not JSON")
    rand_card.write_text(json.dumps(dict(card, arch=dict(card["arch"], widths=[8, 16, 64]))))
    _expect_model_error(rand_card, "do not match")


def test_resolve_device():
    assert M.resolve_device("cpu") == "cpu"
    assert M.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError):
            M.resolve_device("cuda")
    with pytest.raises(ModelError):
        M.resolve_device("tpu")


# ------------------------------------------------------------------------------------- shipped model

def _edited_vs_unrelated(card: Path) -> tuple[np.ndarray, np.ndarray]:
    from imgsim_desktop.edits import EDITS

    m = M.load_model(card, "cpu")
    orig = photo(1234, (480, 360))
    rng = random.Random(7)
    edited = [EDITS[name](orig, rng) for name in ("jpeg", "downscale_jpeg", "crop", "exposure", "mirror",
                                                  "caption", "blur", "noise", "aspect", "rotate_crop")]
    unrelated = [photo(5000 + i, (480, 360)) for i in range(20)]
    e = m.embed(np.stack([m.preprocess(x) for x in [orig] + edited + unrelated]))
    sims = e[1:] @ e[0]
    return sims[: len(edited)], sims[len(edited):]


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped model in resources/models")
def test_shipped_model_loads_with_card():
    m = M.load_model(None, "cpu")
    assert m.card["name"] == "imgsim-ae" and not m.card.get("random_init")
    assert m.card["training"]["steps"] > 0
    assert m.card["params"]["total"] <= 5_000_000
    assert "benchmark" in m.card


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped model in resources/models")
def test_shipped_model_puts_edited_copies_closer_than_unrelated_photos():
    ed, un = _edited_vs_unrelated(SHIPPED)
    assert ed.mean() > un.max(), (ed, un)
    assert (ed > np.median(un)).all(), (ed, un)


@pytest.mark.skipif(not SHIPPED_PLAIN.is_file(), reason="no plain baseline in resources/models")
def test_shipped_plain_baseline_loads():
    m = M.load_model(SHIPPED_PLAIN, "cpu")
    assert m.card["arch"]["embed"] == "latent"
    assert m.embed(np.zeros((1, m.input_size, m.input_size, 3), np.uint8)).shape == (1, m.embedding_size)


def test_whitening_is_stored_and_applied(tmp_path):
    arch = M.full_arch({"widths": [8, 16, 32], "extra": [0, 0, 0], "dec_widths": [8]})
    torch.manual_seed(2)
    net = M.build_network(arch, 32, 8).eval()
    rng = np.random.default_rng(0)
    mean = rng.normal(size=8).astype(np.float32) * 0.1
    mat = rng.normal(size=(8, 8)).astype(np.float32)
    base = {"arch": arch, "input_size": 32, "embedding_size": 8}
    plain = M.load_model(M.save_model(net, base, tmp_path / "a", "w"))
    card_path = M.save_model(net, base, tmp_path / "b", "w", whitening={"mean": mean, "matrix": mat, "n": 3})
    white = M.load_model(card_path)
    assert white.card["whitening"] == {"n": 3}
    x = np.stack([white.preprocess(photo(i)) for i in range(3)])
    raw = plain.embed(x)
    want = (raw - mean) @ mat
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.allclose(white.embed(x), want, atol=1e-5)
    # a card that names whitening over weights without it is refused
    card = json.loads(card_path.read_text())
    (tmp_path / "a" / "w.json").write_text(json.dumps(dict(card, weights_sha256=None)))
    _expect_model_error(tmp_path / "a" / "w.json", "whitening")


def test_mirror_tta_gives_mirrored_copies_the_same_vector_and_its_own_model_id(tmp_path):
    arch = M.full_arch({"widths": [8, 16, 32], "extra": [0, 1, 1], "dec_widths": [16, 8]})
    torch.manual_seed(2)
    net = M.build_network(arch, 32, 16).eval()
    base = {"arch": arch, "input_size": 32, "embedding_size": 16}
    plain_card = M.save_model(net, base, tmp_path / "a", "m")
    tta_card = M.save_model(net, {**base, "tta": "mirror"}, tmp_path / "b", "m")
    plain, tta = M.load_model(plain_card, "cpu"), M.load_model(tta_card, "cpu")
    assert plain.tta == "none" and tta.tta == "mirror"
    assert tta.model_id == plain.model_id + "-mirror"          # their vectors never share an index
    assert json.loads(tta_card.read_text())["model_id"] == tta.model_id
    x = _batch(plain, 5)
    mirrored = x[:, :, ::-1, :]
    ep, em = plain.embed(x), plain.embed(mirrored)
    assert not np.allclose(ep, em, atol=1e-3)                  # the network alone is not mirror-invariant
    et, etm = tta.embed(x), tta.embed(mirrored)
    assert np.allclose(et, etm, atol=1e-5)
    assert np.allclose(np.linalg.norm(et, axis=1), 1.0, atol=1e-5)
    expect = ep + em
    expect /= np.linalg.norm(expect, axis=1, keepdims=True)
    assert np.allclose(et, expect, atol=1e-5)                  # the mean direction of the two views


def test_unknown_tta_is_a_clear_error(tmp_path, rand_card):
    card = json.loads(rand_card.read_text())
    card["tta"] = "rotate"
    rand_card.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="test-time augmentation"):
        M.load_model(rand_card, "cpu")


def test_export_is_reproducible(tmp_path):
    """The same weights give the same file, so the same model id (the id is the file's hash)."""
    arch = M.full_arch({"widths": [8, 16, 32], "extra": [0, 1, 1], "dec_widths": [16, 8]})
    torch.manual_seed(4)
    net = M.build_network(arch, 32, 16).eval()
    cards = [M.save_model(net, {"arch": arch, "input_size": 32, "embedding_size": 16}, tmp_path / d, "m")
             for d in ("a", "b", "c")]
    assert len({json.loads(c.read_text())["weights_sha256"] for c in cards}) == 1
