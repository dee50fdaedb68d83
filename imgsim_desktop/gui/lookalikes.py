"""Lookalikes: a query photo (dropped, pasted, opened or picked in the grid) and its nearest photos.

Each score says which space it comes from ("lookalike 0.81": the model's lookalike space, not the duplicate
similarity of the Duplicates page). Exact byte copies of a result (or of the query) are one tile, "+N
copies", so a photo and its backup do not take two places."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from . import workers
from .models import ResultItem, ResultModel
from .thumbnails import pil_to_qimage
from .views import ImageLabel, ThumbGrid


SPACE_LABEL = "lookalike"     # a score in the lookalike space
DUPLICATE_LABEL = "same photo"  # a near-duplicate the verifier found to be the query's photo
CLOSE_LABEL = "very close"      # a near-duplicate nobody verified: its cosine is no verdict


def _far_label(r) -> str:
    """A lookalike the verifier compared before says so (a turned copy scores like a lookalike)."""
    match = getattr(r, "match", None) or {}
    if match.get("same_photo") is True:
        return DUPLICATE_LABEL
    return "another shot" if match.get("kind") == "another shot" else SPACE_LABEL


def _near_label(r) -> str:
    """A near-duplicate's headline: the verifier's kind ("same photo", "another shot", "not the same photo")
    when it compared the pair (core/lookalike_verdicts.py), else only how close it is."""
    match = getattr(r, "match", None) or {}
    if match.get("same_photo") is True:
        return DUPLICATE_LABEL
    if match.get("same_photo") is False and match.get("kind") != "too plain":
        return match.get("kind") or "not the same photo"
    return CLOSE_LABEL   # not compared, or too plain to compare


def _attach_records(lib, results, k: int | None = None) -> list[ResultItem]:
    """Worker side: the core's results (already ranked for a person, core/ranking.py: exact copies folded
    into one result, near-duplicates first) with their catalog records and a label that names the space
    its score comes from; at most ``k`` items."""
    ids = [r.file_id for r in results]
    recs = {rec.id: rec for rec in lib.files_by_ids(ids)} if ids else {}
    items: list[ResultItem] = []
    for r in results:
        rec = recs.get(r.file_id)
        it = ResultItem(r.file_id, str(r.path), float(r.score), getattr(rec, "mtime_ns", None), rec,
                        extra={"space": r.space, "kind": r.kind, "hash": getattr(rec, "hash", None),
                               "copies": list(r.copies)})
        n = len(r.copies)
        first = {"exact": "exact copy of this photo",
                 "duplicate": f"{_near_label(r)} {r.score:.3f}"}.get(r.kind, f"{_far_label(r)} {r.score:.3f}")
        it.extra["label"] = first + (f" · +{n} cop{'y' if n == 1 else 'ies'}" if n else "")  # fits a tile
        if r.reason:
            it.extra["reason"] = r.reason   # the verifier's words, in the tile's tooltip
        items.append(it)
    return items if k is None else items[:k]


def _preview(source, max_side: int = 360) -> QImage | None:
    """Worker side: a small QImage of the query for the header."""
    try:
        from ..core.decode import load_image, load_image_bytes

        if isinstance(source, (bytes, bytearray)):
            img, _ = load_image_bytes(bytes(source), max_side=max_side)
        elif isinstance(source, (str, Path)):
            img, _ = load_image(source, max_side=max_side)
        else:
            img = source
        img = img.copy()
        img.thumbnail((max_side, max_side))
        return pil_to_qimage(img)
    except Exception:
        return None


PLACEHOLDER = ("Drop a photo here\n— or paste one (Ctrl+V),\nopen one from disk,\n"
               "or pick one in the Library tab —\nto see the photos that look like it.")


class LookalikesPage(QWidget):
    resultsReady = Signal(int)  # number of results
    searchFailed = Signal(str)
    photoActivated = Signal(str)
    openRequested = Signal()  # "Open photo…": the window asks for a file

    def __init__(self, lib, thumbs, default_k: int = 24, parent=None):
        super().__init__(parent)
        self.lib = lib
        self._query = None  # ("path", p) | ("bytes", b) | ("id", fid, path)
        self._seq = 0
        self.library_empty = False   # set by the window from the library's counts
        self.busy = False
        self.library_busy = lambda: False  # the window sets this: True while a scan holds the library
        self.query_label = ImageLabel(PLACEHOLDER)
        self.query_label.setWordWrap(True)
        self.query_label.setFixedSize(240, 200)
        self.query_label.setStyleSheet("border: 2px dashed palette(mid); border-radius: 6px; padding: 8px;")
        self.open_btn = QPushButton("Open photo…")
        self.open_btn.setToolTip("Pick a photo from disk (it need not be in the library)")
        self.open_btn.clicked.connect(self.openRequested)
        self.query_text = QLabel("")
        self.query_text.setWordWrap(True)
        self.query_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 500)
        self.k_spin.setValue(default_k)
        self.k_spin.setPrefix("Show ")
        self.k_spin.setSuffix(" nearest")
        self.k_spin.valueChanged.connect(lambda _v: self.rerun())
        self.refresh_btn = QPushButton("Refresh")
        self.refresh_btn.clicked.connect(self.rerun)
        self.stale_label = QLabel("")
        self.stale_label.setStyleSheet("color: #b26a00;")
        self.status = QLabel("")
        for note in (self.stale_label, self.status, self.query_text):   # wrapped in the query's column, which
            note.setWordWrap(True)                                     # a long note widened
            note.setMaximumWidth(240)

        self.model = ResultModel(thumbs, self)
        self.grid = ThumbGrid(thumbs)
        self.grid.setModel(self.model)
        self.grid.activatedPath.connect(self.photoActivated)

        side = QVBoxLayout()
        side.addWidget(self.query_label)
        side.addWidget(self.open_btn)
        side.addWidget(self.query_text)
        side.addWidget(self.k_spin)
        side.addWidget(self.refresh_btn)
        side.addWidget(self.stale_label)
        side.addWidget(self.status)
        side.addStretch(1)
        lay = QHBoxLayout(self)
        lay.addLayout(side)
        lay.addWidget(self.grid, 1)

    # ------------------------------------------------------------------ queries
    def search_path(self, path: str | Path) -> None:
        self._query = ("path", str(path))
        self.query_text.setText(str(path))
        self._load_preview(str(path))
        self.rerun()

    def search_bytes(self, data: bytes, label: str = "Pasted image") -> None:
        self._query = ("bytes", bytes(data))
        self.query_text.setText(label)
        self._load_preview(bytes(data))
        self.rerun()

    def search_image(self, qimage: QImage, label: str = "Pasted image") -> None:
        """A QImage from the clipboard: encode to PNG bytes on the GUI thread (cheap), then as bytes."""
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

        ba = QByteArray()
        buf = QBuffer(ba)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        qimage.save(buf, "PNG")
        buf.close()
        self.search_bytes(bytes(ba.data()), label)

    def search_id(self, file_id: int, path: str) -> None:
        self._query = ("id", file_id, path)
        self.query_text.setText(path)
        self._load_preview(path)
        self.rerun()

    def rerun(self) -> None:
        if self._query is None:
            return
        self._seq += 1
        seq, k, lib, q = self._seq, self.k_spin.value(), self.lib, self._query
        self.busy = True
        self.status.setText("Searching… (results come when the indexing now running finishes)"
                            if self.library_busy() else "Searching…")
        self.status.setWordWrap(True)
        self.stale_label.setText("")

        def work():
            if q[0] == "id":
                res = lib.similar_to_id(q[1], k=k)
            else:
                res = lib.similar(Path(q[1]) if q[0] == "path" else q[1], k=k)
            return _attach_records(lib, res, k)

        workers.run_task(work, lambda items: self._show(seq, items), lambda e: self._failed(seq, e))

    def _show(self, seq: int, items: list[ResultItem]) -> None:
        if seq != self._seq:
            return  # an older search finished after a newer one started
        self.busy = False
        self.model.set_items(items)
        self.status.setText(f"{len(items)} result{'s' if len(items) != 1 else ''}" if items or not self.library_empty
                            else "No results: the library has no photos yet. Add a folder in the Library tab "
                                 "(Ctrl+O); its photos are searched here.")
        self.resultsReady.emit(len(items))

    def _failed(self, seq: int, e: BaseException) -> None:
        if seq != self._seq:
            return
        self.busy = False
        self.model.clear()
        self.status.setText("")
        msg = str(e) or type(e).__name__
        self.query_text.setText(f"{self.query_text.text()}\n\n⚠ {msg}")
        self.searchFailed.emit(msg)

    def _load_preview(self, source) -> None:
        seq = self._seq + 1

        def show(img):
            if img is not None and seq == self._seq:
                self.query_label.set_pixmap(QPixmap.fromImage(img))

        self.query_label.set_pixmap(None)
        workers.run_task(lambda: _preview(source), show, lambda e: None)

    def mark_stale(self) -> None:
        if self._query is not None:
            self.stale_label.setText("The library changed — Refresh to update.")

    def follow(self, cs) -> None:
        """Results deleted on disk leave the grid and moved ones take their new path (a deleted result stayed
        shown, and searching from it said "no embedding for file id 47")."""
        items = self.model.items
        if not items or not (cs.removed or cs.removed_paths or cs.moved):
            return
        gone = set(cs.removed_paths)
        moved = {fid: p for fid, p in cs.moved.items() if p}
        unknown = [fid for fid, p in cs.moved.items() if not p and fid in {it.file_id for it in items}]
        if unknown:   # a folder renamed: the catalog has the new paths
            try:
                moved.update((r.id, r.path) for r in self.lib.files_by_ids(unknown))
            except Exception:
                pass
        keep = []
        for it in items:
            if it.file_id in cs.removed or it.path in gone:
                continue
            if it.file_id in moved:
                it.path = moved[it.file_id]
            keep.append(it)
        if len(keep) != len(items) or any(it.file_id in moved for it in keep):
            self.model.set_items(keep)
            self.status.setText(f"{len(keep)} result{'s' if len(keep) != 1 else ''}")

    def results(self) -> list[tuple[str, float]]:
        return [(it.path, it.score) for it in self.model.items]

    @staticmethod
    def describe_path(p: str) -> str:
        return os.path.basename(p)
