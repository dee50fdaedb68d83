"""Score the product's duplicate *groups*, not a ranking: index a benchmark into a temporary library, call
``Library.duplicates()`` at its defaults, and count which pairs ended up together.

Two benches share this code:

- ``copies``: folders of groups (every file in ``ROOT/<group>/`` is a copy of the same photo, named by its
  edit as ``bench-make`` writes them) plus distractors. Pairwise precision and recall, overall and per edit.
- ``negatives``: distinct photos only (every group found is a false one). False groups per 10,000 photos
  and false pairs per method.

Methods in one run: ``verified`` (the product's duplicates tier: candidates + verification), ``cosine``
(the previous grouping: the model's cosine cut with mutual neighbours, what ``dupes`` did before
verification), ``similar`` (the similar tier), and pHash / dHash at Hamming <= 10 of 64 (pairwise).
"""

from __future__ import annotations

import itertools
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from . import known_copies
from .layout import _images_in, _subdirs, edit_kind

PREVIOUS_COSINE_CUT = 0.76   # the shipped card's duplicates threshold before verification


def _kind(stem: str) -> str:
    k = edit_kind(stem)
    return {"full": "original", "small": "squash_reencode"}.get(k, k)


def collect(group_roots: list[Path], distractor_roots: list[Path]) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """(all files, file -> group, file -> edit kind)."""
    files, group, kind = [], {}, {}
    for root in group_roots:
        root = Path(root).resolve()
        for g in _subdirs(root):
            for f in _images_in(g):
                p = str(f)  # as the scan records it (a symlinked file keeps its own path)
                files.append(p)
                group[p] = f"{root.name}/{g.name}"
                kind[p] = _kind(f.stem)
    for root in distractor_roots:
        for f in _images_in(Path(root).resolve(), recursive=True):
            files.append(str(f))
    return files, group, kind


def _pairs_of_groups(groups) -> set[tuple[str, str]]:
    out = set()
    for g in groups:
        paths = sorted(m.path for m in g.members)
        out.update(itertools.combinations(paths, 2))
    return out


def _hash_pairs(files: list[str], name: str, max_distance: int = 10) -> set[tuple[str, str]]:
    import imagehash

    from imgsim_desktop.core.decode import load_image
    from imgsim_desktop.core.errors import DecodeError

    fn = {"phash": imagehash.phash, "dhash": imagehash.dhash}[name]
    bits, ok = [], []
    for f in files:
        try:
            img, _ = load_image(f, max_side=128)
            bits.append(np.asarray(fn(img).hash, dtype=np.float32).reshape(-1))
            ok.append(f)
        except (DecodeError, OSError):
            continue
    b = np.stack(bits)
    out = set()
    for i0 in range(0, len(b), 1024):
        blk = b[i0:i0 + 1024]
        d = blk @ (1 - b).T + (1 - blk) @ b.T
        for i, j in zip(*np.nonzero(d <= max_distance)):
            i = i + i0
            if i < j:
                out.add(tuple(sorted((ok[i], ok[j]))))
    return out


def index_and_group(files_roots: list[Path], model_path: Path | None, library_dir: Path | None = None,
                    device: str = "cpu", progress=None) -> dict:
    """Index the folders into a fresh library; return each method's predicted pairs and timings."""
    from imgsim_desktop.core.library import Library

    tmp = tempfile.TemporaryDirectory(prefix="imgsim-groupbench-") if library_dir is None else None
    home = Path(tmp.name if tmp else library_dir)
    out: dict = {"timings": {}}
    try:
        with Library(home, model_path=model_path, device=device) as lib:
            t = time.perf_counter()
            lib.scan([str(Path(r).resolve()) for r in files_roots], progress=progress)
            out["timings"]["index_s"] = round(time.perf_counter() - t, 1)
            out["indexed"] = lib.count()
            out["model_id"] = lib.model.model_id
            t = time.perf_counter()
            verified = lib.duplicates("duplicates")
            out["timings"]["dupes_first_s"] = round(time.perf_counter() - t, 1)
            out["verification"] = dict(getattr(lib, "last_verification", {}))
            t = time.perf_counter()
            again = lib.duplicates("duplicates")
            out["timings"]["dupes_rerun_s"] = round(time.perf_counter() - t, 1)
            out["rerun_same"] = _pairs_of_groups(again) == _pairs_of_groups(verified)
            cosine = lib.duplicates("similar", threshold=PREVIOUS_COSINE_CUT, explain=False, copies=False)
            similar = lib.duplicates("similar", explain=False)
            out["groups"] = {"verified": verified, "cosine": cosine, "similar": similar}
            out["pairs"] = {"verified": _pairs_of_groups(verified), "cosine": _pairs_of_groups(cosine),
                            "similar": _pairs_of_groups(similar)}
    finally:
        if tmp:
            tmp.cleanup()
    return out


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def score_copies(files: list[str], group: dict[str, str], kind: dict[str, str],
                 predicted: dict[str, set], known: list[list[str]] | None = None) -> dict:
    """Pairwise precision / recall per method, overall and per edit kind (the copy's edit; a pair of two
    copies counts for both kinds). With ``known`` (the data sets' own copies, ``known_copies.read``) a pair of
    two files listed as one photo counts neither way in "precision" and is listed under "known_pairs";
    "precision_labelled" counts it wrong, as the folders label it. Files, not their groups: a close-up cut
    from a wide shot's original is another view of it, while the close-up's small copy is a copy of the wide
    shot."""
    truth = set()
    by_group: dict[str, list[str]] = {}
    for f, g in group.items():
        by_group.setdefault(g, []).append(f)
    for members in by_group.values():
        truth.update(itertools.combinations(sorted(members), 2))
    one = known_copies.set_of_files(files, known or [])

    def listed(p: tuple[str, str]) -> bool:
        return one.get(p[0], -1) == one.get(p[1], -2)

    kinds = sorted({k for k in kind.values() if k != "original"})
    res = {}
    for name, pred in predicted.items():
        tp = len(pred & truth)
        wrong = pred - truth
        skip = {p for p in wrong if listed(p)}
        r = {"pairs_predicted": len(pred), "pairs_true": len(truth),
             "precision": _ratio(tp, len(pred) - len(skip)), "precision_labelled": _ratio(tp, len(pred)),
             "recall": _ratio(tp, len(truth)), "by_edit": {},
             "wrong_pairs": sorted(wrong - skip)[:50], "known_pairs_n": len(skip), "known_pairs": sorted(skip)[:50]}
        for k in kinds:
            # recall: (original, copy of kind k) pairs; precision: predicted pairs with a copy of kind k
            want = {tuple(sorted((f, o))) for f in kind if kind[f] == k
                    for o in by_group[group[f]] if kind.get(o) == "original"}
            got = {p for p in pred if kind.get(p[0]) == k or kind.get(p[1]) == k}
            good = len(got & truth)
            r["by_edit"][k] = {"recall": _ratio(len(want & pred), len(want)),
                               "precision": _ratio(good, len(got - skip)),
                               "precision_labelled": _ratio(good, len(got)), "n": len(want)}
        res[name] = r
    return res


def score_negatives(files: list[str], predicted: dict[str, set], groups: dict[str, list] | None = None,
                    known: list[list[str]] | None = None) -> dict:
    """False pairs and groups per method; with ``known`` also the groups that are one listed photo (the data
    sets' own copies: right to group) and the rest, groups of different pictures."""
    n = len(files)
    listed = known_copies.set_of_files(files, known) if known else {}
    res = {}
    for name, pred in predicted.items():
        r = {"false_pairs": len(pred), "false_pairs_per_10k": round(len(pred) * 1e4 / n, 2) if n else None}
        if known:
            r["known_copy_pairs"] = sum(listed.get(a, -1) == listed.get(b, -2) for a, b in pred)
        if groups and name in groups:
            gs = groups[name]
            r["false_groups"] = len(gs)
            r["false_groups_per_10k"] = round(len(gs) * 1e4 / n, 2) if n else None
            if known:   # tiles are not traced to their photos here (scripts/verifier_checks/classify_tiles.py)
                one = sum(len({listed.get(m.path, -1 - i) for i, m in enumerate(g.members)}) == 1 for g in gs)
                r["known_copy_groups"] = one
                r["groups_of_different_pictures"] = len(gs) - one
                r["groups_of_different_pictures_per_10k"] = round((len(gs) - one) * 1e4 / n, 2) if n else None
            # every verified group (each must be classified by hand: a data-set copy, or two different
            # pictures); a hundred of the other methods' thousands
            r["examples"] = [[m.path for m in g.members] for g in (gs if name == "verified" else gs[:100])]
        res[name] = r
    return res


# --------------------------------------------------------------------------------- hard-negative set


def make_hard_negatives(sources: dict[str, list[Path]], out_dir: Path, seed: int = 0, per_kind: int = 150) -> dict:
    """Write photos that are *different* but look alike to a global descriptor, each made from a source photo
    that is not itself in the bench (so nothing here has a copy): darkened and night versions of different
    photos, non-overlapping crops of one wide scene, different photos on one identical phone canvas, and
    documents sharing one layout. ``sources``: "dark", "crops", "canvas" -> photo files."""
    from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

    from imgsim_desktop.core.decode import load_image
    from imgsim_desktop.core.errors import DecodeError
    from imgsim_desktop.edits import _font, phone_screenshot

    out_dir = Path(out_dir)
    for kind, pattern in (("dark", "dark_*.jpg"), ("crops", "wide_*.jpg"), ("canvas", "canvas_*.jpg"),
                          ("documents", "doc_*.jpg")):
        for old in (out_dir / kind).glob(pattern):   # an earlier set's leftovers: their sources may be another
            old.unlink()                              # kind's now, which would make them copies
    rng = random.Random(seed)
    counts = {}

    def load(p):
        try:
            return load_image(p, max_side=512)[0]
        except (DecodeError, OSError):
            return None

    d = out_dir / "dark"
    d.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, p in enumerate(sources.get("dark", [])[:2 * per_kind]):
        img = load(p)
        if img is None:
            continue
        if i % 2 == 0:   # darkened: exposure pulled down hard
            img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.08, 0.2))
        else:            # night: dark, blue, noisy, soft
            a = np.asarray(img, np.float32) * rng.uniform(0.06, 0.15)
            a[..., 2] *= 1.4
            a += np.random.default_rng(i).normal(0, 2.0, a.shape)
            img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
        img.save(d / f"dark_{i:04d}.jpg", quality=88)
        n += 1
    counts["dark"] = n
    d = out_dir / "crops"
    d.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, p in enumerate(sources.get("crops", [])):
        img = load(p)
        if img is None:
            continue
        w, h = img.size
        third = w // 3
        img.crop((0, 0, third, h)).save(d / f"wide_{i:03d}_left.jpg", quality=90)     # a gap of one third
        img.crop((w - third, 0, w, h)).save(d / f"wide_{i:03d}_right.jpg", quality=90)  # between the two
        n += 2
    counts["crops"] = n
    d = out_dir / "canvas"
    d.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, p in enumerate(sources.get("canvas", [])[:per_kind]):
        img = load(p)
        if img is None:
            continue
        img = img.resize((400, 300))   # one size, so every canvas is laid out identically
        phone_screenshot(img, random.Random(f"{seed}-canvas")).save(d / f"canvas_{i:04d}.jpg", quality=90)
        n += 1
    counts["canvas"] = n
    d = out_dir / "documents"
    d.mkdir(parents=True, exist_ok=True)
    words = ("invoice total amount date account number payment reference customer address the of and to "
             "for with order item quantity price tax due balance").split()
    for i in range(per_kind // 3):
        page = Image.new("RGB", (620, 877), (255, 255, 255))
        dr = ImageDraw.Draw(page)
        dr.rectangle((40, 40, 580, 90), fill=(30, 60, 120))
        dr.text((50, 52), "ACME Corporation", fill=(255, 255, 255), font=_font(24))
        r = random.Random(f"doc{i}")
        for line in range(34):
            dr.text((50, 110 + line * 21), " ".join(r.choice(words) for _ in range(r.randint(4, 10))),
                    fill=(20, 20, 20), font=_font(14))
        page.save(d / f"doc_{i:03d}.jpg", quality=90)
    counts["documents"] = per_kind // 3
    return counts


def make_tiles(photos: list[Path], out_dir: Path, min_side: int = 96, gap: int = 8, max_side: int | None = 1200,
               flat_std: float = 3.0) -> dict:
    """Grow a negatives bench past the photos there are: cut every photo into as many tiles of at least
    ``min_side`` pixels as fit, ``gap`` pixels apart, so no two tiles share a pixel. The tiles *replace* the
    photos (a tile and its photo are a crop and its original). Tiles of one photo are the issue's hardest
    negatives: same scene, light and texture, no overlap. Flat tiles (grey standard deviation under
    ``flat_std``, a sky or a black border) are left out: two of them can be the same picture. Photos are first
    brought to ``max_side`` on the shorter side (None: full size, many more tiles of a camera photo)."""
    from imgsim_desktop.core.decode import load_image
    from imgsim_desktop.core.errors import DecodeError

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("tile_*.jpg"):
        old.unlink()
    counts = {"photos": 0, "tiles": 0, "flat": 0, "unreadable": 0}
    for i, p in enumerate(photos):
        try:
            img = load_image(p, max_side=max_side)[0]
        except (DecodeError, OSError):
            counts["unreadable"] += 1
            continue
        counts["photos"] += 1
        w, h = img.size
        nx, ny = max(1, (w + gap) // (min_side + gap)), max(1, (h + gap) // (min_side + gap))
        tw, th = (w - gap * (nx - 1)) // nx, (h - gap * (ny - 1)) // ny
        grey = np.asarray(img.convert("L"), np.float32)
        for y in range(ny):
            for x in range(nx):
                box = (x * (tw + gap), y * (th + gap), x * (tw + gap) + tw, y * (th + gap) + th)
                if grey[box[1]:box[3], box[0]:box[2]].std() < flat_std:
                    counts["flat"] += 1
                    continue
                img.crop(box).save(out_dir / f"tile_{i:05d}_{y:02d}_{x:02d}.jpg", quality=90)
                counts["tiles"] += 1
    return counts


def markdown(result: dict) -> str:
    """The per-edit table (copies) or the false-group table (negatives) for docs/benchmark.md."""
    methods = list(result["methods"])
    lines = []
    if result["mode"] == "copies":
        lines.append("| edit | " + " | ".join(f"{m} P / R" for m in methods) + " |")
        lines.append("|---|" + "---|" * len(methods))
        row = ["**all pairs**"]
        for m in methods:
            row.append(_pr(result["methods"][m]))
        lines.append("| " + " | ".join(row) + " |")
        kinds = sorted(next(iter(result["methods"].values()))["by_edit"])
        for k in kinds:
            row = [k]
            for m in methods:
                row.append(_pr(result["methods"][m]["by_edit"][k]))
            lines.append("| " + " | ".join(row) + " |")
        if "known_copies" in result:
            lines.append(f"\nP without the pairs of the data sets' own copies ({result['known_copies']['file']}); "
                         "in brackets, P as the folders label them.")
    else:
        apart = "known_copies" in result   # the data sets' own copies counted apart
        lines.append("| method | false pairs | false pairs per 10,000 photos | false groups | per 10,000 photos |"
                     + (" of different pictures | per 10,000 photos |" if apart else ""))
        lines.append("|---|---|---|---|---|" + ("---|---|" if apart else ""))
        for m in methods:
            r = result["methods"][m]
            lines.append(f"| {m} | {r['false_pairs']} | {r['false_pairs_per_10k']} | {r.get('false_groups', '–')} | "
                         f"{r.get('false_groups_per_10k', '–')} |"
                         + (f" {r.get('groups_of_different_pictures', '–')} | "
                            f"{r.get('groups_of_different_pictures_per_10k', '–')} |" if apart else ""))
    return "\n".join(lines)


def _pr(r: dict) -> str:
    """"P / R", with the labelled precision in brackets where the data sets' own copies moved it."""
    labelled = _fmt(r.get("precision_labelled", r["precision"]))
    extra = f" ({labelled})" if labelled != _fmt(r["precision"]) else ""
    return f"{_fmt(r['precision'])}{extra} / {_fmt(r['recall'])}"


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.3f}"
