"""Lookalike results ranked for a person: the same photo first, then the same kind of picture.

A raw nearest-neighbour list in the lookalike space shows a photo's backup copy as two results, mixes its
edited copies in among strangers, and gives scores whose meaning depends on the space. Here byte-identical
files are shown once (with their copies), files with the query's own bytes come first ("exact"), then its
near-duplicates by their duplicate-space score ("duplicate"), then lookalikes by their lookalike score; each
result says which space its score comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

EXACT, DUPLICATE, LOOKALIKE = "exact", "duplicate", "lookalike"

# Lookalikes are searched twice: the query, then the query plus its EXPANSION nearest lookalikes (average
# query expansion). The closest lookalikes are mostly right, and their sum points at what they share (a
# tiger's kind) rather than at this photo's background. Dev lookalikes, v4 head: precision@10 0.540 -> 0.566
# with 3 (0.557 with 1, 0.564 with 5, 0.561 with 8); docs/training.md. Only neighbours at least
# EXPANSION_FLOOR alike take part: in a small library with nothing of the query's kind, the "closest"
# lookalikes are strangers (cosine 0.07-0.23 for a dragonfly among 33 demo photos) and the expanded search
# would rank by them. The floor costs 0.004 on the dev classes (0.562), where the median top-3 is 0.60.
EXPANSION = 3
EXPANSION_FLOOR = 0.5
_ORDER = {EXACT: 0, DUPLICATE: 1, LOOKALIKE: 2}


@dataclass
class SimilarResult:
    file_id: int
    path: str
    score: float
    space: str = "lookalikes"                 # the space ``score`` comes from
    kind: str = LOOKALIKE                     # exact | duplicate | lookalike
    copies: list[str] = field(default_factory=list)   # other files with these exact bytes, shown as one
    match: dict | None = None   # a near-duplicate verified against the query (core/lookalike_verdicts.py):
    reason: str = ""            # same_photo true / false / None, kind, why; and the words for people

    def to_dict(self) -> dict:
        """``kind`` is where the score ranks it (the query's bytes, a near-duplicate's score, a lookalike's), no
        verdict: ``same_photo`` is the verifier's (true, false, or null: not compared), so a script need not
        read a near-duplicate the verifier refused as a copy (an outside try)."""
        same = True if self.kind == EXACT else (self.match or {}).get("same_photo")
        d = {"path": self.path, "score": round(float(self.score), 4), "file_id": self.file_id,
             "space": self.space, "kind": self.kind, "same_photo": same, "copies": list(self.copies)}
        if self.match is not None:
            d["match"], d["reason"] = dict(self.match), self.reason
        return d


def rank_for_person(k: int, hashes: Mapping[int, str | None], paths: Mapping[int, str],
                    look_hits: Sequence[tuple[int, float]], dup_hits: Sequence[tuple[int, float]],
                    dup_cut: float, query_hash: str | None = None,
                    primary: str = "lookalikes") -> list[SimilarResult]:
    """Merge the two spaces' hits into at most ``k`` results (see the module docstring).

    ``primary`` is the space the caller asked for: with "duplicates", files below the duplicate cut are
    ranked by their duplicate-space score instead of the lookalike one."""
    dup = {i: s for i, s in dup_hits if i in paths}
    results: dict[int, SimilarResult] = {}
    for i, s in dup.items():
        if query_hash is not None and hashes.get(i) == query_hash:
            results[i] = SimilarResult(i, paths[i], 1.0, "duplicates", EXACT)
        elif s >= dup_cut:
            results[i] = SimilarResult(i, paths[i], float(s), "duplicates", DUPLICATE)
        elif primary == "duplicates":
            results[i] = SimilarResult(i, paths[i], float(s), "duplicates", LOOKALIKE)
    if primary != "duplicates":
        for i, s in look_hits:
            if i in paths and i not in results:
                if query_hash is not None and hashes.get(i) == query_hash:
                    results[i] = SimilarResult(i, paths[i], 1.0, "duplicates", EXACT)
                else:
                    results[i] = SimilarResult(i, paths[i], float(s), "lookalikes", LOOKALIKE)
    ranked = sorted(results.values(), key=lambda r: (_ORDER[r.kind], -r.score, r.path))
    out: list[SimilarResult] = []
    by_hash: dict[str, SimilarResult] = {}
    for r in ranked:
        h = hashes.get(r.file_id)
        if h is not None and h in by_hash:
            by_hash[h].copies.append(r.path)
            continue
        if h is not None:
            by_hash[h] = r
        out.append(r)
    return out[:k]


def expanded_query(query: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """The query (unit length) plus those of its nearest lookalikes' vectors that are at least
    EXPANSION_FLOOR alike, unit length again: average query expansion, one extra index query at search time
    and no change to what is stored."""
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    q = q / max(float(np.linalg.norm(q)), 1e-12)
    n = np.asarray(neighbours, dtype=np.float32).reshape(-1, q.shape[0])
    n = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    e = q + n[n @ q >= EXPANSION_FLOOR].sum(axis=0)
    return (e / max(float(np.linalg.norm(e)), 1e-12)).astype(np.float32)
