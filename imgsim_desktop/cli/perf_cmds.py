"""``imgsim bench-perf``: the engine's speed figures on a folder of real photos."""

from __future__ import annotations

from pathlib import Path

from imgsim_desktop.core.errors import LibraryError

from .common import print_json


def register(sub) -> None:
    p = sub.add_parser("bench-perf", help="decode / index / query speed and memory on a folder of photos")
    p.add_argument("folder", type=Path, help="photos to time (e.g. ../shared/datasets/perf)")
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--query-n", type=int, default=100_000, help="synthetic library size for query latency (0: skip)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_perf)


def cmd_bench_perf(args) -> int:
    from imgsim_desktop.evaluation.perf import run_perf

    if not args.folder.is_dir():
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
