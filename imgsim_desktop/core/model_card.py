"""A model as the library knows it before its weights are needed: card facts, id, spaces, thresholds.

``import torch`` alone costs about 2 s and 800 MB, and most commands (status, dupes, similar of an indexed
photo, folders) never run the network: they only need the model id (to pick the catalog's vectors), the
spaces (which columns each index holds) and the thresholds. :class:`LazyModel` answers those from the card
and the weights file's checksum, and loads the real :class:`~.model.LoadedModel` on the first call that
needs the network (``embed``, ``reconstruct``...). Its id is computed by the same function as
``load_model``'s, so vectors made before and after a lazy open share an index.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import ModelError


class LazyModel:
    """Duck-types :class:`~.model.LoadedModel`; anything beyond the card's facts loads the network once."""

    def __init__(self, path: Path | None = None, device: str = "auto"):
        from .model import _locate, _read_card, _sha256, card_model_id

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
        from .duplicates import model_thresholds

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
