"""Entry point of ``imgsim-desktop``: open the library (writer, or read-only if another process writes),
show the main window, and close everything in order on exit."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.errors import ImgsimError, LibraryLockedError, LibraryReadOnlyError, ModelError
from .settings import APP, ORG, AppSettings


def open_library(settings: AppSettings, model_path=None, parent=None):
    """The Library for these settings, asking before falling back to read-only. None if the user gives up."""
    from ..core.library import Library

    home = settings.library_home()
    # the excluded folders are the library's: an older app's list (kept in its settings) is handed over once
    older = [] if settings.excluded_in_library else settings.excluded_folders
    try:
        lib = Library(home, model_path=model_path, device=settings.device, exclude=older)
        settings.excluded_in_library = True
        settings.excluded_folders = [str(p) for p in lib.excluded_folders()]
        settings.save()
        return lib
    except LibraryReadOnlyError:  # a read-only mount: nothing to ask, queries work
        return Library(home, model_path=model_path, device=settings.device, readonly=True)
    except LibraryLockedError as e:
        who = str(e).split("process", 1)[1].split(";", 1)[0].strip() if "process" in str(e) else ""
        answer = QMessageBox.question(
            parent, "Library in use",
            f"Another imgsim{(' ' + who) if who else ''} (the app or an 'imgsim index' or 'imgsim watch' in a "
            f"terminal) is using the library at {home}.\n\nOpen it read-only? You can search and review, but "
            "not index, trash or move; the window follows that program's changes every few seconds.")
        if answer != QMessageBox.StandardButton.Yes:
            return None
        return Library(home, model_path=model_path, device=settings.device, readonly=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(prog="imgsim-desktop", description="Find duplicate and similar photos.")
    parser.add_argument("--library", help="library folder (default: settings, then $IMGSIM_HOME)")
    parser.add_argument("--model", help="model card or weights (default: the bundled model)")
    parser.add_argument("--no-watch", action="store_true", help="do not watch folders for changes")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="add imgsim to this user's application menu (launcher, icon, AppStream metainfo)")
    args, qt_args = parser.parse_known_args(argv[1:])
    if args.install_desktop_entry:
        from ..system import install_desktop_entry

        for path in install_desktop_entry():
            print(f"installed {path}")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    app = QApplication.instance() or QApplication([argv[0], *qt_args])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName("imgsim")
    from .qtcheck import binding_leaks

    leak = binding_leaks()
    if leak:  # say it now, not as a crash ten minutes in
        logging.getLogger(__name__).error("%s", leak)
        QMessageBox.warning(None, "imgsim", leak)
    settings = AppSettings.load()
    if args.library:
        settings.library_dir = args.library
    return run(app, settings, model_path=args.model, watch=not args.no_watch)


def run(app, settings: AppSettings, model_path=None, watch: bool = True) -> int:
    """Open the library and its window until the user quits. When the window asks for a restart (a new
    library location or device in Settings), close everything in order and open the new one."""
    from .main_window import MainWindow

    previous = None  # the settings that last opened fine, to fall back to if a switch fails
    while True:
        try:
            lib = open_library(settings, model_path=model_path)
        except ImgsimError as e:
            title = "imgsim — model" if isinstance(e, ModelError) else "imgsim"
            if previous is not None:  # a switch from Settings failed: say why and reopen what worked
                QMessageBox.warning(None, title, f"{settings.library_home()} could not be opened:\n\n{e}\n\n"
                                    f"Reopening {previous.library_home()}.")
                settings, previous = previous, None
                settings.save()
                continue
            QMessageBox.critical(None, title, f"The similarity model could not be loaded:\n\n{e}"
                                 if isinstance(e, ModelError) else str(e))
            return e.exit_code
        if lib is None:  # the user would not open it read-only
            if previous is None:
                return 0
            settings, previous = previous, None
            settings.save()
            continue
        try:
            win = MainWindow(lib, settings, start_watcher=watch and not lib.readonly)
            win.show()
            code = app.exec()
            win.shutdown()
            restart, previous, settings = win.restart_requested, settings, win.settings
            win.deleteLater()
        finally:
            lib.close()
        if not restart:
            return code


if __name__ == "__main__":
    sys.exit(main())
