"""``imgsim bench-perf``: the engine's speed figures on a folder of real photos."""

from __future__ import annotations

from pathlib import Path

from imgsim_desktop.core.errors import LibraryError

from .common import print_json


def register(sub) -> None:
    p = sub.add_parser("bench-perf", help="decode / index / query speed and memory on a folder of photos")
    p.add_argument("folder", type=Path, nargs="?", help="photos to time (e.g. ../shared/datasets/perf)")
    p.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="instead: time each command (own process, wall + peak RSS) on a synthetic N-photo library")
    p.add_argument("--stats", type=Path, default=None,
                   help="with --synthetic: vector statistics (.npz); made from the eval photos when missing")
    p.add_argument("--eval-dir", type=Path, default=Path("../shared/datasets/eval"),
                   help="with --synthetic: real photos whose vectors give the statistics (distractors/, "
                        "lookalike/, pairs/)")
    p.add_argument("--code", type=Path, default=None,
                   help="with --synthetic: measure another checkout (e.g. main, for before/after figures)")
    p.add_argument("--no-files", action="store_true",
                   help="with --synthetic: no files on disk (skips the no-change rescan; default above 200k)")
    p.add_argument("--keep", type=Path, default=None, help="with --synthetic: build the library here and keep it")
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--query-n", type=int, default=100_000, help="synthetic library size for query latency (0: skip)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_perf)


def cmd_bench_perf(args) -> int:
    if args.synthetic:
        return _synthetic(args)
    from imgsim_desktop.evaluation.perf import run_perf

    if args.folder is None or not args.folder.is_dir():
        raise LibraryError(f"folder not found: {args.folder}")
    r = run_perf(args.folder, args.model, args.device, args.query_n, args.repeats)
    if args.json:
        print_json(r)
        return 0
    d = r["decode"]
    print(f"{r['photos']} photos, {d['megapixels']['min']:.1f}-{d['megapixels']['max']:.1f} MP; model {r['model']} "
          f"on {r['machine']['device']}, {r['machine']['cpus']} CPUs")
    print(f"decode full   {d['full']['images_per_s']:7.1f} img/s  ({d['full']['ms_per_image_p50']:.0f} ms median, 1 thread)")
    print(f"decode draft  {d['draft']['images_per_s']:7.1f} img/s  ({d['draft']['ms_per_image_p50']:.0f} ms median, "
          f"{d['draft_speedup']:.1f}x faster)")
    print(f"pHash loop    {r['phash_loop']['images_per_s']:7.1f} img/s")
    ix = r["index"]
    print(f"imgsim index  {ix['photos_per_s_median']:7.1f} photos/s  (median of {len(ix['photos_per_s_all'])} fresh "
          f"libraries, {ix['decode_workers']} decode threads)")
    if "query" in r:
        q = r["query"]
        print(f"similar @ {q['vectors']} vectors: {q['ms_p50']:.2f} ms median, {q['ms_p90']:.2f} ms p90 (k={q['k']}); "
              f"index build {q['build_index_s']:.1f}s, reopen {q['reopen_s']:.1f}s")
        if "photo_query_ms_p50" in q:
            print(f"similar from a photo file (decode + embed + search): {q['photo_query_ms_p50']:.0f} ms median")
        print(f"memory beyond vectors: {q['bytes_per_photo_beyond_vectors']:.0f} bytes/photo "
              f"(rss +{q['rss_growth_mb']:.0f} MB for {q['vectors_mb']:.0f} MB of vectors)")
    print(f"peak RSS {r['peak_rss_mb']:.0f} MB")
    return 0


def _synthetic(args) -> int:
    import sys

    from imgsim_desktop.evaluation.scale import embedding_stats, run_scale

    stats = args.stats or Path.home() / ".cache" / "imgsim" / "scale-stats.npz"
    if not stats.exists():
        ev = args.eval_dir
        folders = [p for p in (ev / "distractors", ev / "lookalike") if p.is_dir()]
        if not folders:
            raise LibraryError(f"no real photos for vector statistics in {ev} (give --eval-dir or --stats)")
        stats.parent.mkdir(parents=True, exist_ok=True)
        print(f"fitting vector statistics on the photos in {ev} ...", file=sys.stderr)
        embedding_stats(stats, folders, ev / "pairs", args.device if args.device != "auto" else "cpu")
    r = run_scale(args.synthetic, stats, code=args.code, files=False if args.no_files else None, keep=args.keep,
                  progress=lambda m: print(m, file=sys.stderr))
    if args.json:
        print_json(r)
        return 0
    print(f"{r['n']} photos ({r['code']}); library written in {r['fill_s']} s")
    for k, v in r.items():
        if isinstance(v, dict) and "wall_s" in v:
            extra = f"  recall of planted pairs {v['recall_planted']:.3f}" if v.get("recall_planted") is not None else ""
            print(f"{k:<36} {v['wall_s']:8.2f} s {v['peak_rss_mb']:8.0f} MB{extra}")
    return 0
