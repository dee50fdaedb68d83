"""`status` reads running counts kept by triggers (issue 13): they must agree with counting the rows, through
every kind of change a library makes: new files, rescans that change size or status, moves in and out of
folders, deletions, nested folders, folders added to a catalog that already has files, and an upgrade."""

from __future__ import annotations

import sqlite3

import numpy as np

from imgsim_desktop.core.catalog import STATUS_ERROR, STATUS_OK, Catalog
from imgsim_desktop.core.catalog_schema import _MIGRATIONS


def counted(cat: Catalog, root: str | None = None) -> tuple[int, int, int, int]:
    """(files, not ok, errors, bytes) counted row by row, the way status did before."""
    q = ("SELECT COUNT(*), COALESCE(SUM(status<>'ok'),0), COALESCE(SUM(status='error'),0), "
         "COALESCE(SUM(size),0) FROM files")
    rows = cat.conn.execute("SELECT path, status, size FROM files").fetchall()
    if root is not None:
        rows = [r for r in rows if r[0] == root or r[0].startswith(root.rstrip("/") + "/")]
    return (len(rows), sum(r[1] != STATUS_OK for r in rows), sum(r[1] == STATUS_ERROR for r in rows),
            sum(r[2] for r in rows)) if root is not None else tuple(cat.conn.execute(q).fetchone())


def agree(cat: Catalog, folders: list[str]) -> None:
    c = cat.counts()
    files, not_ok, errors, size = counted(cat)
    assert (c["files"], c["errors"], c["bytes"], c["ok"]) == (files, errors, size, files - errors)
    for f in folders:
        n, bad, _, _ = counted(cat, f)
        assert cat.count_under(f) == (n, bad), f


def test_running_counts_follow_every_change(tmp_path):
    rng = np.random.default_rng(4)
    cat = Catalog(tmp_path / "catalog.sqlite")
    folders = ["/photos", "/photos/2019", "/photos-old", "/other"]
    cat.add_folder("/photos")
    ids = {}
    for i in range(300):  # files in, below, beside ("/photos-old" shares the prefix) and outside folders
        path = f"{rng.choice(['/photos', '/photos/2019', '/photos-old', '/other', '/loose'])}/p{i}.jpg"
        ids[path] = cat.upsert_file({"path": path, "size": int(rng.integers(1, 10**7)), "mtime_ns": i,
                                     "status": STATUS_ERROR if i % 7 == 0 else STATUS_OK})
    for f in folders[1:]:
        cat.add_folder(f)  # a folder added after its files are catalogued starts from a count
    assert {r[0] for r in cat.conn.execute("SELECT folder FROM file_counts")} == {"", *folders}
    agree(cat, folders)
    paths = sorted(ids)
    for p in paths[:40]:  # rescans: new size, now readable or now broken
        cat.upsert_file({"path": p, "size": int(rng.integers(1, 10**7)), "mtime_ns": 1,
                         "status": STATUS_OK if rng.random() < 0.5 else STATUS_ERROR})
    for p in paths[40:60]:
        cat.touch_file(ids[p], int(rng.integers(1, 10**7)), 2)
    for p in paths[60:80]:  # moves across folders, one onto a catalogued path (that file is replaced)
        cat.move_file(ids[p], p.replace("/other/", "/photos/2019/").replace("/loose/", "/photos-old/"))
    cat.move_file(ids[paths[80]], paths[81], size=5, mtime_ns=5)
    cat.delete_files([ids[p] for p in paths[100:150]])
    agree(cat, folders)
    cat.remove_folder("/photos/2019")
    assert cat.conn.execute("SELECT COUNT(*) FROM file_counts WHERE folder='/photos/2019'").fetchone()[0] == 0
    agree(cat, ["/photos", "/photos-old", "/other"])
    cat.close()


def test_a_catalog_from_before_the_counts_gets_them_on_upgrade(tmp_path):
    path = tmp_path / "catalog.sqlite"
    con = sqlite3.connect(path)
    for step in _MIGRATIONS[:-1]:
        con.executescript(step)
    con.execute("INSERT INTO meta(key, value) VALUES('schema_version', ?)", (str(len(_MIGRATIONS) - 1),))
    con.execute("INSERT INTO folders(path, added_at) VALUES('/photos', 0)")
    for i in range(20):
        con.execute("INSERT INTO files(path, size, mtime_ns, status, scanned_at) VALUES(?, ?, 0, ?, 0)",
                    (f"/photos/p{i}.jpg" if i % 3 else f"/else/p{i}.jpg", 1000 + i, "error" if i % 4 == 0 else "ok"))
    con.commit()
    con.close()
    cat = Catalog(path)
    assert cat.conn.execute("SELECT COUNT(*) FROM file_counts").fetchone()[0] == 2  # whole + /photos
    agree(cat, ["/photos"])
    cat.upsert_file({"path": "/photos/new.jpg", "size": 7, "mtime_ns": 0, "status": STATUS_OK})
    agree(cat, ["/photos"])
    cat.close()
