"""Model view: a photo as the model sees it, beside the autoencoder's reconstruction of it."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from . import workers
from .thumbnails import pil_to_qimage
from .views import ImageLabel


def _reconstruct(lib, path: str):
    """Worker side: (original preview, model input, reconstruction) as QImages."""
    from ..core.decode import load_image

    seen, rebuilt = lib.reconstruct(path)
    orig, _ = load_image(path, max_side=512)
    orig.thumbnail((512, 512))
    return pil_to_qimage(orig), pil_to_qimage(seen), pil_to_qimage(rebuilt)


class ModelViewPage(QWidget):
    shown = Signal(str)
    failed = Signal(str)

    def __init__(self, lib, parent=None):
        super().__init__(parent)
        self.lib = lib
        self._seq = 0
        self.path: str | None = None
        self.title = QLabel("Pick a photo in the Library or a result grid, then open this tab.")
        self.title.setWordWrap(True)
        self.original = ImageLabel("")
        self.seen = ImageLabel("", smooth=False)
        self.rebuilt = ImageLabel("", smooth=False)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        grid = QGridLayout()
        for col, (cap, w) in enumerate((("Photo", self.original), ("What the model sees", self.seen),
                                        ("What the autoencoder rebuilds", self.rebuilt))):
            c = QLabel(cap)
            c.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(c, 0, col)
            grid.addWidget(w, 1, col)
            grid.setColumnStretch(col, 1)
        grid.setRowStretch(1, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(grid, 1)
        lay.addWidget(self.note)

    def show_path(self, path: str) -> None:
        self._seq += 1
        seq, lib = self._seq, self.lib
        self.path = path
        self.title.setText(f"{os.path.basename(path)} — {path}")
        for w in (self.original, self.seen, self.rebuilt):
            w.set_pixmap(None)
        size = getattr(getattr(lib, "model", None), "input_size", None)
        self.note.setText(
            f"The model looks at a {size}×{size} version of each photo (middle) and rebuilds it from its own "
            "encoding (right): what survives the round trip is what the model has learned to notice."
            if size else "")
        workers.run_task(lambda: _reconstruct(lib, path), lambda r: self._show(seq, r),
                         lambda e: self._fail(seq, e))

    def _show(self, seq: int, imgs) -> None:
        if seq != self._seq:
            return
        for w, img in zip((self.original, self.seen, self.rebuilt), imgs):
            w.set_pixmap(QPixmap.fromImage(img))
        self.shown.emit(self.path or "")

    def _fail(self, seq: int, e) -> None:
        if seq != self._seq:
            return
        msg = str(e) or type(e).__name__
        self.note.setText(f"Could not show this photo: {msg}")
        self.failed.emit(msg)
