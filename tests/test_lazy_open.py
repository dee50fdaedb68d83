"""Commands that embed nothing new stay light: no torch, no writer lock, no index rewrite (issue 13); those
that read only the catalog (status, folders, history) not even numpy, PIL or hnswlib."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imgsim_desktop.core.library import Library
from photos import write_photos

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "numpy", "hnswlib", "PIL")

# Runs one `imgsim` command in a fresh interpreter and reports its exit code and which heavy modules it
# imported, on a last line: "PROBE <rc> <module,...|->".
PROBE = (
    "import sys\n"
    "from imgsim_desktop.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    f"print('PROBE', rc, ','.join(m for m in {HEAVY!r} if m in sys.modules) or '-')\n"
)


def run_cli(*args: str) -> tuple[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout, proc.stderr


def probed(out: str) -> tuple[int, set[str]]:
    """(exit code, heavy modules imported) from the probe's last line."""
    word, rc, loaded = out.strip().splitlines()[-1].split()
    assert word == "PROBE", out
    return int(rc), set() if loaded == "-" else set(loaded.split(","))


def index_files(home: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in sorted(home.glob("index*"))}


@pytest.fixture
def indexed(tmp_path, tiny_model):
    photos = write_photos(tmp_path / "photos", 6)
    home = tmp_path / "lib"
    with Library(home, model_path=tiny_model, workers=1) as lib:
        lib.scan([tmp_path / "photos"])
    return home, photos


@pytest.mark.parametrize("command", [["status"], ["status", "--json", "--errors"], ["folders"], ["history"],
                                     ["dupes"], ["dupes", "--tier", "similar"],
                                     ["similar", "PHOTO", "-k", "3"],
                                     ["similar", "PHOTO", "-k", "3", "--space", "duplicates"]])
def test_query_commands_never_import_torch_nor_rewrite_the_index(indexed, tiny_model, command):
    home, photos = indexed
    before = index_files(home)
    assert before, "the scan saved its indexes"
    args = [str(photos[0]) if a == "PHOTO" else a for a in command]
    out, _ = run_cli(*args, "--library", str(home), "--model", str(tiny_model))
    rc, loaded = probed(out)
    assert rc == 0 and "torch" not in loaded, out
    if command[0] in ("status", "folders", "history"):  # they read only the catalog and the model card
        assert loaded == set(), out
    assert index_files(home) == before  # nothing was rewritten


def test_the_light_status_says_what_the_library_says(indexed, tiny_model, tmp_path):
    """`imgsim status` answers from a read-only view (core/library_view.py): the same dict as the Library's."""
    from imgsim_desktop.core.library_view import open_view

    home, photos = indexed
    (tmp_path / "gone").mkdir()
    with Library(home, model_path=tiny_model, workers=1) as lib:  # a missing folder, an unreadable file
        lib.add_folder(tmp_path / "gone")
        (home.parent / "photos" / "broken.jpg").write_bytes(b"not a jpeg")
        lib.scan()
    (tmp_path / "gone").rmdir()
    with Library(home, model_path=tiny_model, readonly=True) as lib:
        expected, expected_errors = lib.status(), lib.errors()
    with open_view(home, model_path=tiny_model) as view:
        assert view.status() == expected
        assert view.errors() == expected_errors and len(expected_errors) == 1
    exists = {f["path"]: f["exists"] for f in expected["folders"]}
    assert expected["files"] == len(photos) + 1 and exists == {str((home.parent / "photos").resolve()): True,
                                                               str((tmp_path / "gone").resolve()): False}
    assert open_view(tmp_path / "new-library", model_path=tiny_model) is None  # created by a Library instead


def test_similar_of_a_new_photo_loads_the_model(indexed, tiny_model, tmp_path):
    home, _ = indexed
    outside = write_photos(tmp_path / "outside", 1, prefix="q")[0]
    out, _ = run_cli("similar", str(outside), "-k", "3", "--library", str(home), "--model", str(tiny_model))
    rc, loaded = probed(out)
    assert rc == 0 and "torch" in loaded, out


def test_queries_run_beside_a_writer_without_taking_its_role(indexed, tiny_model):
    home, photos = indexed
    with Library(home, model_path=tiny_model, workers=1) as writer:  # holds the writer lock
        out, _ = run_cli("status", "--json", "--library", str(home), "--model", str(tiny_model))
        assert '"readonly": true' in out  # said because another process writes, not refused
        out, _ = run_cli("similar", str(photos[1]), "-k", "2", "--library", str(home), "--model", str(tiny_model))
        rc, loaded = probed(out)
        assert rc == 0 and "torch" not in loaded, out
        assert writer.scan().unchanged == len(photos)  # the writer still writes


def test_a_rescan_with_nothing_to_do_rewrites_no_index(indexed, tiny_model):
    home, _ = indexed
    before = index_files(home)
    with Library(home, model_path=tiny_model, workers=1) as lib:
        assert lib.scan().unchanged == 6
    assert index_files(home) == before


def test_index_command_saves_each_changed_index_once(tmp_path, tiny_model, monkeypatch):
    """`imgsim index` used to write every index twice (after the scan, and again on close)."""
    from imgsim_desktop.core.index import VectorIndex

    saved = []
    real_save = VectorIndex.save

    def counting_save(self, path, *args, **kw):
        saved.append(Path(path).name)
        return real_save(self, path, *args, **kw)

    monkeypatch.setattr(VectorIndex, "save", counting_save)
    write_photos(tmp_path / "photos", 4)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([tmp_path / "photos"])
    assert saved == ["index.hnsw"]
    saved.clear()
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan()
    assert saved == []  # nothing changed: nothing written


WINDOW_PROBE = (
    "import sys\n"
    "from PySide6.QtWidgets import QApplication\n"
    "from imgsim_desktop.gui.app import open_library\n"
    "from imgsim_desktop.gui.main_window import MainWindow\n"
    "from imgsim_desktop.gui.settings import AppSettings\n"
    "app = QApplication([])\n"
    "s = AppSettings()\n"
    "s.library_dir = sys.argv[1]\n"
    "lib = open_library(s, model_path=sys.argv[2])\n"
    "win = MainWindow(lib, s, start_watcher=False)\n"
    "win.show()\n"
    "app.processEvents()\n"
    "print('VISIBLE' if win.isVisible() else 'HIDDEN', 'TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    "win.shutdown()\n"
    "lib.close()\n"
)


def test_the_window_shows_before_the_model_loads(indexed, tiny_model, tmp_path):
    home, _ = indexed
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    proc = subprocess.run([sys.executable, "-c", WINDOW_PROBE, str(home), str(tiny_model)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "VISIBLE NO-TORCH" in proc.stdout, proc.stdout + proc.stderr
