"""Engine speed figures: decoding (full vs draft), whole indexing, a pHash loop, and query latency at scale.

Run as ``imgsim bench-perf PERF_DIR``. Everything is measured in this process on this machine; the report
says which device and how many threads were used.
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from imgsim_desktop.core.decode import is_image_path, load_image
from imgsim_desktop.core.embedder import default_workers
from imgsim_desktop.core.library import Library
from imgsim_desktop.core.model import LoadedModel, load_model


def _rss_mb() -> float:
    """Current resident memory (Linux /proc), else peak."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and is_image_path(p))


def bench_decode(files: list[Path], max_side: int, repeats: int = 2) -> dict:
    """Sequential, one thread: per-image cost of a full decode vs a draft-mode decode to ``max_side``."""
    out = {}
    for name, side in (("full", None), ("draft", max_side)):
        times = []
        for _ in range(repeats):
            for f in files:
                t = time.perf_counter()
                img, _ = load_image(f, max_side=side)
                img.load()
                times.append(time.perf_counter() - t)
                del img
        out[name] = {"images_per_s": len(times) / sum(times), "ms_per_image_p50": 1000 * statistics.median(times)}
    out["draft_speedup"] = out["draft"]["images_per_s"] / out["full"]["images_per_s"]
    megapixels = []
    for f in files:
        from PIL import Image
        with Image.open(f) as im:
            megapixels.append(im.width * im.height / 1e6)
    out["megapixels"] = {"min": min(megapixels), "max": max(megapixels), "mean": float(np.mean(megapixels))}
    return out


def bench_phash(files: list[Path]) -> dict:
    """What a plain imagehash loop costs on the same files (it decodes every pixel)."""
    import imagehash
    from PIL import Image

    t = time.perf_counter()
    for f in files:
        with Image.open(f) as im:
            imagehash.phash(im)
    dt = time.perf_counter() - t
    return {"images_per_s": len(files) / dt}


def bench_index(folder: Path, model: LoadedModel, repeats: int = 3) -> dict:
    """``imgsim index`` on a fresh library, end to end (walk, hash, decode, embed, catalog, index, save)."""
    rates = []
    n = 0
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as home:
            with Library(home, model=model) as lib:
                t = time.perf_counter()
                rep = lib.scan([folder])
                dt = time.perf_counter() - t
            n = rep.embedded
            rates.append(n / dt)
    return {"photos": n, "photos_per_s_median": statistics.median(rates), "photos_per_s_all": rates,
            "decode_workers": default_workers()}


def _synthetic_library(home: Path, model: LoadedModel, n: int, seed: int = 0) -> None:
    """A catalog of ``n`` files with random unit vectors, written straight to SQLite (fast) for query timing."""
    from imgsim_desktop.core.catalog import Catalog

    rng = np.random.default_rng(seed)
    cat = Catalog(home / "catalog.sqlite")
    d = model.embedding_size
    chunk = 20000
    with cat.transaction() as con:
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            vecs = rng.standard_normal((m, d)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            rows = [(f"/synthetic/photos/{start + i:07d}.jpg", 2_000_000 + i, 1_700_000_000_000_000_000 + i,
                     f"{start + i:032x}", 4000, 3000, "JPEG", None, "ok", None, 0.0) for i in range(m)]
            con.executemany("INSERT INTO files(path, size, mtime_ns, hash, width, height, format, date_taken,"
                            " status, error, scanned_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)", rows)
            first = con.execute("SELECT MAX(id) FROM files").fetchone()[0] - m + 1
            con.executemany("INSERT INTO embeddings(file_id, model_id, vector, seq) VALUES(?,?,?,1)",
                            [(first + i, model.model_id, vecs[i].tobytes()) for i in range(m)])
        cat.set_meta("seq", "1")
    cat.close()


def bench_query(model: LoadedModel, n: int = 100_000, queries: int = 500, k: int = 20,
                query_photo: Path | None = None) -> dict:
    """Latency of ``similar`` on an ``n``-vector library; memory per indexed photo beyond the raw vectors."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        gc.collect()
        rss0 = _rss_mb()
        t = time.perf_counter()
        _synthetic_library(home, model, n)
        fill_s = time.perf_counter() - t
        t = time.perf_counter()
        lib = Library(home, model=model)
        open_s = time.perf_counter() - t  # includes building the HNSW index from the catalog
        try:
            gc.collect()
            rss1 = _rss_mb()
            ids = lib.file_ids()
            rng = np.random.default_rng(1)
            picks = rng.choice(ids, size=min(queries, len(ids)), replace=False)
            lat = []
            for fid in picks:
                t = time.perf_counter()
                lib.similar_to_id(int(fid), k=k)
                lat.append(1000 * (time.perf_counter() - t))
            photo_lat = []
            if query_photo is not None:
                for _ in range(10):
                    t = time.perf_counter()
                    lib.similar(query_photo, k=k)
                    photo_lat.append(1000 * (time.perf_counter() - t))
            lib.close()
            t = time.perf_counter()
            lib = Library(home, model=model)
            reopen_s = time.perf_counter() - t
        finally:
            lib.close()
        vectors_mb = n * model.embedding_size * 4 / 2**20
        beyond = max(0.0, (rss1 - rss0) - vectors_mb) * 2**20 / n
        out = {"vectors": n, "k": k, "ms_p50": statistics.median(lat), "ms_p90": float(np.percentile(lat, 90)),
               "ms_max": max(lat), "build_index_s": open_s, "reopen_s": reopen_s, "fill_catalog_s": fill_s,
               "rss_growth_mb": rss1 - rss0, "vectors_mb": vectors_mb, "bytes_per_photo_beyond_vectors": beyond}
        if photo_lat:
            out["photo_query_ms_p50"] = statistics.median(photo_lat)
        return out


def run_perf(folder: Path, model_path: Path | None = None, device: str = "auto", query_n: int = 100_000,
             repeats: int = 3) -> dict:
    import torch

    model = load_model(model_path, device=device)
    files = _files(folder)
    if not files:
        raise FileNotFoundError(f"no photos in {folder}")
    result = {"machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": model.device},
              "model": model.model_id, "photos": len(files)}
    result["decode"] = bench_decode(files, model.input_size)
    result["phash_loop"] = bench_phash(files)
    result["index"] = bench_index(folder, model, repeats=repeats)
    if query_n > 0:
        result["query"] = bench_query(model, n=query_n, query_photo=files[0])
    result["peak_rss_mb"] = _peak_mb()
    return result
