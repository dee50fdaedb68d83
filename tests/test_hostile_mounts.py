"""Hostile file systems: a read-only library, a full disk, a drive unplugged inside a watched folder, an
unreadable folder, a watcher killed mid-batch. Built with real mounts (tmpfs) when the test runs as root,
skipped where it may not mount; each asserts what happens to the photos and that no command shows a
traceback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from imgsim_desktop.core.library import Library

sys.path.insert(0, str(Path(__file__).parent))
from test_hostile import _wait_for, catalog_of, cli, fresh_scan  # noqa: E402

linux_root = pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                                reason="needs root on Linux to mount file systems / drop privileges")


@pytest.fixture
def tmpfs():
    """mount(path, size) -> a fresh tmpfs at path; every mount is undone at the end."""
    mounted: list[Path] = []

    def mount(path: Path, size: str = "8m") -> Path:
        path.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                           capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for m in reversed(mounted):
        subprocess.run(["umount", "-l", str(m)], capture_output=True)


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], check=True, capture_output=True)


# ---------------------------------------------------------------------------------------------- read-only

@linux_root
def test_read_only_library_answers_queries_and_refuses_writes_in_one_line(tmp_path, tiny_model, make_photo, tmpfs):
    from imgsim_desktop.core.errors import LibraryReadOnlyError
    from imgsim_desktop.core.library import open_for_query

    d = tmp_path / "photos"
    for i in range(4):
        make_photo(d / f"p{i}.jpg", seed=i)
    home = tmpfs(tmp_path / "home")
    rc, out, err = cli(["index", d, "--model", tiny_model], home)
    assert rc == 0, err
    subprocess.run(["mount", "-o", "remount,ro", str(home)], check=True)

    for cmd in (["status", "--json"], ["status", "--errors"], ["dupes", "--json"],
                ["similar", d / "p1.jpg", "-k", "2", "--json"], ["folders"]):
        rc, out, err = cli([*cmd, "--model", tiny_model], home)
        assert rc == 0, (cmd, err)
    rc, out, err = cli(["similar", d / "p1.jpg", "-k", "2", "--json", "--model", tiny_model], home)
    assert len(json.loads(out)["results"]) == 2
    make_photo(d / "new.jpg", seed=9)
    rc, out, err = cli(["index", d, "--model", tiny_model], home)
    assert rc != 0 and "read-only" in err and len(err.strip().splitlines()) == 1, err

    with pytest.raises(LibraryReadOnlyError):
        Library(home, model_path=tiny_model)
    with open_for_query(home, model_path=tiny_model) as lib:
        assert lib.readonly and lib.count() == 4
        with pytest.raises(LibraryReadOnlyError, match="read-only"):
            lib.scan()


# ---------------------------------------------------------------------------------------------- disk full

def _fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system to the last byte, then give back ``leave`` bytes."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    return filler


@linux_root
@pytest.mark.parametrize("leave", [0, 65536], ids=["full-before", "fills-up-during-index"])
def test_full_disk_is_one_line_and_nothing_is_lost(tmp_path, tiny_model, make_photo, tmpfs, leave):
    d = tmp_path / "photos"
    for i in range(3):
        make_photo(d / f"p{i}.jpg", seed=i)
    home = tmpfs(tmp_path / "home", size="2m")
    rc, out, err = cli(["index", d, "--model", tiny_model], home)
    assert rc == 0, err
    for i in range(3, 40):
        make_photo(d / f"p{i}.jpg", seed=i)
    filler = _fill(home, leave)

    rc, out, err = cli(["index", d, "--model", tiny_model], home)
    assert rc != 0 and "full" in err and len(err.strip().splitlines()) == 1, err
    rc, out, err = cli(["status", "--model", tiny_model], home)
    assert rc == 0 or len(err.strip().splitlines()) == 1, err

    filler.unlink()
    rc, out, err = cli(["index", d, "--model", tiny_model, "--json"], home)
    assert rc == 0, err
    rc, out, err = cli(["status", "--json", "--model", tiny_model], home)
    st = json.loads(out)
    assert st["files"] == 40 and st["indexed"] == 40


# ---------------------------------------------------------------------------------------------- unplugged drives

@linux_root
def test_drive_unplugged_inside_a_library_folder_is_offline_not_deleted(tmp_path, tiny_model, make_photo, tmpfs):
    d = tmp_path / "photos"
    make_photo(d / "home1.jpg", seed=1)
    make_photo(d / "home2.jpg", seed=2)
    drive = d / "drive"
    drive.mkdir()
    (drive / ".Trash-1000").mkdir()          # the bare mount point holds one hidden entry
    tmpfs(drive)
    saved = tmp_path / "saved"
    for i in range(3):
        make_photo(drive / f"d{i}.jpg", seed=10 + i)
    shutil.copytree(drive, saved)
    with Library(tmp_path / "home", model_path=tiny_model, workers=2) as lib:
        assert lib.scan([d]).added == 5
        _umount(drive)
        rep = lib.scan([d])
        assert rep.removed == 0 and lib.count() == 5

        # the same drive plugged back in (new mount, files copied back with new times): nothing re-embedded
        tmpfs(drive)
        for f in saved.iterdir():
            shutil.copy(f, drive / f.name)
        rep = lib.scan([d])
        assert rep.embedded == 0 and rep.removed == 0 and lib.count() == 5

        # unplugged while watched: the watcher keeps them too
        from imgsim_desktop.core.watcher import LibraryWatcher
        with LibraryWatcher(lib, debounce_s=0.1, settle_s=0.2, poll_s=0.3) as w:
            assert w.wait_idle(30)
            _umount(drive)
            time.sleep(0.05)
            assert w.wait_idle(30)
            make_photo(d / "after.jpg", seed=20)   # and goes on with the rest
            assert _wait_for(lambda: lib.file_by_path(d / "after.jpg") is not None, 30)
            assert w.wait_idle(30)
        assert lib.count() == 6
        assert all(lib.file_by_path(drive / f"d{i}.jpg") is not None for i in range(3))

        # a drive that is mounted but emptied by hand: those deletions are real
        tmpfs(drive)
        rep = lib.scan([d])
        assert rep.removed == 3 and lib.count() == 3


# ---------------------------------------------------------------------------------------------- unreadable folders

@pytest.fixture
def nobody_base():
    """A folder under /tmp that user nobody can reach (pytest's tmp_path is root's alone); every folder in it
    made enterable again and removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="imgsim-hostile-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    for root, dirs, _ in os.walk(base):
        for x in dirs:
            os.chmod(os.path.join(root, x), 0o755)
    shutil.rmtree(base, ignore_errors=True)


def _as_nobody(base: Path, tiny_model, photos: Path):
    """The test model and a library home in ``base`` readable by nobody; returns (model card, a runner of
    the CLI as user nobody: permission bits apply, as they do not to root)."""
    model = base / "model"
    shutil.copytree(Path(tiny_model).parent, model)
    for p in [photos, model, *model.iterdir()]:
        p.chmod(0o755)
    home = base / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)

    def run(args):
        env = dict(os.environ, IMGSIM_HOME=str(home), OMP_NUM_THREADS="1", HOME=str(home))
        proc = subprocess.run(["timeout", "-s", "KILL", "120", "setpriv", "--reuid=65534", "--regid=65534",
                               "--clear-groups", sys.executable, "-m", "imgsim_desktop", *map(str, args)],
                              capture_output=True, text=True, env=env, cwd=os.getcwd())
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return model / Path(tiny_model).name, run


@linux_root
def test_unreadable_subfolder_is_a_listed_problem_with_its_reason(tiny_model, make_photo, nobody_base):
    d = nobody_base / "photos"
    make_photo(d / "ok.jpg", seed=1)
    make_photo(d / "secret" / "hidden_from_me.jpg", seed=2)
    card, as_nobody = _as_nobody(nobody_base, tiny_model, d)
    (d / "secret").chmod(0o000)

    proc = as_nobody(["index", d, "--model", card, "--json"])
    assert proc.returncode == 0, proc.stderr
    proc = as_nobody(["status", "--errors", "--json", "--model", card])
    assert proc.returncode == 0, proc.stderr
    st = json.loads(proc.stdout)
    errors = {e["path"]: e["reason"] for e in st["error_files"]}
    assert "permission denied" in errors[str(d / "secret")].lower(), errors
    # the folder is a folder that cannot be read, not "1 unreadable file" beside the one photo
    assert (st["files"], st["errors"], st["unreadable_folders"]) == (1, 0, 1)
    assert (st["folders"][0]["files"], st["folders"][0]["errors"]) == (1, 0)
    text = as_nobody(["status", "--model", card]).stdout
    assert "1 files, 1 indexed, 0 unreadable" in text and "1 folder that cannot be read" in text, text
    # readable again: the problem goes away and its photo comes in
    (d / "secret").chmod(0o755)
    (d / "secret" / "hidden_from_me.jpg").chmod(0o644)
    assert as_nobody(["index", d, "--model", card]).returncode == 0
    st = json.loads(as_nobody(["status", "--errors", "--json", "--model", card]).stdout)
    assert st["error_files"] == [] and st["indexed"] == 2


@linux_root
def test_a_refused_file_and_a_folder_that_cannot_be_entered_come_in_once_readable(tiny_model, make_photo,
                                                                                    nobody_base):
    """A chmod changes neither size nor time, so a file refused once stayed "permission denied" for good; a
    folder that lists its names but cannot be entered was skipped without a word (an outside attack)."""
    d = nobody_base / "photos"
    make_photo(d / "ok.jpg", seed=1)
    make_photo(d / "locked.jpg", seed=2)
    make_photo(d / "noexec" / "inside.jpg", seed=3)
    card, as_nobody = _as_nobody(nobody_base, tiny_model, d)
    (d / "ok.jpg").chmod(0o644)
    (d / "locked.jpg").chmod(0o000)
    (d / "noexec" / "inside.jpg").chmod(0o644)
    (d / "noexec").chmod(0o644)   # its names can be listed, its files not opened

    assert as_nobody(["index", d, "--model", card]).returncode == 0
    st = json.loads(as_nobody(["status", "--errors", "--json", "--model", card]).stdout)
    errors = {e["path"]: e["reason"] for e in st["error_files"]}
    assert errors[str(d / "locked.jpg")] == "permission denied"
    assert "permission denied" in errors[str(d / "noexec")]
    (d / "locked.jpg").chmod(0o644)
    (d / "noexec").chmod(0o755)
    assert as_nobody(["index", d, "--model", card]).returncode == 0
    st = json.loads(as_nobody(["status", "--errors", "--json", "--model", card]).stdout)
    assert st["error_files"] == [] and st["indexed"] == 3


# ---------------------------------------------------------------------------------------------- kill -9

@pytest.mark.skipif(os.name != "posix", reason="kill -9")
def test_watch_killed_mid_batch_leaves_a_library_that_resumes(tmp_path, tiny_model, make_photo):
    d = tmp_path / "photos"
    d.mkdir()
    home = tmp_path / "home"
    assert cli(["index", d, "--model", tiny_model], home)[0] == 0
    env = dict(os.environ, IMGSIM_HOME=str(home), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "imgsim_desktop", "watch", "--model", str(tiny_model),
                             "--debounce", "0.1", "--settle", "0.2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        # the watcher has started (it imports torch first) when it says what it watches; then feed it photos
        assert b"imgsim: watching" in proc.stderr.readline()
        staging = tmp_path / "staging"
        for i in range(60):
            make_photo(staging / f"s{i}.jpg", seed=i)
        for i in range(60):
            os.rename(staging / f"s{i}.jpg", d / f"s{i}.jpg")
        import sqlite3
        cat = home / "catalog.sqlite"

        def some_indexed():
            with sqlite3.connect(f"file:{cat}?mode=ro", uri=True) as c:
                return c.execute("SELECT COUNT(*) FROM files").fetchone()[0] > 0
        assert _wait_for(some_indexed, 60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    rc, out, err = cli(["index", "--model", tiny_model, "--json"], home)
    assert rc == 0, err
    rc, out, err = cli(["status", "--json", "--model", tiny_model], home)
    assert rc == 0 and json.loads(out)["indexed"] == 60
    with Library(home, model_path=tiny_model, workers=2) as lib:
        assert catalog_of(lib) == fresh_scan(d, tiny_model, tmp_path)


@linux_root
def test_library_folder_that_is_an_unplugged_drive_with_a_hidden_file_is_offline(tmp_path, tiny_model, make_photo,
                                                                                  tmpfs):
    card = tmp_path / "card"
    card.mkdir()
    (card / ".hidden").write_text("left by the desktop")   # under the mount: seen once it is unmounted
    tmpfs(card)
    for i in range(3):
        make_photo(card / f"c{i}.jpg", seed=i)
    home = tmp_path / "home"
    assert cli(["index", card, "--model", tiny_model], home)[0] == 0
    _umount(card)
    rc, out, err = cli(["index", "--model", tiny_model, "--json"], home)
    assert rc == 0 and json.loads(out)["removed"] == 0 and json.loads(out)["missing_folders"] == [str(card)]
    rc, out, err = cli(["status", "--json", "--model", tiny_model], home)
    assert json.loads(out)["files"] == 3
