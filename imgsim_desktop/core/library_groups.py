"""The Library's duplicate grouping: candidates from the stored neighbour graph (or a chunked k-NN search),
the verifier for the "duplicates" tier, the cosine cut for "similar", then the keeper rule and the user's
reviewed groups. A mixin of ``Library`` (it uses the library's catalog, index, model and locks)."""

from __future__ import annotations

import logging
import sqlite3

import numpy as np

from . import neighbours
from .catalog import STATUS_OK, Catalog
from .duplicates import (CANDIDATE_SIM, NEIGHBOURS, TIERS, DuplicateGroup, find_groups, merge_candidates,
                         verified_groups)
from .errors import LibraryError, LibraryLockedError, LibraryReadOnlyError
from .lockfile import LockFile
from .model import space_part
from .progress import CancelToken, Progress

log = logging.getLogger(__name__)


class GroupingMixin:
    def duplicates(self, tier: str = "duplicates", threshold: float | None = None,
                   include_reviewed: bool = False, progress: Progress | None = None) -> list[DuplicateGroup]:
        """Groups from the stored neighbour graph (brought up to date first when this process may write),
        with their keeper chosen by the keeper rule (reference photos first); only the grouped photos'
        records and vectors are read. Groups the user reviewed (``set_reviewed``) are left out unless
        ``include_reviewed``."""
        if tier not in TIERS:
            raise LibraryError(f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}")
        t = self.model.thresholds[tier] if threshold is None else float(threshold)
        if not -1.0 <= t <= 1.0:
            raise LibraryError(f"threshold must be between -1 and 1, got {t}")
        mid = self.model.model_id
        with self._lock:
            # "duplicates" proposes pairs generously and lets the verifier decide; "similar" cuts at t
            cand_t = t if tier == "similar" else (CANDIDATE_SIM if threshold is None else t)
            pairs = None
            if cand_t >= self._graph_cut() - 1e-9 and self.sync_neighbours(progress):
                pairs = neighbours.candidate_pairs(self.catalog, cand_t)
            if pairs is None:  # a looser cut than the graph keeps, or a graph this process may not update
                pairs = self._knn_pairs(cand_t)
            exact = self.catalog.duplicate_hash_ids()
            need = np.unique(np.concatenate([pairs[0], pairs[1], exact]))
            if tier == "similar":
                records = {r.id: r for r in self.catalog.files_by_ids(need.tolist()) if r.status == STATUS_OK}
            else:  # orientation signatures pair photos the vectors do not: every photo takes part
                records = {r.id: r for r in self.catalog.all_files(STATUS_OK)}
            ids, vecs = self.catalog.embeddings_of(need.tolist(), mid)
            vecs = space_part(vecs, self.model.spaces, "duplicates") if len(ids) else vecs
            refs = self.catalog.reference_folders()
            reviewed = {} if include_reviewed else self.catalog.reviewed_groups()
        if tier == "similar":
            groups = find_groups(records, ids, vecs, pairs, t, tier, keeper_rules=self.keeper_rules(),
                                 references=refs)
        else:
            groups = self._verified_duplicates(records, ids, vecs, pairs, refs)
        return [g for g in groups if g.id not in reviewed]

    def _graph_cut(self) -> float:
        """The loosest tier's cut: the stored graph keeps every pair either tier can group."""
        return min(min(self.model.thresholds.values()), CANDIDATE_SIM)

    def sync_neighbours(self, progress: Progress | None = None, cancel: CancelToken | None = None) -> bool:
        """Bring the stored neighbour graph up to the catalog; False when it is behind and this process may
        not write it (another process is the writer)."""
        with self._lock:
            cut = self._graph_cut()
            if neighbours.is_current(self.catalog, self.model.model_id, cut):
                return True
            if not self.readonly:
                neighbours.sync(self.catalog, self.index, self.model.model_id, cut, progress=progress,
                                cancel=cancel)
                return True
            if not self._repair_when_free:
                return False
            lock = LockFile(self.home / "lock")
            try:
                lock.acquire()
            except (LibraryLockedError, LibraryReadOnlyError, OSError):  # read-only: nothing to save
                return False
            try:  # no writer: update the graph through a short-lived writable connection
                cat = Catalog(self.catalog.path)
                try:
                    neighbours.sync(cat, self.index, self.model.model_id, cut, progress=progress, cancel=cancel)
                finally:
                    cat.close()
            except (LibraryError, sqlite3.OperationalError, OSError) as exc:  # read-only files, disk full...
                log.info("neighbour graph not stored (%s); searching instead", exc)
                return False
            finally:
                lock.release()
            return True

    def _knn_pairs(self, t: float):
        """Candidate pairs from a k-NN query of every photo, in chunks (the path without a stored graph)."""
        parts = [neighbours.directed(ids, *self.index.query(vecs, NEIGHBOURS + 1), t)
                 for ids, vecs in self.catalog.iter_embeddings(self.model.model_id, chunk=neighbours.CHUNK)]
        if not parts:
            return neighbours.pairs_from_directed(*(np.zeros(0, np.int64),) * 2, np.zeros(0, np.float32))
        return neighbours.pairs_from_directed(*(np.concatenate(x) for x in zip(*parts)))

    def _verified_duplicates(self, records, ids, vecs, pairs, references=()) -> list[DuplicateGroup]:
        """Candidates (index neighbours + orientation signatures), verified pair by pair (cached in the catalog
        by content hash), grouped. Decoding and matching run outside the data lock."""
        from .signature import SIG_VERSION, candidate_pairs, signature_for_path
        from .verdicts import PairVerifier, get_signatures, load_verdicts, put_signatures

        cands = list(zip(np.asarray(pairs[0]).tolist(), np.asarray(pairs[1]).tolist(),
                         np.asarray(pairs[2]).tolist()))
        by_hash = {}
        for r in records.values():
            if r.hash:
                by_hash.setdefault(r.hash, r)
        with self._lock:
            sigs = get_signatures(self.catalog, by_hash, SIG_VERSION)
            cached = load_verdicts(self.catalog, set(by_hash))
        missing = [h for h in by_hash if h not in sigs]
        made = []
        for h in missing:  # photos indexed before signatures existed: made once, then stored
            made.append((h, signature_for_path(by_hash[h].path)))
        if made and not self.readonly:
            with self._lock:
                put_signatures(self.catalog, made, SIG_VERSION)
        sigs.update(made)
        have = [(r.id, sigs[r.hash]) for r in by_hash.values() if sigs.get(r.hash) is not None]
        if len(have) >= 2:
            sig_ids = np.array([f for f, _ in have], dtype=np.int64)
            cands = merge_candidates(cands, candidate_pairs(sig_ids, np.stack([s for _, s in have])))
        vec_of = {int(f): v for f, v in zip(ids, vecs)}

        def sim_of(a: int, b: int) -> float:
            va, vb = vec_of.get(a), vec_of.get(b)
            return float(np.dot(va, vb)) if va is not None and vb is not None else 0.0

        verifier = PairVerifier(records, cached)
        groups = verified_groups(records, cands, verifier.verdict, sim_of, keeper_rules=self.keeper_rules(),
                                 references=references)
        if verifier.fresh and not self.readonly:
            with self._lock:
                verifier.save(self.catalog)
        self.last_verification = {"candidates": len(cands), "verified_now": verifier.verified,
                                  "cached": len(cached)}
        return groups
