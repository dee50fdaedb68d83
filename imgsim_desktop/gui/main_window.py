"""The main window: sidebar of folders and indexing state, tabs (Library, Lookalikes, Duplicates, Model view),
a problems panel, drag and drop, paste, and live updates from the library."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from ..core.actions import ActionLog, format_bytes
from ..core.decode import is_image_path
from . import workers
from .duplicates import DuplicatesPage
from .lookalikes import LookalikesPage
from .model_view import ModelViewPage
from .models import FileGridModel, FileIdRole, PathRole
from .settings import AppSettings, SettingsDialog, is_excluded, qsettings
from .sidebar import Sidebar
from .thumbnails import ThumbnailManager
from .views import ErrorPanel, ThumbGrid
from .workers import ScanController

log = logging.getLogger(__name__)


def classify_mime(mime: QMimeData) -> tuple[list[str], list[str], bool]:
    """(folders, image files, has raw image data) in a drop or the clipboard."""
    folders, files = [], []
    for url in mime.urls() if mime.hasUrls() else []:
        if not url.isLocalFile():
            continue
        p = Path(url.toLocalFile())
        if p.is_dir():
            folders.append(str(p))
        elif p.is_file() and is_image_path(p):
            files.append(str(p))
    return folders, files, mime.hasImage()


class MainWindow(QMainWindow):
    scanFinished = Signal(object)  # ScanReport (the indexing-finished signal)
    libraryEvent = Signal(object)  # ChangeEvent, re-emitted on the GUI thread
    _changed_from_thread = Signal(object)

    def __init__(self, lib, settings: AppSettings | None = None, start_watcher: bool = True, parent=None):
        super().__init__(parent)
        self.lib = lib
        self.settings = settings or AppSettings()
        self.confirm = self._confirm_dialog  # tests answer for the user
        self.restart_requested = False  # set when new settings need the library reopened (see app.run)
        self.setWindowTitle(f"imgsim — {lib.home}")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.thumbs = ThumbnailManager(Path(lib.home) / "thumbs", size=self.settings.thumb_size,
                                       max_disk_bytes=self.settings.thumb_cache_mb << 20, parent=self)
        QTimer.singleShot(2000, self.thumbs, self.thumbs.prune_disk)  # after the first paint; runs off it
        self.action_log = ActionLog(lib.home)
        self.scans = ScanController(self)
        self._scan_queue: list[list[str] | None] = []
        self._refresh_running = False
        self._refresh_again = False
        self.last_report = None

        # sidebar
        self.sidebar = Sidebar()
        self.sidebar.addFolderRequested.connect(self.choose_folder)
        self.sidebar.removeFolderRequested.connect(self.remove_folder)
        self.sidebar.rescanRequested.connect(lambda: self.start_scan(None))
        self.sidebar.pauseToggled.connect(lambda on: self.scans.pause() if on else self.scans.resume())
        self.sidebar.cancelRequested.connect(self.cancel_scan)
        self.scans.progressed.connect(self.sidebar.show_progress)
        self.scans.stateChanged.connect(lambda s: self.sidebar.set_running(s != "idle", s == "paused"))
        self.scans.finished.connect(self._scan_done)
        self.scans.failed.connect(self._scan_failed)
        self.scans.cancelled.connect(self._scan_cancelled)

        # library tab
        self.grid_model = FileGridModel(lib, self.thumbs, parent=self)
        self.grid = ThumbGrid(self.thumbs, self.settings.thumb_size)
        self.grid.setModel(self.grid_model)
        self.grid.activatedPath.connect(lambda _p: self.lookalikes_for_selection())
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._grid_selection())
        self.grid_model.loaded.connect(lambda n: self.library_count.setText(f"{n:,} photos"))
        self.library_count = QLabel("")
        self.find_similar_btn = QPushButton("Find lookalikes")
        self.model_view_btn = QPushButton("Model view")
        self.find_similar_btn.clicked.connect(self.lookalikes_for_selection)
        self.model_view_btn.clicked.connect(self.model_view_for_selection)
        self._grid_selection()
        lib_page = QWidget()
        ll = QVBoxLayout(lib_page)
        bar = QHBoxLayout()
        bar.addWidget(self.library_count, 1)
        bar.addWidget(self.find_similar_btn)
        bar.addWidget(self.model_view_btn)
        ll.addLayout(bar)
        ll.addWidget(self.grid, 1)

        self.lookalikes = LookalikesPage(lib, self.thumbs, self.settings.lookalikes_k)
        self.lookalikes.library_busy = lambda: self.scans.running
        self.duplicates = DuplicatesPage(lib, self.thumbs, self.settings, self.action_log)
        self.model_view = ModelViewPage(lib)
        self.errors = ErrorPanel()
        self.lookalikes.searchFailed.connect(lambda m: self.errors.add_message("Lookalikes", m))
        self.duplicates.message.connect(self.errors.add_message)
        self.duplicates.libraryChanged.connect(self._after_library_write)
        self.model_view.failed.connect(lambda m: self.errors.add_message("Model view", m))
        for g in (self.grid, self.lookalikes.grid, self.duplicates.members):
            g.lookalikesRequested.connect(self.lookalikes_for)
            g.modelViewRequested.connect(self.model_view_for)
        self.lookalikes.photoActivated.connect(self.lookalikes_for_path)  # browse on from a result

        self.tabs = QTabWidget()
        self.tabs.addTab(lib_page, "Library")
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

        # live updates: the library calls us on its writer's thread; a signal brings it here
        self._changed_from_thread.connect(self._on_library_event)
        self._unsubscribe = lib.subscribe(self._changed_from_thread.emit)
        self._change_timer = QTimer(self)
        self._change_timer.setSingleShot(True)
        self._change_timer.setInterval(400)
        self._change_timer.timeout.connect(self._apply_changes)
        self.watcher = self._start_watcher() if start_watcher else None
        self._restore_layout()

        if getattr(lib, "readonly", False):  # another process indexes: search and review only
            self.sidebar.readonly = True
            for w in (self.sidebar.add_btn, self.sidebar.remove_btn, self.sidebar.rescan_btn):
                w.setEnabled(False)
                w.setToolTip("The library is open read-only")
            self.sidebar.remove_btn.setVisible(False)
        self.refresh_all()

    # ------------------------------------------------------------------ menus
    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        for text, key, fn in (("Add folder…", QKeySequence.StandardKey.Open, self.choose_folder),
                              ("Open photo for lookalikes…", "Ctrl+Shift+O", self.choose_query_photo),
                              ("Rescan", QKeySequence.StandardKey.Refresh, lambda: self.start_scan(None)),
                              ("Settings…", QKeySequence.StandardKey.Preferences, self.open_settings),
                              ("Quit", QKeySequence.StandardKey.Quit, self.close)):
            a = QAction(text, self)
            a.setShortcut(QKeySequence(key))
            a.triggered.connect(fn)
            m.addAction(a)
        e = self.menuBar().addMenu("&Edit")
        paste = QAction("Paste photo (find lookalikes)", self)
        paste.setShortcut(QKeySequence.StandardKey.Paste)
        paste.triggered.connect(self.paste)
        undo = QAction("Undo last trash/move", self)
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        undo.triggered.connect(self.duplicates.undo_last)
        e.addAction(paste)
        e.addAction(undo)
        v = self.menuBar().addMenu("&View")
        probs = self.errors_dock.toggleViewAction()
        probs.setText("Problems panel")
        v.addAction(probs)
        find = QAction("Find duplicates", self)
        find.setShortcut(QKeySequence("Ctrl+D"))
        find.triggered.connect(lambda: (self.tabs.setCurrentWidget(self.duplicates), self.duplicates.find()))
        v.addAction(find)

    def _problems_count(self, n: int) -> None:
        self.problems_label.setText(f"⚠ {n} problem{'s' if n != 1 else ''}" if n else "")

    # ------------------------------------------------------------------ refresh
    def refresh_all(self) -> None:
        self.refresh_grid()
        self.refresh_status()

    def refresh_grid(self) -> None:
        self.grid_model.refresh()

    def refresh_status(self) -> None:
        if self._refresh_running:
            self._refresh_again = True
            return
        self._refresh_running = True
        lib = self.lib

        def work():
            return lib.status(), lib.errors()

        workers.run_task(work, self._show_status, lambda e: self._status_failed(e))

    def _status_failed(self, e) -> None:
        self._refresh_running = False
        self.errors.add_message("Library status", str(e))

    def _show_status(self, result) -> None:
        self._refresh_running = False
        st, errors = result
        folders = [Path(f["path"]) for f in st.get("folders", [])]
        counts = {f["path"]: f.get("files", 0) for f in st.get("folders", [])}
        self.sidebar.set_folders(folders, counts)
        model = st.get("model", {})
        self.sidebar.set_totals(
            f"{st.get('indexed', 0):,} photos indexed · {format_bytes(st.get('bytes', 0) or 0)}"
            + (f" · {st['errors']} unreadable" if st.get("errors") else "")
            + (f"\nModel {model.get('name', '?')} on {model.get('device', '?')}" if model else "")
            + ("\nRead-only (another imgsim is writing)" if st.get("readonly") else ""))
        self.errors.set_file_errors(errors)
        if self._refresh_again:
            self._refresh_again = False
            self.refresh_status()

    # ------------------------------------------------------------------ folders and scanning
    def choose_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if d:
            self.add_folder(d)

    def add_folder(self, path: str) -> None:
        if getattr(self.lib, "readonly", False):
            self.errors.add_message(path, "the library is open read-only; close the other imgsim first")
            return
        if is_excluded(path, self.settings.excluded_folders):
            self.errors.add_message(path, "this folder is excluded in Settings")
            return
        self.start_scan([str(path)])

    def _confirm_dialog(self, text: str) -> bool:
        return QMessageBox.question(self, "Confirm", text) == QMessageBox.StandardButton.Yes

    def remove_folder(self, path: str) -> None:
        """Stop tracking a folder, after asking: its photos leave the catalog (the files stay on disk)."""
        lib = self.lib
        try:
            n, _bad = lib.folder_count(path)
        except Exception:
            n = None
        what = f"its {n} photo{'s' if n != 1 else ''}" if n is not None else "its photos"
        if not self.confirm(f"Stop watching {path}?\n\nThe library forgets {what} (and their duplicate "
                            "groups). The files themselves stay where they are; add the folder again to "
                            "re-index it."):
            return
        workers.run_task(lambda: lib.remove_folder(path), lambda _n: self._after_library_write(),
                         lambda e: self.errors.add_message(path, str(e)))

    def start_scan(self, folders: list[str] | None) -> None:
        if self.scans.running:
            if folders not in self._scan_queue:
                self._scan_queue.append(folders)
            return
        self.sidebar.state_label.setText("Starting…")
        self.scans.scan(self.lib, folders)
        for f in folders or []:
            self.sidebar.add_pending_folder(str(Path(f).expanduser().resolve()))

    def cancel_scan(self) -> None:
        self._scan_queue.clear()
        self.scans.cancel()

    def _scan_done(self, report) -> None:
        self.last_report = report
        n = report.added + report.updated
        what = "Cancelled" if report.cancelled else "Indexed"
        self.sidebar.show_finished(f"{what}: {report.added} new, {report.updated} changed, {report.removed} gone"
                                   + (f", {report.failed} unreadable" if report.failed else "")
                                   + f" in {report.seconds:.1f} s")
        self.statusBar().showMessage(f"Indexing {'cancelled' if report.cancelled else 'finished'}: {n} photos "
                                     f"embedded, {report.failed} unreadable", 8000)
        if report.failed:
            self.errors_dock.show()
        self._after_library_write()
        self.scanFinished.emit(report)
        if report.cancelled:
            self._scan_queue.clear()
        self._next_scan()

    def _scan_failed(self, e) -> None:
        self.sidebar.show_finished("Indexing failed")
        self.errors.add_message("Indexing", str(e) or type(e).__name__)
        self.errors_dock.show()
        self._after_library_write()
        self.scanFinished.emit(None)
        self._next_scan()

    def _scan_cancelled(self) -> None:
        self.sidebar.show_finished("Cancelled")
        self._after_library_write()
        self.scanFinished.emit(None)

    def _next_scan(self) -> None:
        if self._scan_queue:
            self.start_scan(self._scan_queue.pop(0))

    def _after_library_write(self) -> None:
        if not self.scans.running:
            self.sidebar.clear_pending()  # a cancelled or failed first scan: the library's list is the truth
        self.refresh_all()
        self.lookalikes.mark_stale()

    # ------------------------------------------------------------------ live updates
    def _on_library_event(self, event) -> None:
        self.libraryEvent.emit(event)
        if not self.scans.running:  # during a scan the library is busy; the end of the scan refreshes
            self._change_timer.start()

    def _apply_changes(self) -> None:
        self.refresh_all()
        self.lookalikes.mark_stale()
        self.duplicates.mark_stale()

    def _start_watcher(self):
        try:
            from ..core.watcher import LibraryWatcher
        except ImportError:
            return None
        try:
            w = LibraryWatcher(self.lib)
            w.start()
            return w
        except Exception as e:  # the app works without live updates
            self.errors.add_message("Watching folders", str(e) or type(e).__name__)
            return None

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
        f, _ = QFileDialog.getOpenFileName(self, "Find lookalikes of…", "", "Images (*.jpg *.jpeg *.png *.webp "
                                                                             "*.heic *.tif *.tiff *.bmp *.gif)")
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
        dlg = SettingsDialog(self.settings, self)
        if dlg.exec():
            self.apply_settings(dlg.result_settings())

    def apply_settings(self, new: AppSettings) -> None:
        """Save and apply new settings. A new library location or device needs the library reopened: with the
        user's yes, the window closes with ``restart_requested`` set and the app opens it again (app.run)."""
        if new.device != self.settings.device:
            from ..core.errors import ModelError
            from ..core.model import resolve_device

            try:
                resolve_device(new.device)
            except ModelError as e:
                self.errors.add_message("Settings", f"device not changed: {e}")
                new.device = self.settings.device
        moved = new.library_home() != self.settings.library_home() or new.device != self.settings.device
        self.settings = new
        new.save()
        self.duplicates.settings = new
        if self.thumbs.max_disk_bytes != new.thumb_cache_mb << 20:
            self.thumbs.max_disk_bytes = new.thumb_cache_mb << 20
            self.thumbs.prune_disk()
        if not moved:
            return
        busy = " The indexing under way stops; it resumes where it left off." if self.scans.running else ""
        if self.confirm(f"Reopen now with the library at {new.library_home()} on device '{new.device}'?{busy}"):
            self.restart_requested = True
            self.close()
        else:
            self.statusBar().showMessage("The new library location and device apply the next time the app "
                                         "starts.", 8000)

    def shutdown(self) -> None:
        """Stop background work; the caller closes the library afterwards."""
        self._change_timer.stop()
        self._scan_queue.clear()
        self.scans.cancel()
        if self.watcher is not None:
            try:
                self.watcher.stop()
            except Exception:
                log.exception("watcher stop failed")
            self.watcher = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.thumbs.shutdown()
        workers.wait_all(60000)

    def _restore_layout(self) -> None:
        qs = qsettings()
        geo, state = qs.value("window/geometry"), qs.value("window/state")
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, e) -> None:
        qs = qsettings()
        qs.setValue("window/geometry", self.saveGeometry())
        qs.setValue("window/state", self.saveState())
        self.shutdown()
        super().closeEvent(e)
