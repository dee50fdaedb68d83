"""The Library's part of a review: reference folders, the keeper rule's order, groups the user reviewed,
and trash / move / undo through the one undo log shared by the app and the CLI. A mixin of ``Library``
(it uses the library's catalog, locks and change notification)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .catalog import CHANGED
from .duplicates import FIND_AGAIN, DuplicateGroup
from .errors import LibraryError
from .keeper import check_rules, under
from .scanner import ChangeEvent
from .sidecars import is_sidecar

if TYPE_CHECKING:
    from . import actions


def _actions():
    """The trash/move/undo module, imported when first used (commands that only read never need it)."""
    from . import actions

    return actions

REVIEW_VERDICTS = ("not_duplicates", "keep_all")


class ReviewMixin:
    # ---- reference folders --------------------------------------------------------------------------
    def set_reference(self, path: str | Path, on: bool = True) -> Path:
        """Mark (or unmark) a library folder as a reference folder."""
        self._writable()
        p = str(Path(path).expanduser().resolve())
        with self._lock:
            if p not in self.catalog.folders():
                raise LibraryError(f"not a library folder: {p} (add it first: imgsim folders add)")
            self.catalog.set_reference(p, on)
        self._notify(ChangeEvent("folders", paths=[p]))
        return Path(p)

    def reference_folders(self) -> list[Path]:
        with self._lock:
            return [Path(p) for p in self.catalog.reference_folders()]

    def is_reference(self, path: str | Path) -> bool:
        return under(os.path.abspath(str(path)), [str(r) for r in self.reference_folders()])

    # ---- keeper rule and reviewed groups ------------------------------------------------------------
    def keeper_rules(self) -> tuple[str, ...]:
        """The order of the keeper rule (core/keeper.RULES unless the user changed it)."""
        with self._lock:
            stored = self.catalog.get_meta("keeper_rules")
        try:
            return check_rules(stored.split(",") if stored else None)
        except ValueError:  # written by a newer version that knows more rules
            return check_rules(None)

    def set_keeper_rules(self, rules: Iterable[str] | None) -> tuple[str, ...]:
        """Store a rule order (None: back to the default); unknown names raise LibraryError."""
        self._writable()
        try:
            order = check_rules(list(rules) if rules else None)
        except ValueError as exc:
            raise LibraryError(str(exc)) from None
        with self._lock:
            self.catalog.set_meta("keeper_rules", ",".join(order))
        return order

    def set_reviewed(self, group: DuplicateGroup, verdict: str = "not_duplicates") -> str:
        """Remember a group as reviewed ("not_duplicates" or "keep_all"): ``duplicates()`` leaves it out until
        one of its members changes (its id is made of the members' contents). Returns the group id."""
        self._writable()
        if verdict not in REVIEW_VERDICTS:
            raise LibraryError(f"unknown verdict {verdict!r}; choose one of {', '.join(REVIEW_VERDICTS)}")
        if not group.id:
            raise LibraryError("this group has no id")
        with self._lock:
            self.catalog.set_reviewed(group.id, verdict, json.dumps([m.path for m in group.members]))
        self._notify(ChangeEvent("reviewed", [m.file_id for m in group.members], [group.id]))
        return group.id

    def unset_reviewed(self, group_id: str) -> bool:
        self._writable()
        with self._lock:
            done = self.catalog.unset_reviewed(group_id)
        if done:
            self._notify(ChangeEvent("reviewed", [], [group_id]))
        return done

    def reviewed_groups(self) -> dict[str, str]:
        """group id -> verdict."""
        with self._lock:
            return self.catalog.reviewed_groups()

    # ---- file actions (one undo log, shared with the app) -------------------------------------------
    @property
    def action_log(self) -> actions.ActionLog:
        return _actions().ActionLog(self.home)

    def changed_since_indexed(self, paths: Iterable[str | Path]) -> dict[str, str]:
        """The catalogued photos among ``paths`` whose file is no longer the one indexed (normalised path ->
        why): what was grouped and reviewed was other pixels, so they are not trashed."""
        out = {}
        with self._lock:
            for p in paths:
                src = os.path.normpath(os.path.abspath(p))
                rec = self.catalog.file_by_path(src)
                if rec is not None and rec.hash and rec.not_as_indexed() == CHANGED:
                    out[src] = "changed since it was indexed: not trashed; " + FIND_AGAIN
        return out

    def trash(self, paths: Iterable[str | Path], refused: dict[str, str] | None = None) -> actions.Action:
        """Send files to the system trash (undoable) and forget them; reference photos are refused, and so
        are photos changed since they were indexed and those ``refused`` names (path -> why)."""
        self._writable()
        paths = list(paths)
        action = _actions().trash_files(paths, self.action_log, protected=self.reference_folders(),
                                        refused={**self.changed_since_indexed(paths), **(refused or {})},
                                        sidecars=True)
        done = [it.src for it in action.done_items if not is_sidecar(it.src)]   # sidecars are not catalogued
        if done:
            self.remove_paths(done)
        return action

    def move(self, paths: Iterable[str | Path], folder: str | Path) -> actions.Action:
        """Move files into ``folder`` (undoable); reference photos are refused."""
        self._writable()
        action = _actions().move_files(list(paths), folder, self.action_log, protected=self.reference_folders(),
                                       sidecars=True)
        for it in action.done_items:
            if not is_sidecar(it.src):   # not catalogued
                self.move_path(it.src, it.dst)
        return action

    def history(self) -> list[actions.Action]:
        """Every logged trash/move action, oldest first."""
        return self.action_log.actions()

    def undo(self, action_id: str | None = None) -> actions.UndoReport:
        """Put back the files of an action (default: the last one that can be undone) and re-catalogue them."""
        self._writable()
        log_ = self.action_log
        action = log_.get(action_id) if action_id else log_.last_undoable()
        if action is None:
            raise LibraryError(f"no action {action_id} in the history" if action_id else "nothing to undo")
        if not action.pending_undo:
            raise LibraryError(f"action {action.id} is already undone")
        report = _actions().UndoReport(action.id)
        try:
            _actions().undo(action, log_, report)
        finally:   # stopped half way (Ctrl-C), the files already back are catalogued too
            if action.kind == _actions().MOVE:
                back = set(report.restored)
                for it in action.items:
                    if it.src in back and not is_sidecar(it.src):
                        self.move_path(it.dst, it.src)
            elif report.restored:
                self.update_paths([p for p in report.restored if not is_sidecar(p)])
        return report

