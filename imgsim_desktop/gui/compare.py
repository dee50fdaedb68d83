"""Compare two photos: synchronised zoom and pan, Fit / 100 %, and a table of what differs."""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QDialog, QGraphicsPixmapItem, QGraphicsScene,
                               QGraphicsView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.actions import format_bytes
from . import workers
from .thumbnails import pil_to_qimage


class ZoomView(QGraphicsView):
    """A pannable, zoomable image. ``viewChanged`` reports (scale, relative centre) for the other view."""

    viewChanged = Signal(float, float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(QBrush(QColor(40, 40, 40)))
        self.fit_mode = True
        self._syncing = False
        self.horizontalScrollBar().valueChanged.connect(self._emit)
        self.verticalScrollBar().valueChanged.connect(self._emit)

    def set_pixmap(self, pm: QPixmap | None) -> None:
        """In "100 %" the widget sets the zoom once the picture is in (``CompareWidget._loaded``): a view set
        here on its own drove the other by whichever photo loaded last (a keeper at 225 %)."""
        self._item.setPixmap(pm or QPixmap())
        self._scene.setSceneRect(QRectF(self._item.boundingRect()))
        if self.fit_mode:
            self.fit()

    def scale_factor(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self.fit_mode = True
        if not self._item.pixmap().isNull():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
        self._emit()

    def actual(self) -> None:
        self.fit_mode = False
        self.resetTransform()
        self._emit()

    def wheelEvent(self, e) -> None:
        factor = 1.25 if e.angleDelta().y() > 0 else 0.8
        self.fit_mode = False
        self.scale(factor, factor)
        self._emit()

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        if self.fit_mode:
            self.fit()

    def _rel_center(self) -> tuple[float, float]:
        c = self.mapToScene(self.viewport().rect().center())
        r = self._scene.sceneRect()
        if r.width() <= 0 or r.height() <= 0:
            return 0.5, 0.5
        return (c.x() - r.left()) / r.width(), (c.y() - r.top()) / r.height()

    def _emit(self, *_a) -> None:
        if self._syncing:
            return
        cx, cy = self._rel_center()
        self.viewChanged.emit(self.scale_factor(), cx, cy)

    def follow(self, other: "ZoomView", fit_mode: bool, link=None) -> None:
        """Match another view: without ``link``, the same zoom relative to each image's width and the same
        relative centre; with it (a callable: the other's relative point -> mine, and how many of my pixels
        one of the other's covers), the same detail, where the verifier found it (a crop, a screenshot)."""
        self._syncing = True
        try:
            self.fit_mode = fit_mode
            if fit_mode:
                self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
                return
            mine, theirs = self._item.pixmap(), other._item.pixmap()
            s = other.scale_factor()
            cx, cy = other._rel_center()
            if link is not None:
                (cx, cy), per_pixel = link(cx, cy)
                s /= max(per_pixel, 1e-6)
            elif not mine.isNull() and not theirs.isNull() and mine.width():
                s *= theirs.width() / mine.width()  # the same detail under the cursor, whatever the resolutions
            self.resetTransform()
            self.scale(s, s)
            r = self._scene.sceneRect()
            self.centerOn(r.left() + cx * r.width(), r.top() + cy * r.height())
        finally:
            self._syncing = False


ROWS = ("Resolution", "File size", "Format", "Camera", "Date taken", "Modified", "Match", "Path")
ALWAYS_DIFFER = ("Match", "Path")   # not highlighted


def _describe(member, record=None) -> list[str]:
    """``member`` is a GroupMember or a FileRecord-like object; ``record`` its catalog record (the camera)."""
    w, h = getattr(member, "width", None), getattr(member, "height", None)
    size = getattr(member, "bytes", None)
    if size is None:
        size = getattr(member, "size", None)
    mt = getattr(member, "mtime_ns", None)
    mp = (w or 0) * (h or 0) / 1e6
    src = record if record is not None else member
    make, model = getattr(src, "camera_make", None) or "", getattr(src, "camera_model", None) or ""
    camera = model if make and model.lower().startswith(make.lower()) else f"{make} {model}".strip()
    software = getattr(src, "software", None)
    taken = getattr(member, "date_taken", None)
    return [
        f"{w} × {h}  ({mp:.2f} MP)" if w and mp < 1 else f"{w} × {h}  ({mp:.1f} MP)" if w else "?",
        format_bytes(size) if size is not None else "?",
        getattr(member, "format", None) or "?",
        (camera or "—") + (f" · {software}" if software else ""),
        taken.replace("T", " ")[:23] if taken else "—",   # with the camera's fraction: a burst's frames differ there
        datetime.fromtimestamp(mt / 1e9).strftime("%Y-%m-%d %H:%M:%S") if mt else "?",
        getattr(member, "reason", "") or "—",
        str(getattr(member, "path", "")),
    ]


class CompareWidget(QWidget):
    """Two photos side by side. Zoom or pan one and the other follows."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.left, self.right = ZoomView(), ZoomView()
        self.left_title, self.right_title = QLabel(), QLabel()
        for t in (self.left_title, self.right_title):
            t.setAlignment(Qt.AlignmentFlag.AlignCenter)
            t.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.left.viewChanged.connect(lambda *_: self.right.follow(self.left, self.left.fit_mode,
                                                                   self._link(self.left)))
        self.right.viewChanged.connect(lambda *_: self.left.follow(self.right, self.right.fit_mode,
                                                                   self._link(self.right)))
        self._map = None   # the right photo's picture in the left's, each in its own 0..1 (3 x 3), or None
        self.fit_btn = QPushButton("Fit")
        self.actual_btn = QPushButton("100 %")
        for b in (self.fit_btn, self.actual_btn):
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # a focus ring on "Fit" read as the mode in force
        grp = QButtonGroup(self)
        grp.addButton(self.fit_btn)
        grp.addButton(self.actual_btn)
        self.fit_btn.setChecked(True)
        self.fit_btn.clicked.connect(self.fit)
        self.actual_btn.clicked.connect(self.actual)
        self.table = QTableWidget(len(ROWS), 2)
        self.table.setVerticalHeaderLabels(list(ROWS))
        self.table.setHorizontalHeaderLabels(["Left", "Right"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        panes = QSplitter(Qt.Orientation.Horizontal)
        for title, view in ((self.left_title, self.left), (self.right_title, self.right)):
            w = QWidget()
            v = QVBoxLayout(w)
            v.setContentsMargins(0, 0, 0, 0)
            v.addWidget(title)
            v.addWidget(view, 1)
            panes.addWidget(w)
        panes.setStretchFactor(0, 1)
        panes.setStretchFactor(1, 1)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Zoom (Z):"))
        bar.addWidget(self.fit_btn)
        bar.addWidget(self.actual_btn)
        bar.addWidget(QLabel("  (wheel zooms, drag pans — both sides follow)"))
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(panes, 1)
        lay.addWidget(self.table)
        self._seq = 0

    def fit(self) -> None:
        self.fit_btn.setChecked(True)
        self.left.fit()
        self.right.fit()

    def actual(self) -> None:
        self.actual_btn.setChecked(True)
        self.left.actual()
        self.right.follow(self.left, False, self._link(self.left))

    def _link(self, source: ZoomView):
        """How the other view follows ``source`` when the verifier placed one picture in the other: its
        relative point, and how many of its own pixels one of source's covers. None: by relative position."""
        if self._map is None:
            return None
        lp, rp = self.left._item.pixmap(), self.right._item.pixmap()
        if lp.isNull() or rp.isNull():
            return None
        m = self._map if source is self.right else np.linalg.inv(self._map)   # source -> other, relative
        src, dst = (rp, lp) if source is self.right else (lp, rp)
        lin = np.diag([dst.width(), dst.height()]) @ m[:2, :2] @ np.diag([1.0 / src.width(), 1.0 / src.height()])
        per_pixel = float(np.sqrt(abs(np.linalg.det(lin))))   # other's pixels under one of source's

        def link(cx: float, cy: float):
            x, y, _ = m @ np.array([cx, cy, 1.0])
            return (float(x), float(y)), per_pixel

        return link

    def toggle_zoom(self) -> None:
        self.actual() if self.left.fit_mode else self.fit()

    def set_members(self, a, b, labels: tuple[str, str] = ("", ""), placed=None, records=(None, None)) -> None:
        """Show two members (GroupMember / FileRecord-like); images load on a worker. ``placed``: b's picture
        in a's, each in its own 0..1 (2 x 3, from the verifier), so zoom and pan follow the same detail;
        ``records``: their catalog records, for the camera."""
        self._map = None
        if placed is not None:
            try:
                m = np.vstack([np.asarray(placed, dtype=np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])
                np.linalg.inv(m)
                self._map = m
            except (ValueError, np.linalg.LinAlgError):
                self._map = None
        self._seq += 1
        seq = self._seq
        self.left_title.setText(labels[0] or os.path.basename(str(a.path)))
        self.right_title.setText(labels[1] or os.path.basename(str(b.path)))
        self.fill_table(a, b, records)
        self.left.set_pixmap(None)
        self.right.set_pixmap(None)
        for view, m in ((self.left, a), (self.right, b)):
            workers.run_task(lambda p=str(m.path): _load_full(p),
                             lambda img, v=view: seq == self._seq and self._loaded(v, img),
                             lambda e: None)

    def _loaded(self, view: ZoomView, img) -> None:
        """Each new pair opens in the mode the buttons show: "100 %" is the left photo's pixels, the right
        following it to the same detail, whichever photo came in first."""
        view.set_pixmap(QPixmap.fromImage(img) if img is not None else None)
        if self.actual_btn.isChecked():
            self.actual()

    def fill_table(self, a, b, records=(None, None)) -> None:
        da, db = _describe(a, records[0]), _describe(b, records[1])
        for r, (x, y) in enumerate(zip(da, db)):
            ia, ib = QTableWidgetItem(x), QTableWidgetItem(y)
            ia.setToolTip(x)
            ib.setToolTip(y)
            if x != y and ROWS[r] not in ALWAYS_DIFFER:
                for it in (ia, ib):
                    it.setBackground(QColor(255, 235, 160))
                    it.setForeground(QColor(0, 0, 0))
            self.table.setItem(r, 0, ia)
            self.table.setItem(r, 1, ib)
        self.table.resizeRowsToContents()
        h = self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
        h += sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(h)

    def table_rows(self) -> dict[str, tuple[str, str]]:
        return {ROWS[r]: (self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(len(ROWS))
                if self.table.item(r, 0) is not None}


def _load_full(path: str):
    try:
        from ..core.decode import load_image

        img, _ = load_image(path)
        return pil_to_qimage(img)
    except Exception:
        return None


class CompareDialog(QDialog):
    """Compare a pair and decide from here: K keeps the right-hand photo, D marks it (again to unmark),
    N / → and P / ← go to the next and previous pair (across groups), Z toggles zoom, Esc or Space goes
    back to the group."""

    keepRequested = Signal()
    markRequested = Signal()
    stepRequested = Signal(int)  # +1 next pair, -1 previous

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare")
        self.resize(1100, 760)
        self.compare = CompareWidget(self)
        self.where = QLabel("")
        self.prev_btn = QPushButton("◀ Previous (P)")
        self.next_btn = QPushButton("Next (N) ▶")
        self.keep_btn = QPushButton("Keep right (K)")
        self.mark_btn = QPushButton("Mark right (D)")
        self.back_btn = QPushButton("Back (Esc)")
        self.prev_btn.clicked.connect(lambda: self.stepRequested.emit(-1))
        self.next_btn.clicked.connect(lambda: self.stepRequested.emit(1))
        self.keep_btn.clicked.connect(self.keepRequested)
        self.mark_btn.clicked.connect(self.markRequested)
        self.back_btn.clicked.connect(self.reject)
        for b in (self.prev_btn, self.next_btn, self.keep_btn, self.mark_btn, self.back_btn):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the dialog's shortcuts
            b.setAutoDefault(False)
        bar = QHBoxLayout()
        bar.addWidget(self.prev_btn)
        bar.addWidget(self.next_btn)
        bar.addWidget(self.where, 1)
        bar.addWidget(self.keep_btn)
        bar.addWidget(self.mark_btn)
        bar.addWidget(self.back_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.compare, 1)
        lay.addLayout(bar)
        for key, fn in ((Qt.Key.Key_Space, self.reject), (Qt.Key.Key_Z, self.compare.toggle_zoom),
                        (Qt.Key.Key_K, self.keepRequested.emit), (Qt.Key.Key_D, self.markRequested.emit),
                        (Qt.Key.Key_Delete, self.markRequested.emit),
                        (Qt.Key.Key_N, lambda: self.stepRequested.emit(1)),
                        (Qt.Key.Key_P, lambda: self.stepRequested.emit(-1)),
                        (Qt.Key.Key_Right, lambda: self.stepRequested.emit(1)),
                        (Qt.Key.Key_Left, lambda: self.stepRequested.emit(-1))):
            QShortcut(QKeySequence(key), self, fn)

    def set_position(self, text: str, right_state: str = "") -> None:
        """Where this pair is ("Group 2 of 7 · pair 1 of 3") and what the right-hand photo is now."""
        self.where.setText(text)
        self.mark_btn.setText("Unmark right (D)" if right_state == "marked" else "Mark right (D)")
