"""A new library location (or device) from Settings reopens the app on it, without a restart by hand; a
switch that fails goes back to the library that worked."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from imgsim_desktop.gui import app as gui_app
from imgsim_desktop.gui.main_window import MainWindow
from imgsim_desktop.gui.settings import AppSettings


def _windows() -> list[MainWindow]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]


def _drive(steps):
    """Run each step once a new main window is showing (polling the event loop run() is in)."""
    seen = []

    def tick():
        wins = [w for w in _windows() if w not in seen]
        if wins:
            seen.append(wins[0])
            steps.pop(0)(wins[0])
        if steps:
            QTimer.singleShot(50, tick)

    QTimer.singleShot(50, tick)
    return seen


def test_switching_library_reopens_on_the_new_one(qapp, tmp_path, model_card):
    first, second = tmp_path / "lib-a", tmp_path / "lib-b"
    s = AppSettings(library_dir=str(first), device="cpu")
    asked = []

    def switch(win):
        assert win.lib.home == first
        win.confirm = lambda text: asked.append(text) or True
        win.apply_settings(AppSettings(library_dir=str(second), device="cpu"))

    def check_and_quit(win):
        assert win.lib.home == second and not win.lib.readonly
        win.close()

    seen = _drive([switch, check_and_quit])
    assert gui_app.run(qapp, s, model_path=model_card, watch=False) == 0
    assert len(seen) == 2 and seen[0].restart_requested and not seen[1].restart_requested
    assert len(asked) == 1 and str(second) in asked[0]
    assert AppSettings.load().library_dir == str(second)          # saved for the next start too
    assert (second / "catalog.sqlite").exists() or any(second.iterdir())


def test_declining_the_switch_keeps_the_window(qapp, qtbot, tmp_path, model_card):
    s = AppSettings(library_dir=str(tmp_path / "lib-a"), device="cpu")

    def decline(win):
        win.confirm = lambda text: False
        win.apply_settings(AppSettings(library_dir=str(tmp_path / "lib-b"), device="cpu"))
        assert win.isVisible() and not win.restart_requested
        assert "next time" in win.statusBar().currentMessage()
        win.close()

    _drive([decline])
    assert gui_app.run(qapp, s, model_path=model_card, watch=False) == 0


def test_failed_switch_falls_back_to_the_library_that_worked(qapp, tmp_path, model_card, monkeypatch):
    good = tmp_path / "lib-a"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the library folder should be")
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: warned.append(a[2])))

    def switch(win):
        win.confirm = lambda text: True
        win.apply_settings(AppSettings(library_dir=str(blocker / "lib"), device="cpu"))

    def back_home(win):
        assert win.lib.home == good
        win.close()

    seen = _drive([switch, back_home])
    assert gui_app.run(qapp, AppSettings(library_dir=str(good), device="cpu"), model_path=model_card,
                       watch=False) == 0
    assert len(seen) == 2 and len(warned) == 1 and "could not be opened" in warned[0]
    assert AppSettings.load().library_dir == str(good)


def test_unavailable_device_is_refused_in_settings(qtbot, window):
    import torch

    if torch.cuda.is_available():
        return
    window.confirm = lambda text: (_ for _ in ()).throw(AssertionError("nothing to reopen"))
    new = AppSettings(library_dir=window.settings.library_dir, device="cuda")
    window.apply_settings(new)
    assert window.settings.device == "cpu" and not window.restart_requested
    assert any("device not changed" in msg for _what, msg in window.errors.rows())
