"""``imgsim trash | undo | history | review`` and reference folders, as a user runs them: real processes,
real files, a test trash under a temporary XDG_DATA_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from review_photos import copies
from test_cli import run

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop trash is Linux-only")


@pytest.fixture
def env(tmp_path):
    (tmp_path / "xdg").mkdir()
    (tmp_path / "userhome").mkdir()
    return {"XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "userhome")}


@pytest.fixture
def lib(tmp_path, tiny_model, env):
    files = copies(tmp_path / "photos")
    home = tmp_path / "home"
    run(["index", tmp_path / "photos", "--model", tiny_model, "--json"], home, check=0, env_extra=env)
    return files, home


def cli(args, home, tiny_model, env, check=None):
    """One ``imgsim`` run with no terminal on stdin (as from a script or cron)."""
    args = [*args, "--model", tiny_model] + (["--threshold", "-1"] if args[0] in ("trash", "dupes", "review") else [])
    proc = subprocess.run([sys.executable, "-m", "imgsim_desktop", *map(str, args)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120,
                          env=dict(os.environ, IMGSIM_HOME=str(home), OMP_NUM_THREADS="1", **env))
    if check is not None:
        assert proc.returncode == check, proc.stderr
    return proc


def test_dupes_json_has_stable_ids_reasons_and_reference(lib, tiny_model, env):
    files, home = lib
    a = json.loads(cli(["dupes", "--json"], home, tiny_model, env, check=0).stdout)
    (g,) = a["groups"]
    assert len(g["id"]) == 16
    assert g["keeper"] == str(files["camera"]) and "Canon EOS 80D" in g["keeper_reason"]
    assert all(m["reference"] is False for m in g["members"])
    cli(["folders", "add", files["whatsapp"].parent, "--reference"], home, tiny_model, env, check=0)
    listed = cli(["folders", "list"], home, tiny_model, env, check=0).stdout
    assert f"{files['whatsapp'].parent}  (reference)" in listed
    (g,) = json.loads(cli(["dupes", "--json"], home, tiny_model, env, check=0).stdout)["groups"]
    assert g["keeper"] == str(files["whatsapp"]) and g["members"][0]["reference"] is True
    assert [m["path"] for m in g["members"] if m["reference"]] == [str(files["whatsapp"])]


def test_trash_dry_run_changes_nothing(lib, tiny_model, env):
    files, home = lib
    before = {k: p.read_bytes() for k, p in files.items()}
    out = cli(["trash", "--all-but-keeper", "--dry-run"], home, tiny_model, env, check=0).stdout
    assert str(files["png"]) in out and str(files["screenshot"]) in out
    assert "Would move to the trash: 5 files" in out
    assert str(files["camera"]) not in out.split("Would move")[0]
    assert {k: p.read_bytes() for k, p in files.items()} == before
    js = json.loads(cli(["trash", "--all-but-keeper", "--dry-run", "--json"], home, tiny_model, env, check=0).stdout)
    assert js["would_trash"]["files"] == 5 and str(files["camera"]) not in js["would_trash"]["paths"]


def test_trash_without_yes_and_no_terminal_refuses(lib, tiny_model, env):
    files, home = lib
    proc = cli(["trash", "--all-but-keeper"], home, tiny_model, env, check=2)
    assert "--yes" in proc.stderr and "Traceback" not in proc.stderr
    assert all(p.exists() for p in files.values())


def test_trash_yes_then_undo_restores_bytes(lib, tiny_model, env, tmp_path):
    files, home = lib
    before = {k: p.read_bytes() for k, p in files.items()}
    ids = json.loads(cli(["dupes", "--json"], home, tiny_model, env, check=0).stdout)
    gid = ids["groups"][0]["id"]
    out = cli(["trash", "--all-but-keeper", "--group", gid, "--yes"], home, tiny_model, env, check=0).stdout
    assert "Moved to trash: 5 files" in out
    assert files["camera"].exists() and not any(files[k].exists() for k in files if k != "camera")
    assert len(list((tmp_path / "xdg" / "Trash" / "files").iterdir())) == 5
    hist = json.loads(cli(["history", "--json"], home, tiny_model, env, check=0).stdout)
    assert len(hist) == 1 and hist[0]["files"] == 5 and hist[0]["undoable"]
    assert json.loads(cli(["dupes", "--json"], home, tiny_model, env, check=0).stdout)["groups"] == []

    out = cli(["undo"], home, tiny_model, env, check=0).stdout
    assert "restored 5 file(s)" in out
    assert {k: p.read_bytes() for k, p in files.items()} == before
    hist = json.loads(cli(["history", "--json"], home, tiny_model, env, check=0).stdout)
    assert hist[0]["undone"] and not hist[0]["undoable"]
    # the restored photos are back in the library: the same group, the same id
    again = json.loads(cli(["dupes", "--json"], home, tiny_model, env, check=0).stdout)["groups"]
    assert [g["id"] for g in again] == [gid]
    proc = cli(["undo"], home, tiny_model, env, check=2)
    assert "nothing to undo" in proc.stderr
    proc = cli(["undo", "--id", "7"], home, tiny_model, env, check=2)
    assert "no action 7" in proc.stderr


def test_unknown_group_and_similar_tier(lib, tiny_model, env):
    files, home = lib
    proc = cli(["trash", "--all-but-keeper", "--group", "feedfacefeedface", "--yes"], home, tiny_model, env, check=2)
    assert "no group feedfacefeedface" in proc.stderr
    out = cli(["trash", "--all-but-keeper", "--tier", "similar", "--dry-run"], home, tiny_model, env, check=0)
    assert "--confirm-similar" in out.stderr and "Nothing is marked" in out.stdout
    out = cli(["trash", "--all-but-keeper", "--tier", "similar", "--confirm-similar", "--dry-run"], home,
              tiny_model, env, check=0)
    assert "5 files" in out.stdout


def test_review_hides_a_group_until_forgotten(lib, tiny_model, env):
    files, home = lib
    (g,) = json.loads(cli(["dupes", "--json"], home, tiny_model, env, check=0).stdout)["groups"]
    cli(["review", g["id"], "--keep-all"], home, tiny_model, env, check=0)
    assert json.loads(cli(["dupes", "--json"], home, tiny_model, env, check=0).stdout)["groups"] == []
    assert "Nothing is marked" in cli(["trash", "--all-but-keeper", "--dry-run"], home, tiny_model, env,
                                      check=0).stdout
    cli(["review", g["id"], "--forget"], home, tiny_model, env, check=0)
    assert len(json.loads(cli(["dupes", "--json"], home, tiny_model, env, check=0).stdout)["groups"]) == 1


@pytest.mark.parametrize("answer, code", [("n", 1), ("y", 0)])
def test_trash_asks_on_a_terminal(lib, tiny_model, env, answer, code):
    import pty

    files, home = lib
    master, slave = pty.openpty()
    os.write(master, (answer + "\n").encode())
    args = ["trash", "--all-but-keeper", "--model", tiny_model, "--threshold", "-1"]
    proc = subprocess.run([sys.executable, "-m", "imgsim_desktop", *map(str, args)], stdin=slave,
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, IMGSIM_HOME=str(home), OMP_NUM_THREADS="1", **env))
    os.close(slave)
    os.close(master)
    assert proc.returncode == code, proc.stderr
    assert "to the trash? [y/N]" in proc.stdout
    assert files["png"].exists() == (answer == "n") and files["camera"].exists()


def test_keeper_rules_setting(lib, tiny_model, env):
    files, home = lib
    proc = cli(["keeper-rules", "--set", "resolution,camera"], home, tiny_model, env, check=0)
    assert proc.stdout.startswith("resolution > camera > container")
    (g,) = json.loads(cli(["dupes", "--json"], home, tiny_model, env, check=0).stdout)["groups"]
    assert g["keeper"] == str(files["screenshot"])
    assert "bogus" in cli(["keeper-rules", "--set", "bogus"], home, tiny_model, env, check=2).stderr
    assert "(default)" in cli(["keeper-rules", "--reset"], home, tiny_model, env, check=0).stdout
