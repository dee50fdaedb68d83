"""The training loop: denoising reconstruction + NT-Xent invariance, or reconstruction alone (``plain``).

Main objective, per batch of B photos (clean view x_c, edited copy x_e):

* invariance: NT-Xent (InfoNCE) over the 2B L2-normalised descriptors: each edited copy must pick its own
  clean view among all other 2B-2 views of the batch (temperature ``temperature``);
* denoising reconstruction: the decoder rebuilds the clean view from the edited copy's code (L1 on pixels,
  at the decoder's output size), weight ``recon_weight``.

Plain baseline (``plain=True``): the same encoder/decoder trained only to reconstruct the (unedited) view
from its own code (MSE), compared later by cosine of its flattened latent code.

The run folder holds ``last.ckpt`` (model + optimiser + step + elapsed time; read back with
``torch.load(weights_only=True)``), ``train.log`` and ``config.json``; ``resume`` continues from it.
The learning rate follows warm-up + cosine over the run's budget (steps or minutes), so a time-boxed run
still ends annealed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from imgsim_desktop.core.model import (DEFAULT_ARCH, IMAGENET_MEAN, IMAGENET_STD, build_network, count_parameters,
                                       full_arch, resolve_device, save_model)
from imgsim_desktop.core.paths import models_dir

from .data import batch_iterator, build_cache, default_train_folders

PLAIN_ARCH = {"embed": "latent", "latent_channels": 32}


@dataclass
class TrainConfig:
    folders: list[Path] = field(default_factory=default_train_folders)
    out: Path = field(default_factory=models_dir)
    name: str = "imgsim-ae"
    version: str = "1"
    minutes: float | None = None
    steps: int | None = None
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    device: str = "auto"
    resume: bool = False
    seed: int = 0
    plain: bool = False
    input_size: int = 112
    embedding_size: int = 128
    arch: dict = field(default_factory=dict)
    temperature: float = 0.1
    recon_weight: float = 1.0
    workers: int | None = None      # data-loading processes; None: 0 on CPU, min(8, cores-1) on CUDA
    amp: bool | None = None         # bf16 autocast; None: on for CUDA, off for CPU
    threads: int | None = None      # torch CPU threads; None: leave torch's default
    run_dir: Path | None = None     # default: <project>/runs/<name>
    cache_dir: Path | None = None
    short_side: int = 160
    log_every: int = 10
    checkpoint_every_s: float = 120.0
    snapshot_every_s: float = 0.0   # >0: also export a loadable model to <run_dir>/snapshots/ this often
    export: bool = True
    init_from: Path | None = None   # start from these weights (a run's .ckpt or a model's .safetensors/.json)
    edit_weights: dict = field(default_factory=dict)  # edit name -> relative weight (missing: 1.0)
    group_size: int = 0             # edit-grouped batches: runs of this many pairs share their first edit
    p_grouped: float = 0.0          # fraction of batches that are edit-grouped
    tta: str = "mirror"             # test-time augmentation the exported card asks for (plain baseline: none)

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        return {k: (str(v) if isinstance(v, Path) else [str(x) for x in v] if k == "folders" else v)
                for k, v in d.items()}


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric NT-Xent: row i of z1 and row i of z2 are positives; every other row is a negative."""
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    n = z1.shape[0]
    sim = z @ z.t() / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


def _to_input(u8: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, device: str) -> torch.Tensor:
    x = u8.to(device, non_blocking=True).permute(0, 3, 1, 2).float()
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def _target(u8: torch.Tensor, side: int, device: str) -> torch.Tensor:
    t = u8.to(device, non_blocking=True).permute(0, 3, 1, 2).float() / 255.0
    if t.shape[-1] != side:
        t = F.adaptive_avg_pool2d(t, side)
    return t


def _lr_at(cfg: TrainConfig, step: int, progress: float) -> float:
    warm = min(1.0, (step + 1) / max(1, cfg.warmup_steps))
    return cfg.lr * warm * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


class Logger:
    def __init__(self, path: Path | None, echo=print):
        self.f = open(path, "a", encoding="utf-8") if path else None
        self.echo = echo

    def __call__(self, msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        if self.echo:
            self.echo(line)
        if self.f:
            self.f.write(line + "\n")
            self.f.flush()

    def close(self) -> None:
        if self.f:
            self.f.close()


def runtime(device_pref: str, threads: int | None, workers: int | None) -> tuple[str, bool, int]:
    """(device, is_cuda, data-loading processes): CUDA when asked or available; on CUDA, data loading gets
    min(8, cores - 1) processes unless told otherwise, on CPU it runs in the training process."""
    if threads:
        torch.set_num_threads(int(threads))
    device = resolve_device(device_pref)
    cuda = device.startswith("cuda")
    if workers is None:
        workers = min(8, max(0, (torch.multiprocessing.cpu_count() or 2) - 1)) if cuda else 0
    return device, cuda, int(workers)


def train(cfg: TrainConfig, echo=print) -> dict:
    """Run (or resume) a training run; exports the model when done. Returns a summary dict."""
    if cfg.minutes is None and cfg.steps is None:
        cfg.minutes = 60.0
    from .data import project_root

    run_dir = Path(cfg.run_dir or (project_root() / "runs" / cfg.name))
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Logger(run_dir / "train.log", echo)
    device, cuda, workers = runtime(cfg.device, cfg.threads, cfg.workers)
    amp = cfg.amp if cfg.amp is not None else cuda
    if cuda:
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)

    arch = full_arch({**(PLAIN_ARCH if cfg.plain else {}), **cfg.arch})
    net = build_network(arch, cfg.input_size, cfg.embedding_size).to(device).to(memory_format=torch.channels_last)
    emb_size = net.out_dim
    out_side = net.code_side * 2 ** len(arch["dec_widths"])
    params = [p for n_, p in net.named_parameters()]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.99))

    step, elapsed_before, pairs_seen = 0, 0.0, 0
    ckpt_path = run_dir / "last.ckpt"
    if cfg.resume and ckpt_path.is_file():
        ck = torch.load(ckpt_path, map_location=device, weights_only=True)
        if ck.get("arch") != json.loads(json.dumps(arch)) or ck.get("input_size") != cfg.input_size:
            raise SystemExit(f"checkpoint {ckpt_path} was made with another architecture; start a new run")
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed_before, pairs_seen = int(ck["step"]), float(ck["elapsed"]), int(ck["pairs_seen"])
        log(f"resumed from {ckpt_path} at step {step} ({elapsed_before / 60:.1f} min done)")
    elif cfg.resume:
        log(f"no checkpoint in {run_dir}; starting fresh")
    elif cfg.init_from:
        net.load_state_dict(_initial_weights(Path(cfg.init_from), arch, cfg.input_size))
        log(f"initial weights from {cfg.init_from} (new optimiser and schedule)")
    (run_dir / "config.json").write_text(json.dumps({**cfg.to_json(), "arch": arch}, indent=2) + "\n")

    cache, cache_path, paths = build_cache(cfg.folders, cfg.cache_dir, cfg.short_side, log=log)
    sampler_opts = {"edit_weights": cfg.edit_weights, "group_size": cfg.group_size, "p_grouped": cfg.p_grouped}
    batches = batch_iterator(cache, cfg.input_size, cfg.seed + 7919 * step, cfg.batch, cfg.plain, workers,
                             sampler_opts)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255.0

    log(f"{'plain AE' if cfg.plain else 'denoising AE + NT-Xent'}: {count_parameters(net) / 1e6:.2f} M params "
        f"(encoder {count_parameters(net.encoder) / 1e6:.2f} M), input {cfg.input_size}px, embedding {emb_size}, "
        f"decoder out {out_side}px, batch {cfg.batch}, device {device}, amp {amp}, workers {workers}, "
        f"threads {torch.get_num_threads()}, photos {len(cache)}")

    budget_s = cfg.minutes * 60.0 if cfg.minutes is not None else None
    t0 = time.monotonic()
    last_ckpt = last_snap = t0
    meter = {"loss": 0.0, "nce": 0.0, "rec": 0.0, "pos": 0.0, "neg": 0.0, "n": 0, "t": t0, "pairs": 0}
    history = []

    def progress() -> float:
        el = elapsed_before + time.monotonic() - t0
        fr = []
        if budget_s:
            fr.append(el / budget_s)
        if cfg.steps:
            fr.append(step / cfg.steps)
        return max(fr)

    def save_ckpt() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "step": step,
                    "elapsed": elapsed_before + time.monotonic() - t0, "pairs_seen": pairs_seen,
                    "arch": arch, "input_size": cfg.input_size}, tmp)
        tmp.replace(ckpt_path)

    def card(final: bool) -> dict:
        el = elapsed_before + time.monotonic() - t0
        return {
            "version": cfg.version,
            "arch": arch,
            "input_size": cfg.input_size,
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "embedding_size": emb_size,
            "preprocess": "whole image squashed to input_size x input_size (PIL bicubic, antialiased), RGB",
            "index_vector": ("flattened bottleneck code (latent), L2-normalised" if cfg.plain else
                             "GeM-pooled encoder features -> linear projection, L2-normalised"
                             + ("; mean with the mirror image's descriptor (tta)" if cfg.tta == "mirror" else "")
                             + "; one vector for duplicates and lookalikes"),
            "random_init": False,
            "tta": "none" if cfg.plain else cfg.tta,
            "training": {
                "objective": ("reconstruction only (MSE), no edits" if cfg.plain else
                              f"denoising reconstruction (L1, clean view from edited copy, weight "
                              f"{cfg.recon_weight}) + NT-Xent (temperature {cfg.temperature}) over 2B views"),
                "data": [str(f) for f in cfg.folders],
                "n_photos": len(cache),
                "pairs": "random view (whole photo or 50-100 % crop, mirror) vs imgsim_desktop.edits copy "
                         "(sometimes two edits)" if not cfg.plain else "random view (whole or crop, mirror)",
                "edit_weights": cfg.edit_weights or "uniform",
                "edit_grouped_batches": ({"group_size": cfg.group_size, "fraction": cfg.p_grouped}
                                         if cfg.group_size > 1 and cfg.p_grouped > 0 else None),
                "init_from": str(cfg.init_from) if cfg.init_from else None,
                "cache_short_side": cfg.short_side,
                "steps": step,
                "pairs_seen": pairs_seen,
                "batch": cfg.batch,
                "lr": cfg.lr,
                "weight_decay": cfg.weight_decay,
                "seed": cfg.seed,
                "budget_minutes": cfg.minutes,
                "budget_steps": cfg.steps,
                "wall_time_s": round(el, 1),
                "device": device if not cuda else f"{device} ({torch.cuda.get_device_name(0)})",
                "cpu_threads": torch.get_num_threads(),
                "amp": amp,
                "torch": torch.__version__,
                "python": platform.python_version(),
                "final_loss": history[-1] if history else None,
                "finished": final,
            },
            "benchmark": {},
        }

    net.train()
    while True:
        if (budget_s is not None and elapsed_before + time.monotonic() - t0 >= budget_s) or \
                (cfg.steps is not None and step >= cfg.steps):
            break
        clean_u8, edit_u8 = next(batches)
        lr = _lr_at(cfg, step, progress())
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=amp):
            if cfg.plain:
                x = _to_input(clean_u8, mean, std, device)
                _, rec = net(x)
                rec_loss = F.mse_loss(rec.float(), _target(clean_u8, out_side, device))
                nce = torch.zeros((), device=device)
                loss = rec_loss
                pos = neg = torch.zeros(())
            else:
                x = torch.cat([_to_input(clean_u8, mean, std, device), _to_input(edit_u8, mean, std, device)])
                feats = net.features(x)
                z = net.head(feats)
                b = clean_u8.shape[0]
                nce = nt_xent(z[:b], z[b:], cfg.temperature)
                rec = net.decode(feats[b:])
                rec_loss = F.l1_loss(rec.float(), _target(clean_u8, out_side, device))
                loss = nce + cfg.recon_weight * rec_loss
                with torch.no_grad():
                    zn = F.normalize(z.float(), dim=1)
                    s = zn[:b] @ zn[b:].t()
                    pos = s.diag().mean()
                    neg = (s.sum() - s.diag().sum()) / max(1, b * b - b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        step += 1
        pairs_seen += clean_u8.shape[0]
        meter["loss"] += float(loss.detach())
        meter["nce"] += float(nce.detach())
        meter["rec"] += float(rec_loss.detach())
        meter["pos"] += float(pos)
        meter["neg"] += float(neg)
        meter["n"] += 1
        meter["pairs"] += clean_u8.shape[0]
        if not math.isfinite(float(loss.detach())):
            log(f"step {step}: loss is not finite; stopping (the last checkpoint is kept)")
            raise SystemExit(3)
        now = time.monotonic()
        if step % cfg.log_every == 0:
            n = meter["n"]
            rate = meter["pairs"] / max(1e-9, now - meter["t"])
            rec_ = {"step": step, "loss": meter["loss"] / n, "nce": meter["nce"] / n, "rec": meter["rec"] / n,
                    "pos_sim": meter["pos"] / n, "neg_sim": meter["neg"] / n}
            history.append({k: round(v, 5) if isinstance(v, float) else v for k, v in rec_.items()})
            log(f"step {step:6d}  loss {rec_['loss']:.4f}  nce {rec_['nce']:.4f}  rec {rec_['rec']:.4f}  "
                f"pos {rec_['pos_sim']:.3f}  neg {rec_['neg_sim']:.3f}  lr {lr:.2e}  {rate:.1f} pairs/s  "
                f"{(elapsed_before + now - t0) / 60:.1f} min")
            meter.update({"loss": 0.0, "nce": 0.0, "rec": 0.0, "pos": 0.0, "neg": 0.0, "n": 0, "t": now,
                          "pairs": 0})
        if now - last_ckpt >= cfg.checkpoint_every_s:
            save_ckpt()
            last_ckpt = now
        if cfg.snapshot_every_s and now - last_snap >= cfg.snapshot_every_s:
            _export(net, card(False), run_dir / "snapshots", cfg.name, device)
            net.train()
            last_snap = now
            log(f"snapshot exported to {run_dir / 'snapshots'}")

    save_ckpt()
    wall = elapsed_before + time.monotonic() - t0
    summary = {"steps": step, "pairs_seen": pairs_seen, "wall_s": round(wall, 1), "run_dir": str(run_dir),
               "final": history[-1] if history else None, "history": history, "card": None}
    if cfg.export:
        card_path = _export(net, card(True), Path(cfg.out), cfg.name, device)
        summary["card"] = str(card_path)
        log(f"exported {card_path} (+ .safetensors) after {step} steps, {wall / 60:.1f} min")
    log.close()
    return summary


def _initial_weights(path: Path, arch: dict, input_size: int) -> dict:
    """Weights to start from: a run checkpoint (``.ckpt``) or an exported model (card or safetensors)."""
    from imgsim_desktop.core.errors import ModelError
    from imgsim_desktop.core.model import _load_weights, _locate, _read_card

    if path.suffix == ".ckpt":
        ck = torch.load(path, map_location="cpu", weights_only=True)
        if ck.get("arch") != json.loads(json.dumps(arch)) or ck.get("input_size") != input_size:
            raise ModelError(f"{path} was made with another architecture or input size")
        return ck["model"]
    card_path, weights_path = _locate(path)
    card = _read_card(card_path)
    if card.get("arch") != json.loads(json.dumps(arch)) or card.get("input_size") != input_size:
        raise ModelError(f"{card_path} was made with another architecture or input size")
    return _load_weights(weights_path)


def _export(net, card: dict, out_dir: Path, name: str, device: str) -> Path:
    net.eval()
    cpu_net = net
    if device != "cpu":
        import copy

        cpu_net = copy.deepcopy(net).to("cpu")
    return save_model(cpu_net, card, out_dir, name)  # save_model stores contiguous copies

