"""``imgsim train`` (train and export the autoencoder) and ``imgsim reconstruct`` (what the model sees)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imgsim_desktop.cli.common import add_format_options, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train the autoencoder on photo folders and export it",
        description="Train the convolutional autoencoder (denoising reconstruction + NT-Xent invariance, or "
                    "--plain: reconstruction only) on FOLDERS and export <out>/<name>.safetensors + .json. "
                    "Uses CUDA when present. Checkpoints go to runs/<name>/ (or --run-dir); --resume continues.")
    p.add_argument("folders", nargs="*", type=Path, metavar="FOLDER",
                   help="photo folders (default ../shared/datasets/train); eval/ folders are refused")
    p.add_argument("--out", type=Path, default=None, help="where to export the model (default resources/models)")
    p.add_argument("--name", default=None, help="model name (default imgsim-ae, or plain-ae with --plain)")
    p.add_argument("--version", default="1", help="model version written to the card (default 1)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--minutes", type=float, default=None, help="wall-clock budget (default 60 if no --steps)")
    g.add_argument("--steps", type=int, default=None, help="number of optimiser steps")
    p.add_argument("--batch", type=int, default=64, help="photos per step (2 views each; default 64)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plain", action="store_true",
                   help="the baseline: a plain autoencoder trained only to reconstruct (compared by its latent code)")
    p.add_argument("--input-size", type=int, default=112, help="model input side in pixels (default 112)")
    p.add_argument("--embedding-size", type=int, default=128)
    p.add_argument("--arch", default=None, metavar="JSON",
                   help='architecture overrides, e.g. \'{"widths": [32,64,128,256], "extra": [0,1,1,1]}\'')
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument("--recon-weight", type=float, default=1.0)
    p.add_argument("--workers", type=int, default=None,
                   help="data-loading processes (default: 0 on CPU, min(8, cores-1) on CUDA)")
    amp = p.add_mutually_exclusive_group()
    amp.add_argument("--amp", dest="amp", action="store_true", default=None, help="bf16 autocast (default on CUDA)")
    amp.add_argument("--no-amp", dest="amp", action="store_false")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--run-dir", type=Path, default=None, help="checkpoints and log (default runs/<name>)")
    p.add_argument("--cache-dir", type=Path, default=None, help="decoded-photo cache (default data/)")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--snapshot-minutes", type=float, default=0.0,
                   help="also export a loadable snapshot to <run-dir>/snapshots every N minutes")
    p.add_argument("--init-from", type=Path, default=None, metavar="PATH",
                   help="start from these weights (a run's .ckpt, or a model .json/.safetensors) with a new "
                        "optimiser and schedule")
    p.add_argument("--edit-weights", default=None, metavar="JSON",
                   help='relative weights of the edits drawn, e.g. \'{"screenshot": 3, "grayscale": 2}\' '
                        '(missing edits: 1)')
    p.add_argument("--group-size", type=int, default=0,
                   help="edit-grouped batches: runs of N pairs share their first edit (0: off)")
    p.add_argument("--p-grouped", type=float, default=0.0, help="fraction of batches that are edit-grouped")
    p.add_argument("--tta", choices=["mirror", "none"], default="mirror",
                   help="test-time augmentation written to the card: 'mirror' embeds photo + mirror image "
                        "(default; the plain baseline always uses none)")
    p.add_argument("--no-export", action="store_true", help="do not export at the end (checkpoint only)")
    p.set_defaults(func=cmd_train)

    lk = sub.add_parser(
        "train-lookalike", help="train the lookalike head on a trained model's frozen encoder and export both",
        description="Add a lookalike head to a trained model (default: the bundled one) and train it on FOLDERS "
                    "with two independent views (crops, mirror, colour) of each photo; the encoder and the "
                    "duplicate descriptor stay frozen. Exports <out>/<name>.safetensors + .json.")
    lk.add_argument("folders", nargs="*", type=Path, metavar="FOLDER",
                    help="photo folders (default ../shared/datasets/train); eval/ folders are refused")
    lk.add_argument("--from", dest="base", type=Path, default=None, metavar="CARD",
                    help="the model to build on (default: the bundled model)")
    lk.add_argument("--out", type=Path, default=None, help="where to export (default resources/models)")
    lk.add_argument("--name", default=None, help="model name (default: the base model's)")
    lk.add_argument("--version", default=None, help="model version (default: <base version>-look)")
    lg = lk.add_mutually_exclusive_group()
    lg.add_argument("--minutes", type=float, default=None, help="wall-clock budget (default 30 if no --steps)")
    lg.add_argument("--steps", type=int, default=None)
    lk.add_argument("--batch", type=int, default=256)
    lk.add_argument("--lr", type=float, default=1e-3)
    lk.add_argument("--temperature", type=float, default=0.2)
    lk.add_argument("--hidden", type=int, default=512)
    lk.add_argument("--dim", type=int, default=128, help="size of the lookalike vector (default 128)")
    lk.add_argument("--tta", choices=["mirror", "none"], default=None,
                    help="test-time augmentation for the exported card (default: the base model's)")
    lk.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    lk.add_argument("--threads", type=int, default=None)
    lk.add_argument("--workers", type=int, default=None)
    lk.add_argument("--seed", type=int, default=0)
    lk.add_argument("--run-dir", type=Path, default=None)
    lk.add_argument("--cache-dir", type=Path, default=None)
    lk.add_argument("--log-every", type=int, default=10)
    lk.set_defaults(func=cmd_train_lookalike)

    r = sub.add_parser("reconstruct", help="write a photo (as the model sees it) beside its reconstruction",
                       description="Run PHOTO through the autoencoder and write one image: the photo squashed to "
                                   "the model's input size, and beside it what the decoder rebuilds from its code.")
    r.add_argument("photo", type=Path)
    r.add_argument("-o", "--output", type=Path, required=True, help="output image (PNG/JPEG by extension)")
    r.add_argument("--model", type=Path, default=None, help="model card or weights (default: bundled model)")
    r.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    r.add_argument("--scale", type=int, default=2, help="enlarge the output this many times (default 2)")
    add_format_options(r)
    r.set_defaults(func=cmd_reconstruct)


def cmd_train(args: argparse.Namespace) -> int:
    from imgsim_desktop.core.errors import ImgsimError
    from imgsim_desktop.training.train import TrainConfig, train

    try:
        arch = json.loads(args.arch) if args.arch else {}
    except json.JSONDecodeError as exc:
        raise ImgsimError(f"--arch is not valid JSON: {exc}") from None
    try:
        edit_weights = json.loads(args.edit_weights) if args.edit_weights else {}
    except json.JSONDecodeError as exc:
        raise ImgsimError(f"--edit-weights is not valid JSON: {exc}") from None
    from imgsim_desktop.edits import EDITS

    unknown = sorted(set(edit_weights) - set(EDITS))
    if unknown:
        raise ImgsimError(f"--edit-weights: unknown edits {', '.join(unknown)} (known: {', '.join(EDITS)})")
    name = args.name or ("plain-ae" if args.plain else "imgsim-ae")
    cfg = TrainConfig(name=name, version=args.version, minutes=args.minutes, steps=args.steps, batch=args.batch,
                      lr=args.lr, weight_decay=args.weight_decay, warmup_steps=args.warmup_steps,
                      device=args.device, resume=args.resume, seed=args.seed, plain=args.plain,
                      input_size=args.input_size, embedding_size=args.embedding_size, arch=arch,
                      temperature=args.temperature, recon_weight=args.recon_weight, workers=args.workers,
                      amp=args.amp, threads=args.threads, run_dir=args.run_dir, cache_dir=args.cache_dir,
                      log_every=args.log_every, snapshot_every_s=args.snapshot_minutes * 60.0,
                      export=not args.no_export, init_from=args.init_from, edit_weights=edit_weights,
                      group_size=args.group_size, p_grouped=args.p_grouped, tta=args.tta)
    if args.folders:
        cfg.folders = list(args.folders)
    if args.out:
        cfg.out = args.out
    summary = train(cfg)
    summary.pop("history", None)  # it is in the run folder's train.log
    print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_train_lookalike(args: argparse.Namespace) -> int:
    from imgsim_desktop.training.lookhead import LookConfig, train_lookalike_head

    cfg = LookConfig(base=args.base, name=args.name, version=args.version, minutes=args.minutes,
                     steps=args.steps, batch=args.batch, lr=args.lr, temperature=args.temperature,
                     hidden=args.hidden, dim=args.dim, seed=args.seed, device=args.device, threads=args.threads,
                     workers=args.workers, cache_dir=args.cache_dir, run_dir=args.run_dir,
                     log_every=args.log_every, tta=args.tta)
    if args.folders:
        cfg.folders = list(args.folders)
    if args.out:
        cfg.out = args.out
    summary = train_lookalike_head(cfg)
    summary.pop("history", None)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from imgsim_desktop.core.decode import load_image
    from imgsim_desktop.core.model import load_model

    from imgsim_desktop.core.errors import LibraryError

    writers = Image.registered_extensions()
    if args.output.is_dir() or writers.get(args.output.suffix.lower()) not in Image.SAVE:
        raise LibraryError(f"cannot write {args.output}: give a file name ending in .png or .jpg")
    model = load_model(args.model, device=args.device)
    img, _ = load_image(args.photo, max_side=max(2 * model.input_size, 256))
    seen = Image.fromarray(model.preprocess(img), "RGB")
    rebuilt = model.reconstruct(img)
    s = model.input_size
    k = max(1, int(args.scale))
    out = Image.new("RGB", (2 * s * k + 4 * k, s * k), (255, 255, 255))
    out.paste(seen.resize((s * k, s * k), Image.Resampling.NEAREST), (0, 0))
    out.paste(rebuilt.resize((s * k, s * k), Image.Resampling.NEAREST), (s * k + 4 * k, 0))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    out.save(args.output)
    err = float(np.abs(np.asarray(seen, np.float32) - np.asarray(rebuilt, np.float32)).mean())
    info = {"photo": str(args.photo), "output": str(args.output), "model_id": model.model_id,
            "input_size": s, "mean_abs_error": round(err, 2)}
    if getattr(args, "json", False):
        print_json(info)
    else:
        print(f"{args.output}: left = what {model.model_id} sees ({s}x{s}), right = its reconstruction "
              f"(mean abs error {err:.1f}/255)")
    return 0
