"""``imgsim bench``, ``bench-make`` and ``bench-calibrate``: measure duplicate / lookalike finding against baselines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from imgsim_desktop.cli.common import TerminalProgress, add_format_options, print_json, print_table

DEFAULT_BASELINES = "phash,dhash,plain_ae"


def register(sub) -> None:
    p = sub.add_parser(
        "bench", help="measure near-duplicate and lookalike finding on a labelled benchmark folder",
        description="Embed every image of BENCH_DIR (groups/, classes/, distractors/) with the model and the "
                    "baselines and report retrieval, pairwise-threshold and speed figures per method.")
    p.add_argument("bench_dir", type=Path, metavar="BENCH_DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--baselines", default=DEFAULT_BASELINES,
                   help="comma-separated: phash, dhash, ahash, whash, plain_ae; 'none' for none "
                        f"(default {DEFAULT_BASELINES}; plain_ae is skipped when its model is absent)")
    p.add_argument("--model", type=Path, action="append", default=None, metavar="PATH",
                   help="model card (.json) or weights to measure instead of the bundled model; repeat to "
                        "compare several (the first is reported as 'imgsim')")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="quick run: at most N groups, N images per class and N distractors")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads for torch")
    p.add_argument("--seed", type=int, default=0, help="seed of the tie-breaking order (default 0)")
    p.add_argument("--speed-dir", type=Path, default=None, metavar="DIR",
                   help="also time every method on the full-size photos in DIR (reported as speed_photos)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bench)

    m = sub.add_parser(
        "bench-make", help="write a near-duplicate benchmark from a folder of original photos",
        description="For every photo in ORIGINALS write OUT_DIR/groups/<photo>/original.jpg and one copy per "
                    "edit (crop.jpg, caption.jpg, ...). Optional extra parts are linked in as they are.")
    m.add_argument("originals", type=Path, metavar="ORIGINALS")
    m.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    m.add_argument("--seed", type=int, default=0, help="seed of the edits (default 0)")
    m.add_argument("--edits", default=None, help="comma-separated subset of the edits (default: all)")
    m.add_argument("--pairs", type=Path, default=None, metavar="DIR",
                   help="folders of ready-made near-duplicates (DIR/<id>/*) added as groups pair_<id>; the "
                        "largest image is the original, the others are named after --pairs-kind")
    m.add_argument("--pairs-kind", default="squash_reencode", help="edit name for --pairs copies")
    m.add_argument("--classes", type=Path, default=None, metavar="DIR",
                   help="folder of lookalike classes (DIR/<class>/*) linked as OUT_DIR/classes")
    m.add_argument("--distractors", type=Path, default=None, metavar="DIR",
                   help="folder of unrelated photos linked as OUT_DIR/distractors")
    m.add_argument("--copy", action="store_true", help="copy --pairs/--classes/--distractors instead of symlinking")
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.set_defaults(func=cmd_bench_make)

    g = sub.add_parser(
        "bench-groups", help="score the duplicate groups themselves: index a bench into a temporary library",
        description="copies: every file in GROUPS/<group>/ is the same photo (named by its edit, as bench-make "
                    "writes them); reports pairwise precision and recall of Library.duplicates() per edit, with "
                    "the previous cosine grouping, the similar tier, pHash and dHash in the same run. "
                    "negatives: distinct photos only; every group is a false one.")
    g.add_argument("mode", choices=["copies", "negatives"])
    g.add_argument("--groups", type=Path, action="append", default=[], metavar="DIR",
                   help="a folder of groups (repeatable)")
    g.add_argument("--distinct", type=Path, action="append", default=[], metavar="DIR",
                   help="a folder of distinct photos, searched recursively (distractors; repeatable)")
    g.add_argument("--hard-negatives", type=Path, default=None, metavar="OUT",
                   help="negatives: first write darkened / night photos, non-overlapping crops, different "
                        "photos on one canvas and documents into OUT (from --hard-sources) and add them")
    g.add_argument("--hard-sources", type=Path, action="append", default=[], metavar="DIR",
                   help="photos the hard negatives are made from (not otherwise in the bench)")
    g.add_argument("--tiles", type=Path, default=None, metavar="OUT",
                   help="negatives: cut the --distinct photos into non-overlapping tiles written to OUT and bench "
                        "the tiles instead of the photos (a larger library of distinct pictures)")
    g.add_argument("--tile-min", type=int, default=96, metavar="PX", help="smallest tile side (default 96)")
    g.add_argument("--tile-from", type=int, default=1200, metavar="PX",
                   help="bring larger photos to PX on the shorter side before cutting (default 1200; 0: full size)")
    g.add_argument("--known-copies", type=Path, default=None, metavar="FILE",
                   help="photos the data sets hold more than once under different labels (one per line, files "
                        "joined by ' | '): their pairs are reported apart (scripts/verifier_checks/"
                        "dataset_copies.txt)")
    g.add_argument("--model", type=Path, default=None, help="model card (default: the bundled model)")
    g.add_argument("--no-hashes", action="store_true", help="skip the pHash / dHash baselines")
    g.add_argument("--json", action="store_true")
    g.add_argument("--markdown", type=Path, default=None, metavar="JSON",
                   help="print the table of an earlier --json result instead of running")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=cmd_bench_groups)

    c = sub.add_parser(
        "bench-calibrate", help="choose a model's default thresholds from its bench results, into its card",
        description="Read RESULTS (`imgsim bench --json` output), choose the \"duplicates\" threshold (best "
                    "recall at pairwise precision >= 0.99, plus --margin) and the \"similar\" one (best recall "
                    "at precision >= 0.90), and write them, with the run's key figures, into the model card "
                    "(--card). The library uses a card's own thresholds as its defaults.")
    c.add_argument("results", type=Path, metavar="RESULTS")
    c.add_argument("--card", type=Path, default=None,
                   help="model card to write (default: the bundled resources/models/imgsim-ae.json)")
    c.add_argument("--method", default="imgsim", help="which method of the results (default imgsim)")
    c.add_argument("--margin", type=float, default=0.03, help="added to the precision-0.99 cut (default 0.03)")
    c.add_argument("--dry-run", action="store_true", help="print the choice, write nothing")
    add_format_options(c)
    c.set_defaults(func=cmd_bench_calibrate)


def cmd_bench_calibrate(args) -> int:
    from imgsim_desktop.core.paths import models_dir
    from imgsim_desktop.evaluation.calibrate import CalibrationError, choose_thresholds, write_thresholds

    try:
        results = json.loads(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"cannot read bench results {args.results}: {exc}") from None
    chosen = choose_thresholds(results, args.method, args.margin)
    card = args.card or models_dir() / "imgsim-ae.json"
    if not args.dry_run:
        write_thresholds(card, chosen, results, args.method)
    if getattr(args, "json", False):
        print_json({**chosen, "card": None if args.dry_run else str(card)})
    else:
        ev = chosen["evidence"]
        pd, ps = ev["duplicates_precision_recall"] or [None, None], ev["similar_precision_recall"] or [None, None]
        print(f"duplicates {chosen['duplicates']:.2f} (precision {_f(pd[0])}, recall {_f(pd[1])}); "
              f"similar {chosen['similar']:.2f} (precision {_f(ps[0])}, recall {_f(ps[1])})"
              + ("" if args.dry_run else f" -> {card}"))
    return 0


def cmd_bench_make(args) -> int:
    from imgsim_desktop.evaluation import bench as B

    edits = [e.strip() for e in args.edits.split(",") if e.strip()] if args.edits else None
    groups = B.make_benchmark(args.originals, args.out_dir, seed=args.seed, edits=edits,
                              progress=TerminalProgress(enabled=not args.quiet))
    n_pairs = 0
    if args.pairs:
        n_pairs = len(B.add_ready_groups(args.pairs, args.out_dir, kind=args.pairs_kind, link=not args.copy))
    if args.classes:
        B.add_folder(args.classes, args.out_dir / "classes", link=not args.copy)
    if args.distractors:
        B.add_folder(args.distractors, args.out_dir / "distractors", link=not args.copy)
    print(f"wrote {len(groups)} edited groups" + (f" + {n_pairs} pair groups" if args.pairs else "")
          + f" to {args.out_dir}", file=sys.stderr)
    return 0


def cmd_bench(args) -> int:
    from imgsim_desktop.evaluation import bench as B

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    baselines = [] if args.baselines.strip().lower() in ("", "none") else args.baselines.split(",")
    specs = B.plan_methods(args.model, baselines)
    # plain_ae is optional only when it came from the default list
    skip_missing = ["plain_ae"] if args.baselines == DEFAULT_BASELINES else []
    result = B.run_bench(args.bench_dir, specs, limit=args.limit, device=args.device, seed=args.seed,
                         progress_factory=lambda: TerminalProgress(enabled=not args.quiet),
                         skip_missing=skip_missing, speed_dir=args.speed_dir)
    if args.json:
        print_json(result)
    else:
        print_report(result)
    return 0


def _f(x, nd=3):
    return "-" if x is None else f"{x:.{nd}f}"


def print_report(r: dict) -> None:
    c = r["counts"]
    print(f"benchmark {r['benchmark']}: {c['groups']} groups ({c['group_images']} images), "
          f"{c['classes']} classes ({c['class_images']} images), {c['distractors']} distractors"
          + (f", {c['unreadable']} unreadable" if c["unreadable"] else ""))
    methods = r["methods"]
    print()
    print("near-duplicates (groups + distractors)")
    rows = []
    for name, m in methods.items():
        n = m.get("neardup")
        if not n:
            continue
        rows.append([name, _f(n["map"]), _f(n["top1"]), _f(n["recall_at_10"]), _f(n["recall_at_p99"]),
                     _f(n["threshold_at_p99"]), _f(n["best_f1"]), _f(n["best_f1_threshold"]),
                     _f(n["default_threshold"]), _f(n["precision_at_default"]), _f(n["recall_at_default"]),
                     _f(n["f1_at_default"])])
    if rows:
        print_table(rows, ["method", "mAP", "top1", "R@10", "R@P99", "thr@P99", "bestF1", "thr@F1",
                           "default", "P@dflt", "R@dflt", "F1@dflt"])
        kinds = sorted({k for m in methods.values() if m.get("neardup")
                        for k in m["neardup"]["recall_at_10_by_edit"]})
        if kinds:
            print()
            print("recall@10 by edit (copy <-> original)")
            names = [n for n, m in methods.items() if m.get("neardup")]
            print_table([[k] + [_f(methods[n]["neardup"]["recall_at_10_by_edit"].get(k)) for n in names]
                         for k in kinds], ["edit"] + names)
    else:
        print("(no groups/)")
    print()
    print("lookalikes (classes + distractors)")
    rows = [[name, _f(m["lookalike"]["precision_at_10"]), _f(m["lookalike"]["map"])]
            for name, m in methods.items() if m.get("lookalike")]
    if rows:
        print_table(rows, ["method", "P@10", "mAP"])
    else:
        print("(no classes/)")
    print()
    print("speed (decode + preprocess + embed)")
    print_table([[name, _f(m["speed"]["images_per_s"], 1), _f(m["speed"]["ms_per_image_p50"], 2),
                  _f(m["speed"]["ms_per_image_p90"], 2), m["speed"]["device"]] for name, m in methods.items()],
                ["method", "images/s", "ms p50", "ms p90", "device"])
    sp = [[name, _f(m["speed_photos"]["images_per_s"], 1), _f(m["speed_photos"]["ms_per_image_p50"], 2),
           _f(m["speed_photos"]["ms_per_image_p90"], 2), m["speed_photos"]["device"]]
          for name, m in methods.items() if m.get("speed_photos")]
    if sp:
        print()
        print(f"speed on full-size photos ({next(iter(methods.values()))['speed_photos']['folder']})")
        print_table(sp, ["method", "images/s", "ms p50", "ms p90", "device"])
    for name, why in r.get("skipped", {}).items():
        print(f"\nskipped {name}: {why}")
    if r.get("errors"):
        print(f"\n{len(r['errors'])} unreadable file(s), left out of every method, e.g. {r['errors'][0][0]}: "
              f"{r['errors'][0][1]}")


def cmd_bench_groups(args) -> int:
    from imgsim_desktop.core.errors import ImgsimError
    from imgsim_desktop.evaluation import groupbench as G
    from imgsim_desktop.evaluation.known_copies import read as read_known, set_of_files
    from imgsim_desktop.evaluation.layout import _images_in

    if args.markdown:
        print(G.markdown(json.loads(args.markdown.read_text())))
        return 0
    known = None
    if args.known_copies:
        try:
            known = read_known(args.known_copies)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise ImgsimError(f"cannot read the list of known copies {args.known_copies}: {e}") from None
    distinct = list(args.distinct)
    if args.mode == "negatives" and args.tiles:
        photos = sorted(f for d in distinct for f in _images_in(d, recursive=True))
        counts = G.make_tiles(photos, args.tiles, min_side=args.tile_min, max_side=args.tile_from or None)
        print(f"tiles: {counts}", file=sys.stderr)
        distinct = [args.tiles]
    if args.mode == "negatives" and args.hard_negatives:
        srcs = sorted(f for d in args.hard_sources for f in _images_in(d, recursive=True))
        third = len(srcs) // 3
        counts = G.make_hard_negatives({"dark": srcs[:third], "canvas": srcs[third:2 * third],
                                        "crops": srcs[2 * third:]}, args.hard_negatives)
        print(f"hard negatives: {counts}", file=sys.stderr)
        distinct.append(args.hard_negatives)
    if args.mode == "copies" and not args.groups:
        raise ImgsimError("bench-groups copies needs --groups DIR")
    files, group, kind = G.collect(args.groups, distinct)
    if not files:
        raise ImgsimError("no photos found")
    out = G.index_and_group(list(args.groups) + distinct, args.model,
                            progress=TerminalProgress(enabled=not args.quiet))
    pred = dict(out["pairs"])
    if not args.no_hashes:
        for h in ("phash", "dhash"):
            pred[h] = G._hash_pairs(files, h)
    if args.mode == "copies":
        scores = G.score_copies(files, group, kind, pred, known)
    else:
        scores = G.score_negatives(files, pred, out["groups"], known)
    result = {"mode": args.mode, "photos": len(files), "indexed": out["indexed"], "model_id": out["model_id"],
              "timings": out["timings"], "verification": out["verification"], "rerun_same": out["rerun_same"],
              "methods": scores}
    if known:
        result["known_copies"] = {"file": str(args.known_copies), "sets": len(known),
                                  "files_in_bench": len(set_of_files(files, known)),
                                  "files_listed": sum(map(len, known))}
    if args.json:
        print_json(result)
    else:
        print(json.dumps(result, indent=1))
    return 0
