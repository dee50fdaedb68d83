"""Duplicate groups: exact copies by content hash, near-duplicates and similar shots by embedding similarity.

Near-duplicate edges come from each photo's k nearest neighbours above a threshold, stored in the catalog
(core/neighbours.py), so grouping a library reads pairs rather than querying every photo again. Components
are joined with union-find.
Single linkage can chain a long run of bursts into one group, so edges need *mutual* neighbours, and each
component is then split around its best photo so that every member is within the threshold of its keeper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .catalog import FileRecord
from .keeper import choose_keepers, record_key

# Cosine-similarity cuts belong to the model that made the vectors: a model card carries its own
# "thresholds", chosen by `imgsim bench-calibrate` from its benchmark figures (docs/benchmark.md). These are
# the fallback for a card without them (they were chosen the same way for imgsim-ae v1/v2).
DEFAULT_THRESHOLDS = {"duplicates": 0.75, "similar": 0.64}
TIERS = ("duplicates", "similar")
NEIGHBOURS = 16


def model_thresholds(card: dict | None) -> dict[str, float]:
    """The card's own thresholds when it has sane ones (both tiers, -1..1, similar <= duplicates), else the
    fallback."""
    t = (card or {}).get("thresholds")
    try:
        out = {tier: float(t[tier]) for tier in TIERS}
    except (TypeError, KeyError, ValueError):
        return dict(DEFAULT_THRESHOLDS)
    if not all(-1.0 <= v <= 1.0 for v in out.values()) or out["similar"] > out["duplicates"]:
        return dict(DEFAULT_THRESHOLDS)
    return out


@dataclass
class GroupMember:
    file_id: int
    path: str
    similarity: float
    width: int | None
    height: int | None
    bytes: int
    format: str | None
    date_taken: str | None
    mtime_ns: int
    reference: bool = False        # in a reference folder: always kept, never marked

    def to_dict(self) -> dict:
        return {"path": self.path, "similarity": round(float(self.similarity), 4), "width": self.width,
                "height": self.height, "bytes": self.bytes, "format": self.format, "date_taken": self.date_taken,
                "file_id": self.file_id, "reference": self.reference}


@dataclass
class DuplicateGroup:
    tier: str                      # "exact" | "duplicates" | "similar"
    keeper: str
    members: list[GroupMember] = field(default_factory=list)  # keeper first
    keeper_reason: str = ""        # why the keeper was chosen (core/keeper.py)
    id: str = ""                   # stable: from the members' content hashes

    @property
    def reclaimable_bytes(self) -> int:
        return sum(m.bytes for m in self.members[1:])

    def to_dict(self) -> dict:
        return {"id": self.id, "tier": self.tier, "keeper": self.keeper, "keeper_reason": self.keeper_reason,
                "size": len(self.members),
                "reclaimable_bytes": self.reclaimable_bytes, "members": [m.to_dict() for m in self.members]}


def keeper_key(rec: FileRecord):
    """Best first by file-level evidence of being the original (core/keeper.py); the group's keeper is then
    chosen with the group's own evidence and reference folders by ``choose_keepers``."""
    return record_key(rec)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        p = self.parent.setdefault(x, x)
        while p != self.parent.setdefault(p, p):
            self.parent[p] = self.parent[self.parent[p]]
            p = self.parent[p]
        self.parent[x] = p
        return p

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for x in list(self.parent):
            out.setdefault(self.find(x), []).append(x)
        return [g for g in out.values() if len(g) > 1]


def find_groups(records: dict[int, FileRecord], ids: np.ndarray, vectors: np.ndarray,
                pairs: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float, tier: str,
                keeper_rules=None, references=()) -> list[DuplicateGroup]:
    """Group files. ``pairs`` = (a, b, sim) arrays of candidate pairs at or above ``threshold``, from the
    stored neighbour graph (:func:`.neighbours.candidate_pairs`) or a k-NN query (:func:`.neighbours.knn_pairs`);
    ``ids``/``vectors`` hold (at least) every candidate's vector, ``records`` every candidate's file."""
    uf = _UnionFind()
    # Exact copies always belong together, whatever the threshold.
    by_hash: dict[str, list[int]] = {}
    for fid, rec in records.items():
        if rec.hash and rec.size > 0:
            by_hash.setdefault(rec.hash, []).append(fid)
    for same in by_hash.values():
        for other in same[1:]:
            uf.union(same[0], other)

    for a, b in zip(np.asarray(pairs[0]).tolist(), np.asarray(pairs[1]).tolist()):
        uf.union(a, b)

    vec_of = {int(f): v for f, v in zip(ids, vectors)} if len(ids) else {}

    def sim(a: FileRecord, b: FileRecord) -> float:
        if a.hash and a.hash == b.hash:
            return 1.0
        va, vb = vec_of.get(a.id), vec_of.get(b.id)
        return float(np.dot(va, vb)) if va is not None and vb is not None else -1.0

    groups: list[DuplicateGroup] = []
    for comp in uf.groups():
        rest = sorted((records[f] for f in comp if f in records), key=keeper_key)
        # Split each component around its best photo: every member must itself be within the threshold of
        # the keeper, so a chain of bursts (A~B, B~C, but A!~C) does not become one sprawling group.
        while len(rest) >= 2:
            keeper = rest[0]
            sims = [sim(keeper, r) for r in rest]
            inside = [(r, s) for r, s in zip(rest, sims) if r is keeper or s >= threshold]
            rest = [r for r, s in zip(rest, sims) if r is not keeper and s < threshold]
            if len(inside) < 2:
                continue
            members = [GroupMember(r.id, r.path, 1.0 if r is keeper else s, r.width, r.height, r.size, r.format,
                                   r.date_taken, r.mtime_ns) for r, s in inside]
            exact = len({r.hash for r, _ in inside}) == 1
            groups.append(DuplicateGroup("exact" if exact else tier, keeper.path, members))
    choose_keepers(groups, records, keeper_rules, references)
    groups.sort(key=lambda g: (-g.reclaimable_bytes, g.keeper))
    return groups
