"""The Library's duplicate grouping: candidates from the stored neighbour graph (or a chunked k-NN search),
the verifier for the "duplicates" tier, the cosine cut for "similar", then the keeper rule and the user's
reviewed groups. A mixin of ``Library`` (it uses the library's catalog, index, model and locks)."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from . import neighbours
from .catalog import STATUS_OK, Catalog
from .duplicates import CANDIDATE_SIM, NEIGHBOURS, DuplicateGroup, find_groups, note_pictures, verified_groups
from .units import with_raw_pairs
from .errors import LibraryError, LibraryLockedError, LibraryReadOnlyError
from .lockfile import LockFile
from .model import space_part
from .model_card import TIERS
from .progress import CancelToken, Progress

log = logging.getLogger(__name__)


class GroupingMixin:
    def duplicates(self, tier: str = "duplicates", threshold: float | None = None,
                   include_reviewed: bool = False, progress: Progress | None = None,
                   cancel: CancelToken | None = None, explain: bool = True,
                   copies: bool = True) -> list[DuplicateGroup]:
        """Groups from the stored neighbour graph (brought up to date first when this process may write),
        with their keeper chosen by the keeper rule (reference photos first); only the grouped photos'
        records and vectors are read. Groups the user reviewed (``set_reviewed``) are left out unless
        ``include_reviewed``. ``explain``: say of each "similar" member whether it is the keeper's photo
        (verifying the pairs no ``dupes`` run has; benchmarks that count groups only leave it out).
        ``copies``: the similar tier holds the verified copies too (the cosine-only grouping of the benchmarks
        leaves them out)."""
        if tier not in TIERS:
            raise LibraryError(f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}")
        t = self.model.thresholds[tier] if threshold is None else float(threshold)
        if not -1.0 <= t <= 1.0:
            raise LibraryError(f"threshold must be between -1 and 1, got {t}")
        from .verdicts import covered, same_photo_checks

        self.last_verification = {}   # this run's, once it verifies
        # the similar tier holds the duplicates tier's copies: found first (verified now if no run has)
        dup_groups = self.duplicates("duplicates", include_reviewed=True, progress=progress, cancel=cancel) \
            if tier == "similar" and copies else []
        for_copies = self.last_verification.get("verified_now", 0)
        with self._lock:
            # "duplicates" proposes pairs generously and lets the verifier decide; "similar" cuts at t
            cand_t = t if tier == "similar" else (CANDIDATE_SIM if threshold is None else t)
            # every candidate decided before and nothing changed since: only the same-photo pairs matter
            decided = tier != "similar" and covered(self.catalog, cand_t)
            stored = True
            if decided:
                pairs = same_photo_checks(self.catalog, cand_t)
            elif cand_t >= self._graph_cut() - 1e-9 and self.sync_neighbours(progress, cancel):
                pairs = neighbours.candidate_pairs(self.catalog, cand_t)
            else:  # a looser cut than the graph keeps, or a graph this process may not update
                pairs, stored = self._knn_pairs(cand_t), False
            exact = self.catalog.duplicate_hash_ids()
            refs = self.catalog.reference_folders()
            reviewed = {} if include_reviewed else self.catalog.reviewed_groups()
            if tier == "similar":
                need = np.unique(np.concatenate([pairs[0], pairs[1], exact]))
                records = {r.id: r for r in self.catalog.files_by_ids(need.tolist()) if r.status == STATUS_OK}
                ids, vecs = self._duplicate_vectors(need)
        if tier == "similar":
            groups = find_groups(records, ids, vecs, pairs, t, tier, keeper_rules=self.keeper_rules(),
                                 references=refs)
            originals: set[int] = set()
            if copies:
                groups = self._with_verified_copies(groups, dup_groups, records, originals)
            groups = [g for g in groups if g.id not in reviewed]
            if explain:
                self._explain_similar([g for g in groups if g.tier == "similar"], records, progress, cancel,
                                      originals)
                self.last_verification["verified_for_copies"] = for_copies
            return note_pictures(with_raw_pairs(groups), _pictures_now)
        if decided:
            groups = self._verified_duplicates(pairs, exact, refs, decided=True)
        else:
            groups = self._verified_duplicates(pairs, exact, refs, progress, cover=cand_t if stored else None,
                                               cancel=cancel)
        return note_pictures(with_raw_pairs([g for g in groups if g.id not in reviewed]), _pictures_now)

    def duplicates_checked(self) -> bool:
        """Every candidate pair at the product's cut decided, and nothing changed since: finding the duplicates
        group costs no verification."""
        from .verdicts import covered

        with self._lock:
            return covered(self.catalog, CANDIDATE_SIM)

    def check_duplicates(self, progress: Progress | None = None, cancel: CancelToken | None = None,
                         threshold: float | None = None) -> int | None:
        """Verify ahead what finding the duplicates will ask, so that a user's "Find" answers at once (the app
        runs this after indexing; a large library's first verification takes minutes). None when nothing was
        left to check (or this process may not write), else how many groups there are at ``threshold`` (the
        user's cut; None: the model's). Cancelled, it keeps what it verified."""
        if self.readonly or self.duplicates_checked():
            return None
        with self._lock:
            if self.catalog.counts()["embedded"] < 2:   # nothing to compare ("none found" over an empty library)
                return None
        return len(self.duplicates("duplicates", threshold, progress=progress, cancel=cancel))

    def _explain_similar(self, groups: list[DuplicateGroup], records: dict, progress: Progress | None = None,
                         cancel: CancelToken | None = None, originals: set[int] = frozenset()) -> None:
        """Each similar-tier member against its keeper, in words: the same photo (and how), another shot (and
        why), or too plain to tell. Likeness alone groups them, and a user deleting a burst's extras should
        know which are copies. Verdicts come from the verifier's cache (a ``dupes`` run has decided most);
        the pairs it never saw are verified now, outside the lock, and kept for the next run."""
        from .duplicates import saved_by
        from .match_reason import reason, similar_match
        from .pair_verifier import PairVerifier
        from .shots import as_taken
        from .verdicts import get_verdicts

        asks = []   # (group's keeper record, member) for every member that is not the keeper's own bytes
        for g in groups:
            keeper = next((records.get(m.file_id) for m in g.members if m.path == g.keeper), None)
            for m in g.members:
                rec = records.get(m.file_id)
                if keeper is not None and rec is not None and rec is not keeper:
                    asks.append((keeper, rec, m))
        keys = {(k.hash, r.hash) for k, r, _ in asks if k.hash and r.hash and k.hash != r.hash}
        with self._lock:
            cached = get_verdicts(self.catalog, keys)
        verifier = PairVerifier(records, cached, progress=progress, cancel=cancel, workers=self.verify_workers)
        todo = [(k.id, r.id) for k, r, _ in asks if (k.hash, r.hash) in keys and (k.hash, r.hash) not in cached]
        if progress is not None and todo:
            progress.start("comparing similar photos", len(todo))
        try:
            verifier.decide(todo)
        finally:  # cancelled or not, what was verified is kept
            self._save_decisions(verifier, records, np.zeros(0, np.int64), np.zeros(0, np.int64),
                                 np.zeros(0, np.float32), None)
        if progress is not None and todo:
            progress.finish()
        errors = dict(verifier.errors)   # path -> why it could not be read
        for keeper, rec, m in asks:
            exact = bool(keeper.hash) and keeper.hash == rec.hash
            v = None if exact else verifier.known(keeper.hash, rec.hash) if keeper.hash and rec.hash else None
            v = as_taken(v, keeper, rec)
            m.match, m.reason = similar_match(v, (keeper.width or 1, keeper.height or 1),
                                              (rec.width or 1, rec.height or 1), exact=exact,
                                              error=errors.get(rec.path) or errors.get(keeper.path))
            if m.match.get("same_photo") and not exact and saved_by(keeper, rec):   # as the duplicates tier says
                m.match["editor"] = saved_by(keeper, rec)
                m.reason = reason(m.match)
        self._name_copies_of_other_shots(asks, originals)
        self.last_verification = {"similar_pairs": len(asks), "cached": len(cached),
                                  "verified_now": verifier.verified, "features_decoded": verifier.decoded,
                                  "skipped": sorted(dict(verifier.errors).items())}

    def _with_verified_copies(self, groups: list[DuplicateGroup], copies: list[DuplicateGroup], records: dict,
                              originals: set[int] | None = None) -> list[DuplicateGroup]:
        """The looser tier holds everything the stricter one found (``copies``: its groups): a turned or
        heavily cropped copy is under the similar tier's cosine cut (0.2-0.4 for a turn), yet the verifier
        found it the same photo. A copy whose photo stands in a similar group joins that group; copies of a
        photo in none keep their own "duplicates" group."""
        from .keeper import group_id

        if not copies:
            return groups
        where = {m.file_id: g for g in groups for m in g.members}
        joined = []   # (group, member) for each copy that joins a similar group
        for d in copies:
            if originals is not None:   # the photo its copies are named after (the keeper rules chose it)
                originals.update(m.file_id for m in d.members if m.path == d.keeper)
            hosts = [where[m.file_id] for m in d.members if m.file_id in where]
            if not hosts:
                groups.append(d)
                continue
            host = next((where[m.file_id] for m in d.members if m.path == d.keeper and m.file_id in where),
                        hosts[0])
            for m in d.members:
                if m.file_id not in where:
                    host.members.append(m)
                    where[m.file_id] = host
                    joined.append((host, m))
        joined += self._fold_groups_of_copies(groups, copies, where)
        if joined:
            keepers = {id(g): g.members[0].file_id for g, _ in joined}
            with self._lock:
                records.update({r.id: r for r in self.catalog.files_by_ids([m.file_id for _, m in joined])})
                ids, vecs = self._duplicate_vectors(np.unique([f for g, m in joined
                                                               for f in (m.file_id, keepers[id(g)])]))
            vec = {int(f): v for f, v in zip(ids, vecs)}
            for g, m in joined:   # how alike it is to this group's keeper, as every other member says
                a, b = vec.get(keepers[id(g)]), vec.get(m.file_id)
                m.similarity = float(np.dot(a, b)) if a is not None and b is not None else 0.0
            for g in {id(g): g for g, _ in joined}.values():
                g.id = group_id(getattr(records.get(m.file_id), "hash", None) or f"path:{m.path}" for m in g.members)
        groups.sort(key=lambda g: (-g.reclaimable_bytes, g.keeper))
        return groups

    @staticmethod
    def _fold_groups_of_copies(groups: list[DuplicateGroup], copies: list[DuplicateGroup], where: dict) -> list:
        """A similar group made only of verified copies of photos that stand in one other group goes whole into
        that group: a photo's turned copies look alike among themselves and formed a group of their own, apart
        from the photo. Only such groups move, so no other photo joins (merging every group a copy linked
        chained different photos). Returns (group, member) for each member moved; ``groups`` and ``where``
        are updated."""
        home_of: dict[int, DuplicateGroup] = {}   # file id -> the group that holds its photo
        for d in copies:
            home = next((where[m.file_id] for m in d.members if m.path == d.keeper and m.file_id in where), None)
            if home is not None:
                home_of.update((m.file_id, home) for m in d.members)
        moved = []
        for g in list(groups):
            homes = {id(home_of.get(m.file_id)): home_of.get(m.file_id) for m in g.members}
            if len(homes) != 1:
                continue
            (home,) = homes.values()
            if home is None or home is g:
                continue
            for m in g.members:
                home.members.append(m)
                where[m.file_id] = home
                moved.append((home, m))
            groups.remove(g)
        return moved

    def _name_copies_of_other_shots(self, asks: list, originals: set[int] = frozenset()) -> None:
        """A member that is not the keeper's photo may be a copy of another member (a grey copy of the second
        shot), which its words against the keeper ("another shot") hide: it is named a copy of that member
        when the verifier has found so (its cache: what a ``dupes`` run decided; nothing more is verified), so
        the shot is kept and its copy not taken for a shot of its own. The likelier original is the shot."""
        from pathlib import Path

        from .duplicates import keeper_key
        from .match_reason import describe, reason
        from .shots import as_taken
        from .verdicts import get_verdicts, same_photo_checks

        by_group: dict[int, list] = {}
        group_of: dict[int, int] = {}
        for keeper, rec, m in asks:
            if m.match.get("same_photo") is False and rec.hash:
                by_group.setdefault(id(keeper), []).append((rec, m))
                group_of[rec.id] = id(keeper)
        if not by_group:
            return
        # the copies found so far, by file id (a few rows: pairs that are the same photo), then their verdicts
        # by content, so a file changed since is not described by its old content
        with self._lock:
            a, b, _ = same_photo_checks(self.catalog, -1.0)
            rec_of = {rec.id: rec for rs in by_group.values() for rec, _ in rs}
            pairs = [(rec_of[x], rec_of[y]) for x, y in zip(a.tolist(), b.tolist())
                     if x in group_of and group_of[x] == group_of.get(y)]
            known = get_verdicts(self.catalog, {(x.hash, y.hash) for p in pairs for x, y in (p, p[::-1])})
        for recs in by_group.values():
            # the photo the duplicates tier keeps first (a turned copy ranked before its original named the
            # original its copy), then by the keeper's key
            ranked = sorted(recs, key=lambda t: (t[0].id not in originals, keeper_key(t[0])))
            for i, (x, mx) in enumerate(ranked):
                for y, my in ranked[:i]:
                    if my.match.get("copy_of"):
                        continue
                    exact = x.hash == y.hash
                    v = None if exact else as_taken(known.get((y.hash, x.hash)), y, x)
                    if exact or (v is not None and v.same):
                        match = describe(v, (y.width or 1, y.height or 1), (x.width or 1, x.height or 1), exact)
                        mx.match = {**mx.match, "kind": "copy of another member", "copy_of": y.path,
                                    "copy": match}
                        words = reason(match)
                        mx.reason = (f"exact copy of {Path(y.path).name}" if exact else
                                     words.replace("same photo", f"same photo as {Path(y.path).name}", 1))
                        break

    def _graph_cut(self) -> float:
        """The loosest tier's cut: the stored graph keeps every pair either tier can group."""
        return min(min(self.model.thresholds.values()), CANDIDATE_SIM)

    @contextmanager
    def _catalog_to_write(self) -> Iterator[Catalog | None]:
        """Where to save what grouping derives (graph, signatures, verdicts): this process's catalog when it
        is the writer; a short-lived writable connection under the lock file when it only queries and no
        writer holds the library (so a CLI rerun finds its work done); else None: compute, save nothing.
        The caller holds the data lock."""
        if not self.readonly:
            yield self.catalog
            return
        lock = LockFile(self.home / "lock")
        try:
            if not self._repair_when_free:
                raise LibraryReadOnlyError("opened for reading only")
            lock.acquire()
        except (LibraryLockedError, LibraryReadOnlyError, OSError):  # another writer, or read-only files
            yield None
            return
        try:
            cat = Catalog(self.catalog.path)
        except (LibraryError, sqlite3.OperationalError, OSError) as exc:
            lock.release()
            log.info("grouping results not stored (%s)", exc)
            yield None
            return
        try:
            yield cat
        finally:
            cat.close()
            lock.release()

    def sync_neighbours(self, progress: Progress | None = None, cancel: CancelToken | None = None) -> bool:
        """Bring the stored neighbour graph up to the catalog; False when it is behind and this process may
        not write it (another process is the writer)."""
        with self._lock:
            cut = self._graph_cut()
            if neighbours.is_current(self.catalog, self.model.model_id, cut):
                return True
            try:
                with self._catalog_to_write() as cat:
                    if cat is None:
                        return False
                    neighbours.sync(cat, self.index, self.model.model_id, cut, progress=progress, cancel=cancel)
            except (sqlite3.OperationalError, OSError) as exc:  # read-only files, disk full...
                log.info("neighbour graph not stored (%s); searching instead", exc)
                return False
            return True

    def _knn_pairs(self, t: float):
        """Candidate pairs from a k-NN query of every photo, in chunks (the path without a stored graph)."""
        parts = [neighbours.directed(ids, *self.index.query(vecs, NEIGHBOURS + 1), t)
                 for ids, vecs in self.catalog.iter_embeddings(self.model.model_id, chunk=neighbours.CHUNK)]
        if not parts:
            return neighbours.pairs_from_directed(*(np.zeros(0, np.int64),) * 2, np.zeros(0, np.float32))
        return neighbours.pairs_from_directed(*(np.concatenate(x) for x in zip(*parts)))

    def _duplicate_vectors(self, ids: np.ndarray):
        ids, vecs = self.catalog.embeddings_of(np.asarray(ids).tolist(), self.model.model_id)
        return ids, (space_part(vecs, self.model.spaces, "duplicates") if len(ids) else vecs)

    def _signature_pairs(self, progress: Progress | None = None, cancel: CancelToken | None = None):
        """Orientation-signature candidates (and whether they are the stored ones), from the catalog's table
        brought up to date; photos indexed before signatures existed are signed first (decoded small, outside
        the lock), once. Checks of photos whose content changed are dropped in the same go."""
        from . import signature_pairs
        from .signature import SIG_VERSION, signature_for_path
        from .verdicts import put_signatures, refresh_checks

        with self._lock:
            todo = [] if signature_pairs.is_current(self.catalog) else signature_pairs.unsigned(self.catalog)
        made = [(fid, h, signature_for_path(path)) for fid, h, path in todo]
        with self._lock:
            try:
                with self._catalog_to_write() as cat:
                    if cat is not None:
                        put_signatures(cat, [(h, sig) for _, h, sig in made], SIG_VERSION)
                        signature_pairs.sync(cat, extra=[fid for fid, _, _ in made], progress=progress,
                                             cancel=cancel)
                        refresh_checks(cat)
            except (sqlite3.OperationalError, OSError) as exc:
                log.info("signature pairs not stored (%s)", exc)
            if signature_pairs.is_current(self.catalog):
                return signature_pairs.stored_pairs(self.catalog), True
            return signature_pairs.computed_pairs(self.catalog), False

    def _verified_duplicates(self, pairs, exact: np.ndarray, references=(), progress: Progress | None = None,
                             decided: bool = False, cover: float | None = None,
                             cancel: CancelToken | None = None) -> list[DuplicateGroup]:
        """Candidates (index neighbours + orientation signatures), verified pair by pair, grouped.

        Each candidate's verdict is kept by file id (``pair_checks``) and by content (``pair_verdicts``): a
        rerun reads the checks as arrays and touches only the pairs that are the same photo or not yet
        decided, so it costs no verification and reads records of grouped photos only; ``decided``: the
        pairs given are the same-photo checks and nothing else is left to decide. ``cover``: the candidate
        cut, when the candidates came from the stored graph (a run that decides them all says so).
        Decoding and matching run outside the data lock."""
        from .pair_verifier import PairVerifier, locality_order
        from .verdicts import checks_current, load_checks, load_verdicts, lookup_checks

        if decided:
            a, b, s = pairs
            known = np.ones(len(a), np.int8)
            n_all = n_checked = len(a)
        else:
            sig, sig_stored = self._signature_pairs(progress, cancel)
            with self._lock:
                checks = load_checks(self.catalog) if checks_current(self.catalog) else None
            a, b, s = neighbours.pairs_from_directed(*(np.concatenate(x) for x in zip(pairs, sig)), mutual=False)
            known = lookup_checks(checks, a, b) if checks is not None else np.full(len(a), -1, np.int8)
            n_all, n_checked = len(a), int((known >= 0).sum())
            keep = known != 0          # the same photo, or not decided yet
            a, b, s, known = a[keep], b[keep], s[keep], known[keep]
            if checks is None or not sig_stored:
                cover = None
        need = np.unique(np.concatenate([a, b, exact]))
        with self._lock:
            records = {r.id: r for r in self.catalog.files_by_ids(need.tolist()) if r.status == STATUS_OK}
            ids, vecs = self._duplicate_vectors(need)
            cached = load_verdicts(self.catalog, {r.hash for r in records.values() if r.hash})
        vec_of = {int(f): v for f, v in zip(ids, vecs)}

        def sim_of(x: int, y: int) -> float:
            vx, vy = vec_of.get(x), vec_of.get(y)
            return float(np.dot(vx, vy)) if vx is not None and vy is not None else 0.0

        undecided = known < 0
        if progress is not None and undecided.any():
            progress.start("verifying", int(undecided.sum()))  # at most: pairs joined already are skipped
        verifier = PairVerifier(records, cached, progress=progress, cancel=cancel, workers=self.verify_workers,
                                rank=locality_order(a[undecided], b[undecided]) if undecided.any() else None)
        traces, fresh_traces = self._trace_reader()
        try:
            groups = verified_groups(records, list(zip(a.tolist(), b.tolist(), s.tolist())), verifier.verdict,
                                     sim_of, keeper_rules=self.keeper_rules(), references=references,
                                     decide=verifier.decide if verifier.workers > 1 else None, traces=traces)
        except BaseException:  # cancelled (or failed): keep what was verified, nothing is decided whole
            self._save_decisions(verifier, records, a[undecided], b[undecided], s[undecided], None)
            raise
        self._save_traces(fresh_traces)
        if verifier.errors:  # a photo that could not be read is asked again next time
            cover = None
        self._save_decisions(verifier, records, a[undecided], b[undecided], s[undecided], cover)
        if progress is not None and undecided.any():
            progress.finish()
        self.last_verification = {"candidates": n_all, "checked_before": n_checked, "decided_before": decided,
                                  "verified_now": verifier.verified, "cached": len(cached),
                                  "features_decoded": verifier.decoded,
                                  # photos not verified: unreadable, or changed since they were indexed
                                  "skipped": sorted(dict(verifier.errors).items())}
        return groups

    def _trace_reader(self):
        """The keeper's JPEG traces (core/jpeg_trace.py), by content: stored ones from the catalog, the rest read
        from the files outside the lock and collected in ``fresh`` for ``_save_traces``."""
        from .jpeg_trace import TRACE_VERSION, Trace, read_trace
        from .verdicts import get_signatures

        fresh: dict[str, Trace] = {}

        def traces(recs) -> dict:
            with self._lock:
                stored = get_signatures(self.catalog, [r.hash for r in recs], TRACE_VERSION)
            out = {}
            for r in recs:
                if r.hash in fresh:
                    out[r.hash] = fresh[r.hash]
                elif stored.get(r.hash) is not None:
                    out[r.hash] = Trace.from_array(stored[r.hash])
                else:
                    out[r.hash] = fresh[r.hash] = read_trace(r.path)
            return out

        return traces, fresh

    def _save_traces(self, fresh: dict) -> None:
        from .jpeg_trace import TRACE_VERSION
        from .verdicts import put_signatures

        if not fresh:
            return
        with self._lock:
            try:
                with self._catalog_to_write() as cat:
                    if cat is not None:
                        put_signatures(cat, [(h, t.to_array()) for h, t in fresh.items() if t.quality is not None],
                                       TRACE_VERSION)  # an unreadable file is asked again next time
            except (sqlite3.OperationalError, OSError) as exc:
                log.info("JPEG traces not stored (%s)", exc)

    def _save_decisions(self, verifier, records, a, b, s, cover: float | None) -> None:
        """Store the verifier's new verdicts (by content) and, by file id, every pair (a, b) decided by now
        (asked, or found in the content cache); ``cover``: all candidates at that cut are decided."""
        from .verdicts import checks_current, put_checks, set_covered

        fresh_checks = []
        for x, y, sim in zip(a.tolist(), b.tolist(), s.tolist()):
            rx, ry = records.get(x), records.get(y)
            if rx is not None and ry is not None and rx.hash and ry.hash:
                v = None if rx.hash == ry.hash else verifier.known(rx.hash, ry.hash)
                if rx.hash == ry.hash or v is not None:
                    fresh_checks.append((x, y, 1 if v is None else int(v.same), sim))
        if not (verifier.fresh or fresh_checks or cover is not None):
            return
        with self._lock:
            try:
                with self._catalog_to_write() as cat:
                    if cat is not None:
                        verifier.save(cat)
                        if checks_current(cat):  # nothing was rescanned meanwhile
                            put_checks(cat, fresh_checks)
                            if cover is not None:
                                set_covered(cat, cover)
            except (sqlite3.OperationalError, OSError) as exc:
                log.info("verdicts not stored (%s)", exc)


def _pictures_now(member) -> int:
    """How many pictures a member's file holds, for a row from before they were counted (a library upgraded and
    not scanned since; the next scan stores it): read from the header, for formats that can hold several."""
    from .decode import MANY_PICTURES, read_info
    from .errors import DecodeError

    if (member.format or "").upper() not in MANY_PICTURES:
        return 1
    try:
        return read_info(member.path).pictures
    except (DecodeError, OSError):
        return 1
