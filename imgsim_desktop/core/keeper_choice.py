"""Choosing each duplicate group's keeper with the evidence only the group and its files show: the members'
matches (stretched, noisy, darkened copies), a JPEG's own traces (core/jpeg_trace.py) between same-size copies,
a lossless master a JPEG was compressed from (core/lossless_master.py), a folder that cannot be written. The
evidence of one file, the rules and the words are core/keeper.py's."""

from __future__ import annotations

import functools
import os
from typing import Iterable, Sequence

from .jpeg_trace import JPEG_FORMATS, Trace, sources
from .keeper import (Evidence, _rule_key, check_rules, evidence, group_id, keeper_reason,
                     mark_group_evidence, rank, under)
from .lossless_master import LOSSLESS_FORMATS, made_from


def traced(recs: Sequence) -> list:
    """The members whose JPEG traces can matter: JPEGs of one pixel count with another JPEG of the group (a
    copy of another size is told by its resolution; reading a trace decodes the whole file)."""
    jpegs = [r for r in recs if (getattr(r, "format", "") or "").upper() in JPEG_FORMATS and r.width and r.height]
    sizes = [r.width * r.height for r in jpegs]
    return [r for r, n in zip(jpegs, sizes) if sizes.count(n) > 1]


def _mark_masters(group: Sequence[Evidence]) -> dict[str, Evidence]:
    """``master``: a lossless member a JPEG member of its size was compressed from (a scanner's TIFF and its
    JPEG), where the camera rule has not already decided between them. Reads both files, once per pair.
    Returns each such JPEG's path -> its master."""
    out = {}
    for e in group:
        if e.format not in LOSSLESS_FORMATS or not e.pixels:
            continue
        for j in group:
            if j.format in JPEG_FORMATS and (j.width, j.height) == (e.width, e.height) and j.path not in out \
                    and e.camera_score >= j.camera_score and _made_from(e.path, e.content, j.path, j.content):
                e.master = True
                out[j.path] = e
    return out


@functools.lru_cache(maxsize=4096)
def _made_from(master: str, master_content: str, jpeg: str, jpeg_content: str) -> bool:
    return made_from(master, jpeg)   # by content too: a file changed in place is asked again


def _say_compressed(m, words: str) -> None:
    """Once, though a group's keeper is chosen more than once (a trial, then for good)."""
    said = getattr(m, "reason", "") or ""
    if words not in said:
        m.reason = said.replace("re-saved or retouched", words) if "re-saved or retouched" in said \
            else f"{said}; {words}" if said else words


def _mark_sources(group: Sequence[Evidence], found: dict) -> None:
    """``earlier``: among members of one pixel count, the file a re-saved member was made from."""
    by_size: dict[int, list[tuple[Evidence, Trace]]] = {}
    for e in group:
        t = found.get(e.content)
        if t is not None:
            by_size.setdefault(e.pixels, []).append((e, t))
    for same in by_size.values():
        if len(same) > 1 and any(t.resaved for _, t in same):
            for j in sources([t for _, t in same]):
                same[j][0].earlier = True


_TRACE_RULES = ("earlier_save", "not_resaved")   # the rules that need a trace (a decode); quality is in the catalog


def contenders(group: Sequence[Evidence], rules: Sequence[str]) -> list[Evidence]:
    """The members the JPEG traces could still decide between: tied with the best on every rule before the
    first trace rule, file size left out (a re-save at a higher quality is the larger file, and its trace is
    what stops its bytes from counting); none when a reference photo is the keeper anyway. With the default
    order that means the same pixels and the same file time, so a library whose copies are newer than their
    originals reads no trace at all."""
    if any(e.reference for e in group):
        return []
    first = min((rules.index(r) for r in _TRACE_RULES if r in rules), default=len(rules))
    before = [r for r in rules[:first] if r != "size"]
    keys = [tuple(_rule_key(r, e, group) for r in before) for e in group]
    best = min(keys)
    return [e for e, k in zip(group, keys) if k == best]


def choose_keepers(groups: list, records: dict, rules: Sequence[str] | None = None,
                   references: Iterable[str] = (), traces=None) -> list:
    """Order each DuplicateGroup's members best first and set ``keeper``, ``keeper_reason``, ``id`` and
    each member's ``reference``. ``records``: file id -> catalog FileRecord (the evidence). ``traces(recs)
    -> {content hash: jpeg_trace.Trace}`` reads JPEG traces (a full decode each), asked only for the
    ``contenders`` that ``traced`` names; given, a lossless member is also asked whether a JPEG of its size
    was compressed from it (none of this when not given)."""
    rules = check_rules(rules)
    refs = [str(r) for r in references]
    built, need, writable, compressed = [], {}, {}, {}
    for g in groups:
        evs, by_path, matches, recs = [], {}, [], {}
        for m in g.members:
            rec = records.get(m.file_id, m)
            m.reference = under(str(m.path), refs)
            matches.append(getattr(m, "match", None) or {})
            e = evidence(rec, m.reference, matches[-1])
            evs.append(e)
            by_path[e.path] = m
            recs[e.path] = rec
        mark_group_evidence(evs, matches)
        if traces is not None:   # the library's: evidence read from the files
            compressed.update(_mark_masters(evs))
            for e in evs:
                folder = os.path.dirname(e.path)
                if folder not in writable:
                    writable[folder] = os.access(folder, os.W_OK)
                e.locked = not writable[folder]
            for r in traced([recs[e.path] for e in contenders(evs, rules)]):
                if getattr(r, "hash", None):
                    need.setdefault(r.hash, r)
        built.append((g, evs, by_path))
    found: dict[str, Trace] = traces(list(need.values())) if need else {}
    for g, evs, by_path in built:
        for e in evs:
            t = found.get(e.content)
            if t is None:
                continue
            e.resaved = t.resaved
            if e.quality is None:   # a record scanned before INFO_VERSION 2
                e.quality = t.quality
            m = by_path[e.path]
            said = getattr(m, "reason", "") or ""
            if t.resaved and "earlier JPEG" not in said:
                m.reason = f"{said}; re-saved over an earlier JPEG" if said else "re-saved over an earlier JPEG"
        _mark_sources(evs, found)
        ranked = rank(evs, rules)
        g.members = [by_path[e.path] for e in ranked]
        g.keeper = ranked[0].path
        g.keeper_reason = keeper_reason(ranked, rules)
        for e in ranked[1:]:   # what it is to the master kept, not "re-saved or retouched"
            if compressed.get(e.path) is ranked[0]:
                _say_compressed(by_path[e.path], f"a JPEG compressed from the kept {ranked[0].format}")
        g.id = group_id(getattr(records.get(m.file_id), "hash", None) or f"path:{m.path}" for m in g.members)
    return groups
