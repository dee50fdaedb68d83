"""The ``imgsim`` command as a user runs it: real processes, exit codes, one-line errors, JSON shapes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def run(args, home, check=None, env_extra=None):
    env = dict(os.environ, IMGSIM_HOME=str(home), OMP_NUM_THREADS="1")
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-m", "imgsim_desktop", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120)
    if check is not None:
        assert proc.returncode == check, proc.stderr
    return proc


@pytest.fixture
def indexed(tmp_path, tiny_model, make_photo):
    d = tmp_path / "photos"
    for i in range(6):
        make_photo(d / f"p{i}.jpg", seed=i)
    shutil.copy(d / "p0.jpg", d / "p0 copy.jpg")
    home = tmp_path / "home"
    proc = run(["index", d, "--model", tiny_model, "--json"], home, check=0)
    return d, home, json.loads(proc.stdout)


def test_index_json_report(indexed):
    d, home, report = indexed
    assert report["added"] == 7 and report["failed"] == 0 and report["reused"] == 1


def test_similar_json_shape(indexed, tiny_model):
    d, home, _ = indexed
    out = json.loads(run(["similar", d / "p2.jpg", "-k", "3", "--json", "--model", tiny_model], home, check=0).stdout)
    assert out["query"] == str(d / "p2.jpg")
    assert len(out["results"]) == 3
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True)
    assert all(set(r) >= {"path", "score", "kind", "same_photo"} for r in out["results"])


def test_dupes_json_shape(indexed, tiny_model):
    d, home, _ = indexed
    out = json.loads(run(["dupes", "--json", "--threshold", "0.9999", "--model", tiny_model], home, check=0).stdout)
    exact = [g for g in out["groups"] if g["tier"] == "exact"]
    assert len(exact) == 1
    g = exact[0]
    assert g["keeper"] in [m["path"] for m in g["members"]]
    assert {m["path"] for m in g["members"]} == {str(d / "p0.jpg"), str(d / "p0 copy.jpg")}
    for m in g["members"]:
        assert set(m) >= {"path", "similarity", "width", "height", "bytes"}


def test_status_and_csv(indexed, tiny_model):
    d, home, _ = indexed
    st = json.loads(run(["status", "--json", "--model", tiny_model], home, check=0).stdout)
    assert st["indexed"] == 7 and st["folders"][0]["path"] == str(d)
    csv_out = run(["similar", d / "p1.jpg", "--csv", "--model", tiny_model], home, check=0).stdout
    assert csv_out.splitlines()[0] == "path,score,space,kind,reason,copies"
    table = run(["status", "--model", tiny_model], home, check=0).stdout
    assert "7 indexed" in table


def _one_line_error(proc, code, text):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgsim: error:") and text in lines[0], proc.stderr


def test_errors_are_one_line_with_nonzero_exit(indexed, tiny_model, tmp_path):
    d, home, _ = indexed
    _one_line_error(run(["index", tmp_path / "missing", "--model", tiny_model], home), 2, "folder not found")
    notimg = tmp_path / "notes.jpg"
    notimg.write_text("hello")
    _one_line_error(run(["similar", notimg, "--model", tiny_model], home), 2, "not an image")
    _one_line_error(run(["status", "--model", tmp_path / "nomodel.json"], home), 3, "nomodel")
    card = json.loads(Path(tiny_model).read_text())
    card["format_version"] = 999
    other = tmp_path / "future" / "future.json"
    other.parent.mkdir()
    other.write_text(json.dumps(card))
    shutil.copy(Path(tiny_model).with_suffix(".safetensors"), other.with_suffix(".safetensors"))
    _one_line_error(run(["status", "--model", other], home), 3, "future")


def test_locked_library_is_refused_for_writing(indexed, tiny_model):
    d, home, _ = indexed
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from imgsim_desktop.core.library import Library\n"
         "lib = Library(sys.argv[1], model_path=sys.argv[2])\n"
         "print('ready', flush=True)\n"
         "time.sleep(60)\n", str(home), str(tiny_model)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        _one_line_error(run(["index", "--model", tiny_model], home), 4, "in use by another imgsim process")
        # Queries still work, read-only.
        st = json.loads(run(["status", "--json", "--model", tiny_model], home, check=0).stdout)
        assert st["readonly"] is True and st["indexed"] == 7
    finally:
        holder.kill()
        holder.wait()


def test_bundled_model_missing_is_a_clear_error(tmp_path, make_photo):
    """With resources pointing at an empty folder, the app refuses rather than using random weights."""
    make_photo(tmp_path / "p" / "a.jpg", seed=1)
    empty = tmp_path / "res"
    (empty / "models").mkdir(parents=True)
    proc = run(["index", tmp_path / "p"], tmp_path / "home", env_extra={"IMGSIM_RESOURCES": str(empty)})
    _one_line_error(proc, 3, "model")


def test_each_command_is_found_in_the_module_that_registers_it():
    """`imgsim status` imports only library_cmds: the command -> module table must match what each
    module registers, and `imgsim --help` still lists every command."""
    import argparse
    import importlib

    from imgsim_desktop.cli import COMMAND_MODULES, COMMANDS, build_parser

    registered = {}
    for name in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(sub)
        registered.update(dict.fromkeys(sub.choices, name))
    assert registered == COMMANDS
    full = build_parser()._subparsers._group_actions[0].choices
    assert set(full) == set(COMMANDS)
    for command in COMMANDS:
        assert set(build_parser(command)._subparsers._group_actions[0].choices) >= {command}


def test_control_characters_in_names_are_escaped_on_the_terminal(capsys):
    """A newline in a file name broke a table row, and an escape sequence coloured the user's terminal."""
    from imgsim_desktop.cli.common import print_table, shown

    assert shown("a\nb\x1b[31m.jpg") == "a\\nb\\x1b[31m.jpg" and shown("ok é.jpg") == "ok é.jpg"
    print_table([("/p/new\nline.jpg", "\x1b[31mred")], ["path", "what"])
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 3 and "\x1b" not in out


def test_a_question_to_a_library_that_is_not_there_makes_none(tmp_path):
    """A mistyped --library made an empty library wherever it pointed and answered "0 files"."""
    import subprocess
    import sys

    where = tmp_path / "typo" / "lib"
    for cmd in (["status"], ["dupes"], ["history"], ["folders", "list"]):
        out = subprocess.run([sys.executable, "-m", "imgsim_desktop", *cmd, "--library", str(where)],
                             capture_output=True, text=True)
        assert out.returncode == 2 and "no library at" in out.stderr and "Traceback" not in out.stderr, cmd
    assert not (tmp_path / "typo").exists()


def test_a_list_of_names_not_in_utf8_carries_their_bytes():
    """trash --json listed "paths" with U+FFFD and no way back to the exact names (a script about to trash
    them could not open them)."""
    import base64
    import os

    from imgsim_desktop.cli.common import portable

    bad = os.fsdecode(b"/p/ph\xf6tos/small_\xe9.jpg")
    out = portable({"paths": ["/p/ok.jpg", bad]})
    assert out["paths"][0] == "/p/ok.jpg" and "\ufffd" in out["paths"][1]
    assert out["paths_bytes"][0] is None
    assert base64.b64decode(out["paths_bytes"][1]) == b"/p/ph\xf6tos/small_\xe9.jpg"
    assert "paths_bytes" not in portable({"paths": ["/p/ok.jpg"]})
