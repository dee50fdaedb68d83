"""A rescan merges its walk of the disk with the catalog's rows in path order (issue 13: a no-change rescan
of a million photos holds no million-entry dicts). These tests pin the premise (the walk's order is the
catalog's) and that names which sort awkwardly, links and real changes still come out right."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgsim_desktop.core.catalog import Catalog
from imgsim_desktop.core.library import Library
from imgsim_desktop.core.roots import from_db_path, walk_entries

posix_only = pytest.mark.skipif(os.name != "posix", reason="bytes names and links are POSIX")

# "a-b" sorts before "a/..." ('-' < '/'), "a b" before both, "a.d" is a folder named like a file,
# upper case before lower case, a non-ASCII name after all ASCII ones
TRICKY = ["a.jpg", "a-b.jpg", "a/x.jpg", "a/sub/deep.jpg", "a b/y.jpg", "a.d/w.jpg", "ab/z.jpg", "A.jpg",
          "Z.jpg", "\u00e9t\u00e9.jpg", "0/1.jpg", "a/a.jpg", "a/a-a.jpg", "a/a/b.jpg"]


def _tree(root: Path, make_photo=None) -> list[str]:
    paths = []
    for i, rel in enumerate(TRICKY):
        p = root / rel
        if make_photo is None:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(bytes([i]) * 8)
        else:
            make_photo(p, seed=i)
        paths.append(str(p))
    (root / ".hidden").mkdir()
    (root / ".hidden" / "h.jpg").write_bytes(b"x")
    (root / "notes.txt").write_text("not a photo")
    return paths


def test_walk_comes_in_the_order_of_the_catalogs_path_index(tmp_path):
    root = tmp_path / "p"
    paths = _tree(root)
    walked = [e.path for e in walk_entries(str(root))]
    assert walked == sorted(paths)
    assert all(e.stat().st_size == 8 for e in walk_entries(str(root)))   # the stat comes cached
    cat = Catalog(tmp_path / "catalog.sqlite")
    with cat.transaction():
        for p in reversed(paths):
            cat.upsert_file({"path": p, "size": 8, "mtime_ns": 1, "status": "ok"})
        cat.upsert_file({"path": str(tmp_path / "p0.jpg"), "size": 8, "mtime_ns": 1, "status": "ok"})  # not below
    stored = [from_db_path(r[0]) for part in cat.stamp_slices(str(root), slice_rows=3) for r in part]
    cat.close()
    assert stored == walked


@posix_only
def test_rescan_finds_nothing_changed_then_exactly_what_changed(tmp_path, tiny_model, make_photo):
    root = tmp_path / "photos"
    _tree(root, make_photo)
    odd_dir = Path(os.path.join(os.fsdecode(root), os.fsdecode(b"d\xe9j\xe0")))   # stored escaped: sorts apart
    make_photo(odd_dir / "inner.jpg", seed=40)
    make_photo(Path(os.path.join(os.fsdecode(root), os.fsdecode(b"caf\xe9.jpg"))), seed=41)
    os.symlink(root / "a.jpg", root / "b_link.jpg")        # the same photo as a.jpg
    os.link(root / "Z.jpg", root / "z_hard.jpg")            # the same photo as Z.jpg
    outside = make_photo(tmp_path / "elsewhere" / "out.jpg", seed=42)
    os.symlink(outside, root / "c_outside.jpg")             # indexed under the link's name
    n = len(TRICKY) + 3
    with Library(tmp_path / "home", model_path=tiny_model, workers=2) as lib:
        first = lib.scan([root])
        assert (first.added, first.failed) == (n, 0)
        again = lib.scan()
        assert again.unchanged == n
        assert (again.added, again.updated, again.moved, again.removed, again.embedded) == (0, 0, 0, 0, 0)

        make_photo(root / "a/x.jpg", seed=50)              # rewritten
        os.remove(root / "ab/z.jpg")                        # deleted
        make_photo(root / "a-a.jpg", seed=51)               # new, sorting between catalogued ones
        os.rename(root / "a b/y.jpg", root / "a b/y2.jpg")  # moved
        with lib.catalog.transaction():   # unchanged on disk, but its vector is gone (a killed scan)
            lib.catalog.drop_embedding(lib.file_by_path(str(root / "A.jpg")).id)
        r = lib.scan()
        assert (r.added, r.updated, r.moved, r.removed) == (1, 2, 1, 1)
        assert r.unchanged == n - 4
        paths = {rec.path for rec in lib.catalog.all_files()}
        assert str(root / "a b/y2.jpg") in paths and str(root / "ab/z.jpg") not in paths
        assert lib.catalog.embedding(lib.file_by_path(str(root / "A.jpg")).id, lib.model.model_id) is not None
        assert lib.scan().unchanged == n
        assert lib.scan().unchanged == n   # every vector is now known to be of this model: the short query

        # a vector of another model written since (a second program, an older version) is found again
        fid = lib.file_by_path(str(root / "Z.jpg")).id
        with lib.catalog.transaction():
            lib.catalog.put_embeddings([(fid, lib.catalog.embedding(fid, lib.model.model_id))], "another-model")
        r = lib.scan()
        assert (r.updated, r.embedded, r.unchanged) == (1, 1, n - 1)
        assert lib.catalog.embedding(fid, lib.model.model_id) is not None
        assert lib.scan().unchanged == n
