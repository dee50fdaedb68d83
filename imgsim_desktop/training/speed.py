"""Encoder throughput: images/s of ``LoadedModel.embed`` on uint8 batches (the model alone, no decoding).

    python -m imgsim_desktop.training.speed [--model CARD] [--batch 64] [--threads 2] [--seconds 10]

Prints one JSON object. The figure includes the uint8 -> float normalisation and the L2 normalisation, as
the index sees them; photo decoding and resizing are not included.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def measure(model, batch: int = 64, seconds: float = 10.0, repeats: int = 3) -> dict:
    s = model.input_size
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(batch, s, s, 3), dtype=np.uint8)
    model.embed(x)  # warm-up
    model.embed(x)
    rates = []
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            model.embed(x)
            n += batch
            dt = time.perf_counter() - t0
            if dt >= seconds / repeats:
                break
        rates.append(n / dt)
    return {"images_per_s_median": round(float(np.median(rates)), 1),
            "images_per_s_runs": [round(r, 1) for r in rates], "batch": batch}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    import torch

    from imgsim_desktop.core.model import count_parameters, load_model

    torch.set_num_threads(args.threads)
    m = load_model(args.model, device=args.device)
    r = measure(m, args.batch, args.seconds)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    r.update({"model_id": m.model_id, "input_size": m.input_size, "device": m.device,
              "threads": torch.get_num_threads(), "encoder_params": count_parameters(m.net.encoder),
              "total_params": m.card.get("params", {}).get("total"), "loadavg_1min_before": load})
    print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
