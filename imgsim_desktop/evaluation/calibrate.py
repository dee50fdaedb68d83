"""Default thresholds for a model, read off its benchmark figures and written into its card.

Each model scores pairs on its own scale, so the "duplicates" and "similar" cuts belong to the model, not to
the app: a retrained model (the GPU round) brings its own. The rule is the one docs/benchmark.md explains:

* duplicates: the 0.005-grid threshold with the highest recall at pairwise precision >= 0.99, plus a margin
  (a false duplicate can cost a user a photo, and the benchmark is a few hundred groups);
* similar: the grid threshold with the highest recall at precision >= 0.90 (a tier the user reviews by eye).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from imgsim_desktop.core.errors import ImgsimError

DUPLICATES_PRECISION = 0.99
SIMILAR_PRECISION = 0.90
DEFAULT_MARGIN = 0.03


class CalibrationError(ImgsimError):
    """The results hold no usable near-duplicate figures for the method."""


def pick(grid: dict, min_precision: float):
    """From a pr_grid: the row with the highest recall whose precision >= min_precision (highest threshold
    among ties). None when no row qualifies."""
    rows = [r for r in grid["rows"] if r[1] is not None and r[1] >= min_precision and r[2]]
    if not rows:
        return None
    best = max(r[2] for r in rows)
    return max((r for r in rows if r[2] == best), key=lambda r: r[0])


def grid_row(grid: dict, t: float):
    """The pr_grid row at threshold ``t``, or the nearest one below it."""
    rows = [r for r in grid["rows"] if r[0] is not None and r[0] <= t + 1e-6]
    return max(rows, key=lambda r: r[0]) if rows else None


def _holding(grid: dict, t: float, min_precision: float) -> float:
    """``t``, raised by 0.01 steps until the grid's precision there is >= min_precision (at most 0.99)."""
    while t < 0.99:
        row = grid_row(grid, t)
        if row is None or (row[1] is not None and row[1] >= min_precision):
            break
        t = round(t + 0.01, 2)
    return min(t, 0.99)


def choose_thresholds(results: dict, method: str = "imgsim", margin: float = DEFAULT_MARGIN) -> dict:
    """``{"duplicates": t, "similar": t, "evidence": {...}}`` from ``imgsim bench --json`` results."""
    m = (results.get("methods") or {}).get(method)
    nd = (m or {}).get("neardup")
    if not nd or not nd.get("pr_grid"):
        raise CalibrationError(f"the results have no near-duplicate figures for method {method!r}")
    if m.get("kind") != "model":
        raise CalibrationError(f"{method!r} is not a model (its scores are not cosine similarities)")
    grid = nd["pr_grid"]
    d = pick(grid, DUPLICATES_PRECISION)
    s = pick(grid, SIMILAR_PRECISION)
    if d is None or s is None:
        raise CalibrationError(f"{method!r} reaches precision {DUPLICATES_PRECISION if d is None else SIMILAR_PRECISION}"
                               " at no threshold; no defaults can be chosen from these results")
    dup = _holding(grid, math.ceil((d[0] + margin) * 100 - 1e-6) / 100, DUPLICATES_PRECISION)
    sim = min(dup - 0.01, _holding(grid, math.ceil(s[0] * 100 - 1e-6) / 100, SIMILAR_PRECISION))
    at_d, at_s = grid_row(grid, dup), grid_row(grid, sim)
    return {
        "duplicates": dup,
        "similar": sim,
        "evidence": {
            "model_id": m.get("model_id"),
            "rule": f"duplicates: best recall at precision >= {DUPLICATES_PRECISION} on the 0.005 grid "
                    f"({d[0]:.3f}) + {margin:.2f}; similar: best recall at precision >= {SIMILAR_PRECISION} "
                    f"({s[0]:.3f}); both rounded up to 0.01 where the precision still holds",
            "duplicates_precision_recall": [at_d[1], at_d[2]] if at_d else None,
            "similar_precision_recall": [at_s[1], at_s[2]] if at_s else None,
            "benchmark_counts": results.get("counts"),
        },
    }


BENCH_KEYS = ("map", "top1", "recall_at_10", "recall_at_p99", "threshold_at_p99", "recall_at_p999",
              "threshold_at_p999", "best_f1", "best_f1_threshold")


def benchmark_summary(results: dict, method: str = "imgsim") -> dict:
    """The figures a model card keeps from a bench run (the full results stay in their JSON)."""
    m = (results.get("methods") or {}).get(method) or {}
    nd, lk = m.get("neardup") or {}, m.get("lookalike") or {}
    return {
        "source": f"imgsim bench {results.get('benchmark', '')}".strip(),
        "benchmark_counts": results.get("counts"),
        "model_id": m.get("model_id"),
        "neardup": {k: nd.get(k) for k in BENCH_KEYS},
        "neardup_recall_at_10_by_edit": nd.get("recall_at_10_by_edit"),
        "lookalike_precision_at_10": lk.get("precision_at_10"),
        "lookalike_map": lk.get("map"),
        "speed": m.get("speed"),
    }


def write_thresholds(card_path: Path, chosen: dict, results: dict | None = None, method: str = "imgsim") -> dict:
    """Store the thresholds (and, with ``results``, the benchmark figures) in the model card. The weights,
    and so the model id, are untouched."""
    card_path = Path(card_path)
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"cannot read model card {card_path}: {exc}") from None
    ev = chosen["evidence"]
    if ev.get("model_id") and card.get("model_id") and ev["model_id"] != card["model_id"]:
        raise CalibrationError(f"the results are for {ev['model_id']}, the card is {card['model_id']}")
    card["thresholds"] = {"duplicates": chosen["duplicates"], "similar": chosen["similar"]}
    card["thresholds_evidence"] = ev
    if results is not None:
        card["benchmark"] = benchmark_summary(results, method)
        card["benchmark"]["precision_recall_at_thresholds"] = {
            "duplicates": ev.get("duplicates_precision_recall"), "similar": ev.get("similar_precision_recall")}
    tmp = card_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    tmp.replace(card_path)
    return card
