"""PCA whitening of a trained model's descriptors, fitted on the training photos (never on eval/).

    python -m imgsim_desktop.training.whiten --model CARD --out DIR [--name NAME] [--power 0.5] [--views 2]

Embeds every cached training photo (the whole photo, plus ``views - 1`` edited copies each), fits the mean and
the PCA basis of the L2-normalised descriptors, and exports a copy of the model whose card says
``"whitening"`` and whose weights carry ``whiten.mean`` / ``whiten.matrix`` (D x D). ``LoadedModel.embed``
then returns ``normalize((e - mean) @ matrix)`` with ``matrix = U diag((lambda + eps) ** -power)``.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from imgsim_desktop.core.model import load_model, preprocess_image, save_model

from .data import build_cache, default_train_folders, edited_copy


def fit_whitening(model, folders: list[Path] | None = None, views: int = 2, power: float = 0.5,
                  shrink: float = 0.1, seed: int = 0, cache_dir: Path | None = None, log=print) -> dict:
    cache, _, _ = build_cache(folders or default_train_folders(), cache_dir, log=log)
    rng = random.Random(seed)
    s = model.input_size
    embs = []
    batch = []
    for i in range(len(cache)):
        img = cache.pil(i)
        batch.append(preprocess_image(img, s))
        for _ in range(views - 1):
            batch.append(preprocess_image(edited_copy(img, rng)[1], s))
        if len(batch) >= 256:
            embs.append(model.embed(np.stack(batch)))
            batch = []
    if batch:
        embs.append(model.embed(np.stack(batch)))
    e = np.concatenate(embs).astype(np.float64)
    mu = e.mean(0)
    cov = np.cov(e - mu, rowvar=False)
    lam, u = np.linalg.eigh(cov)
    lam = np.clip(lam, 0, None)
    eps = shrink * lam.mean()  # shrinkage: tiny eigenvalues are noise, do not blow them up
    mat = u @ np.diag((lam + eps) ** -power)
    return {"mean": mu.astype(np.float32), "matrix": mat.astype(np.float32), "power": power, "shrink": shrink,
            "fitted_on": [str(f) for f in (folders or default_train_folders())], "n_vectors": int(e.shape[0]),
            "views_per_photo": views}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--power", type=float, default=0.5)
    ap.add_argument("--shrink", type=float, default=0.1)
    ap.add_argument("--views", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    from safetensors.torch import load_file

    from imgsim_desktop.core.model import build_network, full_arch

    torch.set_num_threads(args.threads)
    m = load_model(args.model, device="cpu")
    w = fit_whitening(m, views=args.views, power=args.power, shrink=args.shrink)
    # re-export from the unfused weights on disk (LoadedModel folds BN into the convs)
    card = dict(m.card)
    weights = m.card_path.with_name(card.get("weights") or m.card_path.with_suffix(".safetensors").name)
    net = build_network(full_arch(card["arch"]), card["input_size"], card["embedding_size"])
    state = {k: v for k, v in load_file(str(weights)).items() if not k.startswith("whiten.")}
    net.load_state_dict(state)
    name = args.name or f"{card['name']}-white"
    out = save_model(net.eval(), card, args.out, name, whitening=w)
    print(json.dumps({"card": str(out), "n_vectors": w["n_vectors"], "power": args.power,
                      "shrink": args.shrink}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
