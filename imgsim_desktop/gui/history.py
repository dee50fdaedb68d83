"""The action history: every trash / move the app did, from the undo log, with undo for any of them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QPushButton,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout)

from ..core.actions import ActionLog


class HistoryDialog(QDialog):
    """Lists ``ActionLog.actions()`` newest first; "Undo" asks the owner to undo the selected action."""

    undoRequested = Signal(object)  # core.actions.Action

    def __init__(self, log: ActionLog, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Action history")
        self.resize(1000, 460)
        self.log = log
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["When", "What", "Files"])
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)   # a long path keeps its file name
        self.tree.setRootIsDecorated(True)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for c in (0, 2):   # "2026-12-…" was all the date a new user saw
            self.tree.header().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.currentItemChanged.connect(lambda *_: self._selection())
        self.note = QLabel(f"Log: {log.path}")
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.undo_btn = QPushButton("Undo selected")
        self.undo_btn.setEnabled(False)
        self.undo_btn.clicked.connect(self._undo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.undo_btn, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.note)
        lay.addWidget(buttons)
        self.reload()

    def reload(self) -> None:
        self.tree.clear()
        self.actions = list(reversed(self.log.actions()))
        for a in self.actions:
            top = QTreeWidgetItem([a.created.replace("T", " "), a.describe(), str(len(a.done_items))])
            top.setData(0, Qt.ItemDataRole.UserRole, a.id)
            for it in a.items:
                state = ("restored" if it.restored else "moved") if it.error is None else f"failed: {it.error}"
                row = QTreeWidgetItem(top, ["", f"{it.src}  →  {it.dst or '—'}", state])
                row.setToolTip(1, f"{it.src}\n→ {it.dst or '—'}")   # the column cuts long paths
                row.setToolTip(2, state)
            self.tree.addTopLevelItem(top)
        if not self.actions:
            self.tree.addTopLevelItem(QTreeWidgetItem(["", "Nothing moved or trashed yet.", ""]))
        self._selection()

    def selected_action(self):
        it = self.tree.currentItem()
        while it is not None and it.parent() is not None:
            it = it.parent()
        aid = it.data(0, Qt.ItemDataRole.UserRole) if it is not None else None
        return next((a for a in self.actions if a.id == aid), None)

    def _selection(self) -> None:
        a = self.selected_action()
        self.undo_btn.setEnabled(a is not None and a.undoable)

    def _undo(self) -> None:
        a = self.selected_action()
        if a is not None and a.undoable:
            self.undoRequested.emit(a)
