"""The methods a benchmark compares, and how each turns every benchmark image into a comparable vector.

Why a module of its own: the methods (a model, a perceptual hash, the ``plain_ae`` baseline model) are
where decoding and timing happen; scoring only needs what they produced (``Embedded``) and a similarity.

A model is compared by cosine similarity of its L2-normalised embeddings; a perceptual hash from the
``imagehash`` package by ``1 - hamming/bits``, so ranking by it is ranking by Hamming distance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from imgsim_desktop.core.errors import DecodeError
from imgsim_desktop.core.progress import Progress

from .layout import BenchError, Item

HASH_BITS = 64
# The cut perceptual-hash users apply: Hamming distance <= 10 of 64 bits is "the same picture".
HASH_DEFAULT_MAX_DISTANCE = 10
# Hashes shrink the photo to 32x32 or less; they decode (draft-mode JPEG) at this shorter side.
HASH_DECODE_SIDE = 128
EMBED_BATCH = 32
HASH_NAMES = ("phash", "dhash", "ahash", "whash")


@dataclass
class MethodSpec:
    name: str
    kind: str          # "model" | "hash"
    path: Path | None = None


def plan_methods(models: list[Path] | None, baselines: list[str]) -> list[MethodSpec]:
    """The first ``--model`` (or the bundled model) is ``imgsim``; more models are named after their card;
    baselines: hash names and ``plain_ae`` (the plain autoencoder at resources/models/plain-ae.json)."""
    from imgsim_desktop.core.paths import models_dir

    specs: list[MethodSpec] = []
    paths = list(models or [None])
    for i, p in enumerate(paths):
        if i == 0:
            name = "imgsim"
        else:
            stem = Path(p).stem
            name, n = stem, 2
            while any(s.name == name for s in specs):
                name, n = f"{stem}_{n}", n + 1
        specs.append(MethodSpec(name, "model", None if p is None else Path(p)))
    for b in baselines:
        b = b.strip().lower()
        if not b:
            continue
        if b in HASH_NAMES:
            specs.append(MethodSpec(b, "hash"))
        elif b in ("plain_ae", "plain-ae"):
            specs.append(MethodSpec("plain_ae", "model", models_dir() / "plain-ae.json"))
        else:
            raise BenchError(f"unknown baseline {b!r} (known: {', '.join(HASH_NAMES)}, plain_ae)")
    return specs

@dataclass
class Embedded:
    """What one method produced for every item of the layout."""

    name: str
    kind: str                      # "model" | "hash"
    vectors: np.ndarray            # (N, D) float32 unit rows (model) or (N, bits) bool (hash)
    ok: np.ndarray                 # (N,) bool: decoded and embedded
    ms_per_image: np.ndarray       # (N,) wall time per image (decode + preprocess + share of its batch)
    total_s: float
    device: str
    default_threshold: float
    info: dict = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    spaces: dict[str, tuple[int, int]] | None = None  # a model's [duplicates | lookalikes] columns


def similarity(e: Embedded, idx: np.ndarray, space: str = "duplicates") -> np.ndarray:
    """Pairwise similarity of the items ``idx``; for a model with a lookalike head, in ``space``'s columns
    (near-duplicates are scored in "duplicates", lookalike classes in "lookalikes", as the app does)."""
    v = e.vectors[idx]
    if e.kind != "hash":
        from imgsim_desktop.core.model import space_part

        v = space_part(v, e.spaces, space)
    if e.kind == "hash":
        b = v.astype(np.float32)
        d = b @ (1.0 - b).T + (1.0 - b) @ b.T       # Hamming distance
        return (1.0 - d / b.shape[1]).astype(np.float64)
    v = v.astype(np.float32)
    return np.clip(v @ v.T, -1.0, 1.0).astype(np.float64)


def expanded_similarity(e: Embedded, idx: np.ndarray, space: str = "lookalikes") -> np.ndarray:
    """Rows: each item searched the way the app searches lookalikes (the query plus its closest
    ``ranking.EXPANSION`` other items, ``ranking.expanded_query``), against every item's plain vector.
    Hashes have no such search: their plain similarity."""
    sim = similarity(e, idx, space)
    if e.kind == "hash":
        return sim
    from imgsim_desktop.core.model import space_part
    from imgsim_desktop.core.ranking import EXPANSION, expanded_query

    v = space_part(e.vectors[idx], e.spaces, space).astype(np.float32)
    s = sim.copy()
    np.fill_diagonal(s, -np.inf)
    near = np.argsort(-s, axis=1, kind="stable")[:, :EXPANSION]
    q = np.stack([expanded_query(v[i], v[near[i]]) for i in range(len(v))])
    return np.clip(q @ v.T, -1.0, 1.0).astype(np.float64)


def embed_with_model(name: str, model, items: list[Item], default_threshold: float,
                     progress: Progress | None = None) -> Embedded:
    from imgsim_desktop.core.decode import load_image

    n = len(items)
    s = model.input_size
    vec = np.zeros((n, model.embedding_size), dtype=np.float32)
    ok = np.zeros(n, dtype=bool)
    ms = np.full(n, np.nan)
    errors = []
    if progress:
        progress.start(name, n)
    t_all = time.perf_counter()
    batch, bidx, bms = [], [], []

    def flush():
        if not batch:
            return
        t = time.perf_counter()
        out = model.embed(np.stack(batch))
        share = (time.perf_counter() - t) * 1000.0 / len(batch)
        for j, i in enumerate(bidx):
            vec[i] = out[j]
            ok[i] = True
            ms[i] = bms[j] + share
        if progress:
            progress.advance(len(batch))
        batch.clear(), bidx.clear(), bms.clear()

    for i, it in enumerate(items):
        t = time.perf_counter()
        try:
            img, _ = load_image(it.path, max_side=s)
            arr = model.preprocess(img)
        except DecodeError as exc:
            errors.append((str(it.path), exc.reason))
            if progress:
                progress.advance(1, failed=1)
            continue
        batch.append(arr)
        bidx.append(i)
        bms.append((time.perf_counter() - t) * 1000.0)
        if len(batch) >= EMBED_BATCH:
            flush()
    flush()
    total = time.perf_counter() - t_all
    if progress:
        progress.finish()
    info = {"model_id": model.model_id, "input_size": s, "embedding_size": model.embedding_size,
            "tta": getattr(model, "tta", "none"),
            "card": str(getattr(model, "card_path", "") or "")}
    if model.card.get("random_init"):
        info["random_init"] = True
    spaces = dict(getattr(model, "spaces", None) or {}) or None
    if spaces and len(spaces) > 1:
        info["spaces"] = {k: list(v) for k, v in spaces.items()}
    return Embedded(name, "model", vec, ok, ms, total, model.device, default_threshold, info, errors, spaces)


def _hash_fn(name: str) -> Callable:
    import imagehash

    return {"phash": imagehash.phash, "dhash": imagehash.dhash, "ahash": imagehash.average_hash,
            "whash": imagehash.whash}[name]


def embed_with_hash(name: str, items: list[Item], progress: Progress | None = None) -> Embedded:
    from imgsim_desktop.core.decode import load_image

    fn = _hash_fn(name)
    n = len(items)
    vec = np.zeros((n, HASH_BITS), dtype=bool)
    ok = np.zeros(n, dtype=bool)
    ms = np.full(n, np.nan)
    errors = []
    if progress:
        progress.start(name, n)
    t_all = time.perf_counter()
    for i, it in enumerate(items):
        t = time.perf_counter()
        try:
            img, _ = load_image(it.path, max_side=HASH_DECODE_SIDE)
            h = fn(img)
        except DecodeError as exc:
            errors.append((str(it.path), exc.reason))
            if progress:
                progress.advance(1, failed=1)
            continue
        bits = np.asarray(h.hash, dtype=bool).reshape(-1)
        if bits.size != HASH_BITS:
            raise BenchError(f"{name} gave {bits.size} bits, expected {HASH_BITS}")
        vec[i] = bits
        ok[i] = True
        ms[i] = (time.perf_counter() - t) * 1000.0
        if progress:
            progress.advance(1)
    total = time.perf_counter() - t_all
    if progress:
        progress.finish()
    thr = 1.0 - HASH_DEFAULT_MAX_DISTANCE / HASH_BITS
    info = {"bits": HASH_BITS, "default_max_distance": HASH_DEFAULT_MAX_DISTANCE,
            "decode_side": HASH_DECODE_SIDE}
    return Embedded(name, "hash", vec, ok, ms, total, "cpu", thr, info, errors)
