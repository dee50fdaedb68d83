"""Entry point of ``imgsim-desktop``: open the library (writer, or read-only if another process writes),
show the main window, and close everything in order on exit."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.errors import ImgsimError, LibraryLockedError, ModelError
from .settings import APP, ORG, AppSettings


def open_library(settings: AppSettings, model_path=None, parent=None):
    """The Library for these settings, asking before falling back to read-only. None if the user gives up."""
    from ..core.library import Library

    home = settings.library_home()
    try:
        return Library(home, model_path=model_path, device=settings.device, exclude=settings.excluded_folders)
    except LibraryLockedError as e:
        answer = QMessageBox.question(
            parent, "Library in use",
            f"{e}\n\nAnother imgsim is indexing this library. Open it read-only (search and review only)?")
        if answer != QMessageBox.StandardButton.Yes:
            return None
        return Library(home, model_path=model_path, device=settings.device, readonly=True,
                       exclude=settings.excluded_folders)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(prog="imgsim-desktop", description="Find duplicate and similar photos.")
    parser.add_argument("--library", help="library folder (default: settings, then $IMGSIM_HOME)")
    parser.add_argument("--model", help="model card or weights (default: the bundled model)")
    parser.add_argument("--no-watch", action="store_true", help="do not watch folders for changes")
    args, qt_args = parser.parse_known_args(argv[1:])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    app = QApplication.instance() or QApplication([argv[0], *qt_args])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName("imgsim")
    settings = AppSettings.load()
    if args.library:
        settings.library_dir = args.library

    try:
        lib = open_library(settings, model_path=args.model)
    except ModelError as e:
        QMessageBox.critical(None, "imgsim — model", f"The similarity model could not be loaded:\n\n{e}")
        return e.exit_code
    except ImgsimError as e:
        QMessageBox.critical(None, "imgsim", str(e))
        return e.exit_code
    if lib is None:
        return 0

    from .main_window import MainWindow

    try:
        win = MainWindow(lib, settings, start_watcher=not args.no_watch and not lib.readonly)
        win.show()
        code = app.exec()
        win.shutdown()
    finally:
        lib.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
