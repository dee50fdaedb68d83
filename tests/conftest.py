"""Fixtures shared by the core and CLI tests. Every test writes its own images; nothing is mocked."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for tests/photos.py

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from photos import write_photo  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A small randomly initialised model (tests only; the app never uses random weights)."""
    from imgsim_desktop.core.model import create_random_model

    return create_random_model(tmp_path_factory.mktemp("model"), name="test-model", input_size=32,
                               embedding_size=16, seed=0)


@pytest.fixture
def photos_dir(tmp_path) -> Path:
    d = tmp_path / "photos"
    d.mkdir()
    return d


@pytest.fixture
def lib_home(tmp_path) -> Path:
    return tmp_path / "library"


@pytest.fixture
def library(lib_home, tiny_model):
    from imgsim_desktop.core.library import Library

    lib = Library(lib_home, model_path=tiny_model, workers=2)
    yield lib
    lib.close()


@pytest.fixture
def make_photo():
    return write_photo


@pytest.fixture
def trash_env(tmp_path, monkeypatch):
    """HOME and XDG_DATA_HOME inside tmp_path: send2trash then uses tmp_path/xdg/Trash (same device)."""
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    home.mkdir()
    xdg.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))
    return xdg / "Trash"
