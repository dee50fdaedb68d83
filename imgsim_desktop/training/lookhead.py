"""The lookalike head: "the same kind of picture", learnt on top of a trained model's frozen encoder.

Duplicates and lookalikes are different jobs. The descriptor head is trained to give edited copies of one
photo the same vector and *other photos* different ones, which is the opposite of what finding lookalikes
needs. This head reads the encoder's pooled stages (``net.look_input``) and is trained with NT-Xent on two
*independent* views of one photo: different crops (25-100 % of the area), mirror, colour jitter, sometimes
black and white. The encoder and the descriptor head are frozen, so duplicate finding is exactly what it
was; the exported model's vector is ``[duplicates | lookalikes]`` (see ``core/model.py``).

    imgsim train-lookalike --from resources/models/imgsim-ae.json --minutes 30 --out runs/look
"""

from __future__ import annotations

import copy
import json
import math
import platform
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageEnhance

from imgsim_desktop.core.errors import ModelError
from imgsim_desktop.core.model import (IMAGENET_MEAN, IMAGENET_STD, _load_weights, _locate, _read_card,
                                       build_network, full_arch, preprocess_image, save_model)
from imgsim_desktop.core.paths import models_dir

from .data import PhotoCache, build_cache, default_train_folders
from .train import Logger, nt_xent, runtime


@dataclass
class LookConfig:
    base: Path | None = None          # the model whose encoder is used (default: the bundled one)
    folders: list[Path] = field(default_factory=default_train_folders)
    out: Path = field(default_factory=models_dir)
    name: str | None = None           # default: the base model's name
    version: str | None = None        # default: "<base version>-look"
    minutes: float | None = None
    steps: int | None = None
    batch: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-5
    temperature: float = 0.2
    hidden: int = 512
    dim: int = 128
    min_area: float = 0.25
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    workers: int | None = None        # data-loading processes; None: 0 on CPU, min(8, cores-1) on CUDA
    cache_dir: Path | None = None
    short_side: int = 160
    run_dir: Path | None = None
    log_every: int = 10
    tta: str | None = None            # write this test-time augmentation into the card (default: the base's)


def lookalike_crop(img: Image.Image, rng: random.Random, min_area: float = 0.25,
                   box: list | None = None) -> Image.Image:
    """One random view for the lookalike objective: a crop of min_area..100 % of the photo, mirror, colour
    jitter, sometimes black and white (shared with the distillation's cached views). ``box``, when given,
    receives (x0, y0, x1, y1, mirrored): where the view lies in the photo, for teacher targets pooled from
    the whole photo's feature map."""
    w, h = img.size
    area = rng.uniform(min_area, 1.0)
    r = math.exp(rng.uniform(-0.3, 0.3))
    cw, ch = max(8, min(w, int(w * math.sqrt(area) * r))), max(8, min(h, int(h * math.sqrt(area) / r)))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = img.crop((x, y, x + cw, y + ch))
    mirrored = rng.random() < 0.5
    if mirrored:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if box is not None:
        box[:] = [x, y, x + cw, y + ch, mirrored]
    if rng.random() < 0.8:
        img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.6, 1.4))
        img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.6, 1.4))
        img = ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.4))
    if rng.random() < 0.15:
        img = img.convert("L").convert("RGB")
    return img


def lookalike_view(img: Image.Image, rng: random.Random, size: int, min_area: float = 0.25) -> np.ndarray:
    """A lookalike_crop through the model's one preprocessing rule."""
    return preprocess_image(lookalike_crop(img, rng, min_area), size)


class _ViewStream(torch.utils.data.IterableDataset):
    def __init__(self, cache: PhotoCache, size: int, seed: int, batch: int, min_area: float):
        super().__init__()
        self.args = (cache, size, seed, batch, min_area)

    def __iter__(self):
        cache, size, seed, batch, min_area = self.args
        info = torch.utils.data.get_worker_info()
        rng = random.Random(seed * 1009 + (info.id if info is not None else 0))
        while True:
            idx = [rng.randrange(len(cache)) for _ in range(batch)]
            a = np.stack([lookalike_view(cache.pil(i), rng, size, min_area) for i in idx])
            b = np.stack([lookalike_view(cache.pil(i), rng, size, min_area) for i in idx])
            yield torch.from_numpy(a), torch.from_numpy(b)


def _base_network(base: Path | None, look: dict):
    """The base model's network (unfused, as trained) with a fresh lookalike head; and its card."""
    card_path, weights_path = _locate(Path(base) if base else None)
    card = _read_card(card_path)
    arch = full_arch(card["arch"])
    if arch.get("embed") != "head":
        raise ModelError(f"{card_path.name}: a lookalike head needs a model with a descriptor head")
    if arch.get("look"):
        raise ModelError(f"{card_path.name} already has a lookalike head; start from the model without it")
    if card.get("whitening"):
        raise ModelError(f"{card_path.name} is whitened; a lookalike head is not supported on top of that")
    arch["look"] = dict(look)
    net = build_network(arch, int(card["input_size"]), int(card["embedding_size"]))
    state = _load_weights(weights_path)
    missing, unexpected = net.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("look.") for k in missing):
        raise ModelError(f"{weights_path.name} does not match its card's architecture")
    return net, card, arch


def train_lookalike_head(cfg: LookConfig, echo=print) -> dict:
    """Train the lookalike head on the frozen base model and export base + head as a new model."""
    if cfg.minutes is None and cfg.steps is None:
        cfg.minutes = 30.0
    from .data import project_root

    net, base_card, arch = _base_network(cfg.base, {"hidden": cfg.hidden, "dim": cfg.dim})
    name = cfg.name or base_card["name"]
    version = cfg.version or f"{base_card.get('version', '1')}-look"
    run_dir = Path(cfg.run_dir or (project_root() / "runs" / f"{name}-look"))
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Logger(run_dir / "train.log", echo)
    device, cuda, workers = runtime(cfg.device, cfg.threads, cfg.workers)
    torch.manual_seed(cfg.seed)
    net = net.to(device).eval()  # frozen encoder: BatchNorm keeps its statistics
    for p in net.parameters():
        p.requires_grad_(False)
    for p in net.look.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(net.look.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    cache, _, _ = build_cache(cfg.folders, cfg.cache_dir, cfg.short_side, log=log)
    size = int(base_card["input_size"])
    stream = _ViewStream(cache, size, cfg.seed, cfg.batch, cfg.min_area)
    batches = iter(stream) if workers <= 0 else iter(torch.utils.data.DataLoader(
        stream, batch_size=None, num_workers=workers, persistent_workers=True, prefetch_factor=4))
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255.0
    log(f"lookalike head on {base_card.get('model_id', name)}: {sum(p.numel() for p in net.look.parameters())} "
        f"params, batch {cfg.batch}, device {device}, workers {workers}, photos {len(cache)}")

    budget = cfg.minutes * 60.0 if cfg.minutes is not None else None
    t0 = time.monotonic()
    step, history, acc, n_acc = 0, [], 0.0, 0
    while not ((budget is not None and time.monotonic() - t0 >= budget) or
               (cfg.steps is not None and step >= cfg.steps)):
        a, b = next(batches)
        x = torch.cat([a, b]).to(device).permute(0, 3, 1, 2).float()
        x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            feats = net.look_input(net.stages(x))
        z = net.look(feats)
        loss = nt_xent(z[: a.shape[0]], z[a.shape[0]:], cfg.temperature)
        progress = max((time.monotonic() - t0) / budget if budget else 0.0,
                       step / cfg.steps if cfg.steps else 0.0)
        for g in opt.param_groups:  # short warm-up, then cosine to zero over the budget
            g["lr"] = cfg.lr * min(1.0, (step + 1) / 20) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        acc += float(loss.detach())
        n_acc += 1
        if step % cfg.log_every == 0:
            history.append({"step": step, "loss": round(acc / n_acc, 5)})
            log(f"step {step:5d}  loss {acc / n_acc:.4f}  {(time.monotonic() - t0) / 60:.1f} min")
            acc, n_acc = 0.0, 0
    wall = time.monotonic() - t0

    card = copy.deepcopy(base_card)
    for k in ("model_id", "weights", "weights_sha256", "thresholds", "thresholds_evidence", "benchmark", "params"):
        card.pop(k, None)
    card.update({"version": version, "arch": arch})
    if cfg.tta is not None:
        card["tta"] = cfg.tta
    card["index_vector"] = (f"[duplicates | lookalikes]: the base model's descriptor "
                            f"({base_card.get('embedding_size')}-d) and the lookalike head's "
                            f"({cfg.dim}-d), each L2-normalised; the library indexes each part on its own")
    card["lookalike_head"] = {
        "base_model": base_card.get("model_id"),
        "objective": f"NT-Xent (temperature {cfg.temperature}) between two independent views of one photo "
                     f"(crop {cfg.min_area:.0%}-100 %, mirror, colour jitter, 15 % black and white); "
                     "encoder and descriptor head frozen",
        "input": "GeM (p=3) of every encoder stage, each L2-normalised, concatenated",
        "hidden": cfg.hidden, "dim": cfg.dim, "batch": cfg.batch, "lr": cfg.lr, "steps": step,
        "pairs_seen": step * cfg.batch, "wall_time_s": round(wall, 1), "seed": cfg.seed,
        "data": [str(f) for f in cfg.folders], "n_photos": len(cache),
        "device": device if not cuda else f"{device} ({torch.cuda.get_device_name(0)})",
        "cpu_threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
        "final_loss": history[-1] if history else None,
    }
    net = net.to("cpu").eval()
    card_path = save_model(net, card, Path(cfg.out), name)
    (run_dir / "config.json").write_text(json.dumps({k: str(v) if isinstance(v, Path) else v
                                                     for k, v in cfg.__dict__.items() if k != "folders"},
                                                    indent=2) + "\n")
    log(f"exported {card_path} after {step} steps, {wall / 60:.1f} min")
    log.close()
    return {"steps": step, "wall_s": round(wall, 1), "card": str(card_path), "history": history}
