"""Verification on every core (core/pair_verifier.py, ``duplicates._decide_ahead``): the groups and the verdicts
are those of asking one pair at a time, every pair asked one by one is decided ahead in few rounds (few in
vain), and a cancel or an unreadable photo behaves as it does one by one."""

from __future__ import annotations

import os
import random

import pytest

from imgsim_desktop.core.catalog import FileRecord
from imgsim_desktop.core.duplicates import SWITCH_SAME, _decide_ahead, _UnionFind, verified_groups
from imgsim_desktop.core.errors import Cancelled
from imgsim_desktop.core.pair_verifier import CACHE_BYTES, PairVerifier, _nbytes
from imgsim_desktop.core.progress import CancelToken, Progress
from imgsim_desktop.core.verify import PairVerdict
from photos import scene


def rec(i, path=None, h=None, w=400):
    """A catalog record; for a real file, with its size and time as a scan stores them (the verifier skips a
    file that is no longer the one indexed)."""
    size, mtime = 1000 + i, 0
    if path is not None and os.path.exists(path):
        st = os.stat(path)
        size, mtime = st.st_size, st.st_mtime_ns
    return FileRecord(i, path or f"/p/{i}.jpg", size, mtime, h or f"hash{i}", w, 300, "JPEG", None, "ok", None)


def world(seed: int):
    """A random candidate graph over photos that fall into hidden sets of one photo each, with some exact
    copies and some verdicts that are wrong (a copy missed), so that which pairs a one-by-one pass asks
    depends on its earlier answers."""
    rng = random.Random(seed)
    n = rng.randint(20, 60)
    photo_of = {i: rng.randrange(max(2, n // 4)) for i in range(n)}
    hashes = {i: f"h{i}" for i in range(n)}
    for i in range(n):                      # a few exact copies share a content hash
        if rng.random() < 0.1:
            j = rng.randrange(n)
            if photo_of[j] == photo_of[i]:
                hashes[i] = hashes[j]
    records = {i: rec(i, h=hashes[i], w=rng.choice((300, 400, 800))) for i in range(n)}
    pairs = set()
    for _ in range(rng.randint(n, 4 * n)):
        a, b = rng.sample(range(n), 2)
        pairs.add((min(a, b), max(a, b)))
    candidates = [(a, b, rng.random()) for a, b in sorted(pairs)]
    missed = {p for p in pairs if rng.random() < 0.15}

    def truth(a: int, b: int) -> PairVerdict:
        same = photo_of[a] == photo_of[b] and (min(a, b), max(a, b)) not in missed
        return PairVerdict(same, "same" if same else "different", 50 if same else 3, 0.9, 0.9,
                           [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], (320, 240), (320, 240))
    return records, candidates, truth


def shape(groups):
    return [(g.tier, g.keeper, sorted((m.path, m.reason) for m in g.members)) for g in groups]


@pytest.mark.parametrize("seed", range(40))
def test_deciding_ahead_decides_every_pair_one_by_one_asks_and_few_in_vain(seed):
    records, candidates, truth = world(seed)
    one_by_one: list[tuple[int, int]] = []

    def verdict_seq(a, b):
        one_by_one.append((a, b))
        return truth(a, b)

    expected = verified_groups(records, candidates, verdict_seq)

    decided: dict[tuple[int, int], PairVerdict] = {}
    batches: list[int] = []
    late: list[tuple[int, int]] = []

    def decide(pairs):   # as PairVerifier.decide: a pair decided either way round is not verified again
        batches.append(len(pairs))
        out = {}
        for p in pairs:
            if p in decided or p[::-1] in decided:
                continue
            decided[p] = out[p] = truth(*p)
        return out

    def verdict_after(a, b):
        if (a, b) in decided or (b, a) in decided:
            return truth(a, b)
        late.append((a, b))
        return truth(a, b)

    got = verified_groups(records, candidates, verdict_after, decide=decide)
    assert shape(got) == shape(expected)
    assert not late, "the one-by-one pass found a pair not decided ahead"
    unordered = {frozenset(p) for p in one_by_one}
    ahead = {frozenset(p) for p in decided}
    assert unordered <= ahead and len(decided) == len(ahead)
    # in vain: pairs the last round asked that a copy found in it then joined (0.05 % over these 40 worlds,
    # where a quarter of the photos are copies; none on a library of distinct photos)
    assert len(ahead - unordered) <= 0.1 * len(unordered) + 1

    # surely-asked rounds while they find copies, then one round of every pair left unjoined; with no copies
    # at all (a library of distinct photos), two rounds
    for world_truth in (truth, lambda a, b: PairVerdict(False, "different")):
        rounds = []
        _decide_ahead(sorted(candidates, key=lambda c: -c[2]), records, {}, _UnionFind(),
                      lambda pairs: rounds.append([world_truth(*p).same for p in pairs]) or
                      {p: world_truth(*p) for p in pairs})
        quiet = next((i for i, r in enumerate(rounds) if sum(r) < SWITCH_SAME * len(r)), len(rounds))
        assert len(rounds) <= quiet + 2
    assert len(rounds) <= 2


def test_verifying_on_threads_gives_the_verdicts_of_one_thread(tmp_path):
    from PIL import ImageOps

    paths = []
    for i in range(4):
        img = scene(300 + i)
        for name, copy in (("o", img), ("g", ImageOps.grayscale(img).convert("RGB")),
                           ("c", img.crop((40, 30, 440, 330))), ("t", img.rotate(90, expand=True))):
            p = tmp_path / f"{i}{name}.jpg"
            copy.save(p, quality=88)
            paths.append(str(p))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    paths.append(str(tmp_path / "broken.jpg"))
    records = {i: rec(i, path=p) for i, p in enumerate(paths)}
    pairs = [(a, b) for a in records for b in records if a < b]

    one = PairVerifier(records, workers=1)
    seq = {p: one.verdict(*p) for p in pairs}
    progress = Progress()
    progress.start("verifying", len(pairs))
    many = PairVerifier(records, workers=3, progress=progress)
    par = many.decide(pairs)
    assert {p: v and v.to_dict() for p, v in par.items()} == {p: v and v.to_dict() for p, v in seq.items()}
    assert sum(v.same for v in seq.values() if v) >= 12          # the copies verified (not all missed)
    assert many.verified == one.verified == len(pairs) - (len(records) - 1)   # the broken file's pairs: none
    assert progress.state.done == len(pairs)                    # every pair counted once, broken ones too
    assert [p for p, _ in many.errors] == [str(tmp_path / "broken.jpg")]   # reported once, not per pair
    assert len(many.fresh) == many.verified
    # asked again, everything is decided: nothing verified twice, nothing counted twice
    many.decide(pairs)
    assert many.verified == one.verified and progress.state.done == len(pairs)


def test_a_cancel_stops_the_threads_and_keeps_what_they_verified(tmp_path):
    paths = []
    for i in range(12):
        p = tmp_path / f"{i}.jpg"
        scene(400 + i).save(p, quality=85)
        paths.append(str(p))
    records = {i: rec(i, path=p) for i, p in enumerate(paths)}
    pairs = [(a, b) for a in records for b in records if a < b]
    token = CancelToken()

    class StopAfterFive(Progress):
        def advance(self, n=1, failed=0, message=""):
            super().advance(n, failed, message)
            if self.state.done == 5:
                token.cancel()

    progress = StopAfterFive()
    progress.start("verifying", len(pairs))
    v = PairVerifier(records, workers=2, progress=progress, cancel=token)
    with pytest.raises(Cancelled):
        v.decide(pairs)
    assert 5 <= v.verified < len(pairs)
    assert len(v.fresh) == v.verified            # what was verified is there to be saved


def test_photos_of_a_pair_are_verified_close_together():
    """The order the verifier works in puts both photos of each candidate pair near each other, so the feature
    cache still holds the first when the second comes: a chain of photos under shuffled file ids comes back as
    the chain (by file id, its pairs lay up to the whole library apart)."""
    from imgsim_desktop.core.pair_verifier import locality_order

    ids = list(range(1000, 1400))
    random.Random(3).shuffle(ids)
    a, b = ids[:-1], ids[1:]
    rank = locality_order(a, b)
    assert sorted(rank) == sorted(ids)
    assert max(abs(rank[x] - rank[y]) for x, y in zip(a, b)) == 1
    assert max(abs(x - y) for x, y in zip(a, b)) > 300


def test_the_feature_cache_holds_photos_by_their_size_not_their_number(tmp_path):
    """Small pictures' features are a tenth of a camera photo's: a cap on the number of photos held decoded
    each of 53,645 small pictures five times over. Within the byte budget every photo is decoded once; a budget
    of two photos' features decodes them again as pairs come back to them."""
    paths = []
    for i in range(6):
        p = tmp_path / f"{i}.jpg"
        scene(400 + i, (160, 120)).save(p, quality=88)
        paths.append(str(p))
    records = {i: rec(i, path=p) for i, p in enumerate(paths)}
    pairs = [(a, b) for a in records for b in records if a < b]
    roomy = PairVerifier(records, workers=1)
    for p in pairs:
        roomy.verdict(*p)
    assert roomy.decoded == len(records) and roomy._bytes <= CACHE_BYTES
    one = _nbytes(roomy._features[0])
    tight = PairVerifier(records, workers=1, max_bytes=2 * one + one // 2)
    for p in pairs:
        tight.verdict(*p)
    assert tight.decoded > len(records) and len(tight._features) <= 3
    assert [v.to_dict() for v in tight.cached.values()] == [v.to_dict() for v in roomy.cached.values()]
