"""The app installs like one: a built wheel carries and finds its model, the desktop entry installs and
validates, and a missing Qt system library is named with the package that provides it (issue 13)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from imgsim_desktop.system import APP_ID, DEBIAN_PACKAGES, install_desktop_entry

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_built_wheel_carries_the_model_and_an_install_finds_it(tmp_path):
    src = tmp_path / "src"  # a clean copy of the tracked tree, so nothing of this checkout's build leaks in
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for rel in files.split():
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("imgsim_desktop-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = [n for n in names if ".data/data/share/imgsim-desktop/" in n]
    assert any(n.endswith("models/imgsim-ae.safetensors") for n in data)
    assert any(n.endswith("models/imgsim-ae.json") for n in data)
    assert any(n.endswith(f"packaging/{APP_ID}.metainfo.xml") for n in data)

    # install it into a bare environment and ask the installed package where its model is
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    # --ignore-installed: without it pip "upgrades" this venv's own editable install into the prefix, which
    # uninstalls it here and leaves the developer's venv (and the rest of the run) without `imgsim`
    before = _installed_here()
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--ignore-installed",
                           "--prefix", str(env_dir), str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert _installed_here() == before
    probe = ("import json, hashlib; from imgsim_desktop.core.paths import models_dir; from imgsim_desktop.system "
             "import packaging_dir; import imgsim_desktop; card = models_dir() / 'imgsim-ae.json'; "
             "print(json.dumps({'pkg': imgsim_desktop.__file__, 'card': str(card), 'packaging': str(packaging_dir())}))")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IMGSIM_RESOURCES")}
    out = subprocess.run([str(env_dir / "bin" / "python"), "-c", probe], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found["pkg"].startswith(str(env_dir))  # the installed copy, not this checkout
    card_path = Path(found["card"])
    assert card_path.is_relative_to(env_dir)
    card = json.loads(card_path.read_text())
    weights = card_path.with_name(card["weights"])
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == card["weights_sha256"]
    assert (Path(found["packaging"]) / f"{APP_ID}.metainfo.xml").is_file()


def test_desktop_entry_installs_launcher_icon_and_metainfo(tmp_path):
    written = install_desktop_entry(exec_path="/opt/imgsim/bin/imgsim-desktop", data=tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert names == {f"applications/{APP_ID}.desktop", f"icons/hicolor/scalable/apps/{APP_ID}.svg",
                     f"metainfo/{APP_ID}.metainfo.xml"}
    desktop = (tmp_path / "applications" / f"{APP_ID}.desktop").read_text()
    assert "Exec=/opt/imgsim/bin/imgsim-desktop\n" in desktop and f"Icon={APP_ID}\n" in desktop
    if shutil.which("desktop-file-validate"):
        proc = subprocess.run(["desktop-file-validate", str(tmp_path / "applications" / f"{APP_ID}.desktop")],
                              capture_output=True, text=True)
        assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout
    if shutil.which("appstreamcli"):
        proc = subprocess.run(["appstreamcli", "validate", "--no-net", str(tmp_path / "metainfo" /
                                                                           f"{APP_ID}.metainfo.xml")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    else:
        pytest.skip("appstreamcli not installed (apt install appstream) - metainfo not validated")


def test_the_qt_library_check_names_packages_not_sonames():
    proc = subprocess.run([sys.executable, "-m", "imgsim_desktop.system", "check"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    if proc.returncode == 0:
        assert proc.stderr == ""
        return
    assert proc.returncode == 1
    line = next(l for l in proc.stderr.splitlines() if "apt install" in l).split("apt install", 1)[1].split()
    assert line and all(pkg in DEBIAN_PACKAGES.values() for pkg in line), proc.stderr


def _installed_here() -> bool:
    """Whether this environment has imgsim-desktop installed (asked in a fresh process: no stale cache)."""
    probe = "import importlib.metadata as m\ntry:\n    m.version('imgsim-desktop'); print(1)\nexcept m.PackageNotFoundError:\n    print(0)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd="/")
    return out.stdout.strip() == "1"
