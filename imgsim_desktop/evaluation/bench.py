"""Build near-duplicate benchmarks (``bench-make``) and measure methods on them (``bench``).

Benchmark layout (any part may be missing)::

    BENCH/groups/<name>/*     every image in a folder is a near-duplicate of every other image there
    BENCH/classes/<name>/*    images of the same kind of subject (lookalikes, not duplicates)
    BENCH/distractors/*       unrelated images (searched recursively)

In a group the file stem tells which edit made the copy: ``original.jpg`` is the source and ``crop.jpg``,
``crop_2.jpg`` are copies made by the ``crop`` edit. Stems that occur in fewer than two groups are not
reported as an edit kind (a user's own folders have arbitrary names).

Methods: a model (cosine similarity of its L2-normalised embeddings) or a perceptual hash from the
``imagehash`` package (similarity ``1 - hamming/bits``, so ranking by it is ranking by Hamming distance).
"""

from __future__ import annotations

import io
import os
import platform
import random
import re
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from imgsim_desktop.core.errors import DecodeError, ImgsimError
from imgsim_desktop.core.progress import Progress

from . import metrics as M

TOP_K = 10
PRECISION_TARGET = 0.99
HASH_BITS = 64
# The cut perceptual-hash users apply: Hamming distance <= 10 of 64 bits is "the same picture".
HASH_DEFAULT_MAX_DISTANCE = 10
# Hashes shrink the photo to 32x32 or less; they decode (draft-mode JPEG) at this shorter side.
HASH_DECODE_SIDE = 128
EMBED_BATCH = 32
HASH_NAMES = ("phash", "dhash", "ahash", "whash")


class BenchError(ImgsimError):
    """The benchmark folder or options are unusable."""


# ============================================================================================ layout


@dataclass
class Item:
    path: Path
    part: str            # "group" | "class" | "distractor"
    label: str | None    # group or class name; None for distractors
    kind: str | None     # edit kind inside a group ("original", "crop", ...); None elsewhere


@dataclass
class Layout:
    root: Path
    items: list[Item] = field(default_factory=list)

    def part(self, name: str) -> list[int]:
        return [i for i, it in enumerate(self.items) if it.part == name]


def _is_image(p: Path) -> bool:
    from imgsim_desktop.core.decode import is_image_path

    return p.is_file() and not p.name.startswith(".") and is_image_path(p)


def _images_in(d: Path, recursive: bool = False) -> list[Path]:
    if not d.is_dir():
        return []
    it = d.rglob("*") if recursive else d.iterdir()
    return sorted((p for p in it if _is_image(p)), key=lambda p: str(p))


def _subdirs(d: Path) -> list[Path]:
    if not d.is_dir():
        return []
    return sorted((p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


_SUFFIX_N = re.compile(r"^(.*?)_\d+$")


def edit_kind(stem: str) -> str:
    """``crop`` and ``crop_2`` are both the ``crop`` edit; ``original`` is the source."""
    m = _SUFFIX_N.match(stem)
    return m.group(1) if m else stem


def read_layout(root: Path, limit: int | None = None) -> Layout:
    """Find the images of a benchmark folder. ``limit`` keeps at most that many groups, images per class
    and distractors (a quick run)."""
    root = Path(root)
    if not root.is_dir():
        raise BenchError(f"benchmark folder not found: {root}")
    lay = Layout(root)
    groups = _subdirs(root / "groups")
    if limit:
        groups = groups[:limit]
    for g in groups:
        for p in _images_in(g):
            lay.items.append(Item(p, "group", g.name, edit_kind(p.stem)))
    for c in _subdirs(root / "classes"):
        files = _images_in(c, recursive=True)
        if limit:
            files = files[:limit]
        for p in files:
            lay.items.append(Item(p, "class", c.name, None))
    dis = _images_in(root / "distractors", recursive=True)
    if limit:
        dis = dis[:limit]
    for p in dis:
        lay.items.append(Item(p, "distractor", None, None))
    if not lay.items:
        raise BenchError(f"{root} holds no images under groups/, classes/ or distractors/")
    return lay


# ========================================================================================== bench-make


def _save_jpeg(img, path: Path, quality: int = 92) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    img.save(tmp, format="JPEG", quality=quality)
    os.replace(tmp, path)


def make_benchmark(originals: Path, out_dir: Path, seed: int = 0, edits: Iterable[str] | None = None,
                   progress: Progress | None = None) -> list[str]:
    """For every photo in ``originals`` write ``out_dir/groups/<stem>/original.jpg`` and one copy per edit,
    ``<edit>.jpg``, each edit seeded from (seed, photo, edit) so one copy does not depend on the others.
    Returns the group names."""
    from imgsim_desktop.core.decode import load_image
    from imgsim_desktop.edits import EDITS

    names = list(EDITS) if edits is None else list(edits)
    unknown = [n for n in names if n not in EDITS]
    if unknown:
        raise BenchError(f"unknown edit(s): {', '.join(unknown)} (known: {', '.join(EDITS)})")
    files = _images_in(Path(originals))
    if not files:
        raise BenchError(f"no photos found in {originals}")
    out = Path(out_dir) / "groups"
    done: list[str] = []
    if progress:
        progress.start("bench-make", len(files))
    used: set[str] = set()
    for f in files:
        name = f.stem
        n = 2
        while name in used:
            name, n = f"{f.stem}_{n}", n + 1
        used.add(name)
        try:
            img, info = load_image(f)
        except DecodeError as exc:
            if progress:
                progress.advance(1, failed=1, message=str(exc))
            continue
        gdir = out / name
        gdir.mkdir(parents=True, exist_ok=True)
        if info.format == "JPEG" and f.suffix.lower() in (".jpg", ".jpeg"):
            shutil.copyfile(f, gdir / "original.jpg")  # the source bytes, untouched
        else:
            _save_jpeg(img, gdir / "original.jpg", quality=95)
        for e in names:
            rng = random.Random(f"{seed}/{name}/{e}")
            _save_jpeg(EDITS[e](img, rng), gdir / f"{e}.jpg")
        done.append(name)
        if progress:
            progress.advance(1)
    if progress:
        progress.finish()
    return done


def add_ready_groups(src: Path, out_dir: Path, prefix: str = "pair_", kind: str = "squash_reencode",
                     link: bool = True) -> list[str]:
    """Turn folders of ready-made near-duplicates (``src/<id>/*``) into groups ``<prefix><id>``: the image
    with the most pixels becomes ``original``, the others ``<kind>`` (``<kind>_2``...). Files are
    symlinked (or copied with ``link=False``)."""
    from imgsim_desktop.core.decode import read_info

    out = Path(out_dir) / "groups"
    names = []
    for d in _subdirs(Path(src)):
        files = _images_in(d)
        if len(files) < 2:
            continue

        def pixels(p: Path) -> int:
            try:
                i = read_info(p)
                return i.width * i.height
            except DecodeError:
                return -1

        files.sort(key=lambda p: (-pixels(p), p.name))
        g = out / f"{prefix}{d.name}"
        g.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(files):
            stem = "original" if i == 0 else (kind if i == 1 else f"{kind}_{i}")
            _place(f, g / f"{stem}{f.suffix.lower()}", link)
        names.append(g.name)
    return names


def add_folder(src: Path, dst: Path, link: bool = True) -> None:
    """``dst`` becomes a symlink to (or a copy of) the folder ``src``."""
    src, dst = Path(src).resolve(), Path(dst)
    if not src.is_dir():
        raise BenchError(f"folder not found: {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    elif dst.is_dir():
        shutil.rmtree(dst)
    if link:
        dst.symlink_to(src, target_is_directory=True)
    else:
        shutil.copytree(src, dst)


def _place(src: Path, dst: Path, link: bool) -> None:
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if link:
        dst.symlink_to(Path(src).resolve())
    else:
        shutil.copyfile(src, dst)


# ============================================================================================ methods


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


def similarity(e: Embedded, idx: np.ndarray) -> np.ndarray:
    v = e.vectors[idx]
    if e.kind == "hash":
        b = v.astype(np.float32)
        d = b @ (1.0 - b).T + (1.0 - b) @ b.T       # Hamming distance
        return (1.0 - d / b.shape[1]).astype(np.float64)
    v = v.astype(np.float32)
    return np.clip(v @ v.T, -1.0, 1.0).astype(np.float64)


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
            "card": str(getattr(model, "card_path", "") or "")}
    if model.card.get("random_init"):
        info["random_init"] = True
    return Embedded(name, "model", vec, ok, ms, total, model.device, default_threshold, info, errors)


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


# ============================================================================================ scoring


def _r(x: float | None, nd: int = 4):
    if x is None:
        return None
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return None
    return round(x, nd)


def neardup_metrics(e: Embedded, items: list[Item], idx: np.ndarray, seed: int = 0) -> dict | None:
    """Near-duplicate figures over the pool ``idx`` (group members + distractors)."""
    labels_s = [items[i].label if items[i].part == "group" else None for i in idx]
    names = sorted({l for l in labels_s if l is not None})
    if not names:
        return None
    code = {n: k for k, n in enumerate(names)}
    labels = np.array([code[l] if l is not None else -1 for l in labels_s])
    sim = similarity(e, idx)
    queries = M.query_indices(labels)
    if len(queries) == 0:
        return None
    rel, order = M.ranked_relevance(sim, labels, queries, seed=seed)
    ap = M.average_precision(rel)
    scores, pos = M.pair_scores(sim, labels)
    curve = M.pr_curve(scores, pos)
    bf1, bf1_t = M.best_f1(curve)
    r99, t99 = M.recall_at_precision(curve, PRECISION_TARGET)
    r999, t999 = M.recall_at_precision(curve, 0.999)
    r90, t90 = M.recall_at_precision(curve, 0.90)
    p_d, r_d, f_d = M.prf_at_threshold(scores, pos, e.default_threshold)
    grid = []  # precision/recall at round thresholds (every Hamming distance for hashes)
    if e.kind == "hash":
        cuts = [1.0 - d / HASH_BITS for d in range(0, 25)]
    else:
        cuts = [round(x, 3) for x in np.arange(0.0, 1.0001, 0.005)]
    for t in cuts:
        p_t, r_t, f_t = M.prf_at_threshold(scores, pos, t)
        grid.append([_r(t, 6), _r(p_t, 6), _r(r_t, 6), _r(f_t, 6)])

    # per edit kind: the copy <-> its group's original, both directions
    kinds = [items[i].kind for i in idx]
    qpos = {int(q): j for j, q in enumerate(queries)}
    group_members: dict[int, list[int]] = {}
    for j, l in enumerate(labels):
        if l >= 0:
            group_members.setdefault(int(l), []).append(j)
    kind_groups: dict[str, set] = {}
    for j, l in enumerate(labels):
        if l >= 0 and kinds[j] and kinds[j] != "original":
            kind_groups.setdefault(kinds[j], set()).add(int(l))
    reported = sorted(k for k, g in kind_groups.items() if len(g) >= 2)
    hits_k: dict[str, list[float]] = {k: [] for k in reported}
    dflt_k: dict[str, list[float]] = {k: [] for k in reported}
    p99_k: dict[str, list[float]] = {k: [] for k in reported}
    p90_k: dict[str, list[float]] = {k: [] for k in reported}
    sim_k: dict[str, list[float]] = {k: [] for k in reported}
    for l, members in group_members.items():
        origs = [j for j in members if kinds[j] == "original"]
        for j in members:
            k = kinds[j]
            if k not in hits_k:
                continue
            mates = origs if origs else [m for m in members if m != j]
            for o in mates:
                for q, t in ((j, o), (o, j)):
                    rank = int(M.rank_of(order[qpos[q]][None, :], np.array([t]))[0])
                    hits_k[k].append(1.0 if rank < TOP_K else 0.0)
                sv = float(sim[j, o])
                sim_k[k].append(sv)
                dflt_k[k].append(1.0 if sv >= e.default_threshold - 1e-9 else 0.0)
                if t99 == t99:
                    p99_k[k].append(1.0 if sv >= t99 - 1e-9 else 0.0)
                if t90 == t90:
                    p90_k[k].append(1.0 if sv >= t90 - 1e-9 else 0.0)

    def mean(v):
        return _r(float(np.mean(v))) if v else None

    return {
        "map": _r(ap.mean()),
        "top1": _r(M.top_k_accuracy(rel, 1)),
        "top_k": _r(M.top_k_accuracy(rel, TOP_K)),
        "k": TOP_K,
        "recall_at_10": _r(M.recall_at_k(rel, TOP_K).mean()),
        "recall_at_p99": _r(r99),
        "threshold_at_p99": _r(t99),
        "recall_at_p999": _r(r999),
        "threshold_at_p999": _r(t999),
        "recall_at_p90": _r(r90),
        "threshold_at_p90": _r(t90),
        "best_f1": _r(bf1),
        "best_f1_threshold": _r(bf1_t),
        "default_threshold": _r(e.default_threshold),
        "precision_at_default": _r(p_d),
        "recall_at_default": _r(r_d),
        "f1_at_default": _r(f_d),
        "recall_at_10_by_edit": {k: mean(hits_k[k]) for k in reported},
        "recall_at_default_by_edit": {k: mean(dflt_k[k]) for k in reported},
        "recall_at_p99_by_edit": {k: mean(p99_k[k]) for k in reported},
        "recall_at_p90_by_edit": {k: mean(p90_k[k]) for k in reported},
        "median_sim_by_edit": {k: _r(float(np.median(sim_k[k]))) for k in reported if sim_k[k]},
        "sim_dup_pairs": {k: _r(v) for k, v in M.quantiles(scores[pos]).items()},
        "sim_other_pairs": {k: _r(v) for k, v in M.quantiles(scores[~pos], qs=(0.5, 0.9, 0.99, 0.999,
                                                                                0.9999, 1.0)).items()},
        "pr_grid": {"columns": ["threshold", "precision", "recall", "f1"], "rows": grid},
        "n_pool": int(len(idx)),
        "n_groups": len(names),
        "n_queries": int(len(queries)),
        "n_dup_pairs": int(pos.sum()),
        "n_other_pairs": int((~pos).sum()),
    }


def lookalike_metrics(e: Embedded, items: list[Item], idx: np.ndarray, seed: int = 0) -> dict | None:
    """Lookalike figures over the pool ``idx`` (class members + distractors)."""
    labels_s = [items[i].label if items[i].part == "class" else None for i in idx]
    names = sorted({l for l in labels_s if l is not None})
    if not names:
        return None
    code = {n: k for k, n in enumerate(names)}
    labels = np.array([code[l] if l is not None else -1 for l in labels_s])
    sim = similarity(e, idx)
    queries = M.query_indices(labels)
    if len(queries) == 0:
        return None
    rel, _ = M.ranked_relevance(sim, labels, queries, seed=seed)
    ap = M.average_precision(rel)
    p10 = M.precision_at_k(rel, TOP_K)
    qlab = labels[queries]
    by_class = {}
    for n, c in code.items():
        m = qlab == c
        if m.any():
            by_class[n] = {"precision_at_10": _r(p10[m].mean()), "map": _r(ap[m].mean()), "n": int(m.sum())}
    scores, pos = M.pair_scores(sim, labels)
    iu, ju = np.triu_indices(len(labels), k=1)
    both = (labels[iu] >= 0) & (labels[ju] >= 0)
    other = ~pos & both
    cuts = ([1.0 - d / HASH_BITS for d in range(0, 25)] if e.kind == "hash"
            else [round(x, 3) for x in np.arange(0.0, 1.0001, 0.005)])
    grid = [[_r(t, 6), _r(float((scores[pos] >= t - 1e-9).mean()) if pos.any() else None, 6),
             _r(float((scores[other] >= t - 1e-9).mean()) if other.any() else None, 6)] for t in cuts]
    return {
        "precision_at_10": _r(p10.mean()),
        "map": _r(ap.mean()),
        "by_class": by_class,
        "sim_same_class_pairs": {k: _r(v) for k, v in M.quantiles(scores[pos], qs=(0.05, 0.25, 0.5, 0.75, 0.95)).items()},
        "sim_other_class_pairs": {k: _r(v) for k, v in M.quantiles(scores[other], qs=(0.5, 0.95, 0.99, 0.999)).items()},
        "pairs_above": {"columns": ["threshold", "same_class", "other_class"], "rows": grid},
        "n_pool": int(len(idx)),
        "n_classes": len(names),
        "n_queries": int(len(queries)),
    }


def speed_metrics(e: Embedded, idx: np.ndarray) -> dict:
    ms = e.ms_per_image[idx]
    ms = ms[np.isfinite(ms)]
    if len(ms) == 0:
        return {"images_per_s": None, "ms_per_image_p50": None, "ms_per_image_p90": None, "device": e.device}
    return {
        "images_per_s": _r(len(ms) / (ms.sum() / 1000.0), 1),
        "ms_per_image_p50": _r(float(np.percentile(ms, 50)), 2),
        "ms_per_image_p90": _r(float(np.percentile(ms, 90)), 2),
        "device": e.device,
        "n_images": int(len(ms)),
        "wall_s": _r(e.total_s, 2),
    }


# ============================================================================================== run


def product_default_threshold() -> float:
    """The app's default "duplicates" threshold (cosine similarity) for its bundled model."""
    from imgsim_desktop.core.duplicates import DEFAULT_THRESHOLDS

    return float(DEFAULT_THRESHOLDS["duplicates"])


def machine_info(device: str | None = None) -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if device and device.startswith("cuda") and torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except Exception:
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


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


def run_bench(bench_dir: Path, specs: list[MethodSpec], limit: int | None = None, device: str = "auto",
              seed: int = 0, progress_factory: Callable[[], Progress] | None = None,
              skip_missing: Iterable[str] = (), speed_dir: Path | None = None) -> dict:
    """Embed every image of the benchmark with each method and score them. Returns the JSON object.

    ``speed_dir``: a folder of full-size photos timed separately (``speed_photos``), since benchmark images
    are small and decoding dominates on real camera files."""
    from imgsim_desktop.core.model import load_model

    lay = read_layout(Path(bench_dir), limit)
    items = lay.items
    speed_items = []
    if speed_dir is not None:
        speed_items = [Item(p, "speed", None, None) for p in _images_in(Path(speed_dir), recursive=True)]
        if not speed_items:
            raise BenchError(f"no photos found in {speed_dir}")
    embedded: list[Embedded] = []
    speed_runs: dict[str, Embedded] = {}
    skipped: dict[str, str] = {}
    product_thr = None
    for s in specs:
        prog = progress_factory() if progress_factory else None
        if s.kind == "hash":
            embedded.append(embed_with_hash(s.name, items, prog))
            if speed_items:
                speed_runs[s.name] = embed_with_hash(s.name, speed_items)
            continue
        if s.path is not None and s.name in skip_missing and not Path(s.path).exists():
            skipped[s.name] = f"{s.path} not found"
            continue
        model = load_model(s.path, device=device)
        if product_thr is None:
            product_thr = product_default_threshold()
        embedded.append(embed_with_model(s.name, model, items, product_thr, prog))
        if speed_items:
            speed_runs[s.name] = embed_with_model(s.name, model, speed_items, product_thr)

    ok = np.ones(len(items), dtype=bool)
    for e in embedded:
        ok &= e.ok
    nd_idx = np.array([i for i, it in enumerate(items) if ok[i] and it.part in ("group", "distractor")], dtype=int)
    lk_idx = np.array([i for i, it in enumerate(items) if ok[i] and it.part in ("class", "distractor")], dtype=int)
    all_idx = np.flatnonzero(ok)
    has_groups = any(it.part == "group" for it in items)
    has_classes = any(it.part == "class" for it in items)

    methods = {}
    for e in embedded:
        m = {"kind": e.kind, **e.info}
        m["neardup"] = neardup_metrics(e, items, nd_idx, seed) if has_groups else None
        m["lookalike"] = lookalike_metrics(e, items, lk_idx, seed) if has_classes else None
        m["speed"] = speed_metrics(e, all_idx)
        if e.name in speed_runs:
            sr = speed_runs[e.name]
            m["speed_photos"] = {**speed_metrics(sr, np.flatnonzero(sr.ok)), "folder": str(speed_dir)}
        methods[e.name] = m
    errors = sorted({err for e in embedded for err in e.errors})
    counts = {
        "groups": len({it.label for it in items if it.part == "group"}),
        "group_images": sum(1 for it in items if it.part == "group"),
        "classes": len({it.label for it in items if it.part == "class"}),
        "class_images": sum(1 for it in items if it.part == "class"),
        "distractors": sum(1 for it in items if it.part == "distractor"),
        "unreadable": int((~ok).sum()),
    }
    device_used = next((e.device for e in embedded if e.kind == "model"), "cpu")
    return {
        "benchmark": str(lay.root),
        "counts": counts,
        "settings": {"top_k": TOP_K, "precision_target": PRECISION_TARGET, "seed": seed, "limit": limit,
                     "hash_default_max_distance": HASH_DEFAULT_MAX_DISTANCE, "embed_batch": EMBED_BATCH},
        "machine": machine_info(device_used),
        "methods": methods,
        "skipped": skipped,
        "errors": [list(x) for x in errors],
    }
