"""A damaged index, a bad sidecar or a catalog that no longer matches: rebuilt, never trusted (issue 12 #3, #4).

hnswlib trusts its file blindly: a flipped bit in a link or the entry point makes it read out of bounds and
kill the process. Every command here runs in a subprocess so a segfault is a test failure, not a crash.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from imgsim_desktop.core.library import Library
from photos import write_photos

ROOT = Path(__file__).resolve().parents[1]
HEADER = 96          # hnswlib's header: offsets, counts, then maxlevel (int) and the entry point (uint32)
ENTRY_POINT = 52


def imgsim(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "imgsim_desktop", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def built(tmp_path, tiny_model):
    photos = write_photos(tmp_path / "photos", 12)
    shutil.copy(photos[0], tmp_path / "photos" / "copy.jpg")
    home = tmp_path / "lib"
    with Library(home, model_path=tiny_model, workers=1) as lib:
        lib.scan([tmp_path / "photos"])
    common = ["--library", str(home), "--model", str(tiny_model)]
    return home, photos, common


def answers(photos, common) -> tuple[str, str, str]:
    outs = []
    for args in (["dupes", "--json"], ["similar", str(photos[1]), "-k", "5", "--space", "duplicates", "--json"],
                 ["similar", str(photos[2]), "-k", "5", "--json"]):
        proc = imgsim(*args, *common)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
    return tuple(outs)


def flip(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


@pytest.mark.parametrize("damage", ["entry_point", "links", "tail", "truncated"])
def test_a_damaged_index_is_rebuilt_and_never_crashes(built, damage):
    home, photos, common = built
    expected = answers(photos, common)
    for name in ("index.hnsw", "index-lookalikes.hnsw"):
        p = home / name
        if not p.exists():
            continue
        size = p.stat().st_size
        if damage == "entry_point":
            flip(p, ENTRY_POINT, struct.pack("<I", 0x7FFF_FFF0))
        elif damage == "links":  # the first elements' neighbour lists point far outside the index
            for el in range(3):
                flip(p, HEADER + el * 64 + 4, struct.pack("<4I", *([0x00FF_FFFF] * 4)))
        elif damage == "tail":
            flip(p, size - 9, b"\xff")
        else:
            os.truncate(p, size - 100)
    assert answers(photos, common) == expected
    meta = json.loads((home / "index.hnsw.json").read_text())  # the query repaired it on disk
    from imgsim_desktop.core.index import file_checksum
    assert file_checksum(home / "index.hnsw")[0] == meta["checksum"]


@pytest.mark.parametrize("sidecar", ["null", "[1, 2]", "{}", '"text"', "{\"model_id\": 5}", "{not json",
                                     "MISSING-CHECKSUM", "NEGATIVE-SEQ"])
def test_a_bad_sidecar_is_rebuilt_from_the_catalog(built, sidecar):
    home, photos, common = built
    expected = answers(photos, common)
    meta_path = home / "index.hnsw.json"
    if sidecar == "MISSING-CHECKSUM":
        meta = json.loads(meta_path.read_text())
        del meta["checksum"]
        text = json.dumps(meta)
    elif sidecar == "NEGATIVE-SEQ":
        meta = json.loads(meta_path.read_text())
        meta["seq"] = -5
        text = json.dumps(meta)
    else:
        text = sidecar
    meta_path.write_text(text)
    (home / "index-lookalikes.hnsw.json").write_text(text) if (home / "index-lookalikes.hnsw.json").exists() else None
    assert answers(photos, common) == expected
    st = imgsim("status", "--json", *common)
    assert st.returncode == 0 and json.loads(st.stdout)["indexed"] == 13


def test_a_deleted_catalog_makes_the_kept_index_rebuild(built, tiny_model, tmp_path):
    home, photos, common = built
    for p in home.glob("catalog.sqlite*"):
        p.unlink()
    few = tmp_path / "few"
    few.mkdir()
    for p in photos[:3]:
        shutil.copy(p, few / p.name)
    proc = imgsim("index", str(few), "-q", *common)
    assert proc.returncode == 0, proc.stderr
    st = json.loads(imgsim("status", "--json", *common).stdout)
    assert (st["files"], st["indexed"]) == (3, 3)
    res = json.loads(imgsim("similar", str(few / photos[0].name), "-k", "10", "--json", *common).stdout)
    assert sorted(r["path"] for r in res["results"]) == sorted(str(few / p.name) for p in photos[1:3])
    with Library(home, model_path=tiny_model, readonly=True) as lib:
        assert len(lib.index) == 3


def test_an_index_ahead_of_its_catalog_is_not_trusted(built, tiny_model):
    """A catalog restored from an older backup: the index has vectors the catalog never had."""
    home, photos, common = built
    backup = home.parent / "backup.sqlite"
    with Library(home, model_path=tiny_model, readonly=True) as lib:
        lib.catalog.conn.execute(f"VACUUM INTO '{backup}'")
    extra = write_photos(home.parent / "photos", 2, prefix="late")
    with Library(home, model_path=tiny_model, workers=1) as lib:
        lib.scan()
        assert len(lib.index) == 15
    for p in home.glob("catalog.sqlite*"):
        p.unlink()
    shutil.copy(backup, home / "catalog.sqlite")
    res = json.loads(imgsim("similar", str(photos[0]), "-k", "20", "--space", "duplicates", "--json", *common).stdout)
    assert not {str(p) for p in extra} & {r["path"] for r in res["results"]}
    assert len(res["results"]) == 12


def test_damaged_catalog_pages_give_one_line_saying_what_to_do(built):
    home, photos, common = built
    cat = home / "catalog.sqlite"
    size = cat.stat().st_size
    page = 4096
    with open(cat, "r+b") as f:  # leave page 1 (the header and schema) intact, wreck the others
        for off in range(page, size, page):
            f.seek(off)
            f.write(b"\xa5" * page)
    for args in (["status"], ["dupes"], ["similar", str(photos[0])], ["index", "-q"]):
        proc = imgsim(*args, *common)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("imgsim: error:"), proc.stderr
        assert "move it aside" in lines[0] and "imgsim index" in lines[0]


def _saved_index(tmp_path):
    """An index file well past the two MiB its fingerprint hashes (one at each end)."""
    import numpy as np

    from imgsim_desktop.core.index import EDGE, VectorIndex

    rng = np.random.default_rng(3)
    v = rng.standard_normal((6000, 128)).astype(np.float32)
    ix = VectorIndex(128, "m")
    ix.add(np.arange(1, 6001), v / np.linalg.norm(v, axis=1, keepdims=True))
    ix.seq = 7
    path = tmp_path / "ix.hnsw"
    ix.save(path)
    assert path.stat().st_size > 3 * EDGE
    return path


def test_an_untouched_index_opens_without_reading_it_whole(tmp_path, monkeypatch):
    """The sidecar's fingerprint (size, inode, mtime, ctime, both ends' hash) stands in for the full
    checksum while the file is exactly as it was written: a 1M-photo index is not read twice per query."""
    from imgsim_desktop.core import index as index_mod
    from imgsim_desktop.core import index_meta

    path = _saved_index(tmp_path)
    calls = []
    real = index_meta.file_checksum
    monkeypatch.setattr(index_meta, "file_checksum", lambda p: calls.append(p) or real(p))
    back = index_mod.VectorIndex.load(path, "m", 128)
    assert back is not None and len(back) == 6000 and not back.meta_stale and calls == []


def test_a_bit_flip_behind_a_restored_mtime_is_still_caught(tmp_path):
    """Damage in the middle of the file with its mtime set back: ctime gives it away, the full checksum
    runs and fails, and the index is not trusted."""
    from imgsim_desktop.core.index import VectorIndex

    path = _saved_index(tmp_path)
    st = path.stat()
    flip(path, st.st_size // 2, b"\x5a\xa5")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns
    assert VectorIndex.load(path, "m", 128) is None


def test_a_copied_index_is_checked_once_then_opens_quickly_again(tmp_path, monkeypatch):
    """A library copied elsewhere (same bytes, new inode): the first open reads it whole, then records
    the new fingerprint, so later opens skip the full checksum again."""
    from imgsim_desktop.core import index as index_mod
    from imgsim_desktop.core import index_meta

    path = _saved_index(tmp_path)
    moved = tmp_path / "copy" / "ix.hnsw"
    moved.parent.mkdir()
    shutil.copy2(path, moved)
    shutil.copy2(str(path) + ".json", str(moved) + ".json")
    calls = []
    real = index_meta.file_checksum
    monkeypatch.setattr(index_meta, "file_checksum", lambda p: calls.append(p) or real(p))
    first = index_mod.VectorIndex.load(moved, "m", 128)
    assert first is not None and first.meta_stale and len(calls) == 1
    assert first.refresh_meta(moved)
    again = index_mod.VectorIndex.load(moved, "m", 128)
    assert again is not None and not again.meta_stale and len(calls) == 1
