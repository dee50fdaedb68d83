"""Duplicates: find groups, review members side by side, mark, and act (trash / move) with undo.

Keyboard: Up/Down move between groups, Left/Right between photos, K keeps the photo, D marks it for
deletion (again to unmark), Space compares it with the keeper. The keeper is never marked, so a group can
never be marked whole.
"""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from ..core import actions
from ..core.actions import ActionLog, format_bytes
from . import workers
from .compare import CompareDialog
from .file_actions import FileActionsMixin
from .models import ResultItem, ResultModel
from .settings import spin_value, threshold_spin
from .views import ThumbGrid

TIERS = (("duplicates", "Duplicates (same photo)"), ("similar", "Similar (edits, crops, bursts)"))


def reclaimable(group) -> int:
    return sum(m.bytes or 0 for m in group.members[1:])


class _ArrowFilter(QObject):
    """Up/Down on the members grid switch groups; Left/Right on the group list switch photos."""

    def __init__(self, page: "DuplicatesPage"):
        super().__init__(page)
        self.page = page

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() != QEvent.Type.KeyPress:
            return False
        k = ev.key()
        if obj is self.page.members and k in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.page.step_group(-1 if k == Qt.Key.Key_Up else 1)
            return True
        if obj is self.page.groups_view and k in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.page.step_member(-1 if k == Qt.Key.Key_Left else 1)
            return True
        return False


class DuplicatesPage(FileActionsMixin, QWidget):
    groupsReady = Signal(int)
    actionDone = Signal(object)  # the core.actions.Action
    undoDone = Signal(object)  # the UndoReport
    message = Signal(str, str)  # (what, problem) for the error panel
    libraryChanged = Signal()  # files moved/trashed/restored: the grid should refresh

    def __init__(self, lib, thumbs, settings, action_log: ActionLog, parent=None):
        super().__init__(parent)
        self.lib, self.settings, self.log = lib, settings, action_log
        self.groups: list = []
        self.keepers: dict[int, str] = {}
        self.marked: set[str] = set()
        self.busy = False
        self.last_action = None

        self.tier_combo = QComboBox()
        for key, label in TIERS:
            self.tier_combo.addItem(label, key)
        self.threshold = threshold_spin(settings.threshold_for("duplicates"))
        self.threshold.setPrefix("threshold ")
        self.tier_combo.currentIndexChanged.connect(
            lambda _i: self.threshold.setValue(settings.threshold_for(self.tier()) or 0.0))
        self.find_btn = QPushButton("Find duplicates")
        self.find_btn.setDefault(True)
        self.find_btn.clicked.connect(self.find)
        self.status = QLabel("")
        self.stale_label = QLabel("")
        self.stale_label.setStyleSheet("color: #b26a00;")
        top = QHBoxLayout()
        for w in (QLabel("Tier:"), self.tier_combo, self.threshold, self.find_btn, self.status):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.stale_label)

        self.groups_view = QTreeWidget()
        self.groups_view.setColumnCount(4)
        self.groups_view.setHeaderLabels(["Group", "Photos", "Can free", "Marked"])
        self.groups_view.setRootIsDecorated(False)
        self.groups_view.setUniformRowHeights(True)
        self.groups_view.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.groups_view.header().setStretchLastSection(False)
        for c in (1, 2, 3):
            self.groups_view.header().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.groups_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.groups_view.currentItemChanged.connect(lambda *_: self._show_group())

        self.model = ResultModel(thumbs, self)
        self.members = ThumbGrid(thumbs)
        self.members.setModel(self.model)
        self.members.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.members.activatedPath.connect(lambda _p: self.compare_current())
        self.group_title = QLabel("Select a group.")
        self.keep_btn = QPushButton("Keep (K)")
        self.mark_btn = QPushButton("Mark (D)")
        self.compare_btn = QPushButton("Compare (Space)")
        self.auto_group_btn = QPushButton("Mark all but keeper")
        self.auto_all_btn = QPushButton("…in every group")
        self.clear_btn = QPushButton("Clear marks")
        self.keep_btn.clicked.connect(self.keep_current)
        self.mark_btn.clicked.connect(self.toggle_mark_current)
        self.compare_btn.clicked.connect(self.compare_current)
        self.auto_group_btn.clicked.connect(self.auto_mark_group)
        self.auto_all_btn.clicked.connect(self.auto_mark_all)
        self.clear_btn.clicked.connect(self.clear_marks)
        mbar = QHBoxLayout()
        for b in (self.keep_btn, self.mark_btn, self.compare_btn, self.auto_group_btn, self.auto_all_btn,
                  self.clear_btn):
            mbar.addWidget(b)
        mbar.addStretch(1)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.group_title)
        rl.addWidget(self.members, 1)
        rl.addLayout(mbar)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.groups_view)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        split.setSizes([380, 840])

        self.summary = QLabel("Nothing marked.")
        self.trash_btn = QPushButton("Move marked to trash…")
        self.move_btn = QPushButton("Move marked to folder…")
        self.export_btn = QPushButton("Export groups…")
        self.undo_btn = QPushButton("Undo last action")
        self.history_btn = QPushButton("History…")
        self.history_btn.clicked.connect(self.show_history)
        self.trash_btn.clicked.connect(lambda: self.act("trash"))
        self.move_btn.clicked.connect(lambda: self.act("move"))
        self.export_btn.clicked.connect(self.export)
        self.undo_btn.clicked.connect(self.undo_last)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        for b in (self.export_btn, self.history_btn, self.undo_btn, self.move_btn, self.trash_btn):
            bottom.addWidget(b)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addLayout(bottom)

        for key, fn in ((Qt.Key.Key_K, self.keep_current), (Qt.Key.Key_D, self.toggle_mark_current),
                        (Qt.Key.Key_Space, self.compare_current)):
            sc = QShortcut(QKeySequence(key), self, fn)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._arrows = _ArrowFilter(self)
        self.members.installEventFilter(self._arrows)
        self.groups_view.installEventFilter(self._arrows)
        self.compare_dialog: CompareDialog | None = None
        self.history_dialog = None
        # hooks the tests replace: they must not open modal dialogs
        self.confirm = self._confirm
        self.choose_folder = lambda: QFileDialog.getExistingDirectory(self, "Move marked photos to")
        self.choose_export = lambda: QFileDialog.getSaveFileName(self, "Export groups", "groups.csv",
                                                                 "CSV (*.csv);;JSON (*.json)")[0]
        try:  # an action of an earlier session can still be undone from here
            self.last_action = self.log.last_undoable()
        except OSError:
            self.last_action = None
        self._refresh_buttons()

    # ------------------------------------------------------------------ finding
    def tier(self) -> str:
        return self.tier_combo.currentData()

    def find(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.find_btn.setEnabled(False)
        self.status.setText("Grouping…")
        tier, thr, lib = self.tier(), spin_value(self.threshold), self.lib
        workers.run_task(lambda: lib.duplicates(tier=tier, threshold=thr), self.set_groups, self._find_failed)

    def _find_failed(self, e) -> None:
        self.busy = False
        self.find_btn.setEnabled(True)
        self.status.setText("")
        self.message.emit("Find duplicates", str(e) or type(e).__name__)

    def set_groups(self, groups) -> None:
        self.busy = False
        self.find_btn.setEnabled(True)
        # our own copies: members shrink after a move, and the keeper may be changed by the user
        self.groups = [SimpleNamespace(tier=g.tier, keeper=str(g.keeper), members=list(g.members))
                       for g in groups if len(g.members) >= 2]
        self.groups.sort(key=lambda g: -reclaimable(g))
        self.keepers.clear()
        self.marked.clear()
        self.stale_label.setText("")
        n = sum(len(g.members) for g in self.groups)
        total = sum(reclaimable(g) for g in self.groups)
        ng = len(self.groups)
        self.status.setText(f"{ng} group{'s' if ng != 1 else ''} · {n} photos · up to {format_bytes(total)} to free")
        self._fill_groups()
        self.groupsReady.emit(len(self.groups))

    def _fill_groups(self) -> None:
        cur = max(0, self.current_group_index())
        self.groups_view.clear()
        for gi, g in enumerate(self.groups):
            it = QTreeWidgetItem([f"{gi + 1}. {str(self.keeper_of(gi)).rsplit('/', 1)[-1]}",
                                  str(len(g.members)), format_bytes(reclaimable(g)), ""])
            it.setData(0, Qt.ItemDataRole.UserRole, gi)
            for c in (1, 2, 3):
                it.setTextAlignment(c, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.groups_view.addTopLevelItem(it)
        self._update_group_marks()
        if self.groups:
            self.groups_view.setCurrentItem(self.groups_view.topLevelItem(min(cur, len(self.groups) - 1)))
        else:
            self.model.clear()
            self.group_title.setText("No groups." if self.status.text() else "Select a group.")
        self._refresh_buttons()

    def mark_stale(self) -> None:
        if self.groups:
            self.stale_label.setText("The library changed — Find again to update.")

    # ------------------------------------------------------------------ selection
    def current_group_index(self) -> int:
        it = self.groups_view.currentItem()
        return -1 if it is None else it.data(0, Qt.ItemDataRole.UserRole)

    def current_member_row(self) -> int:
        idx = self.members.currentIndex()
        return idx.row() if idx.isValid() else -1

    def keeper_of(self, gi: int) -> str:
        return self.keepers.get(gi) or str(self.groups[gi].keeper)

    def select_group(self, gi: int) -> None:
        if 0 <= gi < self.groups_view.topLevelItemCount():
            self.groups_view.setCurrentItem(self.groups_view.topLevelItem(gi))

    def step_group(self, d: int) -> None:
        self.select_group(max(0, min(len(self.groups) - 1, self.current_group_index() + d)))
        self.members.setFocus()

    def step_member(self, d: int) -> None:
        n = self.model.rowCount()
        if n:
            row = max(0, min(n - 1, self.current_member_row() + d))
            self.members.setCurrentIndex(self.model.index(row, 0))

    def _show_group(self) -> None:
        gi = self.current_group_index()
        if gi < 0 or gi >= len(self.groups):
            self.model.clear()
            return
        g = self.groups[gi]
        items = [ResultItem(m.file_id, str(m.path), float(m.similarity), m.mtime_ns, m) for m in g.members]
        self.model.set_items(items)
        self._apply_states()
        self.group_title.setText(f"Group {gi + 1} of {len(self.groups)} · {g.tier} · {len(g.members)} photos · "
                                 f"keeper: {self.keeper_of(gi)}")
        self.members.setCurrentIndex(self.model.index(0, 0))

    def _apply_states(self) -> None:
        gi = self.current_group_index()
        if gi < 0:
            return
        keep = self.keeper_of(gi)
        for row, it in enumerate(self.model.items):
            st = "keeper" if it.path == keep else ("marked" if it.path in self.marked else "")
            if st != it.state:
                self.model.set_state(row, st)
        self._update_group_marks()
        self._refresh_buttons()

    def _update_group_marks(self) -> None:
        for gi in range(self.groups_view.topLevelItemCount()):
            n = sum(1 for m in self.groups[gi].members if str(m.path) in self.marked)
            self.groups_view.topLevelItem(gi).setText(3, str(n) if n else "")

    # ------------------------------------------------------------------ marking
    def keep_current(self) -> None:
        gi, row = self.current_group_index(), self.current_member_row()
        if gi < 0 or row < 0:
            return
        path = self.model.item(row).path
        self.keepers[gi] = path
        self.marked.discard(path)
        self.groups_view.topLevelItem(gi).setText(0, f"{gi + 1}. {path.rsplit('/', 1)[-1]}")
        self._apply_states()

    def toggle_mark_current(self) -> None:
        gi, row = self.current_group_index(), self.current_member_row()
        if gi < 0 or row < 0:
            return
        path = self.model.item(row).path
        if path in self.marked:
            self.marked.discard(path)
        elif path == self.keeper_of(gi):
            self.status.setText("That is the photo this group keeps — press K on another one first.")
            return
        else:
            self.marked.add(path)
            if row + 1 < self.model.rowCount():
                self.members.setCurrentIndex(self.model.index(row + 1, 0))
        self._apply_states()

    def auto_mark_group(self) -> None:
        gi = self.current_group_index()
        if gi >= 0:
            self.marked.update(actions.auto_mark([self.groups[gi]], {0: self.keeper_of(gi)}))
            self._apply_states()

    def auto_mark_all(self) -> None:
        self.marked.update(actions.auto_mark(self.groups, {gi: self.keeper_of(gi) for gi in range(len(self.groups))}))
        self._apply_states()

    def clear_marks(self) -> None:
        self.marked.clear()
        self._apply_states()

    def marked_paths(self) -> list[str]:
        seen, out = set(), []
        for g in self.groups:
            for m in g.members:
                p = str(m.path)
                if p in self.marked and p not in seen:
                    seen.add(p)
                    out.append(p)
        return out

    def _refresh_buttons(self) -> None:
        paths = self.marked_paths()
        total = 0
        by_path = {str(m.path): m for g in self.groups for m in g.members}
        for p in paths:
            total += by_path[p].bytes or 0
        self.summary.setText(f"{len(paths)} marked · {format_bytes(total)}" if paths else "Nothing marked.")
        writable = not getattr(self.lib, "readonly", False)
        self.trash_btn.setEnabled(bool(paths) and writable)
        self.move_btn.setEnabled(bool(paths) and writable)
        self.export_btn.setEnabled(bool(self.groups))
        self.undo_btn.setEnabled(writable and self.last_action is not None and self.last_action.undoable)
        has = self.current_member_row() >= 0
        for b in (self.keep_btn, self.mark_btn, self.compare_btn, self.auto_group_btn):
            b.setEnabled(has)
        self.auto_all_btn.setEnabled(bool(self.groups))

    # ------------------------------------------------------------------ compare
    def compare_current(self) -> None:
        gi, row = self.current_group_index(), self.current_member_row()
        if gi < 0 or row < 0:
            return
        g = self.groups[gi]
        keep = self.keeper_of(gi)
        by_path = {str(m.path): m for m in g.members}
        other = by_path[self.model.item(row).path]
        base = by_path.get(keep, g.members[0])
        if other is base:  # comparing the keeper: show it against the next member
            other = next(m for m in g.members if m is not base)
        if self.compare_dialog is None:
            self.compare_dialog = CompareDialog(self)
        self.compare_dialog.compare.set_members(base, other, ("Keeper: " + str(base.path).rsplit("/", 1)[-1],
                                                              str(other.path).rsplit("/", 1)[-1]))
        self.compare_dialog.show()
        self.compare_dialog.raise_()
