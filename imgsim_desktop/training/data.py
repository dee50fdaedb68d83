"""Training data: photos decoded once into a small-image cache, and edited pairs made from it on the fly.

The cache keeps every training photo with its shorter side reduced to ``short_side`` pixels (160 by default)
in one flat uint8 array (``.npz``, no pickle), so a training step never decodes a JPEG. Pairs are made at
that small size: a random view of a photo (the clean view, the decoder's target) and an edited copy of it
(``imgsim_desktop.edits``); both go through the model's one preprocessing rule,
:func:`imgsim_desktop.core.model.preprocess_image`.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from imgsim_desktop.core.errors import ImgsimError
from imgsim_desktop.core.model import preprocess_image
from imgsim_desktop.edits import pick_edit

CACHE_VERSION = 1


class TrainingDataError(ImgsimError):
    """No usable training photos, or a folder that must not be trained on."""


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_train_folders() -> list[Path]:
    return [project_root().parent / "shared" / "datasets" / "train"]


def default_cache_dir() -> Path:
    return project_root() / "data"


def list_images(folders: list[Path]) -> list[Path]:
    from imgsim_desktop.core.decode import is_image_path

    out: list[Path] = []
    for folder in folders:
        folder = Path(folder).expanduser().resolve()
        if "eval" in folder.parts:
            raise TrainingDataError(f"refusing to train on an evaluation folder: {folder}")
        if folder.is_file():
            if is_image_path(folder):
                out.append(folder)
            continue
        if not folder.is_dir():
            raise TrainingDataError(f"training folder not found: {folder}")
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "eval")
            for f in sorted(files):
                p = Path(root) / f
                if is_image_path(p):
                    out.append(p)
    return sorted(set(out))


@dataclass
class PhotoCache:
    """All training photos, small, in one flat buffer."""

    pixels: np.ndarray    # flat uint8
    offsets: np.ndarray   # int64 (N,)
    shapes: np.ndarray    # int32 (N, 2) = (h, w)
    names: np.ndarray     # str (N,)

    def __len__(self) -> int:
        return int(self.offsets.shape[0])

    def image(self, i: int) -> np.ndarray:
        h, w = (int(v) for v in self.shapes[i])
        o = int(self.offsets[i])
        return self.pixels[o:o + h * w * 3].reshape(h, w, 3)

    def pil(self, i: int) -> Image.Image:
        return Image.fromarray(self.image(i), "RGB")


def _shrink(img: Image.Image, short_side: int, max_aspect: float = 2.5) -> Image.Image:
    w, h = img.size
    # very long panoramas: keep a centred window of at most max_aspect so the cache stays small
    if max(w, h) > max_aspect * min(w, h):
        if w > h:
            nw = int(h * max_aspect)
            img = img.crop(((w - nw) // 2, 0, (w - nw) // 2 + nw, h))
        else:
            nh = int(w * max_aspect)
            img = img.crop((0, (h - nh) // 2, w, (h - nh) // 2 + nh))
        w, h = img.size
    s = short_side / min(w, h)
    if s < 1.0:
        img = img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BICUBIC, reducing_gap=3.0)
    return img


def _cache_key(paths: list[Path], short_side: int) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}:{short_side}".encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def build_cache(folders: list[Path], cache_dir: Path | None = None, short_side: int = 160,
                log=print) -> tuple[PhotoCache, Path, list[Path]]:
    """Decode every photo under ``folders`` once (reused while the files are unchanged)."""
    from imgsim_desktop.core.decode import load_image
    from imgsim_desktop.core.errors import DecodeError

    paths = list_images(folders)
    if not paths:
        raise TrainingDataError("no training photos found in " + ", ".join(str(f) for f in folders))
    cache_dir = Path(cache_dir or default_cache_dir())
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_path = cache_dir / f"train-cache-{short_side}-{_cache_key(paths, short_side)}.npz"
    if cache_path.is_file():
        with np.load(cache_path, allow_pickle=False) as z:
            cache = PhotoCache(z["pixels"], z["offsets"], z["shapes"], z["names"])
        log(f"photo cache: {len(cache)} photos from {cache_path}")
        return cache, cache_path, paths
    log(f"photo cache: decoding {len(paths)} photos to shorter side {short_side} px ...")
    arrays, names, failed = [], [], 0
    for p in paths:
        try:
            img, _ = load_image(p, max_side=short_side)
        except DecodeError:
            failed += 1
            continue
        a = np.asarray(_shrink(img.convert("RGB"), short_side), dtype=np.uint8)
        if a.shape[0] < 16 or a.shape[1] < 16:
            failed += 1
            continue
        arrays.append(a)
        names.append(str(p))
    if not arrays:
        raise TrainingDataError("none of the training photos could be decoded")
    sizes = np.array([a.size for a in arrays], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    pixels = np.concatenate([a.reshape(-1) for a in arrays])
    shapes = np.array([a.shape[:2] for a in arrays], dtype=np.int32)
    cache = PhotoCache(pixels, offsets, shapes, np.array(names))
    tmp = cache_path.with_suffix(".tmp.npz")
    np.savez(tmp, pixels=pixels, offsets=offsets, shapes=shapes, names=cache.names)
    tmp.replace(cache_path)
    log(f"photo cache: {len(cache)} photos ({failed} unreadable), {pixels.nbytes / 1e6:.0f} MB -> {cache_path}")
    return cache, cache_path, paths


# ------------------------------------------------------------------------------------------------ views

def random_view(img: Image.Image, rng: random.Random, p_full: float = 0.5, min_area: float = 0.5) -> Image.Image:
    """The clean view: the whole photo, or a random crop of 50-100 % of it; sometimes mirrored."""
    if rng.random() >= p_full:
        w, h = img.size
        area = rng.uniform(min_area, 1.0)
        r = math.exp(rng.uniform(-0.25, 0.25))
        fw = min(1.0, math.sqrt(area) * r)
        fh = min(1.0, area / fw)
        cw, ch = max(8, int(w * fw)), max(8, int(h * fh))
        cw, ch = min(cw, w), min(ch, h)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        img = img.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img


def edited_copy(img: Image.Image, rng: random.Random, p_second: float = 0.3,
                weights: dict[str, float] | None = None, first: str | None = None) -> tuple[str, Image.Image]:
    """One of the edits people make (``imgsim_desktop.edits``); sometimes a second one on top.

    ``weights`` biases which edits are drawn; ``first`` forces the first edit (edit-grouped batches).
    """
    from imgsim_desktop.edits import EDITS, random_edit

    if first is not None:
        name, out = first, EDITS[first](img, rng)
    else:
        name, out = random_edit(img, rng, weights)
    if rng.random() < p_second:
        name2, out = random_edit(out, rng, weights)
        name = f"{name}+{name2}"
    return name, out


class PairSampler:
    """Makes batches of (clean, edited) uint8 (B,S,S,3) arrays from a :class:`PhotoCache`.

    ``plain=True`` gives (clean, clean): the plain autoencoder baseline sees no edits.

    Edit-grouped batches (``p_grouped``): runs of ``group_size`` pairs share their first edit. Without them,
    the contrastive loss can tell edited copies apart by *how* they were edited (all screenshots have UI
    chrome, all black-and-white copies lack colour), so at search time a screenshot's nearest neighbours are
    other screenshots. With many same-edit negatives in a batch, only the content can separate them.
    """

    def __init__(self, cache: PhotoCache, input_size: int, seed: int, plain: bool = False,
                 p_full: float = 0.5, p_second: float = 0.3, edit_weights: dict[str, float] | None = None,
                 group_size: int = 0, p_grouped: float = 0.0):
        self.cache = cache
        self.size = input_size
        self.plain = plain
        self.p_full = p_full
        self.p_second = p_second
        self.edit_weights = dict(edit_weights or {})
        self.group_size = int(group_size)
        self.p_grouped = float(p_grouped)
        self.rng = random.Random(seed)
        self._order: list[int] = []
        self.last_edits: list[str] = []  # the edits behind the last batch's copies (for logs and tests)

    def _next_index(self) -> int:
        if not self._order:
            self._order = list(range(len(self.cache)))
            self.rng.shuffle(self._order)
        return self._order.pop()

    def pair(self, i: int, first: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        view = random_view(self.cache.pil(i), self.rng, self.p_full)
        clean = preprocess_image(view, self.size)
        if self.plain:
            return clean, clean
        name, ed = edited_copy(view, self.rng, self.p_second, self.edit_weights or None, first)
        self.last_edits.append(name)
        return clean, preprocess_image(ed, self.size)

    def batch(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        s = self.size
        clean = np.empty((b, s, s, 3), np.uint8)
        edited = np.empty((b, s, s, 3), np.uint8)
        grouped = (not self.plain and self.group_size > 1 and self.p_grouped > 0
                   and self.rng.random() < self.p_grouped)
        first = None
        self.last_edits = []
        for k in range(b):
            if grouped and k % self.group_size == 0:
                first = pick_edit(self.rng, self.edit_weights or None)
            clean[k], edited[k] = self.pair(self._next_index(), first)
        return clean, edited


class _BatchStream(torch.utils.data.IterableDataset):
    """An endless stream of batches for torch's DataLoader (each worker gets its own seed)."""

    def __init__(self, cache: PhotoCache, input_size: int, seed: int, batch: int, plain: bool,
                 sampler_opts: dict | None = None):
        super().__init__()
        self.args = (cache, input_size, seed, batch, plain, dict(sampler_opts or {}))

    def __iter__(self):
        cache, size, seed, batch, plain, opts = self.args
        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0
        sampler = PairSampler(cache, size, seed * 1009 + wid, plain, **opts)
        while True:
            c, e = sampler.batch(batch)
            yield torch.from_numpy(c), torch.from_numpy(e)


def batch_iterator(cache: PhotoCache, input_size: int, seed: int, batch: int, plain: bool, workers: int,
                   sampler_opts: dict | None = None):
    """Endless iterator of (clean, edited) uint8 tensors (B,S,S,3); ``workers`` data-loading processes.

    ``sampler_opts`` go to :class:`PairSampler` (edit_weights, group_size, p_grouped, ...).
    """
    stream = _BatchStream(cache, input_size, seed, batch, plain, sampler_opts)
    if workers <= 0:
        return iter(stream)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers, pin_memory=False,
                                         persistent_workers=True, prefetch_factor=4)
    return iter(loader)
