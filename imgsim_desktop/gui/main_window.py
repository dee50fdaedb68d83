"""The main window's layout: sidebar of folders and indexing state, tabs (Library, Lookalikes, Duplicates,
Model view), a problems panel, menus, drag and drop, paste. Scans, the watcher, settings and the routing of
library changes live in the widget-free ``controller.LibraryController``."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton,
                               QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget)

from ..core import changes
from ..core.actions import ActionLog, format_bytes
from ..core.decode import is_image_path
from . import workers
from .duplicates import DuplicatesPage
from .lookalikes import LookalikesPage
from .model_view import ModelViewPage
from .models import FileGridModel, FileIdRole, PathRole, set_roots
from .controller import LibraryController
from .settings import AppSettings, SettingsDialog, pictures_dir, qsettings
from ..core.duplicates import FIND_AGAIN
from .sidebar import Sidebar, checked_words
from .thumbnails import ThumbnailManager
from .views import ErrorPanel, ThumbGrid
from .welcome import Welcome

def classify_mime(mime: QMimeData) -> tuple[list[str], list[str], bool]:
    """(folders, image files, has raw image data) in a drop or the clipboard."""
    folders, files = [], []
    urls = mime.urls() if mime.hasUrls() else []
    if not urls and mime.hasText():   # a path copied as text from a terminal or a file manager's location bar
        lines = [x.strip().strip("'\"") for x in mime.text().splitlines() if x.strip()]
        urls = [QUrl(x) if x.startswith("file:") else QUrl.fromLocalFile(os.path.expanduser(x))
                for x in lines[:50] if x.startswith(("/", "~", "file:"))]
    for url in urls:
        if not url.isLocalFile():
            continue
        p = Path(url.toLocalFile())
        if p.is_dir():
            folders.append(str(p))
        elif p.is_file() and is_image_path(p):
            files.append(str(p))
    return folders, files, mime.hasImage()


def photo_filter() -> str:
    """The open dialog's filter: every extension the library indexes (RAW and HEIF too; an outside try found
    the NEF files it could search from the command line missing there), both cases for case-sensitive
    file systems."""
    from ..core.decode import IMAGE_EXTENSIONS

    exts = sorted(IMAGE_EXTENSIONS)
    return "Photos (" + " ".join(f"*{e} *{e.upper()}" for e in exts) + ");;All files (*)"


class MainWindow(QMainWindow):
    """The layout: sidebar, tabs, problems panel, menus, drag and drop. The work is the controller's."""

    scanFinished = Signal(object)  # ScanReport (the indexing-finished signal)

    def __init__(self, lib, settings: AppSettings | None = None, start_watcher: bool = True, parent=None):
        super().__init__(parent)
        self.lib = lib
        self.controller = ctl = LibraryController(lib, settings, self)
        self.scans = ctl.scans
        self.confirm = self._confirm_dialog  # tests answer for the user
        self.choose_directory = lambda: QFileDialog.getExistingDirectory(self, "Add a folder of photos",
                                                                         pictures_dir())
        self.choose_photo_file = lambda: QFileDialog.getOpenFileName(
            self, "Find lookalikes of…", pictures_dir(),
            photo_filter())[0]
        self.restart_requested = False  # set when new settings need the library reopened (see app.run)
        self._shut_down = False
        self.setWindowTitle(f"imgsim — {lib.home}" + (" (read-only)" if getattr(lib, "readonly", False) else ""))
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.thumbs = ThumbnailManager(Path(lib.home) / "thumbs", size=self.settings.thumb_size,
                                       max_disk_bytes=self.settings.thumb_cache_mb << 20, parent=self)
        QTimer.singleShot(2000, self.thumbs, self.thumbs.prune_disk)  # after the first paint; runs off it
        self.action_log = ActionLog(lib.home)

        # sidebar
        self.sidebar = Sidebar()
        self.sidebar.addFolderRequested.connect(self.choose_folder)
        self.sidebar.removeFolderRequested.connect(self.remove_folder)
        self.sidebar.referenceToggled.connect(self.set_reference)
        self.sidebar.rescanRequested.connect(lambda: self.start_scan(None))
        self.sidebar.pauseToggled.connect(lambda on: self.scans.pause() if on else self.scans.resume())
        self.sidebar.cancelRequested.connect(ctl.cancel_scan)
        ctl.progressed.connect(self.sidebar.show_progress)
        ctl.scanState.connect(lambda s: self.sidebar.set_running(s != "idle", s == "paused"))
        ctl.scanStarted.connect(self._scan_started)
        ctl.scanFinished.connect(self._scan_finished)
        ctl.watcherActivity.connect(self.sidebar.show_watching)
        ctl.statusReady.connect(self._show_status)
        ctl.check.progressed.connect(self.sidebar.show_check)
        ctl.check.finished.connect(self._check_finished)
        ctl.check.stopped.connect(self._check_stopped)

        # library tab: a welcome until the first folder, then the grid
        self.grid_model = FileGridModel(lib, self.thumbs, parent=self)
        self.grid = ThumbGrid(self.thumbs, self.settings.thumb_size)
        self.grid.setModel(self.grid_model)
        self.grid.activatedPath.connect(lambda _p: self.lookalikes_for_selection())
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._grid_selection())
        self.grid_model.loaded.connect(self._show_count)
        self.library_count = QLabel("")
        self.find_similar_btn = QPushButton("Find lookalikes")
        self.model_view_btn = QPushButton("Model view")
        self.find_similar_btn.clicked.connect(self.lookalikes_for_selection)
        self.model_view_btn.clicked.connect(self.model_view_for_selection)
        self._grid_selection()
        grid_page = QWidget()
        ll = QVBoxLayout(grid_page)
        ll.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(self.library_count, 1)
        bar.addWidget(self.find_similar_btn)
        bar.addWidget(self.model_view_btn)
        ll.addLayout(bar)
        ll.addWidget(self.grid, 1)
        self.welcome = Welcome()
        self.welcome.add_btn.clicked.connect(self.choose_folder)
        self.library_stack = QStackedWidget()
        self.library_stack.addWidget(self.welcome)
        self.library_stack.addWidget(grid_page)

        self.lookalikes = LookalikesPage(lib, self.thumbs, self.settings.lookalikes_k)
        self.lookalikes.library_busy = lambda: self.scans.running
        self.lookalikes.openRequested.connect(self.choose_query_photo)
        self.duplicates = DuplicatesPage(lib, self.thumbs, self.settings, self.action_log, controller=ctl)
        self.duplicates.groupsReady.connect(lambda _n: self.sidebar.find_checked())
        self.duplicates.groupsShown.connect(self.sidebar.follow_groups)
        # "not trashed; find duplicates again" is old news once they were found again
        self.duplicates.groupsReady.connect(lambda _n: self.errors.clear_messages(FIND_AGAIN))
        self.model_view = ModelViewPage(lib)
        self.errors = ErrorPanel()
        ctl.problem.connect(self._problem)
        # a dropped photo that cannot be read is said on the Lookalikes page, where the user looks: it is not a
        # problem of the library, and the status bar's "1 problem" stayed after it (the third outside try)
        self.duplicates.message.connect(self.errors.add_message)
        self.model_view.failed.connect(lambda m: self.errors.add_message("Model view", m))
        for g in (self.grid, self.lookalikes.grid, self.duplicates.members):
            g.lookalikesRequested.connect(self.lookalikes_for)
            g.modelViewRequested.connect(self.model_view_for)
        self.lookalikes.photoActivated.connect(self.lookalikes_for_path)  # browse on from a result

        self.tabs = QTabWidget()
        self.tabs.addTab(self.library_stack, "Library")
        self.tabs.addTab(self.lookalikes, "Lookalikes")
        self.tabs.addTab(self.duplicates, "Duplicates")
        self.tabs.addTab(self.model_view, "Model view")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.sidebar)
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 1020])
        self.setCentralWidget(split)

        self.errors_dock = QDockWidget("Problems", self)
        self.errors_dock.setWidget(self.errors)
        self.errors_dock.setObjectName("problems")
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.errors_dock)
        self.errors_dock.hide()
        self.errors.countChanged.connect(self._problems_count)
        self.problems_label = QPushButton("")
        self.problems_label.setFlat(True)
        self.problems_label.clicked.connect(lambda: self.errors_dock.setVisible(not self.errors_dock.isVisible()))
        self.statusBar().addPermanentWidget(self.problems_label)
        self._build_menus()

        # every write ends in one change set; each page follows it
        ctl.changed.connect(self.apply_changes)
        ctl.settingsChanged.connect(self._settings_changed)
        if start_watcher:
            ctl.start_watcher()
            ctl.check.request()   # photos indexed by the CLI, or a check the last session did not finish
        self._restore_layout()

        if ctl.readonly:  # another process indexes: search and review only
            self.sidebar.readonly = True
            for w in (self.sidebar.add_btn, self.sidebar.remove_btn, self.sidebar.rescan_btn,
                      self.sidebar.reference_box):
                w.setEnabled(False)
                w.setToolTip("The library is open read-only")
            for a in self.writing_actions:
                a.setEnabled(False)
            self.sidebar.remove_btn.setVisible(False)
        self.refresh_all()

    @property
    def settings(self) -> AppSettings:
        return self.controller.settings

    @property
    def watcher(self):
        return self.controller.watcher

    @property
    def last_report(self):
        return self.controller.last_report

    # ------------------------------------------------------------------ menus
    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        self.writing_actions: list[QAction] = []   # off when the library is open read-only, as their buttons are
        for text, key, fn, writes in (("Add folder…", QKeySequence.StandardKey.Open, self.choose_folder, True),
                                      ("Open photo for lookalikes…", "Ctrl+Shift+O", self.choose_query_photo, False),
                                      ("Rescan", QKeySequence.StandardKey.Refresh, lambda: self.start_scan(None),
                                       True),
                                      ("Settings…", QKeySequence.StandardKey.Preferences, self.open_settings, False),
                                      ("Quit", QKeySequence.StandardKey.Quit, self.close, False)):
            a = QAction(text, self)
            a.setShortcut(QKeySequence(key))
            a.triggered.connect(fn)
            m.addAction(a)
            if writes:
                self.writing_actions.append(a)
        e = self.menuBar().addMenu("&Edit")
        paste = QAction("Paste photo (find lookalikes)", self)
        paste.setShortcut(QKeySequence.StandardKey.Paste)
        paste.triggered.connect(self.paste)
        undo = QAction("Undo last trash/move", self)
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        undo.triggered.connect(self.duplicates.undo_last)
        clear = QAction("Clear all marks", self)
        clear.triggered.connect(self.duplicates.clear_all_marks)
        e.addAction(paste)
        e.addAction(undo)
        e.addAction(clear)
        v = self.menuBar().addMenu("&View")
        probs = self.errors_dock.toggleViewAction()
        probs.setText("Problems panel")
        v.addAction(probs)
        find = QAction("Find duplicates", self)
        find.setShortcut(QKeySequence("Ctrl+D"))
        find.triggered.connect(lambda: (self.tabs.setCurrentWidget(self.duplicates), self.duplicates.find()))
        v.addAction(find)
        h = self.menuBar().addMenu("&Help")
        keys = QAction("Keyboard shortcuts", self)
        keys.setShortcut(QKeySequence("F1"))
        keys.triggered.connect(lambda: QMessageBox.information(self, "Keyboard shortcuts", KEYS_HELP))
        h.addAction(keys)

    def _show_count(self, n: int) -> None:
        """The grid's count; "0 photos" while the first photos are still being read looked like a failed scan."""
        self.library_count.setText("Reading the first photos…" if n == 0 and self.scans.running
                                   else f"{n:,} photo{'s' if n != 1 else ''}")

    def _check_finished(self, groups) -> None:
        if groups is not None and self.controller.check.shown:
            self.sidebar.end_check(checked_words(groups))

    def _check_stopped(self, why: str) -> None:
        if why != "cancelled":
            self.errors.add_message("Checking for duplicates", why)
        self.sidebar.end_check(None)

    def _problems_count(self, n: int) -> None:
        self.problems_label.setText(f"⚠ {n} problem{'s' if n != 1 else ''}" if n else "")

    # ------------------------------------------------------------------ following changes
    def apply_changes(self, cs) -> None:
        """One write's ChangeSet: each page refreshes what it shows of it."""
        if cs.files_changed or cs.folders:
            self.refresh_all()
            self.lookalikes.mark_stale()
            self.lookalikes.follow(cs)
        self.duplicates.apply_changes(cs)
        if cs.source == changes.WATCHER and cs.files_changed:
            self.sidebar.show_watch_result(cs.summary().split(": ", 1)[1])
        elif cs.source == changes.WATCHER and getattr(cs.result, "updated", None):
            # files that arrived unreadable change no photo, but the counts and the problems panel
            self.controller.refresh_status()
        if not self.scans.running:
            self.sidebar.clear_pending()  # a cancelled or failed first scan: the library's list is the truth

    def refresh_all(self) -> None:
        self.grid_model.refresh()
        self.controller.refresh_status()

    def _problem(self, what: str, message: str) -> None:
        self.errors.add_message(what, message)
        if what == "Indexing":
            self._show_problems()

    def _show_status(self, result) -> None:
        st, errors = result
        folders = [Path(f["path"]) for f in st.get("folders", [])]
        counts = {f["path"]: f.get("files", 0) for f in st.get("folders", [])}
        refs = {f["path"] for f in st.get("folders", []) if f.get("reference")}
        missing = {f["path"] for f in st.get("folders", []) if not f.get("exists", True)}
        self.sidebar.set_folders(folders, counts, refs, missing)
        set_roots(folders)
        model = st.get("model", {})
        self.sidebar.set_totals(
            f"{st.get('indexed', 0):,} photos indexed · {format_bytes(st.get('bytes', 0) or 0)}"
            + (f" · {st['errors']} unreadable" if st.get("errors") else "")
            + (f" · {st['unreadable_folders']} folder{'s' if st['unreadable_folders'] != 1 else ''} unreadable"
               if st.get("unreadable_folders") else "")
            + (f"\nModel {model.get('name', '?')} on {_device_words(model.get('device'))}" if model else "")
            + ("\nRead-only (another imgsim is writing)" if st.get("readonly") else ""))
        self.errors.set_file_errors(errors)
        self.duplicates.set_library_empty(not st.get("indexed"))
        self.lookalikes.library_empty = not st.get("indexed")
        self._show_welcome(not folders and not self.scans.running and not self.sidebar.pending())

    def _show_welcome(self, on: bool) -> None:
        self.library_stack.setCurrentIndex(0 if on else 1)

    # ------------------------------------------------------------------ folders and scanning
    def choose_folder(self) -> None:
        d = self.choose_directory()
        if d:
            self.add_folder(d)

    def add_folder(self, path: str) -> None:
        self.controller.add_folder(path)

    def start_scan(self, folders: list[str] | None) -> None:
        self.controller.start_scan(folders)

    def cancel_scan(self) -> None:
        self.controller.cancel_scan()

    def _confirm_dialog(self, text: str) -> bool:
        return QMessageBox.question(self, "Confirm", text) == QMessageBox.StandardButton.Yes

    def set_reference(self, path: str, on: bool) -> None:
        """Mark a folder as reference (its photos are always kept) or not: one write through the controller."""
        self.controller.set_reference(path, on)

    def remove_folder(self, path: str) -> None:
        """Stop tracking a folder, after asking: its photos leave the catalog (the files stay on disk)."""
        try:
            n, _bad = self.lib.folder_count(path)
        except Exception:
            n = None
        what = f"its {n} photo{'s' if n != 1 else ''}" if n is not None else "its photos"
        if self.confirm(f"Stop watching {path}?\n\nThe library forgets {what} (and their duplicate "
                        "groups). The files themselves stay where they are; add the folder again to "
                        "re-index it."):
            self.controller.remove_folder(path)

    def _scan_started(self, folders) -> None:
        self.sidebar.state_label.setText("Starting…")
        for f in folders or []:
            self.sidebar.add_pending_folder(str(Path(f).expanduser().resolve()))
        self._show_welcome(False)
        self._show_count(self.grid_model.rowCount())

    def _scan_finished(self, report) -> None:
        self._show_count(self.grid_model.rowCount())
        self.controller.refresh_status()   # a scan that changed nothing still finds a folder gone missing
        if report is None:
            self.sidebar.show_finished("Cancelled" if self.controller.last_outcome == "cancelled"
                                       else "Indexing failed", complete=False)
        else:
            n = report.added + report.updated
            what = "Cancelled" if report.cancelled else "Indexed"
            self.sidebar.show_finished(
                f"{what}: {report.added} new, {report.updated} changed, {report.removed} gone"
                + (f", {report.failed} unreadable" if report.failed else "") + f" in {report.seconds:.1f} s",
                complete=not report.cancelled)
            self.statusBar().showMessage(f"Indexing {'cancelled' if report.cancelled else 'finished'}: {n} "
                                         f"photos embedded, {report.failed} unreadable", 8000)
            if report.failed:
                self._show_problems()
        self.scanFinished.emit(report)

    def _show_problems(self) -> None:
        """Open the problems panel by itself at a fifth of the window (it took 240 of 700 px, leaving the
        photos 170); the user may drag it taller."""
        if self.errors_dock.isVisible():
            return
        self.errors_dock.show()
        self.resizeDocks([self.errors_dock], [max(90, min(180, self.height() // 5))], Qt.Orientation.Vertical)

    # ------------------------------------------------------------------ lookalikes and model view
    def _selected_grid(self):
        idx = self.grid.currentIndex()
        if not idx.isValid() or not self.grid.selectionModel().isSelected(idx):
            sel = self.grid.selectionModel().selectedIndexes()
            idx = sel[0] if sel else None
        return idx

    def _grid_selection(self) -> None:
        has = bool(self.grid.selectionModel().selectedIndexes())
        self.find_similar_btn.setEnabled(has)
        self.model_view_btn.setEnabled(has)

    def lookalikes_for_selection(self) -> None:
        idx = self._selected_grid()
        if idx is None or idx.data(PathRole) is None:
            return
        self.lookalikes.search_id(idx.data(FileIdRole), idx.data(PathRole))
        self.tabs.setCurrentWidget(self.lookalikes)

    def model_view_for_selection(self) -> None:
        idx = self._selected_grid()
        if idx is not None and idx.data(PathRole):
            self.model_view.show_path(idx.data(PathRole))
            self.tabs.setCurrentWidget(self.model_view)

    def lookalikes_for(self, path: str, file_id=None) -> None:
        if file_id is not None:
            self.lookalikes.search_id(file_id, path)
            self.tabs.setCurrentWidget(self.lookalikes)
        else:
            self.lookalikes_for_path(path)

    def model_view_for(self, path: str) -> None:
        self.model_view.show_path(path)
        self.tabs.setCurrentWidget(self.model_view)

    def choose_query_photo(self) -> None:
        f = self.choose_photo_file()
        if f:
            self.lookalikes_for_path(f)

    def lookalikes_for_path(self, path: str) -> None:
        self.lookalikes.search_path(path)
        self.tabs.setCurrentWidget(self.lookalikes)

    # ------------------------------------------------------------------ drag, drop, paste
    def dragEnterEvent(self, e) -> None:
        folders, files, has_image = classify_mime(e.mimeData())
        if folders or files or has_image:
            e.acceptProposedAction()
        else:
            e.ignore()

    def dragMoveEvent(self, e) -> None:
        self.dragEnterEvent(e)

    def dropEvent(self, e) -> None:
        if self.handle_mime(e.mimeData()):
            e.acceptProposedAction()
        else:
            e.ignore()

    def handle_mime(self, mime: QMimeData) -> bool:
        """Folders are added to the library; the first photo (or image data) becomes a lookalike query."""
        folders, files, has_image = classify_mime(mime)
        for f in folders:
            self.add_folder(f)
        if files:
            self.lookalikes_for_path(files[0])
        elif has_image and not folders:
            img = mime.imageData()
            if img is not None and not img.isNull():
                self.lookalikes.search_image(img)
                self.tabs.setCurrentWidget(self.lookalikes)
            else:
                return False
        return bool(folders or files or has_image)

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self.handle_mime(mime):
            self.statusBar().showMessage("The clipboard holds no photo.", 4000)

    # ------------------------------------------------------------------ settings and shutdown
    def open_settings(self) -> None:
        dlg = SettingsDialog(self.settings, self, folders=self.sidebar.folder_paths())
        if dlg.exec():
            self.apply_settings(dlg.result_settings())

    def apply_settings(self, new: AppSettings) -> None:
        """Save and apply new settings. A new library location or device needs the library reopened: with the
        user's yes, the window closes with ``restart_requested`` set and the app opens it again (app.run)."""
        if not self.controller.apply_settings(new):
            return
        busy = " The indexing under way stops; it resumes where it left off." if self.scans.running else ""
        if self.confirm(f"Reopen now with the library at {new.library_home()} on device '{new.device}'?{busy}"):
            self.restart_requested = True
            self.close()
        else:
            self.statusBar().showMessage("The new library location and device apply the next time the app "
                                         "starts.", 8000)

    def _settings_changed(self, new: AppSettings) -> None:
        page = self.duplicates
        old = page.settings.threshold_for(page.tier()) if page.settings is not None else None
        page.settings = new
        if new.threshold_for(page.tier()) != old:   # the shown tier's threshold: at once, not at a tier switch
            page._set_tier_threshold()
            page._results_outdated("Threshold changed in Settings")
        if self.lookalikes.k_spin.value() != new.lookalikes_k:   # at once, not after a restart
            self.lookalikes.k_spin.setValue(new.lookalikes_k)
        if self.thumbs.max_disk_bytes != new.thumb_cache_mb << 20:
            self.thumbs.max_disk_bytes = new.thumb_cache_mb << 20
            self.thumbs.prune_disk()

    def shutdown(self) -> None:
        """Stop background work; the caller closes the library afterwards."""
        self._shut_down = True   # closing after this asks nothing: the app is going anyway
        self.controller.shutdown()
        self.thumbs.shutdown()
        workers.wait_all(60000)

    def _restore_layout(self) -> None:
        qs = qsettings()
        geo, state = qs.value("window/geometry"), qs.value("window/state")
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None:
            self.restoreState(state)
        # the page the user left open: one who reviews duplicates came back to the Library each time
        names = [self.tabs.tabText(i) for i in range(self.tabs.count())]
        tab = qs.value("window/tab")
        if tab in names:
            self.tabs.setCurrentIndex(names.index(tab))

    def _save_layout(self) -> None:
        qs = qsettings()
        qs.setValue("window/geometry", self.saveGeometry())
        qs.setValue("window/state", self.saveState())
        qs.setValue("window/tab", self.tabs.tabText(self.tabs.currentIndex()))

    def closeEvent(self, e) -> None:
        marked = len(self.duplicates.marked_paths()) if not self._shut_down else 0
        if marked and not self.restart_requested and not self.confirm(
                f"{marked} photo{'s are' if marked != 1 else ' is'} marked for removal and not moved yet. Quit "
                "anyway? The marks are not kept."):
            e.ignore()   # marks are the review's, in memory: quitting lost them without a word
            return
        self._save_layout()
        self.shutdown()
        super().closeEvent(e)


KEYS_HELP = """Duplicates page
  ← →  another photo of the group        ↑ ↓  another group
  K  keep this photo (instead of the suggested one)
  D or Delete  mark it to go, then the next photo (on a marked one: unmark)
  Space  compare it with the kept photo
  Ctrl+D  find duplicates                 Ctrl+Z  undo the last trash or move

Compare window
  K  keep the right photo      D or Delete  mark / unmark it
  N or →  next pair            P or ←  previous pair
  Z  whole photos / 100 %      Space or Esc  back to the group

Anywhere
  Ctrl+O  add a folder    Ctrl+V  find lookalikes of a pasted photo    F5  rescan    F1  this list"""


def _device_words(device) -> str:
    """"auto" until the model first runs (it is loaded lazily): said as what it means, not as "auto"."""
    return "the GPU if present, else the CPU" if device in (None, "auto") else str(device).upper()
