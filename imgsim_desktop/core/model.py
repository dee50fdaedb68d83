"""The bundled model: the one preprocessing rule, saving, loading and embedding (the network is in network.py).

A model is two files side by side: ``<name>.safetensors`` (weights, never pickle) and ``<name>.json`` (the
"card": architecture, input size, normalisation, embedding size, training settings, benchmark figures).
Training (``imgsim_desktop.training``) builds networks with :func:`build_network`, preprocesses photos with
:func:`preprocess_image` and exports with :func:`save_model`, so training and inference cannot drift apart.

The network itself (encoder, heads, decoder) is described and built in :mod:`.network`.

Test-time augmentation (card ``"tta"``): ``"mirror"`` makes the index vector the normalised mean of the
descriptors of the photo and of its left-right mirror image, so a mirrored copy gets exactly the same vector
(it costs a second pass of the network, which is cheap next to decoding). It is part of the model id: vectors
made with and without it never share an index.
"""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import ModelError
# the card's facts and the model id live in model_card.py (read without numpy, PIL or torch); re-exported
from .model_card import (DEFAULT_MODEL_NAME, FORMAT_VERSION, IMAGENET_MEAN, IMAGENET_STD,  # noqa: F401
                         VECTOR_KEYS, _locate, _read_card, _sha256, card_model_id, make_model_id,
                         model_id_for, model_thresholds)
from .network import DEFAULT_ARCH, _torch, build_network, count_parameters, full_arch  # noqa: F401 (re-exported)

_RESAMPLE = Image.Resampling.BICUBIC
TTA_MODES = ("none", "mirror")


# --------------------------------------------------------------------------------------------- devices

def resolve_device(pref: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when a CUDA GPU is usable, else ``"cpu"``; ``"cuda"`` without CUDA -> ModelError."""
    import torch

    pref = (pref or "auto").lower()
    if pref == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if pref == "cpu":
        return "cpu"
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError("CUDA was requested but no CUDA GPU is available (use --device cpu or auto)")
        return pref
    raise ModelError(f"unknown device {pref!r} (use auto, cpu or cuda)")


# ---------------------------------------------------------------------------------------- preprocessing

def preprocess_image(img: Image.Image, size: int) -> np.ndarray:
    """The one resize rule: squash the WHOLE image to size x size (no crop), antialiased bicubic. -> uint8 HxWx3."""
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            bg = Image.new("RGB", rgba.size, (255, 255, 255))
            bg.paste(rgba, mask=rgba.getchannel("A"))
            img = bg
        else:
            img = img.convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), _RESAMPLE, reducing_gap=3.0)
    return np.asarray(img, dtype=np.uint8).reshape(size, size, 3)


# ------------------------------------------------------------------------------------------ save / load

def save_model(net, card: dict, out_dir: Path, name: str, whitening: dict | None = None) -> Path:
    """Write ``<name>.safetensors`` + ``<name>.json`` into out_dir; returns the card path.

    ``card`` must carry ``arch``, ``input_size``, ``embedding_size`` (and may carry anything else); name,
    format_version, version, mean/std defaults and model_id are filled in here. ``whitening`` (optional):
    ``{"mean": (D,), "matrix": (D, D)}`` arrays applied to the descriptor after the network (see
    :meth:`LoadedModel.embed`); stored as tensors ``whiten.mean`` / ``whiten.matrix``.
    """
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    card = copy.deepcopy(card)
    card["name"] = name
    card.setdefault("version", "1")
    card["format_version"] = FORMAT_VERSION
    card.setdefault("mean", list(IMAGENET_MEAN))
    card.setdefault("std", list(IMAGENET_STD))
    card["embedding_size"] = int(net.out_dim)
    card["params"] = {"total": count_parameters(net), "encoder": count_parameters(net.encoder)
                      + (count_parameters(net.pool) + count_parameters(net.proj) if net.embed_mode == "head"
                         else count_parameters(net.squeeze))}
    weights = out_dir / f"{name}.safetensors"
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    if whitening is not None:
        torch = _torch()
        d = int(net.out_dim)
        wm = torch.as_tensor(np.asarray(whitening["mean"], np.float32)).reshape(d).contiguous()
        wx = torch.as_tensor(np.asarray(whitening["matrix"], np.float32)).reshape(d, d).contiguous()
        tensors["whiten.mean"], tensors["whiten.matrix"] = wm, wx
        card["whitening"] = {k: v for k, v in whitening.items() if k not in ("mean", "matrix")} or {"fitted": True}
    else:
        card.pop("whitening", None)
    tmp = weights.with_suffix(".safetensors.tmp")
    # one metadata key: safetensors writes a dict's keys in no fixed order, and the file's hash is the model id
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    tmp.replace(weights)
    weights.chmod(0o644)
    card["weights"] = weights.name
    card["weights_sha256"] = _sha256(weights)
    card["model_id"] = model_id_for(name, card["version"], card["weights_sha256"], card.get("tta"), card)
    card_path = out_dir / f"{name}.json"
    tmpc = card_path.with_suffix(".json.tmp")
    tmpc.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmpc.replace(card_path)
    return card_path


def _load_weights(weights_path: Path) -> dict:
    if not weights_path.is_file():
        raise ModelError(f"model weights not found: {weights_path}")
    from safetensors.torch import load_file

    try:
        with open(weights_path, "rb") as f:
            head = f.read(8)
        if len(head) < 8 or struct.unpack("<Q", head)[0] > weights_path.stat().st_size:
            raise ValueError("bad header")
        return load_file(str(weights_path), device="cpu")
    except Exception as exc:  # safetensors raises several types for damaged files
        raise ModelError(f"model weights {weights_path.name} are corrupt or not a safetensors file "
                         f"({exc.__class__.__name__})") from None


def _fuse_conv_bn(net) -> None:
    """Fold every eval-mode BatchNorm into the conv before it (same outputs, less work at inference)."""
    torch = _torch()
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for mod in net.modules():
        if isinstance(mod, torch.nn.Sequential) and len(mod) >= 2 and isinstance(mod[0], torch.nn.Conv2d) \
                and isinstance(mod[1], torch.nn.BatchNorm2d):
            mod[0] = fuse_conv_bn_eval(mod[0], mod[1])
            mod[1] = torch.nn.Identity()


def space_part(vectors: np.ndarray, spaces: dict[str, tuple[int, int]] | None, space: str) -> np.ndarray:
    """Rows of whole model vectors cut to ``space``'s columns and L2-normalised again; vectors of a model
    with one space come back as they are."""
    if not spaces or len(spaces) < 2:
        return vectors
    a, b = spaces.get(space) or spaces["duplicates"]
    v = np.asarray(vectors, dtype=np.float32)[:, a:b]
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


class LoadedModel:
    """A ready-to-use model: preprocess photos, embed batches, reconstruct."""

    def __init__(self, net, card: dict, device: str, card_path: Path | None = None, whitening: dict | None = None):
        torch = _torch()
        net.eval()
        _fuse_conv_bn(net)
        self.net = net.to(device).to(memory_format=torch.channels_last).eval()
        self._whiten = None
        if whitening:
            self._whiten = (whitening["mean"].float().to(device), whitening["matrix"].float().to(device))
        self.card = card
        self.card_path = card_path
        self.device = device
        self.model_id: str = card["model_id"]
        self.name: str = card["name"]
        self.input_size: int = int(card["input_size"])
        self.embedding_size: int = int(card["embedding_size"])
        self.tta: str = card.get("tta") or "none"
        look = getattr(net, "look", None)
        if look is not None:
            d = int(net.dup_dim)
            self.spaces: dict[str, tuple[int, int]] = {"duplicates": (0, d),
                                                       "lookalikes": (d, self.embedding_size)}
        else:
            self.spaces = {"duplicates": (0, self.embedding_size)}
        self._mean = torch.tensor(card["mean"], dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0
        self._std = torch.tensor(card["std"], dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0
        self.batch_size = 64

    @property
    def thresholds(self) -> dict[str, float]:
        """Default "duplicates"/"similar" cuts for this model's cosine scores (its card's, else the fallback)."""
        return model_thresholds(self.card)

    def __repr__(self) -> str:
        return f"LoadedModel({self.model_id}, {self.input_size}px -> {self.embedding_size}d on {self.device})"

    def preprocess(self, img: Image.Image) -> np.ndarray:
        return preprocess_image(img, self.input_size)

    def _to_tensor(self, batch: np.ndarray):
        torch = _torch()
        arr = np.ascontiguousarray(batch)
        if not arr.flags.writeable:
            arr = arr.copy()
        t = torch.from_numpy(arr).to(self.device)
        t = t.permute(0, 3, 1, 2).float()  # NHWC memory: channels_last, which is what the net runs fastest in
        return ((t - self._mean) / self._std).contiguous(memory_format=torch.channels_last)

    def _check(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch)
        s = self.input_size
        if batch.ndim == 3:
            batch = batch[None]
        if batch.ndim != 4 or batch.shape[1:] != (s, s, 3):
            raise ValueError(f"embed expects uint8 (N,{s},{s},3), got {batch.shape}")
        if batch.dtype != np.uint8:
            batch = np.clip(batch, 0, 255).astype(np.uint8)
        return batch

    def space(self, name: str) -> tuple[int, int]:
        """Columns of the vector that serve ``name`` ("duplicates" or "lookalikes"); a model without a
        lookalike head serves both from its one descriptor."""
        return self.spaces.get(name) or self.spaces["duplicates"]

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """uint8 (N,S,S,3) -> float32 (N,D). Each space's part of a row is L2-normalised (the whole row is,
        for a model with one space)."""
        torch = _torch()
        batch = self._check(batch)
        n = batch.shape[0]
        out = np.zeros((n, self.embedding_size), dtype=np.float32)
        if n == 0:
            return out
        with torch.inference_mode():
            for i in range(0, n, self.batch_size):
                x = self._to_tensor(batch[i:i + self.batch_size])
                if self.tta == "mirror":  # one pass over photo + mirror image, then the mean direction
                    m = x.shape[0]
                    e = self.net.embed(torch.cat([x, x.flip(3)]))
                    e = e[:m] + e[m:]
                    e = torch.cat([torch.nn.functional.normalize(e[:, a:b], dim=1)
                                   for a, b in self.spaces.values()], dim=1)
                else:
                    e = self.net.embed(x)
                if self._whiten is not None:
                    e = torch.nn.functional.normalize((e.float() - self._whiten[0]) @ self._whiten[1], dim=1)
                out[i:i + e.shape[0]] = e.float().cpu().numpy()
        return out

    def reconstruct_array(self, arr: np.ndarray) -> np.ndarray:
        torch = _torch()
        arr = self._check(arr)
        with torch.inference_mode():
            _, rec = self.net(self._to_tensor(arr))
        return (rec.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    def reconstruct(self, img: Image.Image) -> Image.Image:
        """The decoder's rebuild of the photo as the model sees it, at S x S (a decoder that works at a lower
        resolution is enlarged with bicubic resampling)."""
        out = Image.fromarray(self.reconstruct_array(self.preprocess(img))[0], "RGB")
        if out.size != (self.input_size, self.input_size):
            out = out.resize((self.input_size, self.input_size), Image.Resampling.BICUBIC)
        return out


def load_model(path: Path | None = None, device: str = "auto") -> LoadedModel:
    """Load a card + safetensors pair (default: the bundled ``resources/models/imgsim-ae``)."""
    torch = _torch()
    card_path, weights_path = _locate(path)
    card = _read_card(card_path)
    if card.get("weights"):
        weights_path = card_path.parent / Path(card["weights"]).name
    dev = resolve_device(device)
    try:
        arch = full_arch(card["arch"])
        input_size = int(card["input_size"])
        emb = int(card["embedding_size"])
        look_dim = int((arch.get("look") or {}).get("dim", 0))  # the card's size counts both heads
        net = build_network(arch, input_size, emb - look_dim)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"model card {card_path.name} describes an unknown architecture ({exc})") from None
    if net.out_dim != emb:
        raise ModelError(f"model card {card_path.name}: embedding_size {emb} does not match its architecture "
                         f"({net.out_dim})")
    state = _load_weights(weights_path)
    whiten = {k[len("whiten."):]: state.pop(k) for k in list(state) if k.startswith("whiten.")}
    if card.get("whitening") and getattr(net, "look", None) is not None:
        raise ModelError(f"model card {card_path.name}: whitening is not supported with a lookalike head")
    if card.get("whitening"):
        d = net.out_dim
        if set(whiten) != {"mean", "matrix"} or tuple(whiten["mean"].shape) != (d,) \
                or tuple(whiten["matrix"].shape) != (d, d):
            raise ModelError(f"model weights {weights_path.name} lack the whitening tensors its card names")
    elif whiten:
        raise ModelError(f"model weights {weights_path.name} carry whitening tensors its card does not mention")
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise ModelError(f"model weights {weights_path.name} do not match the card's architecture "
                         f"({len(missing)} missing, {len(unexpected)} unexpected tensors)")
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ModelError(f"model weights {weights_path.name} do not match the card: tensor {k} has shape "
                             f"{tuple(state[k].shape)}, expected {tuple(v.shape)}")
        if state[k].is_floating_point() and not torch.isfinite(state[k]).all():
            raise ModelError(f"model weights {weights_path.name} contain NaN/inf values (tensor {k})")
    net.load_state_dict(state, strict=True)
    card = dict(card)
    sha = _sha256(weights_path)
    if card.get("weights_sha256") and card["weights_sha256"] != sha:
        raise ModelError(f"model weights {weights_path.name} do not match their card (checksum differs)")
    tta = card.get("tta") or "none"
    if tta not in TTA_MODES:
        raise ModelError(f"model card {card_path.name}: unknown test-time augmentation {tta!r} "
                         f"(known: {', '.join(TTA_MODES)})")
    card["model_id"] = card_model_id(card, sha)
    return LoadedModel(net, card, dev, card_path, whiten or None)


# ------------------------------------------------------------------------------------------ test helper

def create_random_model(out_dir: Path, name: str = "test-model", input_size: int = 32, embedding_size: int = 16,
                        seed: int = 0, **arch) -> Path:
    """FOR TESTS ONLY: a small randomly initialised model saved as card + safetensors; returns the card path.

    The card says ``"random_init": true``. The app's default path never calls this.
    """
    torch = _torch()
    small = {"widths": [8, 16, 32], "extra": [0, 0, 0], "dec_widths": [16, 8, 8]}
    small.update(arch)
    a = full_arch(small)
    if a.get("embed") == "latent":
        embedding_size = 0
    g = torch.random.fork_rng(devices=[])
    with g:
        torch.manual_seed(seed)
        net = build_network(a, input_size, embedding_size)
    net.eval()
    card = {"version": "0", "arch": a, "input_size": input_size, "embedding_size": net.out_dim,
            "random_init": True, "training": None, "benchmark": {}}
    return save_model(net, card, Path(out_dir), name)
