"""The left sidebar: watched folders with counts, the library totals, and the indexing progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QProgressBar, QPushButton, QVBoxLayout, QWidget)

from ..core.progress import ProgressState
from .workers import format_eta


NOT_ALL_CHECKED = "Duplicates not all checked yet: Find checks the rest"
CHECKED = "Duplicates checked"   # the start of what the bar says once the background check found its groups


def checked_words(n: int, none: str = "none found") -> str:
    return f"{CHECKED}: {n:,} group{'s' if n != 1 else ''} to review" if n else f"{CHECKED}: {none}"


class Sidebar(QWidget):
    addFolderRequested = Signal()
    removeFolderRequested = Signal(str)
    rescanRequested = Signal()
    pauseToggled = Signal(bool)  # True = pause
    cancelRequested = Signal()
    referenceToggled = Signal(str, bool)  # (folder, on): a reference folder's photos are never marked

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumWidth(230)
        self.readonly = False
        self._pending: list[str] = []
        self._last_state: ProgressState | None = None  # folders being added: shown before the library lists them
        self._running = False
        self._finished_text = ""
        self._checking = False   # the background duplicate check shows its progress here
        self.watching_busy = False
        self.folders = QListWidget()
        self.folders.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.folders.setTextElideMode(Qt.TextElideMode.ElideLeft)
        self.add_btn = QPushButton("Add folder…")
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.setEnabled(False)
        self.rescan_btn = QPushButton("Rescan")
        self.add_btn.clicked.connect(self.addFolderRequested)
        self.remove_btn.clicked.connect(self._remove)
        self.rescan_btn.clicked.connect(self.rescanRequested)
        self.rescan_btn.setEnabled(False)   # until the library lists a folder
        self.folders.itemSelectionChanged.connect(self._selection_changed)
        self.reference_box = QCheckBox("Reference folder")
        self.reference_box.setToolTip("Its photos are always the keeper of their group and are never marked, "
                                      "moved or trashed")
        self.reference_box.setEnabled(False)
        self.reference_box.clicked.connect(self._reference_clicked)
        self._references: set[str] = set()
        self.hint = QLabel("Add a folder, or drop one on the window.\nDrop a photo to find its lookalikes.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text);")

        fbox = QGroupBox("Watched folders")
        fl = QVBoxLayout(fbox)
        fl.addWidget(self.folders, 1)
        fl.addWidget(self.reference_box)
        br = QHBoxLayout()
        br.addWidget(self.add_btn)
        br.addWidget(self.remove_btn)
        fl.addLayout(br)
        fl.addWidget(self.rescan_btn)
        fl.addWidget(self.hint)

        self.totals = QLabel("No photos yet.")
        self.totals.setWordWrap(True)
        self.state_label = QLabel("Idle")
        self.state_label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("")  # not "0%" before anything was indexed
        self.bar.setTextVisible(True)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setCheckable(True)
        self.cancel_btn = QPushButton("Cancel")
        self.pause_btn.toggled.connect(self._pause)
        self.cancel_btn.clicked.connect(self.cancelRequested)
        ibox = QGroupBox("Library")
        il = QVBoxLayout(ibox)
        il.addWidget(self.totals)
        il.addWidget(self.state_label)
        il.addWidget(self.bar)
        il.addWidget(self.detail)
        pr = QHBoxLayout()
        pr.addWidget(self.pause_btn)
        pr.addWidget(self.cancel_btn)
        il.addLayout(pr)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(fbox, 1)
        lay.addWidget(ibox)
        self.set_running(False)

    # ------------------------------------------------------------------ folders
    def set_folders(self, folders: list[Path], counts: dict[str, int] | None = None,
                    references: set[str] | None = None, missing: set[str] | None = None) -> None:
        counts = counts or {}
        missing = missing or set()
        self._references = set(references or ())
        sel = self.selected_folder()
        self.folders.clear()
        known = {str(f) for f in folders}
        self._pending = [p for p in self._pending if p not in known]
        for f in folders:
            n = counts.get(str(f))
            text = Path(f).name or str(f)
            text = text if n is None else f"{text}  ({n:,})"
            ref = str(f) in self._references
            gone = str(f) in missing
            item = QListWidgetItem(text + ("  · reference" if ref else "") + ("  · missing" if gone else ""))
            item.setToolTip(str(f) + ("\nReference folder: its photos are never marked or trashed" if ref else "")
                            + ("\nNot on disk: renamed, moved, or on a drive that is not mounted. Its photos stay "
                               "in the library until you remove the folder (or it comes back)." if gone else ""))
            if gone:
                item.setForeground(Qt.GlobalColor.darkRed)
            item.setData(Qt.ItemDataRole.UserRole, str(f))
            self.folders.addItem(item)
            if str(f) == sel:
                item.setSelected(True)
        for p in self._pending:
            self._add_pending_item(p)
        self.hint.setVisible(not folders and not self._pending)
        self._has_folders = bool(folders)
        self.rescan_btn.setEnabled(self._has_folders and not self._running and not self.readonly)
        self._selection_changed()

    def add_pending_folder(self, folder: str) -> None:
        """Show a folder that is being added at once; the library lists it after its first scan."""
        for i in range(self.folders.count()):
            if self.folders.item(i).data(Qt.ItemDataRole.UserRole) == str(folder):
                return
        self._pending.append(str(folder))
        self._add_pending_item(str(folder))

    def clear_pending(self) -> None:
        self._pending.clear()

    def pending(self) -> list[str]:
        return list(self._pending)

    def _add_pending_item(self, folder: str) -> None:
        item = QListWidgetItem(f"{Path(folder).name or folder}  (indexing…)")
        item.setToolTip(str(folder))
        item.setData(Qt.ItemDataRole.UserRole, str(folder))
        self.folders.addItem(item)
        self.hint.setVisible(False)

    def folder_paths(self) -> list[str]:
        return [self.folders.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.folders.count())]

    def selected_folder(self) -> str | None:
        items = self.folders.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _selection_changed(self) -> None:
        f = self.selected_folder()
        self.remove_btn.setEnabled(f is not None)
        known = f is not None and f not in self._pending  # a folder still being added is not a library folder yet
        self.reference_box.setEnabled(known and not self.readonly)
        self.reference_box.setChecked(known and f in self._references)

    def is_reference(self, folder: str) -> bool:
        return str(folder) in self._references

    def _reference_clicked(self, on: bool) -> None:
        f = self.selected_folder()
        if f:
            self.referenceToggled.emit(f, bool(on))

    def _remove(self) -> None:
        f = self.selected_folder()
        if f:
            self.removeFolderRequested.emit(f)

    def set_totals(self, text: str) -> None:
        self.totals.setText(text)

    # ------------------------------------------------------------------ progress
    def set_running(self, running: bool, paused: bool = False) -> None:
        self._running = running
        self.pause_btn.setEnabled(running)
        self.cancel_btn.setEnabled(running)
        self.rescan_btn.setEnabled(not running and not self.readonly and getattr(self, "_has_folders", False))
        if not running:
            self.pause_btn.blockSignals(True)
            self.pause_btn.setChecked(False)
            self.pause_btn.setText("Pause")
            self.pause_btn.blockSignals(False)
        elif paused:
            self.state_label.setText("Paused")

    def _pause(self, on: bool) -> None:
        self.pause_btn.setText("Resume" if on else "Pause")
        self.pauseToggled.emit(on)
        if self._last_state is not None:
            self.show_progress(self._last_state)

    def show_progress(self, st: ProgressState) -> None:
        self._last_state = st
        total = max(st.total, 0)
        self.bar.setRange(0, max(total, 1) if total else 0)  # 0..0 = busy indicator while counting
        if total:
            self.bar.setValue(min(st.done, total))
            self.bar.setFormat(f"{st.done:,} / {total:,}")
        phase = st.phase or "Working"
        self.state_label.setText(f"{phase.capitalize()}…" if not self.pause_btn.isChecked() else "Paused")
        rate = st.rate
        paused = self.pause_btn.isChecked()
        parts = [f"{rate:,.1f} photos/s" if rate and not paused else "",
                 f"{format_eta(st.eta_s)} left" if st.eta_s and not paused else ""]
        if st.failed:
            parts.append(f"{st.failed} unreadable")
        self.detail.setText(" · ".join(p for p in parts if p))

    def show_finished(self, text: str, complete: bool = True) -> None:
        """``complete``: False after a cancel or a failure, when the bar must not say "Up to date"."""
        self._last_state = None
        self._finished_text = text
        self._running = False
        self._complete = complete
        self._idle_bar()
        self.state_label.setText(text)
        self.detail.setText("" if complete else "Rescan indexes the rest")

    def show_check(self, st: ProgressState) -> None:
        """The background duplicate check's progress, when no scan shows its own: Cancel stops it, Rescan and
        adding folders stay open (they stop it too)."""
        if self._running:
            return
        self._checking = True
        total = max(st.total, 0)
        self.bar.setRange(0, max(total, 1) if total else 0)
        if total:
            self.bar.setValue(min(st.done, total))
            self.bar.setFormat(f"{st.done:,} / {total:,}")
        self.state_label.setText("Checking for duplicates…")
        self.detail.setText("Comparing photos that may be copies, so that Find answers at once")
        self.cancel_btn.setEnabled(True)

    def end_check(self, text: str | None) -> None:
        """The check ended: ``text`` says what it found (None: the bar goes back to what it said before)."""
        if not self._checking:
            return
        self._checking = False
        if self._running:
            return
        self.cancel_btn.setEnabled(False)
        self._idle_bar()
        self.state_label.setText(text or self._finished_text or "Idle")
        self.detail.setText("" if text else NOT_ALL_CHECKED)

    def follow_groups(self, n: int) -> None:
        """The Duplicates page's list, once found, is the count to go by: the check's "24 groups to review"
        stayed beside a list of 22 after trashes and undos (an outside try)."""
        if not self._running and not self._checking and self.state_label.text().startswith(CHECKED):
            self.state_label.setText(checked_words(n, "none left to review"))

    def find_checked(self) -> None:
        """A Find on the Duplicates page checked what the background check had left."""
        if not self._running and self.detail.text() == NOT_ALL_CHECKED:
            self.detail.setText("")

    def show_watch_result(self, summary: str) -> None:
        """What the watcher's last batch did ("1 new, 2 gone"), shown once it is idle again."""
        from datetime import datetime

        self._finished_text = f"Up to date: {summary} at {datetime.now():%H:%M}"
        if not self._running and not self.watching_busy:
            self.state_label.setText(self._finished_text)

    def _idle_bar(self) -> None:
        complete = getattr(self, "_complete", True)   # a cancelled scan stays "not all indexed" till the next
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if complete else 0)
        self.bar.setFormat("Up to date" if complete else "Not all indexed")

    def show_watching(self, busy: bool) -> None:
        """The folder watcher's activity, when no scan of ours is showing its own progress."""
        self.watching_busy = busy
        if self._running:
            return
        if busy:
            self.bar.setRange(0, 0)  # busy indicator: the watcher does not know how much is coming
            self.state_label.setText("Watching: indexing changed files…")
            self.detail.setText("Photos changed in your folders")
        else:
            self._idle_bar()
            # the last scan's "Indexed: 51 new … in 5.2 s" came back after each trash the watcher followed
            self._finished_text = "Up to date"
            self.state_label.setText(self._finished_text)
            self.detail.setText("Watching your folders for changes")
