#!/usr/bin/env python3
"""Pack the training photos small enough to travel to a GPU machine (the working tree may carry 64 MiB).

Every photo under the training folders is written as a JPEG whose shorter side is ``--short-side`` pixels
(160 by default: the size `imgsim train` caches them at anyway, so nothing the model would see is lost),
keeping the folder structure. The output folder is git-ignored (``/gpu_carry/``); name it in the device
tool's ``carry`` and pass it to ``imgsim train`` there. Evaluation folders are refused, as in training.

    .venv/bin/python scripts/pack_for_gpu.py [FOLDER ...] [--out gpu_carry/train] [--short-side 160]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imgsim_desktop.core.decode import load_image  # noqa: E402
from imgsim_desktop.core.errors import DecodeError  # noqa: E402
from imgsim_desktop.training.data import _shrink, default_train_folders, list_images  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path, help="training folders (default ../shared/datasets/train)")
    ap.add_argument("--out", type=Path, default=REPO / "gpu_carry" / "train")
    ap.add_argument("--short-side", type=int, default=160)
    ap.add_argument("--quality", type=int, default=92)
    a = ap.parse_args(argv)
    folders = a.folders or default_train_folders()
    paths = list_images(folders)
    roots = [Path(f).expanduser().resolve() for f in folders]
    written = failed = 0
    total = 0
    for p in paths:
        root = next((r for r in roots if p.is_relative_to(r)), p.parent)
        rel = p.relative_to(root) if p != root else Path(p.name)
        dst = (a.out / root.name / rel).with_suffix(".jpg")
        try:
            img, _ = load_image(p, max_side=a.short_side)  # as build_cache does
        except DecodeError as exc:
            print(f"skipped {p}: {exc.reason}", file=sys.stderr)
            failed += 1
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        _shrink(img.convert("RGB"), a.short_side).save(dst, "JPEG", quality=a.quality)
        written += 1
        total += dst.stat().st_size
    print(f"{written} photos -> {a.out} ({total / 2**20:.1f} MiB), {failed} unreadable")
    return 0 if written else 1


if __name__ == "__main__":
    raise SystemExit(main())
