"""The engine must run without a display: nothing under imgsim_desktop/core may import Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "imgsim_desktop" / "core"
QT = ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "qtpy")


def test_no_qt_imports_in_core_sources():
    offenders = []
    for py in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text(), str(py))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{py.name}: {n}" for n in names if n.split(".")[0] in QT]
    assert not offenders, offenders
    assert len(list(CORE.glob("*.py"))) >= 10  # the walk really saw the engine


def test_importing_the_engine_loads_no_qt():
    code = ("import sys, pkgutil, importlib, imgsim_desktop.core as c\n"
            "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('imgsim_desktop.core.' + m.name)\n"
            "import imgsim_desktop.cli\n"
            "print(sorted(k for k in sys.modules if k.split('.')[0] in %r))" % (QT,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
