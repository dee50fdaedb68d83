"""Where things live: the library folder and the bundled resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "imgsim"


def default_library_dir() -> Path:
    """``$IMGSIM_HOME`` if set, else the per-user data dir. The GUI and CLI share this rule."""
    env = os.environ.get("IMGSIM_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs  # here, not at import: training on a bare GPU machine needs no library folder

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resources_dir() -> Path:
    """``$IMGSIM_RESOURCES``, else the source tree's ``resources/``, else the installed data files."""
    env = os.environ.get("IMGSIM_RESOURCES")
    if env:
        return Path(env)
    source = Path(__file__).resolve().parents[2] / "resources"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "imgsim-desktop"


def models_dir() -> Path:
    return resources_dir() / "models"
