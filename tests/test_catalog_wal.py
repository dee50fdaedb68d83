"""A writer leaves no large write-ahead log behind: every read-only opener (queries beside a writer) would
read all of it to rebuild SQLite's WAL index (2 s per `similar` at 1M photos after a neighbour-graph write)."""

from __future__ import annotations

import os

from imgsim_desktop.core.catalog import WAL_LIMIT, Catalog


def _wal(path) -> int:
    p = str(path) + "-wal"
    return os.path.getsize(p) if os.path.exists(p) else 0


def test_a_big_write_leaves_a_short_log(tmp_path):
    db = tmp_path / "catalog.sqlite"
    cat = Catalog(db)
    reader = Catalog(db, readonly=True)              # a query open beside the writer keeps the log alive
    reader.get_meta("schema_version")
    cat.add_folder(str(tmp_path))
    with cat.transaction():
        for i in range(3000):
            cat.upsert_file({"path": str(tmp_path / f"{i:05d}-{'x' * 400}.jpg"), "size": i, "mtime_ns": i,
                             "hash": f"{i:032x}", "status": "ok"})
    assert _wal(db) > 1 << 20                        # the write went through the log
    cat.close()                                      # not the last connection: SQLite alone keeps the log
    assert _wal(db) <= WAL_LIMIT and _wal(db) < 1 << 20
    reader.close()
    again = Catalog(db, readonly=True)
    assert again.counts()["ok"] == 3000
    again.close()
