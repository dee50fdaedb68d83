"""Distil an ImageNet CNN's idea of "the same kind of picture" into our lookalike head, on a CPU.

Our encoder is frozen (duplicate finding stays exactly what it was), so what the head reads of a view never
changes: the encoder's stage features of a fixed set of views, and the teacher's embedding of the same
views, are computed once and cached (``features``), and the head then trains on the cache in minutes
instead of hours (``fit``). The head learns the teacher's similarity structure: for a batch of views, the
distribution of each view's similarities to the others (relational distillation, a KL divergence), plus
the views of one photo pulled together (NT-Xent).

    python -m imgsim_desktop.training.distill features --views 4 --run runs/distill
    python -m imgsim_desktop.training.distill features --views 4 --seed 1 --crops-only --run runs/distill-s1
    python -m imgsim_desktop.training.distill fit --run runs/distill --extra-views runs/distill-s1 --minutes 10 \
        --out runs/distill/model
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from imgsim_desktop.core.network import rich_pool
from imgsim_desktop.core.model import (IMAGENET_MEAN, IMAGENET_STD, _load_weights, _locate, _read_card,
                                       build_network, full_arch, preprocess_image, save_model)

from .data import build_cache, default_train_folders, project_root
from .lookhead import lookalike_crop
from .teacher import normalized_batch
from .train import Logger, nt_xent

PART_PHOTOS = 256


# ------------------------------------------------------------------------------------------------ views

def photo_views(img: Image.Image, n: int, seed: int, min_area: float = 0.25,
                whole: bool = True) -> list[Image.Image]:
    """View 0 is the whole photo (what the index sees); the others are random crops. ``whole=False``: n
    crops only (a cache of extra views beside one that already holds the whole photo)."""
    rng = random.Random(seed)
    return ([img] if whole else []) + [lookalike_crop(img, rng, min_area) for _ in range(n - int(whole))]


# --------------------------------------------------------------------------------------------- features

class StudentFeatures:
    """What the lookalike head can read of a view, from the frozen encoder: each stage's GeM (p=3, unit
    length) and the last stage's map (for a trainable adapter)."""

    def __init__(self, net, size: int, device: str = "cpu"):
        self.net = net.to(device).eval()
        self.size = size
        self.device = device
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255.0
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255.0

    @torch.inference_mode()
    def __call__(self, views: np.ndarray, batch: int = 128) -> tuple[np.ndarray, np.ndarray]:
        pooled, maps = [], []
        for i in range(0, len(views), batch):
            x = normalized_batch(views[i:i + batch], self.mean, self.std, self.device)
            st = self.net.stages(x)
            pooled.append(self.net.look_input(st).float().cpu().numpy())
            maps.append(st[-1].float().cpu().numpy().astype(np.float16))
        return np.concatenate(pooled), np.concatenate(maps)


def _base(base: Path | None):
    """The base model's network, as trained (no fusing), and its card."""
    card_path, weights_path = _locate(Path(base) if base else None)
    card = _read_card(card_path)
    arch = full_arch(card["arch"])
    arch.pop("look", None)
    net = build_network(arch, int(card["input_size"]), _dup_dim(card))
    state = {k: v for k, v in _load_weights(weights_path).items() if not k.startswith("look")}
    net.load_state_dict(state, strict=True)
    return net.eval(), card, arch


def _dup_dim(card: dict) -> int:
    look = (card.get("arch") or {}).get("look") or {}
    return int(card["embedding_size"]) - int(look.get("dim", 0))


def build_features(run: Path, views: int, seed: int = 0, base: Path | None = None,
                   folders: list[Path] | None = None, short_side: int = 224, min_area: float = 0.25,
                   teacher=None, log=print, whole: bool = True, cache_dir: Path | None = None) -> Path:
    """Cache the student's and the teacher's features of ``views`` views of every training photo, in parts
    of PART_PHOTOS photos (a killed run resumes at the next missing part). ``whole=False`` caches crops
    only, for a second cache of extra views (another seed) read beside the first by ``fit --extra-views``."""
    from .teacher import Teacher

    run.mkdir(parents=True, exist_ok=True)
    net, card, _ = _base(base)
    size = int(card["input_size"])
    student = StudentFeatures(net, size)
    teacher = teacher or Teacher()
    cache, _, _ = build_cache(folders or default_train_folders(), cache_dir, short_side, log=log)
    n = len(cache)
    meta = {"views": views, "seed": seed, "min_area": min_area, "short_side": short_side, "whole": whole,
            "base": card.get("model_id"), "n_photos": n, "input_size": size}
    (run / "features.json").write_text(json.dumps(meta, indent=2) + "\n")
    t0 = time.monotonic()
    for p0 in range(0, n, PART_PHOTOS):
        part = run / f"part-{p0 // PART_PHOTOS:04d}.npz"
        if part.is_file():
            continue
        ids = range(p0, min(n, p0 + PART_PHOTOS))
        s_views, t_views = [], []
        for i in ids:
            for v in photo_views(cache.pil(i), views, seed * 1_000_003 + i, min_area, whole):
                s_views.append(preprocess_image(v, size))
                t_views.append(preprocess_image(v, teacher.size))
        pooled, maps = student(np.stack(s_views))
        temb = teacher.embed(np.stack(t_views))
        k = len(ids)
        tmp = part.with_suffix(".tmp.npz")
        np.savez(tmp, pooled=pooled.reshape(k, views, -1).astype(np.float16),
                 maps=maps.reshape(k, views, *maps.shape[1:]),
                 teacher=temb.reshape(k, views, -1).astype(np.float16), ids=np.array(list(ids)))
        tmp.replace(part)
        done = min(n, p0 + PART_PHOTOS)
        log(f"features: {done}/{n} photos, {(time.monotonic() - t0) / 60:.1f} min")
    return run


def load_features(run: Path, extra: list[Path] | tuple = ()) -> dict[str, np.ndarray]:
    """The cached features of ``run``, with the views of each ``extra`` cache (crops of the same photos under
    another seed) appended after a photo's own. An extra cache still being built covers fewer photos: those
    photos keep their own views only, and ``nviews`` says how many views each photo has."""
    out = _read_parts(run)
    n, v = out["pooled"].shape[:2]
    nviews = np.full(n, v, dtype=np.int64)
    for more in extra:
        add = _read_parts(Path(more))
        if add["ids"].size and add["ids"].max() >= n:
            raise ValueError(f"{more} holds photos that {run} does not: not the same training photos")
        w = add["pooled"].shape[1]
        for k in ("pooled", "maps", "teacher"):
            grown = np.zeros((n, out[k].shape[1] + w, *out[k].shape[2:]), dtype=out[k].dtype)
            grown[:, : out[k].shape[1]] = out[k]
            grown[add["ids"], out[k].shape[1]:] = add[k]
            out[k] = grown
        have = np.zeros(n, dtype=bool)
        have[add["ids"]] = True
        # a photo missing from an earlier extra cache cannot use a later one's slots either
        full = have & (nviews == out["pooled"].shape[1] - w)
        nviews[full] += w
    out["nviews"] = nviews
    del out["ids"]
    return out


def _read_parts(run: Path) -> dict[str, np.ndarray]:
    parts = sorted(Path(run).glob("part-*.npz"))
    if not parts:
        raise FileNotFoundError(f"no feature parts in {run}; run 'features' first")
    out: dict[str, list] = {"pooled": [], "maps": [], "teacher": [], "ids": []}
    for p in parts:
        with np.load(p, allow_pickle=False) as z:
            for k in out:
                out[k].append(z[k])
    return {k: np.concatenate(v) for k, v in out.items()}


# ------------------------------------------------------------------------------------------------ head

class LookHead(torch.nn.Module):
    """The trainable part: an optional 1x1 adapter over the last stage's map (GeM-pooled in place of that
    stage's plain GeM), then the MLP. Mirrors ``core/network.py``'s lookalike head for export."""

    def __init__(self, widths: list[int], hidden: int, dim: int, adapter: int = 0, extra: int = 0):
        super().__init__()
        self.widths = list(widths)
        self.adapter = int(adapter)
        if self.adapter:
            self.adapt = torch.nn.Sequential(torch.nn.Conv2d(widths[-1], self.adapter, 1), torch.nn.ReLU())
        d_in = sum(widths[:-1]) + (self.adapter or widths[-1]) + extra
        self.mlp = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, dim))

    def forward(self, pooled: torch.Tensor, last_map: torch.Tensor | None) -> torch.Tensor:
        if self.adapter:
            a = self.adapt(last_map).clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1.0 / 3)
            pooled = torch.cat([pooled[:, : sum(self.widths[:-1])], F.normalize(a, dim=1),
                                pooled[:, sum(self.widths):]], dim=1)
        return F.normalize(self.mlp(pooled), dim=1)


def relational_kl(z: torch.Tensor, t: torch.Tensor, tau_s: float, tau_t: float) -> torch.Tensor:
    """KL(teacher || student) between each row's softmax over its similarities to the other rows."""
    n = z.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    s = (z @ z.t() / tau_s).masked_fill(eye, -1e9)
    tt = (t @ t.t() / tau_t).masked_fill(eye, -1e9)
    return F.kl_div(F.log_softmax(s, dim=1), F.log_softmax(tt, dim=1), log_target=True, reduction="batchmean")


@dataclass
class FitConfig:
    hidden: int = 512
    dim: int = 128
    adapter: int = 0
    pool: str = "gem"             # "rich": the last stage also through std, max and a 2x2 grid
    knn: int = 0                  # > 0: half of each batch are teacher neighbours (top-knn) of the other half
    batch: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    tau_s: float = 0.1
    tau_t: float = 0.05
    w_kl: float = 1.0
    w_nce: float = 0.2
    w_feat: float = 0.0           # > 0: a linear map of the student's vector regresses the teacher's (cosine)
    w_cos: float = 0.0            # > 0: the student's pairwise cosines regress the teacher's (MSE)
    temperature: float = 0.2
    minutes: float | None = 5.0
    steps: int | None = None
    seed: int = 0
    eval_every: int = 200
    extra: dict = field(default_factory=dict)


def with_pool(pooled: np.ndarray, maps: np.ndarray, pool: str) -> np.ndarray:
    """The cached GeM features, extended the way ``pool`` extends them in the network."""
    if pool == "gem":
        return pooled.astype(np.float32)
    shape = pooled.shape[:-1]
    p = pooled.reshape(-1, pooled.shape[-1]).astype(np.float32)
    m = maps.reshape(-1, *maps.shape[-3:])
    with torch.no_grad():
        extra = np.concatenate([rich_pool(torch.from_numpy(m[i:i + 1024].astype(np.float32))).numpy()
                                for i in range(0, len(m), 1024)])
    return np.concatenate([p, extra], axis=1).reshape(*shape, -1)


def teacher_neighbours(teacher: np.ndarray, k: int) -> np.ndarray:
    """Each photo's k nearest other photos by the teacher (whole-photo views): "the same kind of picture"."""
    t = teacher[:, 0].astype(np.float32)
    sim = t @ t.T
    np.fill_diagonal(sim, -np.inf)
    return np.argpartition(-sim, k, axis=1)[:, :k]


def fit_head(feats: dict[str, np.ndarray], widths: list[int], cfg: FitConfig, evaluate=None, log=print):
    """Train a LookHead on cached features; returns (head, history)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    pooled = torch.from_numpy(with_pool(feats["pooled"], feats["maps"], cfg.pool))
    teacher = torch.from_numpy(feats["teacher"].astype(np.float32))
    maps = torch.from_numpy(feats["maps"]) if cfg.adapter else None
    n, v = pooled.shape[:2]
    nviews = feats.get("nviews")
    uneven = nviews if nviews is not None and (nviews != v).any() else None
    nbrs = teacher_neighbours(feats["teacher"], cfg.knn) if cfg.knn else None
    head = LookHead(widths, cfg.hidden, cfg.dim, cfg.adapter, pooled.shape[-1] - sum(widths))
    proj = torch.nn.Linear(cfg.dim, teacher.shape[-1]) if cfg.w_feat else None  # training only, not exported
    params = list(head.parameters()) + (list(proj.parameters()) if proj is not None else [])
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    budget = cfg.minutes * 60 if cfg.minutes else None
    t0 = time.monotonic()
    history, step = [], 0
    while not ((budget and time.monotonic() - t0 >= budget) or (cfg.steps and step >= cfg.steps)):
        if nbrs is None:
            ids = torch.from_numpy(rng.choice(n, size=min(cfg.batch, n), replace=False))
        else:
            anchors = rng.choice(n, size=min(cfg.batch, n) // 2, replace=False)
            mates = nbrs[anchors, rng.integers(0, nbrs.shape[1], size=len(anchors))]
            ids = torch.from_numpy(np.concatenate([anchors, mates]))
        if uneven is None:
            va = torch.from_numpy(rng.integers(0, v, size=len(ids)))
            vb = (va + torch.from_numpy(rng.integers(1, v, size=len(ids)))) % v if v > 1 else va
        else:  # photos with fewer views (an extra cache not finished) draw among their own
            nv = uneven[ids.numpy()]
            a0 = rng.integers(0, nv)
            va, vb = torch.from_numpy(a0), torch.from_numpy((a0 + rng.integers(1, np.maximum(nv, 2))) % nv)
        p = torch.cat([pooled[ids, va], pooled[ids, vb]])
        m = torch.cat([maps[ids, va], maps[ids, vb]]).float() if maps is not None else None
        t = torch.cat([teacher[ids, va], teacher[ids, vb]])
        z = head(p, m)
        loss = cfg.w_kl * relational_kl(z, t, cfg.tau_s, cfg.tau_t)
        if cfg.w_nce:
            loss = loss + cfg.w_nce * nt_xent(z[: len(ids)], z[len(ids):], cfg.temperature)
        if proj is not None:
            loss = loss + cfg.w_feat * (1.0 - F.cosine_similarity(proj(z), t, dim=1)).mean()
        if cfg.w_cos:
            tn = F.normalize(t, dim=1)
            loss = loss + cfg.w_cos * F.mse_loss(z @ z.t(), tn @ tn.t())
        progress = max((time.monotonic() - t0) / budget if budget else 0.0, step / cfg.steps if cfg.steps else 0.0)
        for g in opt.param_groups:
            g["lr"] = cfg.lr * min(1.0, (step + 1) / 20) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 20 == 0:
            rec = {"step": step, "loss": round(float(loss.detach()), 5), "min": round((time.monotonic() - t0) / 60, 2)}
            if evaluate is not None and step % cfg.eval_every == 0:
                rec.update(evaluate(head))
            history.append(rec)
            log(json.dumps(rec))
    head.eval()
    if evaluate is not None:
        final = {"step": step, "min": round((time.monotonic() - t0) / 60, 2), **evaluate(head)}
        history.append(final)
        log(json.dumps(final))
    return head, history


# ------------------------------------------------------------------------------------------- evaluation

def eval_set(lookalike_dir: Path, distractor_dir: Path | None) -> tuple[list[Path], np.ndarray]:
    from imgsim_desktop.core.decode import is_image_path

    paths, labels = [], []
    for k, d in enumerate(sorted(p for p in lookalike_dir.iterdir() if p.is_dir())):
        for f in sorted(d.iterdir()):
            if is_image_path(f):
                paths.append(f)
                labels.append(k)
    if distractor_dir is not None:
        for f in sorted(distractor_dir.iterdir()):
            if is_image_path(f):
                paths.append(f)
                labels.append(-1)
    return paths, np.array(labels)


def eval_features(paths: list[Path], net, size: int, teacher=None) -> dict[str, np.ndarray]:
    """Student features of each photo and its mirror image (the model's test-time mirror), and optionally
    the teacher's embedding, decoded the way the bench decodes."""
    from imgsim_desktop.core.decode import load_image

    student = StudentFeatures(net, size)
    s_views, t_views = [], []
    for p in paths:
        img, _ = load_image(p, max_side=size)
        a = preprocess_image(img, size)
        s_views += [a, a[:, ::-1]]
        if teacher is not None:
            big, _ = load_image(p, max_side=teacher.size)
            t_views.append(preprocess_image(big, teacher.size))
    pooled, maps = student(np.stack(s_views))
    out = {"pooled": pooled.reshape(len(paths), 2, -1), "maps": maps.reshape(len(paths), 2, *maps.shape[1:])}
    if teacher is not None:
        out["teacher"] = teacher.embed(np.stack(t_views))
    return out


def precision_at_10(vectors: np.ndarray, labels: np.ndarray) -> dict:
    """One search (p10, map) and as the app ranks, with query expansion (p10_qe, map_qe: the bench's
    ``precision_at_10``)."""
    from imgsim_desktop.core.ranking import EXPANSION, expanded_query
    from imgsim_desktop.evaluation import metrics as M

    v = vectors.astype(np.float32)
    sim = v @ v.T
    queries = M.query_indices(labels)
    rel, _ = M.ranked_relevance(sim, labels, queries, seed=0)
    s = sim.copy()
    np.fill_diagonal(s, -np.inf)
    near = np.argsort(-s, axis=1, kind="stable")[:, :EXPANSION]
    q = np.stack([expanded_query(v[i], v[near[i]]) for i in range(len(v))])
    rel_qe, _ = M.ranked_relevance(q @ v.T, labels, queries, seed=0)
    return {"p10": round(float(M.precision_at_k(rel, 10).mean()), 4),
            "map": round(float(M.average_precision(rel).mean()), 4),
            "p10_qe": round(float(M.precision_at_k(rel_qe, 10).mean()), 4),
            "map_qe": round(float(M.average_precision(rel_qe).mean()), 4)}


def head_vectors(head: LookHead, ev: dict[str, np.ndarray], pool: str = "gem") -> np.ndarray:
    with torch.no_grad():
        n = ev["pooled"].shape[0]
        p = torch.from_numpy(with_pool(ev["pooled"], ev["maps"], pool).reshape(2 * n, -1))
        m = torch.from_numpy(ev["maps"].reshape(2 * n, *ev["maps"].shape[2:]).astype(np.float32)) \
            if head.adapter else None
        z = head(p, m).reshape(n, 2, -1).sum(dim=1)
        return F.normalize(z, dim=1).numpy()


# ------------------------------------------------------------------------------------------------ export

def export(head: LookHead, cfg: FitConfig, base: Path | None, out: Path, name: str | None, version: str,
           record: dict) -> Path:
    """The base model (encoder, descriptor, decoder unchanged) with this head, as a new model."""
    net0, card, arch = _base(base)
    look = {"hidden": cfg.hidden, "dim": cfg.dim}
    if cfg.adapter:
        look["adapter"] = cfg.adapter
    if cfg.pool != "gem":
        look["pool"] = cfg.pool
    arch["look"] = look
    net = build_network(arch, int(card["input_size"]), _dup_dim(card))
    state = net0.state_dict()
    state.update({f"look.{k}": v for k, v in head.mlp.state_dict().items()})
    if cfg.adapter:
        state.update({f"look_adapt.{k}": v for k, v in head.adapt.state_dict().items()})
    net.load_state_dict(state, strict=True)
    new = copy.deepcopy(card)
    for k in ("model_id", "weights", "weights_sha256", "params"):
        new.pop(k, None)
    new.update({"version": version, "arch": arch})
    new["lookalike_head"] = record
    return save_model(net.eval(), new, out, name or card["name"])


# --------------------------------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m imgsim_desktop.training.distill")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("features")
    f.add_argument("--run", type=Path, default=project_root() / "runs" / "distill")
    f.add_argument("--views", type=int, default=4)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--base", type=Path)
    f.add_argument("--threads", type=int)
    f.add_argument("--crops-only", action="store_true", help="no whole-photo view: extra views for another cache")
    f.add_argument("--folders", type=Path, nargs="+", help="training photos (default: ../shared/datasets/train)")
    f.add_argument("--cache-dir", type=Path, help="where the decoded photo cache lives (default: data/)")
    t = sub.add_parser("fit")
    t.add_argument("--run", type=Path, default=project_root() / "runs" / "distill")
    t.add_argument("--base", type=Path)
    t.add_argument("--extra-views", type=Path, action="append", default=[],
                   help="another features cache (--crops-only, another seed) whose views are added to --run's")
    t.add_argument("--minutes", type=float, default=5.0, help="time budget (0: none; give steps in --config)")
    t.add_argument("--threads", type=int)
    t.add_argument("--config", default="{}", help="JSON overrides of FitConfig")
    t.add_argument("--eval", type=Path, default=project_root().parent / "shared" / "datasets" / "eval")
    t.add_argument("--out", type=Path, help="export the model here")
    t.add_argument("--log", type=Path, help="append the fit's log here (default: fit.log in --run)")
    t.add_argument("--version", default="4")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.cmd == "features":
        build_features(a.run, a.views, a.seed, a.base, a.folders, whole=not a.crops_only, cache_dir=a.cache_dir)
        return 0
    cfg = FitConfig(**{"minutes": a.minutes or None, **json.loads(a.config)})
    feats = load_features(a.run, a.extra_views)
    net, card, arch = _base(a.base)
    widths = list(arch["widths"])
    ev_cache = a.run / "eval-features.npz"
    paths, labels = eval_set(a.eval / "lookalike", a.eval / "distractors")
    if ev_cache.is_file():
        with np.load(ev_cache) as z:
            ev = {k: z[k] for k in z.files}
    else:
        from .teacher import Teacher
        ev = eval_features(paths, net, int(card["input_size"]), Teacher())
        np.savez(ev_cache, **ev)
    log = Logger(a.log or a.run / "fit.log", print)
    log(f"teacher on the eval set: {json.dumps(precision_at_10(ev['teacher'], labels))}")
    log(f"training views: {int(feats['nviews'].sum())} of {len(feats['nviews'])} photos "
        f"({feats['nviews'].min()}-{feats['nviews'].max()} each)")
    head, hist = fit_head(feats, widths, cfg, lambda h: precision_at_10(head_vectors(h, ev, cfg.pool), labels), log)
    if a.out:
        record = {"teacher": __import__("imgsim_desktop.training.teacher", fromlist=["TEACHER"]).TEACHER,
                  "objective": f"relational KL (student tau {cfg.tau_s}, teacher tau {cfg.tau_t}, weight {cfg.w_kl}) "
                               f"+ NT-Xent between views (weight {cfg.w_nce}, temperature {cfg.temperature}); "
                               + (f"each batch is {cfg.batch // 2} random photos and, for each, one of its "
                                  f"{cfg.knn} nearest photos by the teacher; " if cfg.knn else "")
                               + "encoder and descriptor frozen",
                  "settings": {k: v for k, v in cfg.__dict__.items() if k != "extra"},
                  "features": json.loads((a.run / "features.json").read_text()),
                  **({"extra_views": [json.loads((Path(d) / "features.json").read_text()) for d in a.extra_views],
                      "views_per_photo": {str(k): int(c) for k, c in
                                          zip(*np.unique(feats["nviews"], return_counts=True))}}
                     if a.extra_views else {}),
                  "eval_lookalike": hist[-1] if hist else None}
        p = export(head, cfg, a.base, a.out, None, a.version, record)
        log(f"exported {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
