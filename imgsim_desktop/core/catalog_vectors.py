"""The catalog's vectors: each photo's embedding, read in chunks straight into arrays, and the tables of pairs
derived from them. A part of :class:`~.catalog.Catalog` (it uses its connection and sequence number), kept
apart so that the file records and the vectors each have a module of their own size.

numpy is imported inside the methods: the commands that read only counts and folders start without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    import numpy as np


def _rows_to_arrays(rows: list) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1).copy()
    return ids, vecs


class VectorStore:
    """Embedding rows: written with a new seq each batch, read back by chunk, id list or seq."""

    def put_embeddings(self, items: list[tuple[int, np.ndarray]], model_id: str) -> None:
        if not items:
            return
        import numpy as np

        s = self._next_seq()
        self.conn.executemany(
            "INSERT INTO embeddings(file_id, model_id, vector, seq) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(file_id) DO UPDATE SET model_id=excluded.model_id, vector=excluded.vector, seq=excluded.seq",
            [(fid, model_id, np.asarray(v, dtype=np.float32).tobytes(), s) for fid, v in items])
        self.conn.executemany("DELETE FROM tombstones WHERE file_id=?", [(fid,) for fid, _ in items])

    def drop_embedding(self, file_id: int) -> None:
        """A file that became unreadable: its old vector must leave the index."""
        if self.conn.execute("DELETE FROM embeddings WHERE file_id=?", (file_id,)).rowcount:
            s = self._next_seq()
            self.conn.execute("INSERT OR REPLACE INTO tombstones(file_id, seq) VALUES(?, ?)", (file_id, s))

    def embedding(self, file_id: int, model_id: str) -> np.ndarray | None:
        import numpy as np

        row = self.conn.execute("SELECT vector FROM embeddings WHERE file_id=? AND model_id=?",
                                (file_id, model_id)).fetchone()
        return np.frombuffer(row[0], dtype=np.float32).copy() if row else None

    def embeddings(self, model_id: str, since_seq: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) for ``model_id`` changed after ``since_seq``, in id order."""
        import numpy as np

        rows = self.conn.execute(
            "SELECT file_id, vector FROM embeddings WHERE model_id=? AND seq>? ORDER BY file_id",
            (model_id, since_seq)).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids, vecs.copy()

    def embedding_count(self, model_id: str | None = None) -> int:
        """How many vectors there are (of ``model_id`` only, which reads the whole table: the plain count
        comes from the small seq index)."""
        if model_id is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model_id=?", (model_id,)).fetchone()[0])

    def iter_embeddings(self, model_id: str, since_seq: int = 0, chunk: int = 20000,
                        ids: Iterable[int] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) in id order, ``chunk`` rows at a time, each chunk read straight into one array
        (no per-row Python objects kept): whole-library passes stay within a chunk's memory. ``ids``
        limits the read to those files."""
        if ids is not None:
            wanted = sorted({int(i) for i in ids})
            for i in range(0, len(wanted), 500):
                part = wanted[i:i + 500]
                q = (f"SELECT file_id, vector FROM embeddings WHERE model_id=? AND seq>? AND file_id IN "
                     f"({','.join('?' * len(part))}) ORDER BY file_id")
                out = _rows_to_arrays(self.conn.execute(q, (model_id, since_seq, *part)).fetchall())
                if len(out[0]):
                    yield out
            return
        if since_seq > 0:  # a catch-up: the few changed rows, found through the seq index (not a table scan)
            changed = [r[0] for r in self.conn.execute(
                "SELECT file_id FROM embeddings WHERE seq>? AND model_id=?", (since_seq, model_id))]
            yield from self.iter_embeddings(model_id, since_seq, chunk, ids=changed) if changed else ()
            return
        last = -1
        while True:
            rows = self.conn.execute(
                "SELECT file_id, vector FROM embeddings WHERE model_id=? AND seq>? AND file_id>? "
                "ORDER BY file_id LIMIT ?", (model_id, since_seq, last, chunk)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield _rows_to_arrays(rows)

    def pairs_array(self, sql: str, args: tuple = (), fetch: int = 65536):
        """A query's rows (a, b, number) as arrays (a int64, b int64, number float32), read in slices: the
        graph, signature and check tables hold millions of pairs at a million photos."""
        import numpy as np

        cur = self.conn.execute(sql, args)
        parts = []
        while rows := cur.fetchmany(fetch):
            parts.append(np.array(rows, dtype=np.float64).reshape(-1, 3))
        arr = np.concatenate(parts) if parts else np.zeros((0, 3))
        return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2].astype(np.float32)

    def embeddings_of(self, ids: Iterable[int], model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of just these files (those that have a vector), in id order."""
        import numpy as np

        parts = list(self.iter_embeddings(model_id, ids=ids))
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def tombstones_since(self, since_seq: int) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT file_id FROM tombstones WHERE seq>?", (since_seq,))]

    def prune_tombstones(self, upto_seq: int) -> None:
        self.conn.execute("DELETE FROM tombstones WHERE seq<=?", (upto_seq,))
