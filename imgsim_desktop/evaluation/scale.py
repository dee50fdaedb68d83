"""``imgsim bench-perf --synthetic N``: what each command costs on a library of N photos.

A synthetic library is written through the catalog API (folders, file rows, embeddings) with vectors of the
shipped model's shape and statistics: a Gaussian fitted to the model's vectors of real photos (isotropic
random vectors are far easier to search and understate what recall costs), and 1 % planted near copies made
by adding the difference between the vectors of a real photo and its real edited copy. The files are not
photos, so what the verifier would have found is planted after the rebuild (``_PLANT``: signatures, and a
verdict for every candidate pair, "same photo" for planted pairs only); the default tier's figures are
then those of a library verified before, which is what a rerun of ``dupes`` is. Every command then
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

# Runs inside the measured checkout after the rebuild: what the synthetic files cannot give the verifier (they
# are not photos). Every photo gets an orientation signature (a planted copy: its original's, turned and
# slightly moved), and every candidate pair a verdict by content hash (same photo for planted pairs only),
# as if an earlier run had verified them. Building the neighbour graph and the signature pairs is timed.
_PLANT = r'''
import json, sys, time
import numpy as np
from imgsim_desktop.core import neighbours, signature_pairs
from imgsim_desktop.core.duplicates import CANDIDATE_SIM
from imgsim_desktop.core.library import Library
from imgsim_desktop.core.signature import SIG_DIM, SIG_VERSION, variants
from imgsim_desktop.core.verdicts import put_signatures, put_verdicts
from imgsim_desktop.core.verify import PairVerdict

home, planted_path = sys.argv[1], sys.argv[2]
planted = json.load(open(planted_path))["planted"]
rng = np.random.default_rng(7)
lib = Library(home)
cat = lib.catalog
hash_of = dict(cat.conn.execute("SELECT id, hash FROM files"))
hashes = sorted(set(hash_of.values()))
row = {h: i for i, h in enumerate(hashes)}
sigs = rng.standard_normal((len(hashes), SIG_DIM)).astype(np.float32)
sigs /= np.linalg.norm(sigs, axis=1, keepdims=True)
name_hash = lambda p: f"{int(p.rsplit('/', 1)[-1].split('.')[0]):032x}"
same = set()
for orig, copy in planted:
    ho, hc = name_hash(orig), name_hash(copy)
    same.add((min(ho, hc), max(ho, hc)))
    v = variants(sigs[row[ho]][None], int(rng.integers(8)))[0] + 0.05 * rng.standard_normal(SIG_DIM)
    sigs[row[hc]] = v / np.linalg.norm(v)
for i in range(0, len(hashes), 100000):
    put_signatures(cat, zip(hashes[i:i + 100000], sigs[i:i + 100000]), SIG_VERSION)
t = time.time()
lib.sync_neighbours()
graph_s = time.time() - t
t = time.time()
signature_pairs.sync(cat)
sig_s = time.time() - t
pa = neighbours.candidate_pairs(cat, CANDIDATE_SIM)
pb = signature_pairs.stored_pairs(cat)
a, b, _ = neighbours.pairs_from_directed(*(np.concatenate(x) for x in zip(pa, pb)), mutual=False)
yes = PairVerdict(True, "", 200, 0.95, 0.9, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], (256, 192), (256, 192))
no = PairVerdict(False, "few-matches", 3)
items = []
n_same = 0
for x, y in zip(a.tolist(), b.tolist()):
    hx, hy = hash_of[x], hash_of[y]
    key = (min(hx, hy), max(hx, hy))
    items.append((key[0], key[1], yes if key in same else no))
    n_same += key in same
    if len(items) >= 200000:
        put_verdicts(cat, items)
        items = []
put_verdicts(cat, items)
lib.close()
print(json.dumps({"graph_s": round(graph_s, 1), "signature_pairs_s": round(sig_s, 1), "candidates": len(a),
                  "planted_same": n_same, "graph_pairs": len(pa[0]), "signature_pairs": len(pb[0])}))
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
            ("plant signatures and verdicts", ["-c", _PLANT, str(home), str(work / "planted.json")]),
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
            if name.startswith("plant") and r["rc"] == 0:
                entry.update(json.loads(r["stdout"].strip().splitlines()[-1]))
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
