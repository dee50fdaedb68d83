"""Checking for duplicates ahead, headless: ``imgsim index --check-duplicates`` and ``imgsim watch
--check-duplicates`` verify the candidates as the app does in the background, so the next grouping verifies
nothing; a photo added while watching costs only its own pairs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from imgsim_desktop.core.library import Library
from photos import scene
from test_crash import REPO, Child


def _imgsim(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "imgsim_desktop", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def _photos(folder: Path) -> Path:
    folder.mkdir()
    for i in range(4):
        scene(700 + i, (240, 180)).save(folder / f"p{i}.jpg", quality=90)
    first = folder / "p0.jpg"
    scene(700, (240, 180)).convert("L").save(folder / "p0_grey.png")
    return first


def test_index_check_duplicates_leaves_nothing_to_verify(tmp_path, tiny_model):
    folder, home = tmp_path / "photos", tmp_path / "lib"
    _photos(folder)
    out = _imgsim("index", str(folder), "--library", str(home), "--model", str(tiny_model), "--check-duplicates")
    assert out.returncode == 0, out.stderr
    assert "duplicates checked: 1 group" in out.stdout
    again = _imgsim("index", "--library", str(home), "--model", str(tiny_model), "--check-duplicates", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["duplicate_groups"] is None   # nothing changed
    with Library(home, model_path=tiny_model, workers=1) as lib:
        assert lib.duplicates_checked()
        (group,) = lib.duplicates()
        assert lib.last_verification["verified_now"] == 0
        assert {Path(m.path).name for m in group.members} == {"p0.jpg", "p0_grey.png"}


def test_watch_check_duplicates_checks_a_new_copy_as_it_comes(tmp_path, tiny_model):
    folder, home = tmp_path / "photos", tmp_path / "lib"
    first = _photos(folder)
    (folder / "p0_grey.png").unlink()
    child = Child(str(folder), "--library", str(home), "--model", str(tiny_model), "--check-duplicates")
    try:
        child.wait_line(lambda line: "checked  duplicates: 0 groups" in line)
        scene(700, (240, 180)).convert("L").save(folder / "grey_copy.png")
        child.wait_line(lambda line: "checked  duplicates: 1 group" in line)
        child.proc.send_signal(signal.SIGINT)
        assert child.proc.wait(60) == 0
    finally:
        child.kill()
    with Library(home, model_path=tiny_model, workers=1) as lib:
        (group,) = lib.duplicates()
        assert lib.last_verification["verified_now"] == 0
        assert {m.path for m in group.members} == {str(first), str(folder / "grey_copy.png")}
