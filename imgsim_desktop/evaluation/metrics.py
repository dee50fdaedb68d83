"""Retrieval and pairwise-decision metrics over a similarity matrix and labels (pure numpy).

Conventions used by every function here:

* ``sim`` is an (N, N) similarity matrix (higher = more alike); only the off-diagonal part is used.
* ``labels`` is an int array of length N: items with the same label >= 0 belong together (a near-duplicate
  group or a lookalike class); a label < 0 marks a distractor, which is relevant to nothing.
* A *query* is every item whose label has at least one other member. Its ranked list is every other item
  of the pool (the query itself is left out). Ties in similarity are broken by a fixed pseudo-random order
  (``seed``), so a method that gives many equal scores (Hamming distances) is neither helped nor hurt by
  the order the files were read in.
* Pairwise decisions: every unordered pair {i, j} of the pool is a positive when both have the same label
  >= 0. A pair is predicted "duplicate" when its similarity is >= the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# ------------------------------------------------------------------------------------------- ranking


def query_indices(labels: np.ndarray) -> np.ndarray:
    """Items that can be queries: a label >= 0 shared with at least one other item."""
    labels = np.asarray(labels)
    ok = labels >= 0
    if not ok.any():
        return np.zeros(0, dtype=np.int64)
    _, inv, counts = np.unique(labels[ok], return_inverse=True, return_counts=True)
    has_mate = np.zeros(len(labels), dtype=bool)
    has_mate[np.flatnonzero(ok)] = counts[inv] >= 2
    return np.flatnonzero(has_mate)


def ranked_relevance(sim: np.ndarray, labels: np.ndarray, queries: np.ndarray | None = None,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """For each query, the relevance (bool) of the other N-1 items in ranked order, and the ranked indices.

    Returns ``(rel, order)``, both (Q, N-1): ``order[q, r]`` is the index of the item at rank r (0-based)
    for query ``queries[q]`` and ``rel[q, r]`` whether it shares the query's label.
    """
    sim = np.asarray(sim, dtype=np.float64)
    labels = np.asarray(labels)
    n = len(labels)
    if sim.shape != (n, n):
        raise ValueError(f"sim is {sim.shape}, labels has {n} items")
    if queries is None:
        queries = query_indices(labels)
    queries = np.asarray(queries, dtype=np.int64)
    if len(queries) == 0 or n < 2:
        return np.zeros((0, max(0, n - 1)), dtype=bool), np.zeros((0, max(0, n - 1)), dtype=np.int64)
    rows = sim[queries].copy()
    rows[np.arange(len(queries)), queries] = -np.inf  # the query itself goes last, then is dropped
    tiebreak = np.random.default_rng(seed).permutation(n)
    tb = np.broadcast_to(tiebreak, rows.shape)
    order = np.lexsort((tb, -rows), axis=-1)[:, : n - 1]
    rel = labels[order] == labels[queries][:, None]
    return rel, order


def average_precision(rel: np.ndarray, n_relevant: np.ndarray | None = None) -> np.ndarray:
    """AP of each ranked relevance row: mean over its relevant items of the precision at their rank.

    ``n_relevant`` (per row) defaults to the number of relevant items in the row; rows with none give 0.
    """
    rel = np.asarray(rel, dtype=bool)
    if rel.ndim == 1:
        rel = rel[None, :]
    hits = np.cumsum(rel, axis=1)
    ranks = np.arange(1, rel.shape[1] + 1)
    prec = hits / ranks
    total = rel.sum(axis=1) if n_relevant is None else np.asarray(n_relevant)
    s = (prec * rel).sum(axis=1)
    return np.where(total > 0, s / np.maximum(total, 1), 0.0)


def mean_average_precision(sim: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    rel, _ = ranked_relevance(sim, labels, seed=seed)
    return float(average_precision(rel).mean()) if len(rel) else 0.0


def top_k_accuracy(rel: np.ndarray, k: int) -> float:
    """Fraction of queries with at least one relevant item in their first k results."""
    rel = np.asarray(rel, dtype=bool)
    if len(rel) == 0:
        return 0.0
    return float(rel[:, :k].any(axis=1).mean())


def precision_at_k(rel: np.ndarray, k: int) -> np.ndarray:
    """Per query: relevant items among the first k results, divided by k."""
    rel = np.asarray(rel, dtype=bool)
    return rel[:, :k].sum(axis=1) / float(k)


def recall_at_k(rel: np.ndarray, k: int) -> np.ndarray:
    """Per query: relevant items in the first k results divided by min(k, number of relevant items),
    so that a perfect ranking scores 1 even when a query has more than k relevant items."""
    rel = np.asarray(rel, dtype=bool)
    total = rel.sum(axis=1)
    return np.where(total > 0, rel[:, :k].sum(axis=1) / np.maximum(np.minimum(total, k), 1), 0.0)


def rank_of(order: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Rank (0-based) of ``targets[q]`` in row q of ``order``."""
    order = np.asarray(order)
    pos = order == np.asarray(targets)[:, None]
    return np.argmax(pos, axis=1)


def rank_among_others(order: np.ndarray, rel: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Rank (0-based) of ``targets[q]`` in row q counting only the items *not* relevant to the query.

    The query's other duplicates are ignored, as "junk" is in the Oxford/Paris retrieval protocol: whether
    one particular copy is found within k results should not depend on how many *other* copies of the same
    photo outrank it. (Counted plainly, an original with 12 edited copies can have at most 10 of them in its
    top 10, and the two least similar copies would always count as misses.)
    """
    order = np.asarray(order)
    rel = np.asarray(rel, dtype=bool)
    pos = rank_of(order, targets)
    unrelated_before = np.cumsum(~rel, axis=1)
    rows = np.arange(len(pos))
    return np.where(pos > 0, unrelated_before[rows, np.maximum(pos - 1, 0)], 0)


# ------------------------------------------------------------------------------------------- pairwise


def pair_scores(sim: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores and positive flags of every unordered pair i < j."""
    sim = np.asarray(sim)
    labels = np.asarray(labels)
    iu, ju = np.triu_indices(len(labels), k=1)
    pos = (labels[iu] == labels[ju]) & (labels[iu] >= 0)
    return sim[iu, ju].astype(np.float64), pos


@dataclass
class PRCurve:
    """Precision and recall when predicting "positive" for every score >= thresholds[i] (descending)."""

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    n_pos: int

    @property
    def f1(self) -> np.ndarray:
        p, r = self.precision, self.recall
        return np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-300), 0.0)


def pr_curve(scores: np.ndarray, positive: np.ndarray) -> PRCurve:
    """One point per distinct score: predicted positive = score >= that score."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    o = np.argsort(-scores, kind="stable")
    s, p = scores[o], positive[o]
    tp = np.cumsum(p)
    fp = np.cumsum(~p)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1] if len(s) else np.zeros(0, dtype=np.int64)
    tp, fp = tp[last], fp[last]
    n_pos = int(positive.sum())
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / n_pos if n_pos else np.zeros(len(tp))
    return PRCurve(s[last], precision, recall, tp, fp, n_pos)


def prf_at_threshold(scores: np.ndarray, positive: np.ndarray, threshold: float,
                     eps: float = 1e-9) -> tuple[float, float, float]:
    """Precision, recall, F1 when predicting positive for score >= threshold (precision 1 if nothing is
    predicted, by convention: no false duplicates)."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    pred = scores >= threshold - eps
    tp = int((pred & positive).sum())
    fp = int((pred & ~positive).sum())
    n_pos = int(positive.sum())
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / n_pos if n_pos else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def best_f1(curve: PRCurve) -> tuple[float, float]:
    """(best F1, the threshold where it is reached: the highest such threshold)."""
    if len(curve.thresholds) == 0:
        return 0.0, float("nan")
    f = curve.f1
    i = int(np.argmax(f))
    return float(f[i]), float(curve.thresholds[i])


def recall_at_precision(curve: PRCurve, min_precision: float = 0.99) -> tuple[float, float]:
    """(highest recall with precision >= min_precision, the lowest threshold giving it).

    Returns (0.0, nan) when no threshold reaches that precision.
    """
    ok = curve.precision >= min_precision
    if not ok.any():
        return 0.0, float("nan")
    idx = np.flatnonzero(ok)
    best = idx[np.argmax(curve.recall[idx])]
    # several thresholds can share that recall; take the highest (safest) one
    same = idx[curve.recall[idx] == curve.recall[best]]
    i = int(same.min())
    return float(curve.recall[i]), float(curve.thresholds[i])


def threshold_for_precision(curve: PRCurve, min_precision: float) -> float:
    """The lowest threshold whose precision is still >= min_precision (nan when none)."""
    return recall_at_precision(curve, min_precision)[1]


def quantiles(values: np.ndarray, qs=(0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999)) -> dict:
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return {}
    return {f"q{q * 100:g}": float(np.quantile(values, q)) for q in qs}
