"""Metric code on tiny similarity matrices whose answers are worked out by hand in the comments."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from imgsim_desktop.evaluation import metrics as M

# Five items: A, B share group 0; C, D share group 1; E is a distractor (label -1).
#        A     B     C     D     E
SIM = np.array([
    [1.00, 0.90, 0.80, 0.10, 0.20],   # A
    [0.90, 1.00, 0.30, 0.40, 0.95],   # B
    [0.80, 0.30, 1.00, 0.50, 0.60],   # C
    [0.10, 0.40, 0.50, 1.00, 0.70],   # D
    [0.20, 0.95, 0.60, 0.70, 1.00],   # E
])
LABELS = np.array([0, 0, 1, 1, -1])


def test_query_indices_skip_distractors_and_singletons():
    assert M.query_indices(LABELS).tolist() == [0, 1, 2, 3]
    assert M.query_indices(np.array([0, 1, 1, -1])).tolist() == [1, 2]  # label 0 has no mate


def test_ranked_relevance_by_hand():
    # Query A ranks B(.9) C(.8) E(.2) D(.1)       -> relevant: B          -> [1,0,0,0]
    # Query B ranks E(.95) A(.9) D(.4) C(.3)      -> relevant: A          -> [0,1,0,0]
    # Query C ranks A(.8) E(.6) D(.5) B(.3)       -> relevant: D          -> [0,0,1,0]
    # Query D ranks E(.7) C(.5) B(.4) A(.1)       -> relevant: C          -> [0,1,0,0]
    rel, order = M.ranked_relevance(SIM, LABELS)
    assert rel.astype(int).tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    assert order.tolist() == [[1, 2, 4, 3], [4, 0, 3, 2], [0, 4, 3, 1], [4, 2, 1, 0]]


def test_map_by_hand():
    # AP per query = 1/rank of its one relevant item: A 1/1, B 1/2, C 1/3, D 1/2.
    # mAP = (1 + 0.5 + 0.3333 + 0.5) / 4 = 2.3333 / 4 = 0.583333
    assert M.mean_average_precision(SIM, LABELS) == pytest.approx(7 / 12)


def test_average_precision_several_relevant():
    # relevant at ranks 1, 3, 5: precisions there 1/1, 2/3, 3/5 -> AP = (1 + 0.6667 + 0.6) / 3 = 0.755556
    assert M.average_precision(np.array([1, 0, 1, 0, 1]))[0] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    # a perfect ranking gives 1, nothing relevant gives 0
    assert M.average_precision(np.array([1, 1, 0]))[0] == pytest.approx(1.0)
    assert M.average_precision(np.array([0, 0, 0]))[0] == 0.0


def test_top_k_by_hand():
    rel, _ = M.ranked_relevance(SIM, LABELS)
    # top-1: only A's first result is relevant -> 1/4
    assert M.top_k_accuracy(rel, 1) == pytest.approx(0.25)
    # top-2: A (rank 1), B (rank 2), D (rank 2) yes; C (rank 3) no -> 3/4
    assert M.top_k_accuracy(rel, 2) == pytest.approx(0.75)
    assert M.top_k_accuracy(rel, 3) == pytest.approx(1.0)


def test_precision_and_recall_at_k():
    rel = np.array([[1, 1, 0, 1, 0, 0],
                    [0, 0, 0, 0, 1, 0]], dtype=bool)
    # row 0: first 3 hold 2 relevant -> 2/3;  row 1: 0/3
    assert M.precision_at_k(rel, 3).tolist() == pytest.approx([2 / 3, 0.0])
    # recall@2, denominator min(k, #relevant): row 0 has 3 relevant, 2 in top 2 -> 2/min(2,3) = 1
    # row 1 has 1 relevant, none in top 2 -> 0
    assert M.recall_at_k(rel, 2).tolist() == pytest.approx([1.0, 0.0])
    # recall@4: row 0 -> 3/min(4,3) = 1; row 1 -> 0/1
    assert M.recall_at_k(rel, 4).tolist() == pytest.approx([1.0, 0.0])
    # recall@3: row 0 -> 2/3
    assert M.recall_at_k(rel, 3)[0] == pytest.approx(2 / 3)


def test_pairwise_curve_by_hand():
    # The 10 unordered pairs sorted by similarity (P = same group):
    #   BE .95 N, AB .90 P, AC .80 N, DE .70 N, CE .60 N, CD .50 P, BD .40 N, BC .30 N, AE .20 N, AD .10 N
    # threshold  tp fp  precision recall  F1
    #   .95       0  1   0         0       0
    #   .90       1  1   1/2       1/2     1/2
    #   .80       1  2   1/3       1/2     0.4
    #   .70       1  3   1/4       1/2     1/3
    #   .60       1  4   1/5       1/2     2/7
    #   .50       2  4   1/3       1       1/2
    #   .40       2  5   2/7       1       4/9
    scores, pos = M.pair_scores(SIM, LABELS)
    assert len(scores) == 10 and pos.sum() == 2
    c = M.pr_curve(scores, pos)
    assert c.thresholds[:7].tolist() == pytest.approx([.95, .9, .8, .7, .6, .5, .4])
    assert c.precision[:7].tolist() == pytest.approx([0, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 3, 2 / 7])
    assert c.recall[:7].tolist() == pytest.approx([0, .5, .5, .5, .5, 1, 1])
    # best F1 = 1/2, reached at .90 and at .50: the higher threshold is reported
    f, t = M.best_f1(c)
    assert f == pytest.approx(0.5) and t == pytest.approx(0.9)
    # precision >= 0.5 only at .90 -> recall 1/2 there; precision >= 0.99 never -> (0, nan)
    assert M.recall_at_precision(c, 0.5) == (pytest.approx(0.5), pytest.approx(0.9))
    r, t = M.recall_at_precision(c, 0.99)
    assert r == 0.0 and math.isnan(t)
    # at threshold .5: tp 2, fp 4 -> P 1/3, R 1, F1 1/2
    assert M.prf_at_threshold(scores, pos, 0.5) == pytest.approx((1 / 3, 1.0, 0.5))
    # above every score nothing is predicted: precision 1 by convention, recall 0, F1 0
    assert M.prf_at_threshold(scores, pos, 0.99) == pytest.approx((1.0, 0.0, 0.0))


def test_recall_at_precision_by_hand():
    # scores .9 P, .8 P, .7 N, .6 P, .5 N   (3 positives)
    # threshold  precision  recall  F1
    #   .9        1/1       1/3     1/2
    #   .8        2/2       2/3     4/5
    #   .7        2/3       2/3     2/3
    #   .6        3/4       1       6/7
    #   .5        3/5       1       3/4
    s = np.array([.5, .9, .6, .8, .7])
    p = np.array([False, True, True, True, False])
    c = M.pr_curve(s, p)
    assert M.recall_at_precision(c, 0.99) == (pytest.approx(2 / 3), pytest.approx(0.8))
    assert M.recall_at_precision(c, 0.75) == (pytest.approx(1.0), pytest.approx(0.6))
    assert M.best_f1(c) == (pytest.approx(6 / 7), pytest.approx(0.6))


def test_tied_scores_are_one_threshold():
    # .5 P and .5 N tie: one point at .5 (tp 1, fp 1) then .4 P (tp 2, fp 1)
    c = M.pr_curve(np.array([.5, .5, .4]), np.array([True, False, True]))
    assert c.thresholds.tolist() == [.5, .4]
    assert c.precision.tolist() == pytest.approx([.5, 2 / 3])
    assert c.recall.tolist() == pytest.approx([.5, 1.0])


def test_ties_in_ranking_are_not_broken_by_file_order():
    # Everything ties; the mate of item 0 is item 1, right after it in file order. A stable sort would
    # put it first every time; the seeded shuffle puts it at a random place among the 21 others.
    n = 22
    sim = np.zeros((n, n))
    labels = np.array([0, 0] + [-1] * (n - 2))
    top1 = [M.top_k_accuracy(M.ranked_relevance(sim, labels, seed=s)[0], 1) for s in range(40)]
    assert np.mean(top1) < 0.3
    a = M.ranked_relevance(sim, labels, seed=3)[1]
    b = M.ranked_relevance(sim, labels, seed=3)[1]
    assert np.array_equal(a, b)


def test_identical_copies_score_perfectly():
    # groups of identical embeddings and far-away distractors: every metric is perfect
    sim = np.array([[1, 1, 0, 0, .1],
                    [1, 1, 0, 0, .1],
                    [0, 0, 1, 1, .2],
                    [0, 0, 1, 1, .2],
                    [.1, .1, .2, .2, 1]], dtype=float)
    labels = np.array([0, 0, 1, 1, -1])
    assert M.mean_average_precision(sim, labels) == 1.0
    c = M.pr_curve(*M.pair_scores(sim, labels))
    assert M.best_f1(c) == (1.0, 1.0)
    assert M.recall_at_precision(c, 0.99) == (1.0, 1.0)


def test_rank_of():
    order = np.array([[3, 1, 2], [2, 3, 1]])
    assert M.rank_of(order, np.array([2, 2])).tolist() == [2, 0]


def test_rank_among_others_ignores_the_querys_other_duplicates():
    # query 0's group is {0, 1, 2, 3}; 4 and 5 are unrelated. Its ranking: 1, 2, 4, 3, 5.
    order = np.array([[1, 2, 4, 3, 5]])
    rel = np.array([[True, True, False, True, False]])
    assert M.rank_of(order, np.array([3])).tolist() == [3]
    assert M.rank_among_others(order, rel, np.array([3])).tolist() == [1]   # only item 4 outranks it
    assert M.rank_among_others(order, rel, np.array([1])).tolist() == [0]   # first in the list
    assert M.rank_among_others(order, rel, np.array([2])).tolist() == [0]   # only a duplicate above it
    # two queries at once; the second's target comes after three unrelated items
    order2 = np.array([[1, 2, 4, 3, 5], [5, 4, 6, 0, 7]])
    rel2 = np.array([[True, True, False, True, False], [False, False, False, True, False]])
    assert M.rank_among_others(order2, rel2, np.array([3, 0])).tolist() == [1, 3]


def test_by_edit_recall_is_not_capped_by_group_size():
    """An original with 12 perfect copies: every copy must count as found, from both sides."""
    from imgsim_desktop.evaluation.bench import neardup_metrics
    from imgsim_desktop.evaluation.layout import Item
    from imgsim_desktop.evaluation.methods import Embedded

    rng = np.random.default_rng(0)
    kinds = ["original"] + [f"edit{i}" for i in range(12)]
    items, vecs = [], []
    for g in range(3):
        centre = rng.normal(size=16)
        for j, k in enumerate(kinds):  # copies get further from the original, edit11 the furthest
            items.append(Item(Path(f"g{g}/{k}.jpg"), "group", f"g{g}", k))
            vecs.append(centre + 0.01 * j * rng.normal(size=16))
    for d in range(20):
        items.append(Item(Path(f"d{d}.jpg"), "distractor", None, None))
        vecs.append(rng.normal(size=16))
    v = np.array(vecs, dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    e = Embedded("m", "model", v, np.ones(len(items), bool), np.zeros(len(items)), 0.0, "cpu", 0.9)
    nd = neardup_metrics(e, items, np.arange(len(items)))
    assert set(nd["recall_at_10_by_edit"]) == set(kinds[1:])
    assert all(r == 1.0 for r in nd["recall_at_10_by_edit"].values()), nd["recall_at_10_by_edit"]
