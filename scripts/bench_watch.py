#!/usr/bin/env python3
"""Live-sync figures: how fast a new photo becomes searchable, and what an idle watch costs.

1. Writes ``--files`` tiny photos (default 10,000) into a scratch folder and indexes them
   (the bundled model when present, else a small random one: the watcher's cost does not depend on it).
2. Starts a ``LibraryWatcher`` (its start-up reconciliation pass over the unchanged library is timed),
   then measures the process CPU time over ``--idle`` seconds of idle watching.
3. Copies ``--drops`` photos one by one into a watched folder and measures, for each, the time from the
   copy starting to the library announcing it (the index is updated before the announcement), then checks
   that ``similar`` finds every one of them.

    .venv/bin/python scripts/bench_watch.py [--files 10000] [--drops 50] [--idle 45] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def tiny_photo(path: Path, seed: int, size: int = 32) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = (rng.random((3, 3, 3)) * 255).astype(np.uint8)
    Image.fromarray(base, "RGB").resize((size, size), Image.Resampling.BILINEAR).save(path, quality=90)


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--drops", type=int, default=50)
    ap.add_argument("--gap", type=float, default=1.0, help="seconds between two drops (default 1)")
    ap.add_argument("--idle", type=float, default=45.0, help="seconds of idle watching measured (default 45)")
    ap.add_argument("--debounce", type=float, default=0.5)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--model", type=Path, default=None, help="model card (default: bundled, else random)")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir, removed)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from imgsim_desktop.core.library import Library
    from imgsim_desktop.core.model import DEFAULT_MODEL_NAME, create_random_model
    from imgsim_desktop.core.paths import models_dir
    from imgsim_desktop.core.watcher import LibraryWatcher

    work = args.workdir or Path(tempfile.mkdtemp(prefix="imgsim-bench-watch-"))
    photos, home, stage = work / "photos", work / "library", work / "stage"
    for d in (photos, home, stage):
        d.mkdir(parents=True, exist_ok=True)
    model = args.model
    if model is None:
        bundled = models_dir() / f"{DEFAULT_MODEL_NAME}.json"
        model = bundled if bundled.exists() else create_random_model(work / "model", name="bench-random")
    out: dict = {"files": args.files, "model": str(model), "machine": platform.machine(),
                 "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        t = time.monotonic()
        existing = sum(1 for _ in photos.rglob("*.jpg"))
        for i in range(existing, args.files):
            d = photos / f"roll{i // 100:03d}"
            d.mkdir(exist_ok=True)
            tiny_photo(d / f"img{i:05d}.jpg", seed=i)
        out["generate_s"] = round(time.monotonic() - t, 2)
        print(f"{args.files} files in {photos} ({out['generate_s']} s)", file=sys.stderr)

        with Library(home, model_path=model) as lib:
            t = time.monotonic()
            rep = lib.scan([photos])
            out["index_s"] = round(time.monotonic() - t, 2)
            out["indexed"] = lib.count()
            print(f"indexed: {rep.added} added, {rep.unchanged} unchanged in {out['index_s']} s", file=sys.stderr)

            landed: dict[str, float] = {}
            cond = threading.Condition()

            def on_change(ev):
                if ev.kind in ("added", "updated"):
                    now = time.monotonic()
                    with cond:
                        for p in ev.paths:
                            landed.setdefault(p, now)
                        cond.notify_all()

            lib.subscribe(on_change)
            batches = []
            w = LibraryWatcher(lib, debounce_s=args.debounce, settle_s=args.settle, on_batch=batches.append)
            t = time.monotonic()
            w.start()
            while not batches:
                time.sleep(0.01)
            out["startup_reconcile_s"] = round(time.monotonic() - t, 2)
            w.wait_idle(60)
            print(f"watching; start-up reconciliation of {args.files} unchanged files took "
                  f"{out['startup_reconcile_s']} s", file=sys.stderr)

            # idle watch
            time.sleep(2.0)
            c0, w0 = cpu_s(), time.monotonic()
            time.sleep(args.idle)
            c1, w1 = cpu_s(), time.monotonic()
            out["idle_wall_s"] = round(w1 - w0, 1)
            out["idle_cpu_s"] = round(c1 - c0, 4)
            out["idle_cpu_percent"] = round(100.0 * (c1 - c0) / (w1 - w0), 3)
            out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            print(f"idle: {out['idle_cpu_s']} s CPU over {out['idle_wall_s']} s = {out['idle_cpu_percent']} %",
                  file=sys.stderr)

            # latency: one photo at a time, copied in the way a file manager does
            drop_dir = photos / "incoming"
            drop_dir.mkdir(exist_ok=True)
            time.sleep(1.0)
            lat = []
            for i in range(args.drops):
                src = stage / f"drop{i:03d}.jpg"
                tiny_photo(src, seed=10_000_000 + i, size=64)
                dst = drop_dir / src.name
                t0 = time.monotonic()
                shutil.copyfile(src, dst)
                deadline = t0 + 30
                with cond:
                    while str(dst) not in landed and time.monotonic() < deadline:
                        cond.wait(0.05)
                if str(dst) in landed:
                    lat.append(landed[str(dst)] - t0)
                time.sleep(args.gap)
            w.stop()
            found = sum(1 for i in range(args.drops)
                        if lib.file_by_path(drop_dir / f"drop{i:03d}.jpg") is not None)
            probe = drop_dir / "drop000.jpg"
            similar_ok = bool(lib.similar(probe, k=3))
            out["drops"] = args.drops
            out["drops_searchable"] = found
            out["similar_works"] = similar_ok
            if lat:
                q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else [lat[0]] * 19
                out["latency_median_s"] = round(statistics.median(lat), 3)
                out["latency_p95_s"] = round(q[18], 3)
                out["latency_min_s"] = round(min(lat), 3)
                out["latency_max_s"] = round(max(lat), 3)
            out["debounce_s"] = args.debounce
            out["settle_s"] = args.settle
            out["event_batches"] = sum(1 for b in batches if b.reason == "events")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
