"""Turning files into vectors: hashing and decoding in worker threads, batched inference in the caller's.

Pillow releases the GIL while it decodes, so a few threads keep the model fed; the model call itself runs
in the calling thread with torch's own intra-op threads.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from PIL import Image

from .decode import ImageInfo, load_image, load_image_bytes
from .errors import DecodeError
from .hashing import file_hash
from .model import LoadedModel
from .signature import signature
from .trim import trimmed


@dataclass
class Prepared:
    """One file after the worker's pass: hashed, and decoded unless its vector can be reused."""

    path: str
    size: int
    mtime_ns: int
    hash: str | None = None
    info: ImageInfo | None = None
    array: np.ndarray | None = None
    error: str | None = None
    tag: object = None  # caller's bookkeeping, carried through
    signature: np.ndarray | None = None  # core/signature: orientation candidates at grouping time


def photo_part(img: Image.Image) -> Image.Image:
    """What the network sees: the photo itself when it sits on a screenshot's or a padded canvas (status
    bar, app chrome, plain borders), so a copy shown on a phone screen embeds like the photo; the whole
    image otherwise (about a millisecond; core/trim.py)."""
    return trimmed(img)[0]


def default_workers() -> int:
    return max(2, min(8, (os.cpu_count() or 2)))


class Embedder:
    def __init__(self, model: LoadedModel, workers: int | None = None):
        self.model = model
        self.workers = workers or default_workers()

    @property
    def max_side(self) -> int:
        return self.model.input_size

    # ---- single images ------------------------------------------------------------------------------
    def embed_image(self, img: Image.Image) -> np.ndarray:
        return self.model.embed(self.model.preprocess(photo_part(img))[None])[0]

    def embed_path(self, path: str | Path) -> tuple[np.ndarray, ImageInfo]:
        img, info = load_image(path, max_side=self.max_side)
        return self.embed_image(img), info

    def embed_bytes(self, data: bytes) -> np.ndarray:
        img, _ = load_image_bytes(data, max_side=self.max_side)
        return self.embed_image(img)

    # ---- many files ---------------------------------------------------------------------------------
    def prepare(self, item: Prepared, skip_decode: Callable[[str], bool] | None = None) -> Prepared:
        """Hash, then decode to the model's input array unless ``skip_decode(hash)`` says the vector exists."""
        try:
            item.hash = file_hash(item.path)
            if skip_decode is not None and skip_decode(item.hash):
                return item
            img, item.info = load_image(item.path, max_side=self.max_side)
            item.array = self.model.preprocess(photo_part(img))
            item.signature = signature(img)
        except DecodeError as exc:
            item.error = exc.reason
        except Exception as exc:  # a scan never dies on one file
            item.error = f"unexpected error: {exc.__class__.__name__}: {exc}"
        return item

    def prepare_all(self, items: Iterable[Prepared], skip_decode=None, window: int = 128,
                    should_stop: Callable[[], bool] | None = None) -> Iterator[Prepared]:
        """Yield prepared items in input order; at most ``window`` in flight so memory stays bounded."""
        from collections import deque

        pending: deque[Future] = deque()
        it = iter(items)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="imgsim-decode") as pool:
            try:
                for item in it:
                    pending.append(pool.submit(self.prepare, item, skip_decode))
                    if len(pending) >= window:
                        yield pending.popleft().result()
                        if should_stop is not None and should_stop():
                            return
                while pending:
                    yield pending.popleft().result()
                    if should_stop is not None and should_stop():
                        return
            finally:
                for f in pending:
                    f.cancel()

    def embed_arrays(self, arrays: list[np.ndarray]) -> np.ndarray:
        if not arrays:
            return np.zeros((0, self.model.embedding_size), dtype=np.float32)
        return self.model.embed(np.stack(arrays))
