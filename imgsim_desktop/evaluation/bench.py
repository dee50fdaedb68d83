"""Measure methods on a near-duplicate benchmark (``imgsim bench``): score what each method produced and
assemble the JSON report.

Why this module: it is the runner and the scoring; reading the benchmark folder lives in ``layout``,
writing one (``bench-make``) in ``benchmake``, and the methods themselves (models, perceptual hashes,
``plain_ae``) in ``methods``. Their public names are re-exported here, so ``evaluation.bench`` stays the one
import for callers.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from imgsim_desktop.core.progress import Progress

from . import metrics as M
from .benchmake import add_folder, add_ready_groups, make_benchmark  # noqa: F401  (re-exported)
from .layout import BenchError, Item, Layout, _images_in, edit_kind, read_layout  # noqa: F401
from .methods import (  # noqa: F401  (re-exported)
    EMBED_BATCH,
    expanded_similarity,
    HASH_BITS,
    HASH_DECODE_SIDE,
    HASH_DEFAULT_MAX_DISTANCE,
    HASH_NAMES,
    Embedded,
    MethodSpec,
    embed_with_hash,
    embed_with_model,
    plan_methods,
    similarity,
)

TOP_K = 10
PRECISION_TARGET = 0.99


# ============================================================================================ scoring


def _r(x: float | None, nd: int = 4):
    if x is None:
        return None
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return None
    return round(x, nd)


@dataclass
class _Pool:
    """A pool of items labelled for one task, with each query's ranking of the others."""

    n_labels: int              # groups or classes present
    code: dict[str, int]       # group/class name -> label
    labels: np.ndarray         # (P,) label per pool item; -1 for distractors
    sim: np.ndarray            # (P, P) similarity
    queries: np.ndarray        # pool positions that have a mate
    rel: np.ndarray            # relevance of each query's ranking
    order: np.ndarray          # each query's ranking (pool positions)


def _pool(e: Embedded, items: list[Item], idx: np.ndarray, part: str, seed: int,
          expand: bool = True) -> _Pool | None:
    """Label the pool ``idx`` by its ``part`` ("group" or "class") members, the rest being distractors, and
    rank the pool for every query. None when there is no such member or no query."""
    labels_s = [items[i].label if items[i].part == part else None for i in idx]
    names = sorted({l for l in labels_s if l is not None})
    if not names:
        return None
    code = {n: k for k, n in enumerate(names)}
    labels = np.array([code[l] if l is not None else -1 for l in labels_s])
    sim = similarity(e, idx, "duplicates" if part == "group" else "lookalikes")
    queries = M.query_indices(labels)
    if len(queries) == 0:
        return None
    # lookalikes are ranked as the app ranks them (expanded query); pair scores stay plain cosines
    ranking = expanded_similarity(e, idx) if part == "class" and expand else sim
    rel, order = M.ranked_relevance(ranking, labels, queries, seed=seed)
    return _Pool(len(names), code, labels, sim, queries, rel, order)


def _threshold_cuts(e: Embedded) -> list[float]:
    """Round thresholds to tabulate at: every Hamming distance up to 24 for hashes, steps of 0.005 else."""
    if e.kind == "hash":
        return [1.0 - d / HASH_BITS for d in range(0, 25)]
    return [round(x, 3) for x in np.arange(0.0, 1.0001, 0.005)]


def neardup_metrics(e: Embedded, items: list[Item], idx: np.ndarray, seed: int = 0) -> dict | None:
    """Near-duplicate figures over the pool ``idx`` (group members + distractors)."""
    pool = _pool(e, items, idx, "group", seed)
    if pool is None:
        return None
    labels, sim, queries, rel, order = pool.labels, pool.sim, pool.queries, pool.rel, pool.order
    ap = M.average_precision(rel)
    scores, pos = M.pair_scores(sim, labels)
    curve = M.pr_curve(scores, pos)
    bf1, bf1_t = M.best_f1(curve)
    r99, t99 = M.recall_at_precision(curve, PRECISION_TARGET)
    r999, t999 = M.recall_at_precision(curve, 0.999)
    r90, t90 = M.recall_at_precision(curve, 0.90)
    p_d, r_d, f_d = M.prf_at_threshold(scores, pos, e.default_threshold)
    grid = []  # precision/recall at round thresholds (every Hamming distance for hashes)
    for t in _threshold_cuts(e):
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
                    row = qpos[q]  # other copies of the same photo ranking above t do not count against it
                    rank = int(M.rank_among_others(order[row][None, :], rel[row][None, :], np.array([t]))[0])
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
        "n_groups": pool.n_labels,
        "n_queries": int(len(queries)),
        "n_dup_pairs": int(pos.sum()),
        "n_other_pairs": int((~pos).sum()),
    }


def lookalike_metrics(e: Embedded, items: list[Item], idx: np.ndarray, seed: int = 0) -> dict | None:
    """Lookalike figures over the pool ``idx`` (class members + distractors)."""
    pool = _pool(e, items, idx, "class", seed)
    if pool is None:
        return None
    code, labels, sim, queries, rel = pool.code, pool.labels, pool.sim, pool.queries, pool.rel
    ap = M.average_precision(rel)
    p10 = M.precision_at_k(rel, TOP_K)
    plain = M.ranked_relevance(sim, labels, queries, seed=seed)[0]   # one search, no query expansion
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
    cuts = _threshold_cuts(e)
    grid = [[_r(t, 6), _r(float((scores[pos] >= t - 1e-9).mean()) if pos.any() else None, 6),
             _r(float((scores[other] >= t - 1e-9).mean()) if other.any() else None, 6)] for t in cuts]
    return {
        "precision_at_10": _r(p10.mean()),
        "map": _r(ap.mean()),
        "precision_at_10_plain": _r(M.precision_at_k(plain, TOP_K).mean()),
        "map_plain": _r(M.average_precision(plain).mean()),
        "by_class": by_class,
        "sim_same_class_pairs": {k: _r(v) for k, v in M.quantiles(scores[pos], qs=(0.05, 0.25, 0.5, 0.75, 0.95)).items()},
        "sim_other_class_pairs": {k: _r(v) for k, v in M.quantiles(scores[other], qs=(0.5, 0.95, 0.99, 0.999)).items()},
        "pairs_above": {"columns": ["threshold", "same_class", "other_class"], "rows": grid},
        "n_pool": int(len(idx)),
        "n_classes": pool.n_labels,
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
        if product_thr is None:  # the first model is the product's; baselines are cut at its threshold
            product_thr = model.thresholds["duplicates"]
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
