"""The file actions of the Duplicates screen: trash / move the marked photos after a confirmation, undo
(the last action or any logged one), the history dialog, and export. A mixin of ``DuplicatesPage``; the
work itself is in ``core.actions`` and runs on a worker."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from ..core import changes
from ..core.group_export import export_groups
from ..core.duplicates import FIND_AGAIN
from ..core.review import ReviewError
from ..core.sidecars import is_sidecar
from . import workers


class FileActionsMixin:
    def _confirm(self, text: str) -> bool:
        return QMessageBox.question(self, "Confirm", text) == QMessageBox.StandardButton.Yes

    def act(self, kind: str) -> None:
        paths = self.marked_paths()
        if not paths or self.busy:
            return
        session = self.review()
        try:  # the last line of defence: no reference photo, no keeper, no whole group
            session.check_safe()
        except ReviewError as e:
            self.message.emit("Duplicates", f"{e}")
            return
        paths = session.marked
        folder = None
        if kind == "move":
            folder = self.choose_folder()
            if not folder:
                return
            text = session.removal().describe(f"Move to {folder}")
        else:
            text = session.removal().describe("Move to the trash")
        if not self.confirm(text + "\n\nYou can undo this from the app."):
            return
        self.busy = True
        self.status.setText("Moving…")
        lib = self.lib

        def work():   # the library's own trash and move, as the CLI's: the same refusals, the same log
            return lib.trash(paths, refused=session.refusals()) if kind == "trash" else lib.move(paths, folder)

        self.controller.run_write(changes.TRASH if kind == "trash" else changes.MOVE, work, self._acted,
                                  self._act_failed)

    def _act_failed(self, e) -> None:
        self.busy = False
        self.status.setText("")
        self.message.emit("Move", str(e) or type(e).__name__)

    def _acted(self, action) -> None:
        """After the pages followed the action's change set (the groups lost what left): report it."""
        self.busy = False
        self.last_action = action
        self.last_review = None   # the latest thing done is this action: Undo undoes it
        for it in action.failed_items:
            self.message.emit(it.src, it.error or "not moved")
        self.status.setText(action.describe())
        # refused because the files are no longer what was grouped: their marks go (an outside try saw a
        # unique photo written over a marked copy shown marked, under its old "same photo" label)
        stale = [it.src for it in action.failed_items if (it.error or "").endswith(FIND_AGAIN)]
        if stale:
            self.marked -= set(stale)
            self._fill_groups()
            self.stale_label.setText(f"{len(stale)} photo{'s' if len(stale) != 1 else ''} changed on disk since "
                                     "the groups were found, not moved — Rescan, then Find again.")
        self._refresh_buttons()
        if self.history_dialog is not None and self.history_dialog.isVisible():
            self.history_dialog.reload()
        self.actionDone.emit(action)

    def undo_last(self) -> None:
        if self.last_review is not None:   # "Keep all" / "Not duplicates" was the last thing done
            self.undo_review()
            return
        action = self.last_action if self.last_action is not None and self.last_action.undoable \
            else self.log.last_undoable()
        if action is not None:
            self.undo_action(action)

    def undo_action(self, action) -> None:
        """Put back the files of one logged action (any earlier one too) and re-index them."""
        if action is None or self.busy or getattr(self.lib, "readonly", False):
            return
        self.busy = True
        lib = self.lib
        # the library's own undo, as the CLI's: the files back, then catalogued again (a move's by path)
        self.controller.run_write(changes.UNDO, lambda: lib.undo(action.id), self._undone, self._act_failed)

    def _undone(self, rep) -> None:
        self.busy = False
        for src, why in rep.failed:
            self.message.emit(src, f"not restored: {why}")
        photos = [p for p in rep.restored if not is_sidecar(p)]
        sides = len(rep.restored) - len(photos)
        self.status.setText(f"Restored {len(photos)} file{'s' if len(photos) != 1 else ''}"
                            + (f" and {sides} sidecar{'s' if sides != 1 else ''}" if sides else "")
                            + (f", {len(rep.failed)} failed" if rep.failed else ""))
        if self.history_dialog is not None and self.history_dialog.isVisible():
            self.history_dialog.reload()
        if self.last_action is not None and self.last_action.id == rep.action_id:
            for it in self.last_action.items:
                if it.src in rep.restored:
                    it.restored = True
        self._refresh_buttons()
        self.undoDone.emit(rep)
        if rep.restored and self.found:
            # marked again, as they were before the action (an outside try found them back unmarked); the new
            # groups keep the marks the review's rules allow
            self.marked |= set(photos)
            self.find()   # the groups the photos came back to (the list stayed empty until a Find by hand)

    def show_history(self) -> None:
        from .history import HistoryDialog

        if self.history_dialog is None:
            self.history_dialog = HistoryDialog(self.log, self)
            self.history_dialog.undoRequested.connect(self.undo_action)
        self.history_dialog.reload()
        self.history_dialog.show()
        self.history_dialog.raise_()

    def export(self) -> None:
        dest = self.choose_export()
        if not dest:
            return
        groups = list(self.groups)
        workers.run_task(lambda: export_groups(groups, dest),
                         lambda p: self.status.setText(f"Exported {len(groups)} groups to {p}"),
                         lambda e: self.message.emit("Export", str(e)))
