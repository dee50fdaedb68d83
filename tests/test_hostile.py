"""Hostile folders: names, special files, links, lying headers, edited model cards, watcher races.

Every case is built for real (bytes names, FIFOs, symlinks, hard links) and checked at the level a user
sees: is the photo indexed, skipped with which reason, grouped or not, and does every command end without
a traceback. Mounted file systems (read-only, full, unplugged drives) are in test_hostile_mounts.py.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from imgsim_desktop.core.library import Library

posix_only = pytest.mark.skipif(os.name != "posix", reason="bytes names, FIFOs and links are POSIX")

CAFE = os.fsdecode(b"caf\xe9.jpg")   # a Latin-1 name from an old zip: not valid UTF-8


def cli(args, home, timeout=120):
    """Run ``imgsim`` as a user does; a hang fails the test instead of blocking it."""
    env = dict(os.environ, IMGSIM_HOME=str(home), OMP_NUM_THREADS="1")
    proc = subprocess.run(["timeout", "-s", "KILL", str(timeout), sys.executable, "-m", "imgsim_desktop",
                           *map(os.fspath, args)], capture_output=True, env=env)
    out, err = proc.stdout.decode("utf-8", "surrogateescape"), proc.stderr.decode("utf-8", "surrogateescape")
    assert proc.returncode != -9 and proc.returncode != 137, f"imgsim {args[0]} hung: {err}"
    assert "Traceback" not in err, err
    return proc.returncode, out, err


def fresh_scan(folder: Path, model: Path, tmp_path: Path) -> dict[str, str | None]:
    """path -> content hash as a brand-new library sees the folder."""
    with Library(tmp_path / f"fresh{len(list(tmp_path.iterdir()))}", model_path=model, workers=2) as lib:
        lib.scan([folder])
        return {r.path: r.hash for r in lib.catalog.all_files()}


def catalog_of(lib: Library) -> dict[str, str | None]:
    return {r.path: r.hash for r in lib.catalog.all_files()}


# ---------------------------------------------------------------------------------------------- names

def test_path_codec_is_lossless_and_keeps_prefixes():
    from imgsim_desktop.core.roots import db_path, display_path, from_db_path

    for p in ["/a/b.jpg", "/x/" + CAFE, os.fsdecode(b"/\xff\xfe/\x80.jpg"), "/d\u00e9j\u00e0/\U0001f600.png"]:
        s = db_path(p)
        s.encode("utf-8")                       # storable as SQLite TEXT
        assert from_db_path(s) == p
        assert db_path(p + "/x").startswith(s + "/")
    assert display_path("/x/" + CAFE) == "/x/caf\ufffd.jpg"


@posix_only
def test_non_utf8_name_is_indexed_shown_and_found(tmp_path, tiny_model, make_photo):
    d = tmp_path / "photos"
    make_photo(d / "good1.jpg", seed=1)
    make_photo(d / "good2.jpg", seed=2)
    odd = os.path.join(os.fsdecode(d), CAFE)
    make_photo(Path(odd), seed=3)
    sub = os.path.join(os.fsdecode(d), os.fsdecode(b"d\xe9j\xe0"))
    make_photo(Path(sub) / "inner.jpg", seed=4)
    home = tmp_path / "home"

    for _ in range(2):  # and again: a rerun must not stumble on what the first stored
        rc, out, err = cli(["index", d, "--model", tiny_model, "--json"], home)
        assert rc == 0, err
    rc, out, err = cli(["status", "--json", "--model", tiny_model], home)
    assert rc == 0 and json.loads(out)["files"] == 4 and json.loads(out)["indexed"] == 4
    rc, out, err = cli(["similar", odd, "-k", "3", "--model", tiny_model], home)
    assert rc == 0, err
    assert os.fsencode(os.path.join(sub, "inner.jpg")) in os.fsencode(out) or "inner.jpg" in out
    rc, out, err = cli(["similar", odd, "-k", "3", "--json", "--model", tiny_model], home)
    assert rc == 0 and len(json.loads(out)["results"]) == 3
    # strict parsers refuse lone surrogates: the name reads with U+FFFD, its exact bytes in base64 beside it
    json.dumps(json.loads(out), ensure_ascii=False).encode("utf-8")
    assert json.loads(out)["query"] == "/".join([os.fsdecode(d), "caf\ufffd.jpg"])
    assert base64.b64decode(json.loads(out)["query_bytes"]) == os.fsencode(odd)
    rc, out, err = cli(["dupes", "--json", "--model", tiny_model], home)
    assert rc == 0

    with Library(home, model_path=tiny_model, workers=2) as lib:
        rec = lib.file_by_path(odd)
        assert rec is not None and rec.status == "ok" and os.path.exists(rec.path)   # the real name back
        assert os.path.join(sub, "inner.jpg") in {r.path for r in lib.catalog.all_files()}
        assert lib.folder_count(sub) == (1, 0)


@posix_only
def test_non_utf8_name_in_a_watched_folder_does_not_cost_the_others(tmp_path, tiny_model, make_photo):
    from imgsim_desktop.core.watcher import LibraryWatcher

    d = tmp_path / "photos"
    d.mkdir()
    with Library(tmp_path / "home", model_path=tiny_model, workers=2) as lib:
        lib.add_folder(d)
        with LibraryWatcher(lib, debounce_s=0.1, settle_s=0.2, poll_s=0.5) as w:
            assert w.wait_idle(30)
            make_photo(Path(os.path.join(os.fsdecode(d), CAFE)), seed=5)
            make_photo(d / "plain.jpg", seed=6)
            assert _wait_for(lambda: lib.count() == 2, 30), catalog_of(lib)
        assert catalog_of(lib) == fresh_scan(d, tiny_model, tmp_path)


@posix_only
def test_trash_and_undo_of_a_non_utf8_name(tmp_path, monkeypatch, make_photo):
    from imgsim_desktop.core.actions import ActionLog, trash_files, undo

    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    (tmp_path / "h").mkdir()
    (tmp_path / "xdg").mkdir()
    photo = Path(os.path.join(os.fsdecode(tmp_path / "photos"), CAFE))
    make_photo(photo, seed=1)
    data = photo.read_bytes()
    log = ActionLog(tmp_path / "lib")
    action = trash_files([photo], log)
    assert not photo.exists() and action.undoable
    again = ActionLog(tmp_path / "lib").last_undoable()   # read back from the log on disk
    assert again is not None and again.id == action.id
    report = undo(again, ActionLog(tmp_path / "lib"))
    assert report.failed == [] and photo.read_bytes() == data


# ---------------------------------------------------------------------------------------------- special files

@posix_only
def test_fifo_named_like_a_photo_never_blocks(tmp_path, tiny_model, make_photo):
    from imgsim_desktop.core.watcher import LibraryWatcher

    d = tmp_path / "photos"
    make_photo(d / "a.jpg", seed=1)
    os.mkfifo(d / "pipe.jpg")
    home = tmp_path / "home"
    rc, out, err = cli(["index", d, "--model", tiny_model, "--json"], home, timeout=60)
    assert rc == 0 and json.loads(out)["added"] == 1
    for cmd in (["similar", d / "pipe.jpg", "--model", tiny_model], ["reconstruct", d / "pipe.jpg",
                                                                     "--model", tiny_model, "-o", tmp_path / "r.png"]):
        rc, out, err = cli(cmd, home, timeout=60)
        assert rc != 0 and "not a regular file" in err and len(err.strip().splitlines()) == 1, err

    with Library(home, model_path=tiny_model, workers=2) as lib:
        with LibraryWatcher(lib, debounce_s=0.1, settle_s=0.2, poll_s=0.5, write_timeout_s=1.0) as w:
            assert w.wait_idle(30)
            os.mkfifo(d / "pipe2.jpg")
            make_photo(d / "b.jpg", seed=2)     # a photo that comes after the FIFO is still indexed
            assert _wait_for(lambda: lib.file_by_path(d / "b.jpg") is not None, 30)
            assert w.wait_idle(30)
        assert lib.file_by_path(d / "pipe2.jpg") is None and lib.file_by_path(d / "pipe.jpg") is None
        assert lib.count() == 2


# ---------------------------------------------------------------------------------------------- links

@posix_only
def test_links_to_a_photo_are_that_photo_not_a_duplicate(tmp_path, tiny_model, make_photo):
    d = tmp_path / "photos"
    real = make_photo(d / "m_real.jpg", seed=1)
    make_photo(d / "other.jpg", seed=2)
    os.symlink(real, d / "a_link.jpg")           # sorts before the real file
    os.link(real, d / "z_hard.jpg")
    outside = make_photo(tmp_path / "elsewhere" / "out.jpg", seed=3)
    os.symlink(outside, d / "b_outside_link.jpg")  # the only way in: indexed under the link's name
    home = tmp_path / "home"
    rc, out, err = cli(["index", d, "--model", tiny_model, "--json"], home)
    assert rc == 0, err
    rc, out, err = cli(["dupes", "--json", "--model", tiny_model], home)
    assert rc == 0
    grouped = {m["path"] for g in json.loads(out)["groups"] for m in g["members"]}
    assert not grouped & {str(d / "a_link.jpg"), str(d / "z_hard.jpg")}   # never a copy of itself to trash
    with Library(home, model_path=tiny_model, workers=2) as lib:
        paths = set(catalog_of(lib))
        assert paths == {str(real), str(d / "other.jpg"), str(d / "b_outside_link.jpg")}
        # a hard link made while the library runs (the watcher's path) is the same file too
        os.link(real, d / "y_hard2.jpg")
        lib.update_paths([d / "y_hard2.jpg"])
        assert set(catalog_of(lib)) == paths
        # asking for photos like the link: the photo itself is not its own lookalike
        assert str(real) not in {r.path for r in lib.similar(d / "a_link.jpg", k=5)}


# ---------------------------------------------------------------------------------------------- lying files

def test_tiny_jpeg_claiming_a_huge_size_is_refused(tmp_path, tiny_model, make_photo):
    import io
    import struct

    d = tmp_path / "photos"
    make_photo(d / "real.jpg", seed=1)
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    i = data.find(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", 14000, 14000)
    (d / "liar.jpg").write_bytes(bytes(data))
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("hello, not a photo\n")
    (d / "trunc.jpg").write_bytes((d / "real.jpg").read_bytes()[:300])
    with Library(tmp_path / "home", model_path=tiny_model, workers=2) as lib:
        rep = lib.scan([d])
        reasons = dict(lib.errors())
        assert rep.added == 1 and lib.count() == 1
        assert "truncated or forged" in reasons[str(d / "liar.jpg")]
        assert reasons[str(d / "empty.jpg")] == "empty file"
        assert "text" in reasons[str(d / "text.jpg")]
        assert str(d / "trunc.jpg") in reasons


def test_decoding_memory_is_bounded_across_workers(tmp_path, monkeypatch):
    from imgsim_desktop.core import decode

    paths = []
    for i in range(4):   # 1-bit PNGs: a few KB on disk, 16 MP each once decoded
        p = tmp_path / f"big{i}.png"
        Image.new("1", (4000, 4000), i % 2).save(p)
        paths.append(p)
    budget = decode._PixelBudget(20_000_000)    # room for one of them at a time
    monkeypatch.setattr(decode, "DECODE_BUDGET", budget)
    errors = []

    def work(p):
        try:
            img, info = decode.load_image(p, max_side=64)
            assert (info.width, info.height) == (4000, 4000) and min(img.size) == 64
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert budget.peak == 16_000_000 and budget.used == 0


# ---------------------------------------------------------------------------------------------- model identity

def test_every_card_setting_that_changes_a_vector_changes_the_model_id(tmp_path, tiny_model):
    from imgsim_desktop.core.model import load_model

    base = load_model(tiny_model, "cpu").model_id
    card = json.loads(Path(tiny_model).read_text())
    ids = {base}
    for key, value in (("mean", [0.5, 0.5, 0.5]), ("std", [0.3, 0.3, 0.3]), ("input_size", 48)):
        d = tmp_path / key
        d.mkdir()
        shutil.copy(Path(tiny_model).with_suffix(".safetensors"), d / "test-model.safetensors")
        (d / "test-model.json").write_text(json.dumps({**card, key: value}))
        ids.add(load_model(d / "test-model.json", "cpu").model_id)
    assert len(ids) == 4


# ---------------------------------------------------------------------------------------------- watcher races

@posix_only
def test_rename_then_rewrite_while_watching_follows_content(tmp_path, tiny_model, make_photo):
    from imgsim_desktop.core.hashing import file_hash
    from imgsim_desktop.core.watcher import LibraryWatcher

    d = tmp_path / "photos"
    p = make_photo(d / "P.jpg", seed=1)
    other = make_photo(tmp_path / "other.jpg", seed=2, size=(300, 200))
    backup = tmp_path / "backup_of_P.jpg"
    shutil.copy(p, backup)
    with Library(tmp_path / "home", model_path=tiny_model, workers=2) as lib:
        lib.scan([d])
        with LibraryWatcher(lib, debounce_s=0.2, settle_s=0.2, poll_s=0.5) as w:
            assert w.wait_idle(30)
            q = d / "Q.jpg"
            os.rename(p, q)
            with open(q, "wb") as f:
                f.write(other.read_bytes())
            assert _wait_for(lambda: (lib.file_by_path(q) or None) is not None
                             and lib.file_by_path(q).hash == file_hash(q), 30), lib.file_by_path(q)
            shutil.copy(backup, d / "P_backup.jpg")
            assert _wait_for(lambda: lib.file_by_path(d / "P_backup.jpg") is not None, 30)
            assert w.wait_idle(30)
        assert catalog_of(lib) == fresh_scan(d, tiny_model, tmp_path)
        assert not [g for g in lib.duplicates() if g.tier == "exact"]


def _wait_for(cond, timeout: float) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return True
        except Exception:
            pass
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------------------------------------- damaged catalog

def test_damaged_catalog_pages_give_one_line_that_says_what_to_do(tmp_path, tiny_model, make_photo):
    d = tmp_path / "photos"
    for i in range(30):
        make_photo(d / f"p{i}.jpg", seed=i)
    home = tmp_path / "home"
    assert cli(["index", d, "--model", tiny_model], home)[0] == 0
    cat = home / "catalog.sqlite"
    data = bytearray(cat.read_bytes())
    for off in range(4096, len(data), 4096):   # every page but the header's: damaged inside
        data[off + 100:off + 300] = os.urandom(200)
    cat.write_bytes(bytes(data))
    for cmd in (["dupes"], ["index", d]):
        rc, out, err = cli([*cmd, "--model", tiny_model], home)
        assert rc != 0 and len(err.strip().splitlines()) == 1 and "damaged" in err, (cmd, err)
    # status reads the running counts, not the file rows (issue 13): it may not come across the damaged
    # pages, but it never ends in a traceback, and when it does it says the same one line
    rc, out, err = cli(["status", "--model", tiny_model], home)
    assert (rc == 0 and not err.strip()) or (rc == 2 and len(err.strip().splitlines()) == 1 and "damaged" in err)


def test_walking_keeps_one_path_per_file_on_disk(tmp_path):
    """Hard links and symlinks to one file are that file once; every other photo is itself."""
    import os

    from imgsim_desktop.core.roots import dedupe_links, walk_images

    d = tmp_path / "p"
    d.mkdir()
    for i in range(5):
        (d / f"own{i}.jpg").write_bytes(bytes([i]) * 10)
    os.link(d / "own0.jpg", d / "hard0.jpg")
    os.symlink(d / "own1.jpg", d / "sym1.jpg")
    keep, aliases = dedupe_links(walk_images(str(d)))
    assert sorted(os.path.basename(f.path) for f in keep) == [
        "hard0.jpg", "own1.jpg", "own2.jpg", "own3.jpg", "own4.jpg"]   # of a hard-link pair, the first name
    assert sorted(os.path.basename(f.path) for f in aliases) == ["own0.jpg", "sym1.jpg"]
    keep2, _ = dedupe_links(walk_images(str(d)), known=lambda p: p.endswith("own0.jpg"))
    assert "own0.jpg" in {os.path.basename(f.path) for f in keep2}   # the catalog's name wins


@posix_only
def test_names_print_on_an_ascii_terminal_and_control_characters_do_not_drive_the_terminal(tmp_path, tiny_model,
                                                                                           make_photo):
    import pty

    d = tmp_path / "photos"
    make_photo(d / "café.jpg", seed=1)
    shutil.copy(d / "café.jpg", d / "café copy.jpg")
    red = "x\x1b[31mred.jpg"
    make_photo(d / red, seed=2)
    shutil.copy(d / red, d / "red copy.jpg")
    home = tmp_path / "home"
    assert cli(["index", d, "--model", tiny_model], home)[0] == 0
    env = dict(os.environ, IMGSIM_HOME=str(home), OMP_NUM_THREADS="1", PYTHONIOENCODING="ascii")
    args = [sys.executable, "-m", "imgsim_desktop", "dupes", "--model", str(tiny_model)]
    proc = subprocess.run(args, capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    assert b"caf\\xe9.jpg" in proc.stdout and b"caf\\xe9 copy.jpg" in proc.stdout

    env.pop("PYTHONIOENCODING")
    main, child = pty.openpty()   # a terminal: the escape in the name is shown, not obeyed
    proc = subprocess.run(args, stdout=child, stderr=subprocess.PIPE, env=env, timeout=120)
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:   # the terminal closed: all is read
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert proc.returncode == 0, proc.stderr
    assert b"red copy.jpg" in shown and b"x\\x1b[31mred.jpg" in shown and b"\x1b[31m" not in shown
