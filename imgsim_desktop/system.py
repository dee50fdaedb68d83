"""The app's place in the desktop system: the Qt platform libraries it needs, and its launcher entry.

No Qt import here: the library check must run before Qt is loaded (Qt's own message when a library is
missing names the wrong one), and the desktop-entry install is plain file copying.

``python -m imgsim_desktop.system check`` (what ``make run`` runs first) lists the shared libraries Qt's
X11 platform plugin cannot find and prints the exact ``apt install`` line for them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

APP_ID = "io.github.imgsim.ImgsimDesktop"

# soname -> Debian/Ubuntu package, for everything Qt's xcb platform plugin (and Qt Gui under it) links.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1", "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1", "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1", "libX11.so.6": "libx11-6", "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1", "libGLX.so.0": "libglx0", "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3", "libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0",
    "libpng16.so.16": "libpng16-16", "libz.so.1": "zlib1g",
}
# The Qt files whose dependencies decide whether the window can open on X11.
_QT_FILES = ("plugins/platforms/libqxcb.so", "lib/libQt6XcbQpa.so.6", "lib/libQt6Gui.so.6",
             "lib/libQt6Widgets.so.6", "lib/libQt6Core.so.6")


def qt_dir() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "Qt"


def missing_qt_libraries() -> list[str]:
    """Sonames that Qt's X11 plugin needs and the dynamic loader cannot find (empty off Linux)."""
    qt = qt_dir()
    if not sys.platform.startswith("linux") or qt is None or shutil.which("ldd") is None:
        return []
    missing: set[str] = set()
    for rel in _QT_FILES:
        f = qt / rel
        if not f.exists():
            continue
        try:
            out = subprocess.run(["ldd", str(f)], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.splitlines():
            if "not found" in line:
                missing.add(line.split("=>")[0].strip())
    return sorted(missing)


def install_command(sonames: list[str]) -> str:
    pkgs = sorted({DEBIAN_PACKAGES.get(s, s) for s in sonames})
    return "sudo apt install " + " ".join(pkgs)


def check() -> int:
    """0 when the window can open; else 1 after saying which libraries are missing and how to get them."""
    missing = missing_qt_libraries()
    if not missing:
        return 0
    print(f"imgsim-desktop: the window cannot open: Qt needs system libraries that are missing "
          f"({', '.join(missing)}).", file=sys.stderr)
    print(f"Install them with:\n    {install_command(missing)}", file=sys.stderr)
    unknown = [s for s in missing if s not in DEBIAN_PACKAGES]
    if unknown:
        print(f"(on other systems: the packages providing {', '.join(unknown)})", file=sys.stderr)
    return 1


# ------------------------------------------------------------------------------------- desktop entry

def packaging_dir() -> Path:
    """packaging/ of a source tree, else the copy a wheel installs under <prefix>/share/imgsim-desktop."""
    source = Path(__file__).resolve().parents[1] / "packaging"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "imgsim-desktop" / "packaging"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def install_desktop_entry(exec_path: str | None = None, data: Path | None = None) -> list[Path]:
    """Install the launcher, its icon and the AppStream metainfo for this user; returns the files written.

    The launcher runs this install's ``imgsim-desktop`` by its full path, so it works from a pipx or venv
    install whose bin folder the desktop session does not have on its PATH."""
    src = packaging_dir()
    data = Path(data) if data else data_home()
    exe = exec_path or shutil.which("imgsim-desktop") or str(Path(sys.executable).with_name("imgsim-desktop"))
    written = []
    desktop = (src / "imgsim-desktop.desktop").read_text(encoding="utf-8")
    fixed = {"Exec": exe, "Icon": APP_ID}
    desktop = "\n".join(f"{line.split('=')[0]}={fixed[line.split('=')[0]]}" if line.split("=")[0] in fixed else line
                        for line in desktop.splitlines())
    targets = [
        (data / "applications" / f"{APP_ID}.desktop", desktop + "\n"),
        (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
         (src / "imgsim-desktop.svg").read_text(encoding="utf-8")),
        (data / "metainfo" / f"{APP_ID}.metainfo.xml", (src / f"{APP_ID}.metainfo.xml").read_text(encoding="utf-8")),
    ]
    for path, text in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    if shutil.which("update-desktop-database"):
        subprocess.run(["update-desktop-database", str(data / "applications")], capture_output=True, timeout=30)
    return written


if __name__ == "__main__":
    if sys.argv[1:] == ["check"]:
        raise SystemExit(check())
    print("usage: python -m imgsim_desktop.system check", file=sys.stderr)
    raise SystemExit(2)
