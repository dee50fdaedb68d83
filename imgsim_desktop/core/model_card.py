"""A model as the library knows it before its weights are needed: card facts, id, spaces, thresholds.

``import torch`` alone costs about 2 s and 800 MB, and most commands (status, dupes, similar of an indexed
photo, folders) never run the network: they only need the model id (to pick the catalog's vectors), the
spaces (which columns each index holds) and the thresholds. :class:`LazyModel` answers those from the card
and the weights file's checksum, and loads the real :class:`~.model.LoadedModel` on the first call that
needs the network (``embed``, ``reconstruct``...). Its id is computed by the same function as
``load_model``'s, so vectors made before and after a lazy open share an index.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ModelError
from .paths import models_dir

if TYPE_CHECKING:  # not imported at run time: `imgsim status` reads the card without numpy or PIL
    import numpy as np
    from PIL import Image

DEFAULT_MODEL_NAME = "imgsim-ae"
FORMAT_VERSION = 1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Cosine-similarity cuts belong to the model that made the vectors: a model card carries its own
# "thresholds", chosen by `imgsim bench-calibrate` from its benchmark figures (docs/benchmark.md). These are
# the fallback for a card without them (they were chosen the same way for imgsim-ae v1/v2).
DEFAULT_THRESHOLDS = {"duplicates": 0.75, "similar": 0.64}
TIERS = ("duplicates", "similar")


def model_thresholds(card: dict | None) -> dict[str, float]:
    """The card's own thresholds when it has sane ones (both tiers, -1..1, similar <= duplicates), else the
    fallback."""
    t = (card or {}).get("thresholds")
    try:
        out = {tier: float(t[tier]) for tier in TIERS}
    except (TypeError, KeyError, ValueError):
        return dict(DEFAULT_THRESHOLDS)
    if not all(-1.0 <= v <= 1.0 for v in out.values()) or out["similar"] > out["duplicates"]:
        return dict(DEFAULT_THRESHOLDS)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Card keys that change the vector a photo gets: preprocessing, architecture, output, augmentation.
VECTOR_KEYS = ("arch", "input_size", "mean", "std", "embedding_size", "tta")


def model_id_for(name: str, version: str, weights_sha256: str, tta: str | None = None,
                 card: dict | None = None) -> str:
    """What identifies a model's vectors: its weights and everything in the card that changes a vector
    (input size, mean/std, architecture, test-time augmentation). Editing any of them gives a new id, so
    vectors made the old way are never mixed with new ones. The augmentation is the id's suffix."""
    card = card or {}
    tta = tta if tta is not None else card.get("tta")
    tta = None if tta in (None, "none") else tta
    recipe = {k: card.get(k) for k in VECTOR_KEYS if k != "tta"}
    recipe["mean"] = recipe["mean"] if recipe["mean"] is not None else list(IMAGENET_MEAN)
    recipe["std"] = recipe["std"] if recipe["std"] is not None else list(IMAGENET_STD)
    digest = hashlib.sha256((weights_sha256 + json.dumps(recipe, sort_keys=True, default=str)).encode())
    base = f"{name}-{version}-{digest.hexdigest()[:12]}"
    return base if tta is None else f"{base}-{tta}"


def make_model_id(name: str, version: str, weights_path: Path, tta: str | None = None,
                  card: dict | None = None) -> str:
    return model_id_for(name, version, _sha256(Path(weights_path)), tta, card)


def card_model_id(card: dict, weights_sha256: str) -> str:
    """The id of the vectors a card + weights make: the one rule load_model and LazyModel share."""
    return model_id_for(card["name"], card["version"], weights_sha256, card.get("tta"), card)


def _locate(path: Path | None) -> tuple[Path, Path]:
    if path is None:
        path = models_dir() / f"{DEFAULT_MODEL_NAME}.json"
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / f"{DEFAULT_MODEL_NAME}.json"
    if path.suffix == ".safetensors":
        return path.with_suffix(".json"), path
    if path.suffix != ".json":
        raise ModelError(f"model path must be a .json card or a .safetensors file: {path}")
    return path, path.with_suffix(".safetensors")


def _read_card(card_path: Path) -> dict:
    if not card_path.is_file():
        raise ModelError(f"model card not found: {card_path}")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card {card_path.name} is unreadable or not JSON ({exc.__class__.__name__})")
    if not isinstance(card, dict):
        raise ModelError(f"model card {card_path.name} is not a JSON object")
    fv = card.get("format_version")
    if fv != FORMAT_VERSION:
        raise ModelError(f"model {card_path.name} has format version {fv!r}; this app reads version {FORMAT_VERSION}")
    for key in ("name", "version", "arch", "input_size", "embedding_size", "mean", "std"):
        if key not in card:
            raise ModelError(f"model card {card_path.name} lacks the '{key}' field")
    return card




class LazyModel:
    """Duck-types :class:`~.model.LoadedModel`; anything beyond the card's facts loads the network once."""

    def __init__(self, path: Path | None = None, device: str = "auto"):
        card_path, weights_path = _locate(Path(path) if path else None)
        card = _read_card(card_path)
        if card.get("weights"):
            weights_path = card_path.parent / Path(card["weights"]).name
        if not weights_path.is_file():
            raise ModelError(f"model weights not found: {weights_path}")
        try:
            self.input_size: int = int(card["input_size"])
            self.embedding_size: int = int(card["embedding_size"])
            arch = card.get("arch") or {}
            look = arch.get("look") or {}
            look_dim = int(look.get("dim", 0)) if isinstance(look, dict) else 0
        except (TypeError, ValueError) as exc:
            raise ModelError(f"model card {card_path.name} has a malformed field ({exc})") from None
        sha = _sha256(weights_path)
        card = dict(card)
        card["model_id"] = card_model_id(card, sha)
        self.card = card
        self.card_path = card_path
        self.weights_path = weights_path
        self.model_id: str = card["model_id"]
        self.name: str = card["name"]
        self.tta: str = card.get("tta") or "none"
        if look_dim and arch.get("embed", "head") == "head" and 0 < look_dim < self.embedding_size:
            d = self.embedding_size - look_dim
            self.spaces: dict[str, tuple[int, int]] = {"duplicates": (0, d),
                                                       "lookalikes": (d, self.embedding_size)}
        else:
            self.spaces = {"duplicates": (0, self.embedding_size)}
        self._device_pref = device
        self._loaded = None
        self._load_lock = threading.Lock()

    # ---- the card's facts ---------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    @property
    def device(self) -> str:
        """The device the network runs on once loaded; until then the preference ("auto", "cpu"...)."""
        return self._loaded.device if self._loaded is not None else self._device_pref

    @property
    def thresholds(self) -> dict[str, float]:
        return model_thresholds(self.card)

    def space(self, name: str) -> tuple[int, int]:
        return self.spaces.get(name) or self.spaces["duplicates"]

    def preprocess(self, img: Image.Image) -> np.ndarray:
        from .model import preprocess_image

        return preprocess_image(img, self.input_size)

    def __repr__(self) -> str:
        state = "loaded" if self.loaded else "not loaded"
        return f"LazyModel({self.model_id}, {self.input_size}px -> {self.embedding_size}d, {state})"

    # ---- the network --------------------------------------------------------------------------------
    def load(self):
        """The LoadedModel (loaded on the first call, in whichever thread asks first)."""
        if self._loaded is None:
            with self._load_lock:
                if self._loaded is None:
                    from .model import load_model

                    m = load_model(self.card_path, device=self._device_pref)
                    if m.model_id != self.model_id or m.spaces != self.spaces:
                        raise ModelError(f"model {self.card_path.name} changed on disk while the library was "
                                         f"open; restart to use it")
                    self._loaded = m
        return self._loaded

    def embed(self, batch: np.ndarray) -> np.ndarray:
        return self.load().embed(batch)

    def reconstruct(self, img: Image.Image) -> Image.Image:
        return self.load().reconstruct(img)

    def reconstruct_array(self, arr: np.ndarray) -> np.ndarray:
        return self.load().reconstruct_array(arr)

    def __getattr__(self, name: str):
        # only reached for attributes not set above (net, batch_size, ...): those need the network
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.load(), name)
