"""Duplicate groups: exact copies by content hash, verified copies ("duplicates"), similar shots by embedding
similarity ("similar").

"duplicates" is a promise that every member is the same photo, so it is two stages: candidate pairs
(generous: pairs above a low cut from the stored neighbour graph, core/neighbours.py, plus orientation-signature
matches) and a verifier that decides each pair (core/verify.py); only verified pairs join a group. "similar"
stays one stage: the graph's pairs above the tier's cut, components joined with union-find.
Single linkage can chain a long run of bursts into one group, so edges need *mutual* neighbours, and each
component is then split around its best photo so that every member is within the threshold of its keeper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .catalog import FileRecord
from .keeper import PADDED_BELOW, editor, record_key, short_software
from .keeper_choice import choose_keepers
from .units import partners
from .verify import ANOTHER_SHOT

NEIGHBOURS = 16


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
    reason: str = ""               # how it matched, for people: "same photo: cropped to 70 %, turned 90°"
    match: dict = field(default_factory=dict)  # the same for programs (core/verify.describe)
    pictures: int | None = 1       # pages or frames in the file: only the first was compared (None: not
                                   # counted yet, a row from before they were; ``note_pictures`` asks)

    def to_dict(self) -> dict:
        return {"path": self.path, "similarity": round(float(self.similarity), 4), "width": self.width,
                "height": self.height, "bytes": self.bytes, "format": self.format, "date_taken": self.date_taken,
                "file_id": self.file_id, "reference": self.reference, "reason": self.reason,
                "match": self.match, "pictures": self.pictures}


# what a similar group's member may be to its keeper for "mark all but keeper" to take it: the same photo, another
# shot of it (a burst) or a copy of such a shot; a different photo, or one not compared, is the user's call alone
MARKED_WITH_THE_REST = {"same photo", "another shot", "copy of another member"}


ANOTHER_PHOTO, SEVERAL_PICTURES = "another photo", "several pictures"
FIND_AGAIN = "find duplicates again"   # ends every refusal of a photo no longer what its group was found with


def left_by_mark_all(tier: str, m) -> str | None:
    """Why "all but keeper" leaves this non-keeper member to the user (None: it takes it): a similar member
    that is not the keeper's photo (or was not compared), or a file of several pictures whose others exist
    nowhere else (a byte-identical copy holds the same pages). One rule for the marks and for "Can free"."""
    match = getattr(m, "match", None) or {}
    if tier == "similar" and (match.get("kind") or "not compared") not in MARKED_WITH_THE_REST:
        return ANOTHER_PHOTO
    if (getattr(m, "pictures", 1) or 1) > 1 and not (tier == "exact" or match.get("exact")):
        return SEVERAL_PICTURES
    return None


def freed_with_the_rest(tier: str, m, keeper: str | None = None) -> bool:
    """Whether "all but keeper" frees this (non-keeper) member's bytes: not a reference photo, nor ``keeper``'s
    own RAW or JPEG (core/units.py: it goes with the keeper, whichever member the user keeps)."""
    return not getattr(m, "reference", False) and left_by_mark_all(tier, m) is None \
        and not (keeper is not None and partners(keeper, m.path))


@dataclass
class DuplicateGroup:
    tier: str                      # "exact" | "duplicates" | "similar"
    keeper: str
    members: list[GroupMember] = field(default_factory=list)  # keeper first
    keeper_reason: str = ""        # why the keeper was chosen (core/keeper.py)
    id: str = ""                   # stable: from the members' content hashes

    @property
    def reclaimable_bytes(self) -> int:
        return sum(m.bytes for m in self.members[1:] if freed_with_the_rest(self.tier, m, self.keeper))

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


def _join_exact_copies(records: dict[int, FileRecord], uf: "_UnionFind") -> dict[str, list[int]]:
    """Union every set of files with the same content (not empty files); returns hash -> file ids."""
    by_hash: dict[str, list[int]] = {}
    for fid, rec in records.items():
        if rec.hash and rec.size > 0:
            by_hash.setdefault(rec.hash, []).append(fid)
    for same in by_hash.values():
        for other in same[1:]:
            uf.union(same[0], other)
    return by_hash


# A chained component (A~B, B~C, ... at the "similar" cut they reach tens of thousands of photos at 300k) is
# split around its best photo, then the best one left, and so on: each round compares one keeper with every
# photo left, so the work grows with the square of the component. Components above this size are first cut
# apart at tighter cuts of their own pairs (see _cut_apart); below it the split is exact.
SPLIT_CAP = 8000
_BLOCK = 256  # candidate keepers compared with the rest in one matrix product


def _split_around_keepers(piece: list[int], records: dict[int, FileRecord], row_of: dict[int, int],
                          vectors: np.ndarray, threshold: float) -> list[tuple[FileRecord, list]]:
    """Split a component around its best photo: every member must itself be within the threshold of the
    keeper, so a chain of bursts (A~B, B~C, but A!~C) does not become one sprawling group. Then the same
    for the best photo left, until fewer than two are left. Returns (keeper, [(record, similarity)...])
    for each group of two or more. The similarities come from one matrix product per block of candidate
    keepers (a component of 8,000 photos costs well under a second)."""
    rest = sorted((records[f] for f in piece), key=keeper_key)
    n = len(rest)
    if n < 2:
        return []
    if n == 2:  # most pieces: no matrices
        k, r = rest
        if k.hash and k.hash == r.hash:
            s = 1.0
        else:
            vk, vr = row_of.get(k.id), row_of.get(r.id)
            s = float(np.dot(vectors[vk], vectors[vr])) if vk is not None and vr is not None else -1.0
        return [(k, [(k, 1.0), (r, s)])] if s >= threshold else []
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    mat = np.zeros((n, dim), dtype=np.float32)
    has_vec = np.zeros(n, dtype=bool)
    for i, r in enumerate(rest):
        row = row_of.get(r.id)
        if row is not None:
            mat[i], has_vec[i] = vectors[row], True
    codes: dict[str, int] = {}
    hashes = np.array([codes.setdefault(r.hash, len(codes)) if r.hash else -1 - i for i, r in enumerate(rest)])
    alive = np.ones(n, dtype=bool)
    out = []
    for k0 in range(0, n, _BLOCK):
        if not alive[k0:k0 + _BLOCK].any():
            continue
        block = mat[k0:k0 + _BLOCK] @ mat[k0:].T   # each candidate keeper against every photo after k0
        for k in range(k0, min(n, k0 + _BLOCK)):
            if not alive[k]:
                continue
            idx = k + np.flatnonzero(alive[k:])    # the keeper and every photo left after it
            sims = block[k - k0, idx - k0] if has_vec[k] else np.full(len(idx), -1.0, dtype=np.float32)
            sims = np.where(has_vec[idx], sims.astype(np.float64), -1.0)   # compared as Python floats were
            sims = np.where(hashes[idx] == hashes[k], 1.0, sims)   # same content: 1.0, as before
            take = sims >= threshold
            take[0] = True                         # the keeper itself
            alive[k] = False
            inside = idx[take]
            if len(inside) >= 2:
                alive[inside] = False
                out.append((rest[k], [(rest[i], float(s)) for i, s in zip(inside.tolist(), sims[take].tolist())]))
    return out


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of nodes 0..n-1 joined by edges a[i]-b[i], in numpy: each node's label is the
    smallest node of its component. Roots hook onto the smaller root across each edge, then paths are
    halved until every node points at its root; a few rounds even for long chains."""
    parent = np.arange(n)
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    while True:
        ra, rb = parent[a], parent[b]
        split = ra != rb
        if not split.any():
            return parent
        lo, hi = np.minimum(ra[split], rb[split]), np.maximum(ra[split], rb[split])
        np.minimum.at(parent, hi, lo)
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up


def _cut_apart(members: list[int], records: dict[int, FileRecord], pairs, threshold: float,
               step: float = 0.01) -> list[list[int]]:
    """A component larger than SPLIT_CAP, cut into pieces of at most SPLIT_CAP by raising the cut on its own
    candidate pairs (exact copies stay joined) until each piece fits; a piece that no cut splits (thousands of
    copies of one file) is kept whole. Photos the tighter cut leaves alone drop out of the grouping."""
    node = np.asarray(members, dtype=np.int64)
    order = np.argsort(node)
    node = node[order]
    pa, pb, ps = (np.asarray(p) for p in pairs)
    ia, ib = np.searchsorted(node, pa), np.searchsorted(node, pb)
    ia, ib = np.minimum(ia, len(node) - 1), np.minimum(ib, len(node) - 1)
    inside = (node[ia] == pa) & (node[ib] == pb)
    ea, eb, es = ia[inside], ib[inside], ps[inside].astype(np.float64)
    # exact copies: each file joined to the first of its content, at every cut
    first: dict[str, int] = {}
    ca, cb = [], []
    for i, f in enumerate(node.tolist()):
        h = records[f].hash
        if h and records[f].size > 0:
            j = first.setdefault(h, i)
            if j != i:
                ca.append(j)
                cb.append(i)
    ca, cb = np.array(ca, dtype=np.int64), np.array(cb, dtype=np.int64)
    labels: dict[float, np.ndarray] = {}  # components of the whole component at each cut (pieces share them)
    out, todo = [], [(np.arange(len(node)), threshold)]
    while todo:
        piece, cut = todo.pop()
        if len(piece) <= SPLIT_CAP or cut >= 1.0:
            out.append(node[piece].tolist())
            continue
        cut = min(1.0, cut + step)
        if cut not in labels:
            keep = es >= cut
            labels[cut] = _components(len(node), np.concatenate([ea[keep], ca]), np.concatenate([eb[keep], cb]))
        lab = labels[cut][piece]  # a piece is a component at a looser cut: its parts at this cut lie inside it
        srt = np.argsort(lab, kind="stable")
        bounds = np.flatnonzero(np.diff(lab[srt])) + 1
        for g in np.split(piece[srt], bounds):
            if len(g) > 1:
                todo.append((g, cut))
    return out


def find_groups(records: dict[int, FileRecord], ids: np.ndarray, vectors: np.ndarray,
                pairs: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float, tier: str,
                keeper_rules=None, references=()) -> list[DuplicateGroup]:
    """Group files. ``pairs`` = (a, b, sim) arrays of candidate pairs at or above ``threshold``, from the
    stored neighbour graph (:func:`.neighbours.candidate_pairs`) or a k-NN query (:func:`.neighbours.knn_pairs`);
    ``ids``/``vectors`` hold (at least) every candidate's vector, ``records`` every candidate's file."""
    uf = _UnionFind()
    _join_exact_copies(records, uf)  # exact copies always belong together, whatever the threshold
    pa, pb = np.asarray(pairs[0], dtype=np.int64), np.asarray(pairs[1], dtype=np.int64)
    for a, b in zip(pa.tolist(), pb.tolist()):
        uf.union(a, b)

    row_of = {int(f): i for i, f in enumerate(np.asarray(ids).tolist())}
    vectors = np.asarray(vectors, dtype=np.float32)
    groups: list[DuplicateGroup] = []
    for comp in uf.groups():
        members = [f for f in comp if f in records]
        pieces = [members] if len(members) <= SPLIT_CAP else _cut_apart(members, records, pairs, threshold)
        for piece in pieces:
            for keeper, inside in _split_around_keepers(piece, records, row_of, vectors, threshold):
                members_ = [GroupMember(r.id, r.path, 1.0 if r is keeper else s, r.width, r.height, r.size, r.format,
                                        r.date_taken, r.mtime_ns, pictures=r.pictures) for r, s in inside]
                exact = len({r.hash for r, _ in inside}) == 1
                groups.append(DuplicateGroup("exact" if exact else tier, keeper.path, members_))
    choose_keepers(groups, records, keeper_rules, references)
    for g in groups:   # similarities to the keeper the rule chose, not to the photo the split began with
        k = g.members[0]
        kh, kv = getattr(records.get(k.file_id), "hash", None), row_of.get(k.file_id)
        for m in g.members:
            row, h = row_of.get(m.file_id), getattr(records.get(m.file_id), "hash", None)
            if m is k or (kh and h == kh):
                m.similarity = 1.0
            elif kv is not None and row is not None:
                m.similarity = float(np.dot(vectors[kv], vectors[row]))
    groups.sort(key=lambda g: (-g.reclaimable_bytes, g.keeper))
    return groups


# --------------------------------------------------------------------------- verified "duplicates" groups

# Cosine cut for a pair to be *proposed* to the verifier: recall first, the verifier decides. Measured on the
# dev bench with orientations and screenshots (docs/benchmark.md).
CANDIDATE_SIM = 0.55

Pair = tuple[int, int, float]


def _is_full(match: dict) -> bool:
    """The whole photo, not a crop of it nor a screenshot / padded copy."""
    return match.get("inset_fraction", 1.0) >= PADDED_BELOW and match.get("crop_fraction", 1.0) >= 0.93


# Deciding ahead turns from the surely-asked pairs to every pair left unjoined once a round finds fewer copies
# than this share of what it asked: copies still to be found would make that round's other pairs moot.
SWITCH_SAME = 0.02


def _decide_ahead(order: list[Pair], records: dict[int, FileRecord], rep: dict[int, int], uf: "_UnionFind",
                  decide) -> None:
    """Have ``decide`` verify, many at a time, every pair the one-by-one pass below will ask about.

    That pass skips a pair already joined through pairs verified before it, so which pairs it asks depends on
    earlier answers. Replayed assuming every undecided pair is the same photo, it joins at least as much as it
    will for real, so every pair still unjoined then is surely asked: a round decides those, none in vain.
    Replayed joining only the pairs known to be the same photo, it joins at most as much as the real pass, so
    every pair it leaves unjoined may be asked: once a round of the first kind finds hardly any copies
    (``SWITCH_SAME``), one round of this kind decides them all at once, a few in vain if copies remain among
    them. Surely-asked rounds alone took 13 on a 5,389-photo library of distinct photos, each decoding again
    the photos the feature cache had let go since the last (8,362 decodes for 5,052 photos, 7,265 in two
    rounds); switching after the first round whatever it found verified 16 % more pairs on the dev copies
    bench, where copies of copies fail where the original would not. The pass then finds every answer
    decided: the same verdicts and groups as asking one by one."""
    known: dict[tuple[int, int], object] = {}
    start, parent, optimistic = 0, dict(uf.parent), True
    while True:
        trial = _UnionFind()
        trial.parent = dict(parent)
        ask: list[tuple[int, int]] = []
        for i in range(start, len(order)):
            a, b, _ = order[i]
            if a not in records or b not in records:
                continue
            ra, rb = rep.get(a, a), rep.get(b, b)
            if ra == rb or trial.find(a) == trial.find(b):
                continue
            if (ra, rb) not in known and (rb, ra) not in known:
                if not ask:   # everything before this pair is settled
                    start, parent = i, dict(trial.parent)
                ask.append((ra, rb))
                if optimistic:
                    trial.union(a, b)
                continue
            v = known.get((ra, rb), known.get((rb, ra)))
            if v is not None and v.same:
                trial.union(a, b)
        if not ask:
            return
        got = decide(ask)
        known.update(got)
        found = sum(1 for v in got.values() if v is not None and v.same)
        optimistic = optimistic and found >= SWITCH_SAME * len(ask)


MAX_REFERENCE_MOVES = 3   # a group described around a better reference at most this often


def _another_shot(v) -> bool:
    return v is not None and not v.same and ANOTHER_SHOT in (v.why or "")


def saved_by(keeper, rec) -> str | None:
    """The editor that saved ``rec``, when not the keeper's own (EXIF Software, without its version): an export
    says so, since a photographer may keep an edit on purpose."""
    made_by = editor(getattr(rec, "software", None))
    if made_by and short_software(made_by) != short_software(editor(getattr(keeper, "software", None)) or ""):
        return short_software(made_by)
    return None


def _members(keeper: FileRecord, inside: list, size, sim_of) -> list[GroupMember]:
    """Each member as matched against the group's reference (``keeper``): how, and why in words."""
    from .match_reason import describe, reason

    members = []
    # the reference as the others see it: a padded copy or a crop of one of them shows it here
    seen = [describe(v.swapped(), size(r), size(keeper)) for r, v in inside if v is not None and v != "exact"]
    for r, v in inside:
        if v is None:
            match, why = {"exact": False, "orientation": "none",
                          "crop_fraction": min((m["crop_fraction"] for m in seen), default=1.0),
                          "inset_fraction": min((m["inset_fraction"] for m in seen), default=1.0),
                          "grey": False, "scale": 1.0, "reference": True}, \
                "the whole photo the others were matched against"
        elif v == "exact":
            match = describe(None, size(keeper), size(r), exact=True)
            why = reason(match)
        else:
            match = describe(v, size(keeper), size(r))
            if saved_by(keeper, r):
                match["editor"] = saved_by(keeper, r)
            why = reason(match)
        s = 1.0 if v is None or v == "exact" else (sim_of(keeper.id, r.id) if sim_of else 0.0)
        members.append(GroupMember(r.id, r.path, s, r.width, r.height, r.size, r.format, r.date_taken,
                                   r.mtime_ns, reason=why, match=match, pictures=r.pictures))
    return members


def _better_reference(keeper: FileRecord, inside: list, members: list[GroupMember], records, full: dict, rep: dict,
                      tier: str, keeper_rules, references, traces=None) -> FileRecord | None:
    """A member to group around instead of ``keeper``, or None. The first reference is chosen from file facts
    and the pairs verified so far; matched against every member, it may turn out to be a padded copy or a crop
    of one of them (a captioned copy on a taller canvas has the most pixels), or the keeper rule, seeing every
    member's match, may prefer another photo (a stretched or noisy copy was the largest file). Descriptions
    then read against the photo kept: "stretched 130 % wide", not the original "squeezed"."""
    if not _is_full(members[0].match):   # the reference, as the others see it
        kx = rep.get(keeper.id, keeper.id)
        for f in full:   # the keeper and its exact copies
            if rep.get(f, f) == kx:
                full[f] = False
    if not full.get(keeper.id, True):
        whole = [r for r, _ in inside if r is not keeper and full.get(r.id, True) and r.hash != keeper.hash]
        return min(whole, key=keeper_key) if whole else None
    trial = DuplicateGroup(tier, keeper.path, list(members))
    choose_keepers([trial], records, keeper_rules, references, traces)
    top = records.get(trial.members[0].file_id)
    # an identical copy too: kept (a reference folder's), it is the one the others read against, not "exact copy"
    if top is None or top.id == keeper.id or not full.get(top.id, True):
        return None
    return top


def verified_groups(records: dict[int, FileRecord], candidates: list[Pair], verdict, sim_of=None,
                    tier: str = "duplicates", keeper_rules=None, references=(), decide=None,
                    traces=None) -> list[DuplicateGroup]:
    """Groups of the same photo. ``verdict(a, b) -> PairVerdict | None`` (seen from a's side; cached by the
    caller) decides each candidate pair; ``sim_of(a, b)`` gives the global similarity shown to users.
    ``decide(pairs) -> {(a, b): verdict}``, if given, verifies many pairs at once (on all cores) before they
    are asked one by one; the groups are the same either way.

    Exact copies (same content hash) always join. Each component of verified pairs is split around its
    reference photo, the best *whole* photo (not a crop, not a screenshot): a member stays only when it is
    verified against the reference itself, so a chain of crops never joins two photos that share nothing.
    """
    from .match_reason import describe
    from .shots import as_taken

    pixels, decide_pixels = verdict, decide

    def verdict(x: int, y: int):   # two frames of one camera taken apart are two shots, whatever the pixels say
        return as_taken(pixels(x, y), records.get(x), records.get(y))

    if decide_pixels is not None:
        def decide(pairs):
            return {k: as_taken(v, records.get(k[0]), records.get(k[1])) for k, v in decide_pixels(pairs).items()}

    uf = _UnionFind()
    by_hash = _join_exact_copies(records, uf)
    # the verifier sees one file per content: exact copies share its verdicts
    rep = {fid: same[0] for same in by_hash.values() for fid in same}
    verified: dict[tuple[int, int], object] = {}
    # Most likely pairs first; a pair already joined through verified pairs needs no check of its own (the
    # split below verifies every member against its reference anyway), so a photo with 20 copies costs about
    # 20 verifications rather than 190.
    order = sorted(candidates, key=lambda c: -c[2])
    if decide is not None:
        _decide_ahead(order, records, rep, uf, decide)
    for a, b, _ in order:
        if a not in records or b not in records:
            continue
        ra, rb = rep.get(a, a), rep.get(b, b)
        if ra == rb or uf.find(a) == uf.find(b):
            continue
        v = verdict(ra, rb)
        if v is not None and v.same:
            verified[(ra, rb)] = v
            uf.union(a, b)

    def pair(x: int, y: int):
        """Verdict of y seen from x, from the verified set or asked for."""
        rx, ry = rep.get(x, x), rep.get(y, y)
        if (rx, ry) in verified:
            return verified[(rx, ry)]
        if (ry, rx) in verified:
            return verified[(ry, rx)].swapped()
        return verdict(rx, ry)

    def size(r: FileRecord) -> tuple[int, int]:
        return (r.width or 1, r.height or 1)

    # each component's verified pairs, sorted out once (a pass over all of them per component was quadratic)
    in_comp: dict[int, list] = {}
    for (x, y), v in verified.items():
        in_comp.setdefault(uf.find(x), []).append((x, y, v))
    groups: list[DuplicateGroup] = []
    for comp in uf.groups():
        recs = {f: records[f] for f in comp if f in records}
        # how each member looks against its verified partners: a crop or a screenshot never leads
        full: dict[int, bool] = {f: True for f in recs}
        for x, y, v in in_comp.get(uf.find(comp[0]), ()):
            for fx, fy, vv in ((x, y, v), (y, x, v.swapped())):
                if fx in recs and fy in recs:
                    m = describe(vv, size(recs[fx]), size(recs[fy]))
                    if not _is_full(m):
                        for f in recs:
                            if rep.get(f, f) == fy:
                                full[f] = False
        rest = sorted(recs.values(), key=lambda r: (not full[r.id], keeper_key(r)))

        def around(keeper: FileRecord, others: list[FileRecord]) -> tuple[list, list[FileRecord]]:
            """The members verified against ``keeper`` (with their verdicts), and the others."""
            inside, left = [(keeper, None)], []
            if decide is not None:   # the keeper against every member not yet verified with it, at once
                kx = rep.get(keeper.id, keeper.id)
                ry = {rep.get(r.id, r.id) for r in others if not (r.hash and r.hash == keeper.hash)}
                decide(sorted((kx, y) for y in ry if (kx, y) not in verified and (y, kx) not in verified))
            for r in others:
                if r.hash and r.hash == keeper.hash:
                    inside.append((r, "exact"))
                    continue
                v = pair(keeper.id, r.id)
                if v is not None and v.same:
                    inside.append((r, v))
                else:
                    left.append(r)
            return inside, left

        while len(rest) >= 2:
            keeper = rest[0]
            inside, left = around(keeper, rest[1:])
            rest = left
            if len(inside) < 2:
                continue
            members = _members(keeper, inside, size, sim_of)
            for _ in range(MAX_REFERENCE_MOVES):
                better = _better_reference(keeper, inside, members, records, full, rep, tier, keeper_rules,
                                           references, traces)
                if better is None:
                    break
                # described against the photo the keeper rule prefers, when every member is verified against it
                # too: the group's members stay the ones verified against the first reference
                moved, out = around(better, [r for r, _ in inside if r is not better])
                if out and (len(moved) < 2 or not any(_another_shot(pair(better.id, r.id)) for r in out)):
                    break
                # a member that is another shot of the photo kept (a burst's third frame, the same photo as
                # the second only) leaves the group rather than go to the trash with the rest
                rest = sorted(rest + out, key=lambda r: (not full[r.id], keeper_key(r)))
                keeper, inside = better, moved
                members = _members(keeper, inside, size, sim_of)
            exact = len({r.hash for r, _ in inside}) == 1
            groups.append(DuplicateGroup("exact" if exact else tier, keeper.path, members))
    # the keeper rule has the last word (camera original, reference folders), seeing each member's match
    choose_keepers(groups, records, keeper_rules, references, traces)
    groups.sort(key=lambda g: (-g.reclaimable_bytes, g.keeper))
    return groups


def pictures_words(n: int) -> str:
    return f"holds {n} pictures (pages or frames): only its first was compared"


def note_pictures(groups: list[DuplicateGroup], count=None) -> list[DuplicateGroup]:
    """A member holding several pictures says so beside how it matched: "same photo" is about its first only
    (a multi-page TIFF, an animated GIF), and the rest exist nowhere else in the group. ``count(member)``
    counts a member whose row predates the count (else it counts as one)."""
    for g in groups:
        for m in g.members:
            if m.pictures is None:
                m.pictures = count(m) if count is not None else 1
            words = pictures_words(m.pictures)
            if m.pictures > 1 and words not in m.reason:
                m.reason = f"{m.reason}; {words}" if m.reason else words
    return groups
