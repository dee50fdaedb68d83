"""Item models for the thumbnail grids, and the delegate that paints a tile.

``FileGridModel`` holds only file ids. Records are fetched in blocks with ``lib.files_by_ids`` on a worker
(never on the GUI thread, where the library's lock could be held by a scan) and kept in a bounded cache.
``ResultModel`` holds a short list of already-fetched items (lookalike results, group members).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from ..core.actions import format_bytes
from ..core.roots import display_path
from . import workers

FileIdRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
RecordRole = Qt.ItemDataRole.UserRole + 3
ScoreRole = Qt.ItemDataRole.UserRole + 4
StateRole = Qt.ItemDataRole.UserRole + 5  # "", "keeper", "marked"
ThumbRole = Qt.ItemDataRole.UserRole + 6
CaptionRole = Qt.ItemDataRole.UserRole + 7
ThumbFailedRole = Qt.ItemDataRole.UserRole + 8
FolderRole = Qt.ItemDataRole.UserRole + 9  # the folder under the name: two "IMG_0001.jpg" must differ
LabelRole = Qt.ItemDataRole.UserRole + 10  # the score line: "similarity 0.912", "exact copy", "lookalike 0.7"


_roots: list[str] = []   # the library's folders, longest first: captions start at the one a photo is in


def set_roots(folders) -> None:
    """The window tells the captions the library's folders (each status refresh)."""
    _roots[:] = sorted((str(f).rstrip(os.sep) for f in folders), key=len, reverse=True)


def folder_of(path: str, depth: int = 2) -> str:
    """A photo's folder from its library folder's name down ("photos/2019/summer", "photos/exports"): one
    depth for all, where the last two folders mixed the library folder's name in for some photos and not
    others. Outside the library's folders, the last ``depth`` folders."""
    d = os.path.dirname(str(path)).rstrip(os.sep)
    for root in _roots:
        if d == root or d.startswith(root + os.sep):
            base = os.path.dirname(root)
            return display_path(d[len(base):].lstrip(os.sep) if base != d else d) or os.sep
    tail = [p for p in d.split(os.sep) if p][-depth:]
    return display_path(os.sep.join(tail)) if tail else os.sep


class _ThumbMixin:
    """Maps thumbnail keys back to rows so a finished thumbnail repaints only its tile."""

    def _init_thumbs(self, thumbs) -> None:
        self.thumbs = thumbs
        self._key_rows: dict[str, int] = {}
        if thumbs is not None:
            thumbs.thumbnailReady.connect(self._thumb_ready)

    def _thumb(self, row: int, path: str, mtime_ns: int | None):
        if self.thumbs is None:
            return None
        pm = self.thumbs.get(path, mtime_ns)
        if pm is None:
            self._key_rows[self.thumbs.key(path, mtime_ns)] = row
        return pm

    def _thumb_ready(self, key: str) -> None:
        row = self._key_rows.pop(key, None)
        if row is not None and row < self.rowCount():
            idx = self.index(row, 0)
            self.dataChanged.emit(idx, idx, [ThumbRole])


class FileGridModel(_ThumbMixin, QAbstractListModel):
    """All photos of the library, by id. Thousands of rows cost a list of ints until they are painted."""

    BLOCK = 256
    loaded = Signal(int)  # number of ids after a refresh

    def __init__(self, lib, thumbs=None, cache_records: int = 20000, parent=None):
        QAbstractListModel.__init__(self, parent)
        self._init_thumbs(thumbs)
        self.lib = lib
        self._ids: list[int] = []
        self._rows: dict[int, int] = {}
        self._records: OrderedDict[int, object] = OrderedDict()
        self._rec_epoch: dict[int, int] = {}
        self._cache_records = cache_records
        self._requested: set[int] = set()  # block numbers being fetched in this epoch
        self._generation = 0  # id-list requests: only the newest answer is applied
        self._epoch = 0  # bumps when the library changed: cached records are refreshed as they are painted
        self._loading = False
        self._again = False

    # ----------------------------------------------------------------- loading
    def refresh(self) -> None:
        """Reload the id list on a worker (after a scan or a change event). One request at a time."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        gen = self._generation = self._generation + 1
        lib = self.lib
        workers.run_task(lambda: lib.file_ids(), lambda ids: self._loaded(gen, ids), lambda e: self._loaded(gen, None))

    def _loaded(self, gen: int, ids) -> None:
        self._loading = False
        if ids is not None:
            self._set_ids(gen, ids)
        if self._again:
            self._again = False
            self.refresh()

    def set_ids(self, ids: list[int]) -> None:
        self._generation += 1
        self._set_ids(self._generation, ids)

    def _set_ids(self, gen: int, ids) -> None:
        if gen != self._generation:
            return
        ids = list(ids)
        # paths may have changed (moves keep ids): cached records stay on screen until refetched
        self._epoch += 1
        self._requested.clear()
        self._key_rows.clear()
        if ids != self._ids and not self._apply_diff(ids):
            self.beginResetModel()
            self._ids = ids
            self.endResetModel()
        self._rows = {fid: r for r, fid in enumerate(self._ids)}
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, 0))
        self.loaded.emit(len(self._ids))

    def _apply_diff(self, new: list[int]) -> bool:
        """Turn the old id list into ``new`` with row removals and insertions, so the view keeps its
        scroll position and selection. False when the order changed (the caller resets instead)."""
        old = self._ids
        new_set, old_set = set(new), set(old)
        if [i for i in old if i in new_set] != [i for i in new if i in old_set]:
            return False
        r = len(old) - 1
        while r >= 0:  # removals, from the end so earlier rows keep their numbers
            if old[r] in new_set:
                r -= 1
                continue
            end = r
            while r - 1 >= 0 and old[r - 1] not in new_set:
                r -= 1
            self.beginRemoveRows(QModelIndex(), r, end)
            del self._ids[r:end + 1]
            self.endRemoveRows()
            r -= 1
        pos = 0
        while pos < len(new):  # insertions, from the start: rows before ``pos`` already match
            if new[pos] in old_set:
                pos += 1
                continue
            end = pos
            while end + 1 < len(new) and new[end + 1] not in old_set:
                end += 1
            self.beginInsertRows(QModelIndex(), pos, end)
            self._ids[pos:pos] = new[pos:end + 1]
            self.endInsertRows()
            pos = end + 1
        return True

    def _fetch_block(self, block: int) -> None:
        if block in self._requested:
            return
        self._requested.add(block)
        ids = self._ids[block * self.BLOCK:(block + 1) * self.BLOCK]
        epoch, lib = self._epoch, self.lib
        workers.run_task(lambda: lib.files_by_ids(ids),
                         lambda recs: self._got_records(epoch, recs),
                         lambda e: self._requested.discard(block))

    def _got_records(self, epoch: int, recs) -> None:
        rows = []
        for rec in recs:
            self._records[rec.id] = rec
            self._records.move_to_end(rec.id)
            self._rec_epoch[rec.id] = epoch
            r = self._rows.get(rec.id)
            if r is not None:
                rows.append(r)
        while len(self._records) > self._cache_records:
            old_id, _ = self._records.popitem(last=False)
            self._rec_epoch.pop(old_id, None)
            self._requested.clear()  # evicted records may need fetching again
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), 0))

    # ----------------------------------------------------------------- model API
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def file_id(self, row: int) -> int:
        return self._ids[row]

    def row_of(self, file_id: int) -> int | None:
        return self._rows.get(file_id)

    def thumb_ref(self, row: int):
        rec = self._records.get(self._ids[row]) if row < len(self._ids) else None
        return None if rec is None else (rec.path, rec.mtime_ns)

    def record(self, row: int):
        fid = self._ids[row]
        rec = self._records.get(fid)
        if rec is None or self._rec_epoch.get(fid) != self._epoch:
            self._fetch_block(row // self.BLOCK)  # missing, or from before the last change: (re)fetch
        return rec

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._ids):
            return None
        row = index.row()
        if role == FileIdRole:
            return self._ids[row]
        rec = self.record(row)
        if rec is None:
            return "…" if role in (Qt.ItemDataRole.DisplayRole, CaptionRole) else None
        if role in (Qt.ItemDataRole.DisplayRole, CaptionRole):
            return display_path(os.path.basename(rec.path))
        if role == FolderRole:
            return folder_of(rec.path)
        if role == PathRole:
            return rec.path
        if role == RecordRole:
            return rec
        if role == ThumbRole:
            return self._thumb(row, rec.path, rec.mtime_ns)
        if role == ThumbFailedRole:
            return self.thumbs.failed(rec.path, rec.mtime_ns) if self.thumbs else None
        if role == Qt.ItemDataRole.ToolTipRole:
            dims = f"{rec.width}×{rec.height}" if rec.width else "?"
            return f"{rec.path}\n{dims} · {rec.format or '?'} · {format_bytes(rec.size)}"
        return None


@dataclass
class ResultItem:
    file_id: int | None
    path: str
    score: float | None = None
    mtime_ns: int | None = None
    record: object | None = None
    state: str = ""  # "", "keeper", "marked"
    extra: dict = field(default_factory=dict)


class ResultModel(_ThumbMixin, QAbstractListModel):
    """A short list of photos with scores: lookalike results, or the members of a duplicate group."""

    def __init__(self, thumbs=None, parent=None):
        QAbstractListModel.__init__(self, parent)
        self._init_thumbs(thumbs)
        self.items: list[ResultItem] = []

    def set_items(self, items: list[ResultItem]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self._key_rows.clear()
        self.endResetModel()

    def clear(self) -> None:
        self.set_items([])

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def item(self, row: int) -> ResultItem:
        return self.items[row]

    def thumb_ref(self, row: int):
        return (self.items[row].path, self.items[row].mtime_ns) if row < len(self.items) else None

    def set_state(self, row: int, state: str) -> None:
        self.items[row].state = state
        idx = self.index(row, 0)
        self.dataChanged.emit(idx, idx, [StateRole])

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.items):
            return None
        it = self.items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            name = display_path(os.path.basename(it.path))
            return name if it.score is None else f"{it.score:.3f}  {name}"
        if role == CaptionRole:
            return display_path(os.path.basename(it.path))
        if role == FolderRole:
            return folder_of(it.path)
        if role == LabelRole:
            label = it.extra.get("label")
            if label is None and it.score is not None:
                label = f"similarity {it.score:.3f}"
            return label
        if role == FileIdRole:
            return it.file_id
        if role == PathRole:
            return it.path
        if role == ScoreRole:
            return it.score
        if role == StateRole:
            return it.state
        if role == RecordRole:
            return it.record
        if role == ThumbRole:
            return self._thumb(index.row(), it.path, it.mtime_ns)
        if role == ThumbFailedRole:
            return self.thumbs.failed(it.path, it.mtime_ns) if self.thumbs else None
        if role == Qt.ItemDataRole.ToolTipRole:
            s = it.path
            if it.score is not None:
                s += f"\n{it.extra.get('space', 'similarity')} {it.score:.4f}"
            for c in it.extra.get("copies", []):
                s += f"\nexact copy: {c}"
            if it.extra.get("reason"):
                s += f"\n{it.extra['reason']}"
            label = it.extra.get("label")
            if label and label not in s:   # the tile's last lines, cut to its width
                s += f"\n{label}"
            rec = it.record
            if rec is not None and getattr(rec, "width", None):
                s += f"\n{rec.width}×{rec.height} · {getattr(rec, 'format', '?')}"
            return s
        return None


class ThumbDelegate(QStyledItemDelegate):
    """A tile: the thumbnail centred in a square, a caption, an optional score, a keeper/marked frame."""

    KEEP = QColor(46, 160, 67)
    MARK = QColor(218, 54, 51)

    TEXT_H = 60  # three lines under the thumbnail: name, folder, score
    LINE_H = 20  # each further line a label may take

    def __init__(self, thumb_size: int = 160, parent=None, label_lines: int = 1):
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.label_lines = max(1, label_lines)   # the Duplicates page's "another shot: camera moved" takes 2
        self.text_h = self.TEXT_H + (self.label_lines - 1) * self.LINE_H

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.thumb_size + 16, self.thumb_size + self.text_h)

    def label_lines_for(self, fm, label: str, width: int) -> list[str]:
        """The label as it fits: on one line, or broken after its headline ("another shot:" / "camera
        moved") when two are allowed; what still does not fit is elided (the tooltip has it all)."""
        if self.label_lines < 2 or fm.horizontalAdvance(label) <= width:
            return [fm.elidedText(label, Qt.TextElideMode.ElideRight, width)]
        head, sep, tail = label.partition(": ")
        if not sep:
            return [fm.elidedText(label, Qt.TextElideMode.ElideRight, width)]
        return [fm.elidedText(head + ":", Qt.TextElideMode.ElideRight, width),
                fm.elidedText(tail, Qt.TextElideMode.ElideRight, width)]

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        r = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        if selected:
            painter.fillRect(r, pal.highlight().color().lighter(160))
        box = QRect(r.left() + (r.width() - self.thumb_size) // 2, r.top() + 4, self.thumb_size, self.thumb_size)
        pm = index.data(ThumbRole)
        if pm is not None and not pm.isNull():
            size = pm.deviceIndependentSize()  # logical size: HiDPI thumbnails carry their pixel ratio
            w, h = size.width(), size.height()
            if max(w, h) > self.thumb_size:
                f = self.thumb_size / max(w, h)
                w, h = w * f, h * f
            x = box.left() + (box.width() - w) / 2
            y = box.top() + (box.height() - h) / 2
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(QRectF(x, y, w, h), pm, QRectF(pm.rect()))
        else:
            painter.fillRect(box, QColor(0, 0, 0, 18))
            failed = index.data(ThumbFailedRole)
            painter.setPen(pal.placeholderText().color())
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "can't read" if failed else "")
        state = index.data(StateRole) or ""
        if state:
            color = self.KEEP if state == "keeper" else self.MARK
            painter.setPen(QPen(color, 4))
            painter.drawRect(box.adjusted(-2, -2, 2, 2))
            badge = QRect(box.left(), box.top(), 58, 18)
            painter.fillRect(badge, color)
            painter.setPen(Qt.GlobalColor.white)
            f = QFont(option.font)
            f.setBold(True)
            f.setPointSizeF(max(7.0, f.pointSizeF() * 0.85))
            painter.setFont(f)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "KEEP" if state == "keeper" else "REMOVE")
            painter.setFont(option.font)
        text_rect = QRect(r.left() + 2, box.bottom() + 4, r.width() - 4, r.bottom() - box.bottom() - 4)
        painter.setPen(pal.text().color())
        caption = index.data(CaptionRole) or ""
        folder = index.data(FolderRole) or ""
        label = index.data(LabelRole)
        fm = option.fontMetrics
        top = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        y = text_rect.top()

        def draw(text: str) -> None:
            nonlocal y
            h = line_height(option.font, fm, text)
            painter.drawText(QRect(text_rect.left(), y, text_rect.width(), h), top, text)
            y += h

        draw(fm.elidedText(caption, Qt.TextElideMode.ElideMiddle, text_rect.width()))
        dim = pal.placeholderText().color() if not selected else pal.text().color()
        painter.setPen(dim)
        if folder:
            draw(fm.elidedText(folder + os.sep, Qt.TextElideMode.ElideLeft, text_rect.width()))
        if label:
            if label.startswith("exact") or "cop" in label:
                painter.setPen(QColor(46, 120, 200) if not selected else pal.text().color())
            for text in self.label_lines_for(fm, label, text_rect.width()):
                draw(text)
        painter.restore()


def line_height(font, fm, text: str) -> int:
    """A line's real height: a name in Japanese is drawn in a fallback font taller than the tile's own,
    and a line of the tile's font height cut its glyphs off (the third outside try)."""
    if text.isascii():
        return fm.height()
    from PySide6.QtGui import QTextLayout

    layout = QTextLayout(text, font)
    layout.beginLayout()
    line = layout.createLine()
    layout.endLayout()
    return max(fm.height(), int(line.height() + 0.99)) if line.isValid() else fm.height()
