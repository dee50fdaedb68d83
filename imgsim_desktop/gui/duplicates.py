"""Duplicates: find groups, review members side by side, mark, and act (trash / move) with undo.

Keyboard: Up/Down move between groups, Left/Right between photos, K keeps the photo, D marks it for
deletion (again to unmark), Space compares it with the keeper. The keeper is never marked, so a group can
never be marked whole. The page follows the library's change sets (``apply_changes``): a trash, a move, an
undo or a watcher batch reaches it the same way.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout,
                               QHeaderView, QLabel, QPushButton, QSizePolicy, QSplitter, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from ..core import changes
from ..core.actions import ActionLog, format_bytes
from ..core.duplicates import freed_with_the_rest, pictures_words
from ..core.units import partners
from ..core.progress import CancelToken
from .compare import CompareDialog
from .compare_flow import CompareFlowMixin
from .file_actions import FileActionsMixin
from .finding import TIERS, FindingMixin
from .marking import MarkingMixin
from .models import ResultItem, ResultModel, folder_of, line_height
from .settings import pictures_dir
from .views import ElidedLabel, ThumbGrid


NOT_FOUND_YET = "Press \u201cFind duplicates\u201d to group the library\u2019s photos."
NO_PHOTOS = "No photos yet: add a folder in the Library tab (Ctrl+O)."


def reclaimable(group, keeper: str | None = None) -> int:
    """Bytes "all but keeper" frees (the core lists its keeper first): the core's rule, per member."""
    members = group.members[1:] if keeper is None else [m for m in group.members if str(m.path) != keeper]
    if keeper is None and group.members:
        keeper = str(group.members[0].path)
    return sum(m.bytes or 0 for m in members if freed_with_the_rest(group.tier, m, keeper))


def _with_path(member, path: str):
    """A copy of a group member under its new path (after a move the library reported)."""
    if dataclasses.is_dataclass(member):
        return dataclasses.replace(member, path=path)
    return SimpleNamespace(**{**vars(member), "path": path})


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


class DuplicatesPage(FindingMixin, MarkingMixin, CompareFlowMixin, FileActionsMixin, QWidget):
    groupsReady = Signal(int)
    groupsShown = Signal(int)  # the number of groups the list shows, whenever it is rebuilt
    actionDone = Signal(object)  # the core.actions.Action
    undoDone = Signal(object)  # the UndoReport
    message = Signal(str, str)  # (what, problem) for the error panel
    groupReviewed = Signal(str, str)  # (group id, verdict): remembered in the catalog, gone from the list

    def __init__(self, lib, thumbs, settings, action_log: ActionLog, controller=None, parent=None):
        super().__init__(parent)
        self.lib, self.settings, self.log = lib, settings, action_log
        if controller is None:  # a page on its own (tests, tools): it still follows the library's changes
            from .controller import LibraryController

            controller = LibraryController(lib, settings, self)
            controller.changed.connect(self.apply_changes)
        self.controller = controller
        controller.check.finished.connect(self._checked_in_background)
        self.groups: list = []
        self.keepers: dict[int, str] = {}
        self.marked: set[str] = set()
        self.hashes: dict[str, str | None] = {}  # path -> content hash, for "exact copy"
        self.busy = False
        self.found = False  # groups were found once: a new threshold finds them again
        self.last_action = None
        self.last_review = None   # (group id, the group, where it stood, its keeper, its marks): "Undo" brings it back

        self.tier_combo = QComboBox()
        for key, label in TIERS:
            self.tier_combo.addItem(label, key)
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(2)
        self.threshold.setSingleStep(0.01)
        self.threshold.setPrefix("threshold ")
        self.threshold.setKeyboardTracking(False)  # typing "0.8" is one change, not "0." then "0.8"
        self._rerun = QTimer(self)
        self._rerun.setSingleShot(True)
        self._rerun.setInterval(500)
        self._rerun.timeout.connect(self.find)
        self._set_tier_threshold()
        self.threshold.valueChanged.connect(self._threshold_changed)
        self.tier_combo.currentIndexChanged.connect(lambda _i: self._tier_changed())
        self.find_btn = QPushButton("Find duplicates")
        self.find_btn.setDefault(True)
        self.find_btn.clicked.connect(self.find)
        # the first grouping of a large library verifies thousands of pairs: it says how far it is, and stops
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop grouping; the pairs verified so far are kept for the next time")
        self.stop_btn.clicked.connect(self._stop_finding)
        self.stop_btn.hide()
        self._cancel: CancelToken | None = None
        # long notes must not widen the page (the window grew past the screen, and stayed so)
        self.status = ElidedLabel("")
        self.stale_label = ElidedLabel("")
        self.stale_label.setStyleSheet("color: #b26a00;")
        top = QHBoxLayout()
        for w in (QLabel("Tier:"), self.tier_combo, self.threshold, self.find_btn, self.stop_btn):
            top.addWidget(w)
        top.addWidget(self.status, 3)
        top.addWidget(self.stale_label, 2)

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
        self.groups_view.setMinimumWidth(220)
        # a narrow list shows "1. IMG_2…" for every group: keep each name's end, which tells them apart
        self.groups_view.setTextElideMode(Qt.TextElideMode.ElideMiddle)

        self.model = ResultModel(thumbs, self)
        self.members = ThumbGrid(thumbs, label_lines=2)   # "same photo:" / "cropped to 70 %, turned 90°"
        self.members.setModel(self.model)
        self.members.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.members.activatedPath.connect(lambda _p: self.compare_current())
        self.members.selectionModel().currentChanged.connect(lambda *_: self._refresh_buttons())
        self.library_empty = False   # set by the window from the library's counts
        self.group_title = QLabel(NOT_FOUND_YET)
        # a long keeper path must not widen this side (the splitter took it from the group list each time)
        self.group_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.group_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # why the keeper was chosen: "camera original: EXIF Canon EOS 80D, ..." (cut with "…", whole on hover)
        self.keeper_why = ElidedLabel("")
        self.keeper_why.setStyleSheet("color: #555;")
        self.keep_btn = QPushButton("Keep (K)")
        self.mark_btn = QPushButton("Mark (D)")
        self.compare_btn = QPushButton("Compare (Space)")
        self.auto_group_btn = QPushButton("Mark all but keeper")
        self.auto_all_btn = QPushButton("…in every group")
        self.clear_btn = QPushButton("Clear marks")
        self.clear_btn.setToolTip("Take this group's marks off (Edit > Clear all marks: every group's)")
        self.not_dupes_btn = QPushButton("Not duplicates")
        self.not_dupes_btn.setToolTip("These are different photos: hide this group until one of them changes")
        self.keep_all_btn = QPushButton("Keep all")
        self.keep_all_btn.setToolTip("Keep every photo of this group: hide it until one of them changes")
        self.not_dupes_btn.clicked.connect(lambda: self.review_group("not_duplicates"))
        self.keep_all_btn.clicked.connect(lambda: self.review_group("keep_all"))
        self.keep_btn.clicked.connect(self.keep_current)
        self.mark_btn.clicked.connect(self.toggle_mark_current)
        self.compare_btn.clicked.connect(self.compare_current)
        self.auto_group_btn.clicked.connect(self.auto_mark_group)
        self.auto_all_btn.clicked.connect(self.auto_mark_all)
        self.clear_btn.clicked.connect(self.clear_marks)
        # two rows: in one, the eight buttons made the members' side 834 px wide at least, and the group list
        # kept its 220 px minimum ("1. …" for every group) in a 1,320 px window
        photo_bar, group_bar = QHBoxLayout(), QHBoxLayout()
        for b in (self.keep_btn, self.mark_btn, self.compare_btn):
            photo_bar.addWidget(b)
        photo_bar.addStretch(1)
        for b in (self.not_dupes_btn, self.keep_all_btn):
            photo_bar.addWidget(b)
        for b in (self.auto_group_btn, self.auto_all_btn, self.clear_btn):
            group_bar.addWidget(b)
        group_bar.addStretch(1)
        mbar = QVBoxLayout()
        mbar.addLayout(photo_bar)
        mbar.addLayout(group_bar)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.group_title)
        rl.addWidget(self.keeper_why)
        rl.addWidget(self.members, 1)
        rl.addLayout(mbar)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.groups_view)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setCollapsible(0, False)
        self._split, self._split_sized = split, False   # sized at the first show (below)

        self.summary = ElidedLabel("Nothing marked.")
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
                        (Qt.Key.Key_Delete, self.toggle_mark_current),   # where people reach first: marks too
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
        self.ask_similar = self._ask_similar
        self.choose_folder = lambda: QFileDialog.getExistingDirectory(self, "Move marked photos to",
                                                                      pictures_dir())
        self.choose_export = lambda: QFileDialog.getSaveFileName(
            self, "Export groups", str(Path.home() / "groups.csv"), "CSV (*.csv);;JSON (*.json)")[0]
        try:  # an action of an earlier session can still be undone from here
            self.last_action = self.log.last_undoable()
        except OSError:
            self.last_action = None
        self._refresh_buttons()

    # ------------------------------------------------------------------ finding
    def showEvent(self, event) -> None:
        """Give the group list two fifths of the page (up to 420 px) once the page has its width: sizes set
        while it had none were scaled away, and the list stayed at its 220 px minimum, names cut to "1. …"
        (at a third of a 1,000 px window its three number columns left the names 70 px: "co…e.jpg")."""
        super().showEvent(event)
        w = self._split.width()
        if not self._split_sized and w > 0:
            self._split_sized = True
            left = min(420, max(self.groups_view.minimumWidth(), w * 2 // 5))
            self._split.setSizes([left, w - left])

    def set_groups(self, groups) -> None:
        self._end_finding()
        self.found = True
        # our own copies: members shrink after a move, and the keeper may be changed by the user
        self.groups = [SimpleNamespace(tier=g.tier, keeper=str(g.keeper), members=list(g.members),
                                       id=getattr(g, "id", ""), keeper_reason=getattr(g, "keeper_reason", ""))
                       for g in groups if len(g.members) >= 2]
        self.groups.sort(key=lambda g: -reclaimable(g))
        self.keepers.clear()
        self.last_review = None   # its group is not one of these objects any more
        # marks are the user's work: a new search (another tier, threshold, or Find again) keeps those still
        # on a photo it groups and does not keep, and says what it had to drop
        before = set(self.marked)
        keepers = {str(g.keeper) for g in self.groups}
        self.marked = {str(m.path) for g in self.groups for m in g.members} & (before - keepers)
        if self.marked:
            self.marked = set(self.review().marked)   # by the same rules as a mark made here
        self.stale_label.setText("")
        self.status.setText(self._summary_text())
        if before:
            dropped = len(before) - len(self.marked)
            note = f"{len(self.marked)} mark{'s' if len(self.marked) != 1 else ''} kept"
            if dropped:
                note += f", {dropped} dropped (no longer a photo to remove in these groups)"
            self.status.setText(self.status.text() + f" · {note}")
        self._fill_groups()
        self.groupsReady.emit(len(self.groups))

    def reclaimable_of(self, gi: int) -> int:
        return reclaimable(self.groups[gi], self.keeper_of(gi))

    def _summary_text(self) -> str:
        n = sum(len(g.members) for g in self.groups)
        total = sum(self.reclaimable_of(gi) for gi in range(len(self.groups)))
        ng = len(self.groups)
        return f"{ng} group{'s' if ng != 1 else ''} · {n} photos · up to {format_bytes(total)} to free"

    def _fill_groups(self) -> None:
        cur = max(0, self.current_group_index())
        # no selection signals while the list is rebuilt: they arrived with the old items' indices into the
        # new, shorter list of groups (an IndexError after trashing the last group's copy)
        self.groups_view.blockSignals(True)
        try:
            self._fill_group_items()
        finally:
            self.groups_view.blockSignals(False)
        if self.groups:
            self.groups_view.setCurrentItem(None)
            self.groups_view.setCurrentItem(self.groups_view.topLevelItem(min(cur, len(self.groups) - 1)))
        else:
            self.model.clear()
            self.group_title.setText("No groups." if self.found else self._not_found_yet())
            self.keeper_why.setText("")
        self._refresh_buttons()
        if self.found:
            self.groupsShown.emit(len(self.groups))

    def _not_found_yet(self) -> str:
        return NO_PHOTOS if self.library_empty else NOT_FOUND_YET

    def set_library_empty(self, empty: bool) -> None:
        """An empty library's page points at the Library tab rather than at a Find with nothing to group."""
        if empty == self.library_empty:
            return
        self.library_empty = empty
        if not self.groups and not self.found and self.group_title.text() in (NO_PHOTOS, NOT_FOUND_YET):
            self.group_title.setText(self._not_found_yet())

    def _checked_in_background(self, groups) -> None:
        """The background check found the groups: say so on a page that has not searched yet."""
        if groups and not self.found and not self.busy and not self.groups:
            self.group_title.setText(f"{groups:,} group{'s' if groups != 1 else ''} of duplicates found in the "
                                     "background: press \u201cFind duplicates\u201d to review them.")

    def _fill_group_items(self) -> None:
        self.groups_view.clear()
        texts = [self._group_text(gi) for gi in range(len(self.groups))]
        fm = self.groups_view.fontMetrics()
        # rows are of one height, the first's: a name in Japanese further down lost its underscores
        tallest = max((line_height(self.groups_view.font(), fm, t) for t in texts if not t.isascii()), default=0)
        for gi, g in enumerate(self.groups):
            it = QTreeWidgetItem([texts[gi], str(len(g.members)), format_bytes(self.reclaimable_of(gi)), ""])
            it.setData(0, Qt.ItemDataRole.UserRole, gi)
            if tallest > fm.height():
                it.setSizeHint(0, QSize(0, tallest + 4))
            it.setToolTip(0, self._keeper_tip(gi))
            for c in (1, 2, 3):
                it.setTextAlignment(c, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.groups_view.addTopLevelItem(it)
        self._update_group_marks()

    def _group_text(self, gi: int) -> str:
        g = self.groups[gi]
        exact = g.tier == "exact" or len({self.hashes.get(str(m.path)) for m in g.members} - {None}) == 1 \
            and all(self.hashes.get(str(m.path)) for m in g.members)
        # " · exact" rather than "(exact copies)": at 1,000 px every such group read "IM…pies)"
        return f"{gi + 1}. {str(self.keeper_of(gi)).rsplit('/', 1)[-1]}" + (" · exact" if exact else "")

    def keeper_reason(self, gi: int) -> str:
        """Why group ``gi`` keeps its keeper: the core's reason, or the user's own choice."""
        if gi in self.keepers and self.keepers[gi] != str(self.groups[gi].keeper):
            return "chosen by you"
        return getattr(self.groups[gi], "keeper_reason", "") or ""

    def _keeper_tip(self, gi: int) -> str:
        why = self.keeper_reason(gi)
        return self.keeper_of(gi) + (f"\nkept because: {why}" if why else "")

    def mark_stale(self) -> None:
        if self.groups or self.found:   # "No groups." is out of date too (an undo brought photos back)
            self.stale_label.setText("The library changed — Find again to update.")

    # ------------------------------------------------------------------ following the library
    def apply_changes(self, cs) -> None:
        """Follow one write's ChangeSet: members that left the library leave their groups, moved members
        take their new path, and anything else that changed marks the groups out of date."""
        if not self.groups:
            if self.found and (cs.added or cs.updated or cs.folders or cs.source == changes.UNDO):
                self.mark_stale()
            return
        gone = set(cs.removed_paths)
        if cs.source in (changes.TRASH, changes.MOVE) and hasattr(cs.result, "done_items"):
            gone |= {i.src for i in cs.result.done_items}  # moved out of the review, wherever they went
        moved = {fid: p for fid, p in cs.moved.items() if p}
        # a folder renamed on disk: its photos' new paths are the catalog's (ours only: a few rows)
        ours = {m.file_id for g in self.groups for m in g.members}
        unknown = [fid for fid, p in cs.moved.items() if not p and fid in ours]
        lost = False
        if unknown:
            try:
                moved.update((r.id, r.path) for r in self.lib.files_by_ids(unknown))
            except Exception:   # the library busy or closing: the stale note below asks for a new search
                lost = True
        if not (gone or cs.removed or moved or cs.added or cs.updated or cs.folders):
            return
        summary = self.status.text().startswith(self._summary_text())   # the counts shown, not another message
        renamed = {}
        kept = []
        for gi, g in enumerate(self.groups):
            g.keeper = self.keeper_of(gi)  # the user's choice survives the renumbering below
            members = []
            for m in g.members:
                if str(m.path) in gone or m.file_id in cs.removed:
                    continue
                if m.file_id in moved and moved[m.file_id] != str(m.path):
                    renamed[str(m.path)] = moved[m.file_id]
                    m = _with_path(m, moved[m.file_id])
                members.append(m)
            g.members = members
            g.keeper = renamed.get(g.keeper, g.keeper)
            if len(members) >= 2:
                if g.keeper not in {str(m.path) for m in members}:
                    g.keeper = str(members[0].path)
                # nothing left to clean up but the keeper's own RAW or JPEG (core/units.py): not a group
                if any(str(m.path) != g.keeper and not partners(g.keeper, m.path) for m in members):
                    kept.append(g)
        self.marked = {renamed.get(p, p) for p in self.marked if p not in gone}
        self.hashes = {renamed.get(p, p): h for p, h in self.hashes.items()}
        if hasattr(self, "_compare_pair"):   # the pair Compare shows, under its new name
            self._compare_pair = (self._compare_pair[0], renamed.get(self._compare_pair[1], self._compare_pair[1]))
        self.groups = kept
        self.keepers = {}
        if lost or cs.source not in (changes.TRASH, changes.MOVE) and (cs.added or cs.updated or cs.folders or
                                                                       cs.source == changes.UNDO):
            self.mark_stale()  # new or changed photos may form groups we do not show
        self._fill_groups()
        if summary:   # "14 groups" stayed over a list of 13 after the watcher took a photo away
            self.status.setText(self._summary_text())
        self.follow_compare()

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
        self._show_keeper(gi)
        self.members.setCurrentIndex(self.model.index(0, 0))
        self._refresh_buttons()

    def _show_keeper(self, gi: int) -> None:
        """Everything on the page that names or counts by the group's keeper (K changes it)."""
        g, keep = self.groups[gi], self.keeper_of(gi)
        self.group_title.setText(f"Group {gi + 1} of {len(self.groups)} · {g.tier} · {len(g.members)} photos · "
                                 f"keeper: {keep.rsplit('/', 1)[-1]} in {folder_of(keep, 2)}")
        self.group_title.setToolTip(keep)
        why = self.keeper_reason(gi)
        self.keeper_why.setText(f"Kept because: {why}" if why else "")
        self.keeper_why.setToolTip(why)
        item = self.groups_view.topLevelItem(gi)
        if item is not None:
            item.setText(0, self._group_text(gi))
            item.setToolTip(0, self._keeper_tip(gi))
            item.setText(2, format_bytes(self.reclaimable_of(gi)))

    def _apply_states(self) -> None:
        gi = self.current_group_index()
        if gi < 0:
            return
        keep = self.keeper_of(gi)
        keep_hash = self.hashes.get(keep)
        for row, it in enumerate(self.model.items):
            st = "keeper" if it.path == keep else ("marked" if it.path in self.marked else "")
            m = it.record
            reference = bool(getattr(m, "reference", False))
            reason = getattr(m, "reason", "") or ""  # how it matched (core/verify): "same photo: turned 90°"
            if it.path == keep:
                label = "kept · reference" if reference else "kept"
            elif reference:
                label = "reference"  # never marked, whatever the rule
            elif keep_hash and self.hashes.get(it.path) == keep_hash:
                label = "exact copy"  # same bytes: not "similarity 1.000", which an edit can reach too
            elif reason:
                label = reason
            elif it.score >= 0.9995:
                label = "similarity >0.999"  # an edit the model cannot tell apart, yet not the same bytes
            else:
                label = f"similarity {it.score:.3f}"
            pictures = int(getattr(m, "pictures", 1) or 1)
            if pictures > 1:   # first on the tile: the rest of its caption is about its first picture only
                words = pictures_words(pictures)
                label = label.replace(f"; {words}", "").replace(words, "") or "same first picture"
                label = f"{pictures} pictures in one file · {label}"
            match = getattr(m, "match", None) or {}
            why = f"against the keeper: {match.get('why', '')}" if match.get("same_photo") is False else ""
            tip = "\n".join(x for x in (reason, why, "in a reference folder: never marked" if reference else "") if x)
            it.extra["reason"] = tip
            if st != it.state or it.extra.get("label") != label:
                it.extra["label"] = label
                self.model.set_state(row, st)
        self._update_group_marks()
        self._refresh_buttons()

    def _update_group_marks(self) -> None:
        for gi in range(min(self.groups_view.topLevelItemCount(), len(self.groups))):
            n = sum(1 for m in self.groups[gi].members if str(m.path) in self.marked)
            self.groups_view.topLevelItem(gi).setText(3, str(n) if n else "")

    def _refresh_buttons(self) -> None:
        paths = self.marked_paths()
        total = 0
        by_path = {str(m.path): m for g in self.groups for m in g.members}
        for p in paths:
            total += by_path[p].bytes or 0
        self.summary.setText(f"{len(paths)} marked · {format_bytes(total)}" if paths else "Nothing marked.")
        self.clear_btn.setEnabled(bool(paths))
        writable = not getattr(self.lib, "readonly", False)
        self.trash_btn.setEnabled(bool(paths) and writable)
        self.move_btn.setEnabled(bool(paths) and writable)
        self.export_btn.setEnabled(bool(self.groups))
        self.undo_btn.setEnabled(writable and (self.last_review is not None or (
            self.last_action is not None and self.last_action.undoable)))
        has = self.current_member_row() >= 0
        for b in (self.keep_btn, self.mark_btn, self.compare_btn, self.auto_group_btn):
            b.setEnabled(has)
        for b in (self.not_dupes_btn, self.keep_all_btn):
            b.setEnabled(writable and self.current_group_index() >= 0)
        self.auto_all_btn.setEnabled(bool(self.groups))
