"""``imgsim bench-perf --synthetic N``: what each command costs on a library of N photos.

A synthetic library is written through the catalog API (folders, file rows, embeddings) with vectors of the
shipped model's shape and statistics: a Gaussian fitted to the model's vectors of real photos (isotropic
random vectors are far easier to search and understate what recall costs), and 1 % planted near copies made
by adding the difference between the vectors of a real photo and its real edited copy. Every command then
runs as its own process (``python -m imgsim_desktop ...``), timed, with its peak RSS from ``wait4``.
``--code DIR`` runs the same measurements against another checkout (for example main, for "before").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Runs inside the measured checkout (any version with the Catalog API): writes the synthetic library.
_BUILDER = r'''
import json, os, sys, time
import numpy as np
from pathlib import Path
from imgsim_desktop.core.catalog import Catalog
from imgsim_desktop.core.model import load_model

home, root, n, stats_path, files, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1", int(sys.argv[6])
model = load_model(None, "cpu")
st = np.load(stats_path)
mean, chol, deltas = st["mean"], st["chol"], st["deltas"]
spaces = list(model.spaces.values())
rng = np.random.default_rng(seed)

def unit(v):
    for a, b in spaces:
        v[:, a:b] /= np.linalg.norm(v[:, a:b], axis=1, keepdims=True)
    return v

n_copies = n // 100
n_orig = n - n_copies
copy_of = rng.choice(n_orig, size=n_copies, replace=False)
is_source = np.zeros(n, bool)
is_source[copy_of] = True
cat = Catalog(Path(home) / "catalog.sqlite")
cat.add_folder(root)
planted = []
chunk = 20000
t0 = time.time()
base_mtime = 1_700_000_000_000_000_000
orig_vec = {}
for start in range(0, n, chunk):
    m = min(chunk, n - start)
    idx = np.arange(start, start + m)
    vecs = unit(mean + rng.standard_normal((m, len(mean))).astype(np.float32) @ chol.T)
    is_copy = idx >= n_orig
    for j in np.flatnonzero(is_source[idx]):
        orig_vec[int(idx[j])] = vecs[j].copy()
    for j in np.flatnonzero(is_copy):
        src = int(copy_of[idx[j] - n_orig])
        v = orig_vec[src] + deltas[rng.integers(len(deltas))]
        vecs[j] = unit(v[None].copy())[0]
    rows = []
    with cat.transaction():
        for j, i in enumerate(idx.tolist()):
            path = os.path.join(root, f"d{i // 1000:04d}", f"{i:07d}.jpg")
            if files:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(i.to_bytes(8, "little"))
                st_ = os.stat(path)
                size, mtime = st_.st_size, st_.st_mtime_ns
            else:
                size, mtime = 2_000_000 + i, base_mtime + i
            fid = cat.upsert_file({"path": path, "size": size, "mtime_ns": mtime, "hash": f"{i:032x}",
                                   "width": 4000, "height": 3000, "format": "JPEG", "status": "ok"})
            rows.append((fid, vecs[j]))
            if i >= n_orig:
                planted.append((os.path.join(root, f"d{int(copy_of[i - n_orig]) // 1000:04d}", f"{int(copy_of[i - n_orig]):07d}.jpg"), path))
        cat.put_embeddings(rows, model.model_id)
# the query photo: a real file whose catalog row matches it, so `similar` reuses its stored vector
q = Path(root) / "query.jpg"
q.parent.mkdir(parents=True, exist_ok=True)
from PIL import Image
Image.new("RGB", (64, 48), (120, 80, 40)).save(q)
with cat.transaction():
    fid = cat.upsert_file({"path": str(q), "size": q.stat().st_size, "mtime_ns": q.stat().st_mtime_ns,
                           "hash": "q" * 32, "width": 64, "height": 48, "format": "JPEG", "status": "ok"})
    cat.put_embeddings([(fid, unit(mean[None] + rng.standard_normal((1, len(mean))).astype(np.float32) @ chol.T)[0])], model.model_id)
cat.close()
json.dump({"planted": planted, "query": str(q), "fill_s": time.time() - t0}, open(Path(home).parent / "planted.json", "w"))
'''

_REBUILD = r'''
import sys
from imgsim_desktop.core.library import Library
lib = Library(sys.argv[1])
getattr(lib.index, "open_all", lambda: None)()
lib.close()
'''


def embedding_stats(out: Path, folders: list[Path], pairs: Path | None, device: str = "cpu") -> Path:
    """Mean, Cholesky factor of the covariance, and real copy deltas of the bundled model's vectors."""
    from imgsim_desktop.core.decode import is_image_path
    from imgsim_desktop.core.embedder import Embedder
    from imgsim_desktop.core.model import load_model

    model = load_model(None, device)
    emb = Embedder(model)
    files = [p for f in folders for p in sorted(Path(f).rglob("*")) if p.is_file() and is_image_path(p)]
    vecs = np.stack([emb.embed_path(p)[0] for p in files])
    deltas = []
    if pairs is not None and Path(pairs).is_dir():
        for d in sorted(Path(pairs).iterdir()):
            imgs = sorted(p for p in d.iterdir() if is_image_path(p))
            if len(imgs) >= 2:
                a, b = emb.embed_path(imgs[0])[0], emb.embed_path(imgs[1])[0]
                deltas.append(b - a)
    if not deltas:
        deltas = [np.zeros(model.embedding_size, np.float32)]
    mean = vecs.mean(0)
    cov = np.cov(vecs, rowvar=False) + 1e-6 * np.eye(vecs.shape[1])
    np.savez(out, mean=mean.astype(np.float32), chol=np.linalg.cholesky(cov).astype(np.float32),
             deltas=np.stack(deltas).astype(np.float32), model_id=model.model_id, n=len(files))
    return out


def _run_measured(code: Path, args: list[str], timeout: float = 3600) -> dict:
    """One process: wall time and its own peak RSS (wait4's rusage is per child)."""
    env = dict(os.environ, PYTHONPATH=str(code))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], cwd=code, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
            time.sleep(0.01)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"rc": proc.returncode, "wall_s": round(wall, 3), "peak_rss_mb": round(ru.ru_maxrss / 1024, 1),
                "stdout": out.read(), "stderr": err.read()[-1500:]}


def _recall(groups_json: str, planted: list[tuple[str, str]]) -> float | None:
    try:
        groups = json.loads(groups_json)["groups"]
    except (ValueError, KeyError):
        return None
    where = {}
    for gi, g in enumerate(groups):
        for m in g["members"]:
            where[m["path"]] = gi
    hit = sum(1 for a, b in planted if a in where and where.get(a) == where.get(b))
    return hit / max(1, len(planted))


def run_scale(n: int, stats: Path, code: Path | None = None, files: bool | None = None, keep: Path | None = None,
              seed: int = 0, progress=print) -> dict:
    code = Path(code or Path(__file__).resolve().parents[2]).resolve()
    files = n <= 200_000 if files is None else files
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="imgsim-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    home, root = work / "library", work / "photos"
    result: dict = {"n": n, "code": str(code), "files_on_disk": files}
    try:
        progress(f"building a {n}-photo library in {work} ...")
        r = _run_measured(code, ["-c", _BUILDER, str(home), str(root), str(n), str(stats), "1" if files else "0",
                                 str(seed)])
        if r["rc"] != 0:
            raise RuntimeError(f"building the library failed: {r['stderr']}")
        meta = json.loads((work / "planted.json").read_text())
        result["fill_s"] = round(meta["fill_s"], 1)
        planted = [tuple(p) for p in meta["planted"]]
        lib = ["--library", str(home)]
        steps = [
            ("index rebuild", ["-c", _REBUILD, str(home)]),
            ("status", ["-m", "imgsim_desktop", "status", *lib]),
            ("status (again)", ["-m", "imgsim_desktop", "status", *lib]),
            ("dupes (first run)", ["-m", "imgsim_desktop", "dupes", "--json", *lib]),
            ("dupes", ["-m", "imgsim_desktop", "dupes", "--json", *lib]),
            ("dupes --tier similar", ["-m", "imgsim_desktop", "dupes", "--tier", "similar", "--json", *lib]),
            ("similar -k 20", ["-m", "imgsim_desktop", "similar", meta["query"], "-k", "20", *lib]),
            ("similar -k 20 --space duplicates", ["-m", "imgsim_desktop", "similar", meta["query"], "-k", "20",
                                                  "--space", "duplicates", *lib]),
        ]
        if files:
            steps.append(("no-change rescan", ["-m", "imgsim_desktop", "index", "-q", *lib]))
        for name, args in steps:
            progress(f"  {name} ...")
            r = _run_measured(code, args)
            entry = {"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"], "rc": r["rc"]}
            if r["rc"] != 0:
                entry["stderr"] = r["stderr"]
            if name.startswith("dupes"):
                entry["recall_planted"] = _recall(r["stdout"], planted)
                try:
                    entry["groups"] = len(json.loads(r["stdout"])["groups"])
                except (ValueError, KeyError):
                    pass
            if name == "no-change rescan":
                entry["output"] = r["stdout"].strip()[-300:]
            result[name] = entry
            progress(f"    {entry}")
        result["disk_mb"] = {p.name: round(p.stat().st_size / 2**20, 1) for p in sorted(home.iterdir())
                             if p.is_file()}
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return result
