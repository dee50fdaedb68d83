"""Whether a lookalike search's closest results are the query's own photo. Their score is a cosine in the
duplicates space, which two shots of one scene reach as easily as a copy (the newt's second shot: 0.908), so
a result is called "same photo" only when the verifier says so: from its cache when the query is a library
photo a ``dupes`` run has compared, else verified now, for the few closest results only (a search stays well
under a second: ~25 ms to read a photo's features, a few ms a pair)."""

from __future__ import annotations

import logging
from pathlib import Path

from .errors import DecodeError
from .match_reason import NOT_SAME_WORDS, similar_match
from .ranking import DUPLICATE, LOOKALIKE, SimilarResult
from .shots import APART, as_taken

log = logging.getLogger(__name__)

ANOTHER_SHOT = {why for why, (kind, _) in NOT_SAME_WORDS.items() if kind == "another shot"}
VERIFY_AT_MOST = 6   # uncached results verified per search; the rest say nothing (a cosine is no verdict)
TURNED_AT_MOST = 2   # and lookalikes whose orientation signature matches the query's (a turned copy)
TURNED_TINY_AT_MOST = 8   # ...more of them when they are tiny (a few ms each): every copy of a turned thumbnail
                          # is turned to it, and only the first two said so (an outside try: 4 of 8)


def attach_verdicts(results: list[SimilarResult], records: dict, cached: dict, query, query_hash: str | None,
                    limit: int = VERIFY_AT_MOST, turned: set[int] = frozenset()) -> None:
    """Fill ``match`` and ``reason`` of the near-duplicate results (``kind == "duplicate"``), and of the
    lookalikes in ``turned`` (file ids whose orientation signature matches the query's: a turned copy scores
    like a lookalike). ``records``: file id -> catalog record; ``cached``: (query hash, result hash) ->
    PairVerdict from the verifier's cache; ``query``: the path, bytes or PIL image searched with."""
    from . import verify as V

    qsize: list = []   # the query's (width, height), read once when first needed

    def query_size(fallback):
        if not qsize:
            qsize.append(qfeat.size if qfeat is not None else _size_of(query))
        return qsize[0] or fallback

    taken: list = []   # the query's capture time and camera, read once when first needed

    def as_shot(v, rec):
        if v is None or not v.same:
            return v
        if not taken:
            taken.append(_taken(query))
        return as_taken(v, taken[0], rec)

    qfeat = None
    for r in results:   # a lookalike the verifier has compared before (a turned copy scores like one)
        rec = records.get(r.file_id)
        v = cached.get((query_hash, rec.hash)) if r.kind == LOOKALIKE and rec and query_hash and rec.hash else None
        v = as_shot(v, rec)
        if v is not None and (v.same or v.why in ANOTHER_SHOT or v.why.endswith(APART)):
            size = (rec.width or 1, rec.height or 1)
            r.match, r.reason = similar_match(v, query_size(size), size)
    near = [r for r in results if r.kind == DUPLICATE and r.file_id in records]
    looks = [r for r in results if r.kind == LOOKALIKE and r.file_id in turned and r.match is None
             and r.file_id in records]

    def small(r) -> bool:
        rec = records[r.file_id]
        return 0 < max(rec.width or 0, rec.height or 0) <= V.TINY_SIDE

    near += [r for r in looks if not small(r)][:TURNED_AT_MOST] + [r for r in looks if small(r)][:TURNED_TINY_AT_MOST]
    asked = 0
    for r in near:
        rec = records[r.file_id]
        v = cached.get((query_hash, rec.hash)) if query_hash and rec.hash else None
        error = None
        if v is None and (asked < limit or r.kind == LOOKALIKE):
            asked += r.kind == DUPLICATE
            try:
                if qfeat is None:
                    qfeat = _features(query)
                v = V.verify(qfeat, V.features_from_path(rec.path))
            except (DecodeError, OSError, ValueError) as e:
                error = str(getattr(e, "reason", "") or e)
                log.info("not verified against the query: %s: %s", rec.path, error)
        if v is None and error is None:
            continue   # beyond the few verified now: no words rather than a cosine's
        v = as_shot(v, rec)
        size = (rec.width or 1, rec.height or 1)
        r.match, r.reason = similar_match(v, qfeat.size if qfeat is not None else query_size(size), size,
                                          error=error)
    one_frame(results, records)


def one_frame(results: list[SimilarResult], records: dict) -> None:
    """A query is the same photo as one frame of a burst at most. Its copy without a capture time (a messaging
    app's) matches every frame of a still burst to the pixels (an outside try: four frames "same photo
    0.994-1.000"); the frames' own times tell them apart. The closest frame stays "same photo", the others
    become what they are to it: another shot, taken so long apart."""
    import os

    from .shots import gap_words, seconds_apart

    same = [r for r in results if r.match and r.match.get("same_photo") is True and r.file_id in records]
    for i, best in enumerate(same):   # best first: results come by score
        if best.match.get("same_photo") is not True:
            continue
        for r in same[i + 1:]:
            gap = seconds_apart(records[best.file_id], records[r.file_id])
            if r.match.get("same_photo") is True and gap is not None:
                r.match = {**r.match, "same_photo": False, "kind": "another shot",
                           "why": f"taken {gap_words(gap)}{APART}"}
                r.reason = f"another shot: taken {gap_words(gap)} from {os.path.basename(best.path)}"


def turned_copies(query, results: list[SimilarResult], records: dict, stored: dict) -> set[int]:
    """The lookalike results whose stored orientation signature (core/signature.py; ``stored``: content hash
    -> signature) matches the query's in some orientation other than its own: likely turned copies."""
    import numpy as np

    from .signature import CANDIDATE_SIM, variants

    looks = [(r.file_id, stored.get(getattr(records.get(r.file_id), "hash", None))) for r in results
             if r.kind == LOOKALIKE]
    looks = [(f, sig) for f, sig in looks if sig is not None]
    if not looks:
        return set()
    q = _signature(query)
    if q is None:
        return set()
    turns = variants(q[None])[1:, 0]          # (7, dim): the 7 orientations other than the query's own
    sims = turns @ np.stack([sig for _, sig in looks]).T
    return {f for (f, _), best in zip(looks, sims.max(axis=0)) if best >= CANDIDATE_SIM}


def _signature(query):
    from .decode import load_image_bytes
    from .signature import DECODE_SIDE, signature, signature_for_path

    try:
        if isinstance(query, (str, Path)):
            return signature_for_path(query)
        if isinstance(query, (bytes, bytearray)):
            return signature(load_image_bytes(bytes(query), max_side=DECODE_SIDE)[0])
        return signature(query) if hasattr(query, "convert") else None
    except (DecodeError, OSError, ValueError):
        return None


def _taken(query):
    """The query file's capture time and camera (core/shots.py), None when it is no file or has none."""
    from types import SimpleNamespace

    from .decode import read_info

    if not isinstance(query, (str, Path)):
        return None
    try:
        info = read_info(query)
    except (DecodeError, OSError):
        return None
    return SimpleNamespace(date_taken=info.date_taken, camera_make=info.make, camera_model=info.model,
                           software=info.software)


def _size_of(query) -> tuple[int, int] | None:
    """The query's (width, height) from its header, when it is a file."""
    from .decode import read_info

    if isinstance(query, (str, Path)):
        try:
            info = read_info(query)
            return info.width, info.height
        except (DecodeError, OSError):
            return None
    return getattr(query, "size", None)


def _features(query):
    from . import verify as V
    from .decode import load_image_bytes

    if isinstance(query, (str, Path)):
        return V.features_from_path(query)
    if isinstance(query, (bytes, bytearray)):
        img, info = load_image_bytes(bytes(query), max_side=V.WORK_SIDE)
        return V.features_from_image(img, (info.width, info.height))
    if hasattr(query, "convert"):   # a PIL image
        return V.features_from_image(query)
    raise ValueError("nothing to verify against")
