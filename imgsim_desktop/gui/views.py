"""Small reusable widgets: the thumbnail grid view, a pixmap label that scales, the error panel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListView, QMenu, QPushButton,
                               QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.roots import display_path
from .models import FileIdRole, PathRole, ThumbDelegate


class ThumbGrid(QListView):
    """Icon-mode list of tiles. Tells the thumbnail manager which rows are on screen after scrolling."""

    activatedPath = Signal(str)
    lookalikesRequested = Signal(str, object)  # path, file id (or None)
    modelViewRequested = Signal(str)

    def __init__(self, thumbs=None, thumb_size: int = 160, flow_wrap: bool = True, parent=None,
                 label_lines: int = 1):
        super().__init__(parent)
        self.thumbs = thumbs
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setWrapping(flow_wrap)
        if not flow_wrap:
            self.setFlow(QListView.Flow.LeftToRight)
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.delegate = ThumbDelegate(thumb_size, self, label_lines)
        self.setItemDelegate(self.delegate)
        self.setGridSize(QSize(thumb_size + 20, thumb_size + self.delegate.text_h + 4))
        self._retain_timer = QTimer(self)
        self._retain_timer.setSingleShot(True)
        self._retain_timer.setInterval(120)
        self._retain_timer.timeout.connect(self._retain_visible)
        self.verticalScrollBar().valueChanged.connect(self._retain_timer.start)
        self.horizontalScrollBar().valueChanged.connect(self._retain_timer.start)
        self.activated.connect(self._on_double)  # double-click or Enter
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)

    def visible_rows(self) -> range:
        model = self.model()
        if model is None or model.rowCount() == 0:
            return range(0)
        vp = self.viewport().rect()
        first = self.indexAt(QPoint(vp.left() + 8, vp.top() + 8))
        last = self.indexAt(QPoint(vp.right() - 8, vp.bottom() - 8))
        a = first.row() if first.isValid() else 0
        b = last.row() if last.isValid() else model.rowCount() - 1
        if b < a:
            a, b = b, a
        return range(a, min(model.rowCount(), b + 1))

    def _retain_visible(self) -> None:
        if self.thumbs is None or self.model() is None:
            return
        keys = set()
        model = self.model()
        ref = getattr(model, "thumb_ref", None)
        if ref is None:
            return
        for row in self.visible_rows():
            r = ref(row)
            if r is not None:
                keys.add(self.thumbs.key(*r))
        self.thumbs.retain(keys)

    def selected_paths(self) -> list[str]:
        return [i.data(PathRole) for i in self.selectionModel().selectedIndexes() if i.data(PathRole)]

    def _context_menu(self, pos) -> None:
        index = self.indexAt(pos)
        path = index.data(PathRole) if index.isValid() else None
        if not path:
            return
        fid = index.data(FileIdRole)
        menu = QMenu(self)
        menu.addAction("Find lookalikes", lambda: self.lookalikesRequested.emit(path, fid))
        menu.addAction("Model view", lambda: self.modelViewRequested.emit(path))
        menu.addSeparator()
        menu.addAction("Open", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(path)))
        menu.addAction("Show in folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent))))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(path))
        menu.exec(self.viewport().mapToGlobal(pos))

    def _on_double(self, index) -> None:
        p = index.data(PathRole)
        if p:
            self.activatedPath.emit(p)


class ElidedLabel(QLabel):
    """One line of status that never widens its window (a long message grew a 1,000 px window past the
    screen, for good): shown cut with "…" to the width it is given, whole in its tooltip."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text or ""
        self._fit()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        self._fit()

    def _fit(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(0, self.width()))
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


class ImageLabel(QLabel):
    """Shows a pixmap scaled to fit, keeping the aspect ratio, re-scaled on resize."""

    def __init__(self, placeholder: str = "", parent=None, smooth: bool = True):
        super().__init__(placeholder, parent)
        self.placeholder = placeholder
        self._pm: QPixmap | None = None
        self._smooth = smooth
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(64, 64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_pixmap(self, pm: QPixmap | None) -> None:
        self._pm = pm
        self._rescale()

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        self._rescale()

    def _rescale(self) -> None:
        if self._pm is None or self._pm.isNull():
            # setPixmap(QPixmap()) would also wipe the text: the placeholder vanished on the first resize
            if self.text() != self.placeholder or not self.pixmap().isNull():
                self.setText(self.placeholder)
            return
        mode = Qt.TransformationMode.SmoothTransformation if self._smooth else Qt.TransformationMode.FastTransformation
        self.setPixmap(self._pm.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio, mode))


class ErrorPanel(QWidget):
    """Unreadable files and failed operations, listed — never one pop-up per file."""

    countChanged = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["File", "Problem"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        clear = QPushButton("Clear messages")
        clear.clicked.connect(lambda: self.clear_messages())
        self.summary = QLabel("No problems.")
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(clear)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.table)
        self._files: list[tuple[str, str]] = []
        self._messages: list[tuple[str, str]] = []

    def set_file_errors(self, errors) -> None:
        self._files = [(display_path(p), str(r)) for p, r in errors]
        self._render()

    def add_message(self, what: str, problem: str) -> None:
        if (what, problem) in self._messages:   # said once: a second failure of the same file added nothing
            return
        self._messages.append((what, problem))
        self._render()

    def clear_messages(self, ending: str | None = None) -> None:
        """All messages, or those ending with ``ending`` (what a new search or an undo has made old news)."""
        self._messages = [] if ending is None else [m for m in self._messages if not m[1].endswith(ending)]
        self._render()

    def count(self) -> int:
        return len(self._files) + len(self._messages)

    def rows(self) -> list[tuple[str, str]]:
        return self._messages + self._files

    def _render(self) -> None:
        rows = self.rows()
        self.table.setRowCount(len(rows))
        for r, (a, b) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(a))
            self.table.setItem(r, 1, QTableWidgetItem(b))
        n_files = len(self._files)
        self.summary.setText(
            "No problems." if not rows else
            f"{n_files} unreadable file{'s' if n_files != 1 else ''}" +
            (f", {len(self._messages)} message{'s' if len(self._messages) != 1 else ''}" if self._messages else ""))
        self.countChanged.emit(len(rows))
