"""Searching a library for a photo's lookalikes: the query's vector, the neighbours from both spaces ranked for
a person, and each near one's verdict (is it the query's own photo?). Mixed into :class:`~.library.Library`,
whose catalog, index, embedder and lock it uses."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from .catalog import STATUS_OK
from .errors import DecodeError, LibraryError
from .hashing import bytes_hash, file_hash
from .index import SPACES
from .model import space_part
from .ranking import EXPANSION, SimilarResult, expanded_query, rank_for_person


class SearchMixin:
    def _query_vector(self, query) -> tuple[np.ndarray, int | None, str | None]:
        """Vector for a path (reusing the catalog's when the file is indexed and unchanged), bytes or image;
        with the query's catalog id and content hash when known."""
        if isinstance(query, Image.Image):
            return self.embedder.embed_image(query.convert("RGB")), None, None
        if isinstance(query, (bytes, bytearray, memoryview)):
            data = bytes(query)
            return self.embedder.embed_bytes(data), None, bytes_hash(data)
        p = Path(query).expanduser()
        if not p.exists():
            raise LibraryError(f"file not found: {p}")
        if p.is_dir():
            raise LibraryError(f"not a file: {p}")
        ap = os.path.abspath(str(p))
        with self._lock:
            # a symlink to a catalogued photo is that photo (it is left out of its own results)
            rec = self.catalog.file_by_path(ap) or self.catalog.file_by_path(os.path.realpath(ap))
            if rec is not None and rec.status == STATUS_OK:
                st = p.stat()
                if st.st_size == rec.size and st.st_mtime_ns == rec.mtime_ns:
                    v = self.catalog.embedding(rec.id, self.model.model_id)
                    if v is not None:
                        return v, rec.id, rec.hash
        vec, _ = self.embedder.embed_path(ap)
        try:
            qhash = file_hash(ap)
        except DecodeError:
            qhash = None
        return vec, (rec.id if rec is not None else None), qhash

    def similar(self, query, k: int = 20, space: str = "lookalikes") -> list[SimilarResult]:
        """Nearest photos to a path, image bytes or PIL image, ranked for a person (``core/ranking.py``):
        exact copies once, near-duplicates first, then lookalikes; the query file itself is left out.

        ``space``: "lookalikes" (the same kind of picture; the model's lookalike head when it has one) or
        "duplicates" (the same photo, edited)."""
        vec, self_id, qhash = self._query_vector(query)
        return self._neighbours(vec, k, self_id, space, qhash, query)

    def similar_to_id(self, file_id: int, k: int = 20, space: str = "lookalikes") -> list[SimilarResult]:
        with self._lock:
            vec = self.catalog.embedding(file_id, self.model.model_id)
            rec = self.catalog.file(file_id)
        if vec is None:
            raise LibraryError("that photo is no longer in the library (deleted or changed on disk since); "
                               "refresh, or search with its file")
        return self._neighbours(vec, k, file_id, space, rec.hash if rec is not None else None,
                                rec.path if rec is not None else None)

    def _neighbours(self, vec: np.ndarray, k: int, self_id: int | None, space: str,
                    query_hash: str | None = None, query=None) -> list[SimilarResult]:
        if space not in SPACES:
            raise LibraryError(f"unknown space {space!r}; choose one of {', '.join(SPACES)}")
        if k <= 0:
            return []
        extra = 1 if self_id is not None else 0
        hits: dict[str, list[tuple[int, float]]] = {}
        with self._lock:
            # more than k from each space: copies collapse into one result and the two lists overlap
            for sp in ("duplicates", "lookalikes") if space == "lookalikes" else ("duplicates",):
                labels, sims = self.index.query(vec[None], 2 * k + 8 + extra, sp)
                hits[sp] = [(int(i), float(s)) for i, s in zip(labels[0], sims[0]) if int(i) != self_id]
            if space == "lookalikes" and "lookalikes" in self.index.spaces:
                hits["lookalikes"] = self._expanded_lookalikes(vec, hits["lookalikes"], 2 * k + 8 + extra,
                                                               self_id, query_hash)
            ids = sorted({i for h in hits.values() for i, _ in h})
            recs = {r.id: r for r in self.catalog.files_by_ids(ids)}
        results = rank_for_person(k, {i: r.hash for i, r in recs.items()}, {i: r.path for i, r in recs.items()},
                                  hits.get("lookalikes", []), hits["duplicates"], self.model.thresholds["duplicates"],
                                  query_hash, primary=space)
        self._say_which_are_the_query(results, recs, query, query_hash)
        return results

    def _say_which_are_the_query(self, results: list[SimilarResult], recs: dict, query, query_hash) -> None:
        """A near-duplicate's cosine is no verdict: each says whether it is the query's photo (the verifier's
        cache, else verified now, outside the lock; core/lookalike_verdicts.py)."""
        from .lookalike_verdicts import attach_verdicts, turned_copies
        from .ranking import LOOKALIKE
        from .signature import SIG_VERSION
        from .verdicts import get_signatures, get_verdicts

        if query is None or not results:
            return
        asked = [recs[r.file_id] for r in results if r.file_id in recs]   # the cache knows turned copies too
        keys = {(query_hash, x.hash) for x in asked if query_hash and x.hash and x.hash != query_hash}
        looks = [recs[r.file_id].hash for r in results if r.kind == LOOKALIKE and r.file_id in recs]
        with self._lock:
            cached = get_verdicts(self.catalog, keys) if keys else {}
            sigs = get_signatures(self.catalog, [h for h in looks if h], SIG_VERSION) if looks else {}
        attach_verdicts(results, recs, cached, query, query_hash, turned=turned_copies(query, results, recs, sigs))

    def _expanded_lookalikes(self, vec: np.ndarray, hits: list[tuple[int, float]], n: int, self_id: int | None,
                             query_hash: str | None) -> list[tuple[int, float]]:
        """The lookalike search again from the query plus its closest lookalikes (``ranking.EXPANSION``);
        the query's own byte copies are not lookalikes of it and are skipped. Called under the lock."""
        firsts = [i for i, _ in hits[: EXPANSION + 4]]
        same = {r.id for r in self.catalog.files_by_ids(firsts) if r.hash == query_hash} if query_hash else set()
        pick = [i for i in firsts if i not in same][:EXPANSION]
        if not pick:
            return hits
        # the neighbours' vectors from the catalog: a few rows, where the index would be loaded whole
        # (a read-only query searches the index file in place)
        _, stored = self.catalog.embeddings_of(pick, self.model.model_id)
        if not len(stored):
            return hits
        q = space_part(vec[None], self.model.spaces, "lookalikes")[0]
        e = expanded_query(q, space_part(stored, self.model.spaces, "lookalikes"))
        labels, sims = self.index.query(e[None], n, "lookalikes")
        return [(int(i), float(s)) for i, s in zip(labels[0], sims[0]) if int(i) != self_id]
