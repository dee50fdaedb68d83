"""Marking on the Duplicates screen: keep (K), mark (D), all but keeper, clear, and "Not duplicates" /
"Keep all". A mixin of ``DuplicatesPage``: every rule (reference photos, never a whole group, RAW+JPEG units,
the similar tier's second confirmation) is decided by the core's ``ReviewSession``, built from the page's
groups, keepers and marks; the page only shows the outcome, or the rule's reason in its status line."""

from __future__ import annotations

from pathlib import Path

from ..core import changes
from ..core.duplicates import DuplicateGroup
from ..core.duplicates import left_by_mark_all
from ..core.review import ReviewError, ReviewSession


class MarkingMixin:
    def review(self) -> ReviewSession:
        """The core's review over the groups on screen, with the user's keepers and marks: every marking
        rule (reference photos, whole groups, RAW+JPEG units, the similar tier) is decided there."""
        groups = [DuplicateGroup(g.tier, str(g.keeper), list(g.members), getattr(g, "keeper_reason", ""),
                                 getattr(g, "id", "") or f"#{gi}") for gi, g in enumerate(self.groups)]
        session = ReviewSession(groups, self.tier())
        for gi, path in self.keepers.items():
            if gi < len(groups):
                try:
                    session.set_keeper(groups[gi].id, path)
                except ReviewError:
                    pass
        for p in self.marked_paths():
            if not session.is_marked(p):
                try:
                    session.mark(p)
                except ReviewError:
                    pass
        return session

    def _group_id(self, gi: int) -> str:
        return getattr(self.groups[gi], "id", "") or f"#{gi}"

    def keep_current(self) -> None:
        gi, row = self.current_group_index(), self.current_member_row()
        if gi < 0 or row < 0:
            return
        path = self.model.item(row).path
        session = self.review()
        try:
            session.set_keeper(self._group_id(gi), path)
        except ReviewError as e:
            self.status.setText(str(e))
            return
        self.keepers[gi] = path
        self.marked = set(session.marked)
        self._show_keeper(gi)
        self.status.setText(self._summary_text())   # what can be freed is counted without the new keeper
        self._apply_states()

    def toggle_mark_current(self) -> None:
        gi, row = self.current_group_index(), self.current_member_row()
        if gi < 0 or row < 0:
            return
        path = self.model.item(row).path
        session = self.review()
        if session.is_marked(path):
            self._say_partners("Unmarked", path, session.unmark(path))
        else:
            why = session.why_not(path)
            if why:
                if path == self.keeper_of(gi):
                    why = "That is the photo this group keeps — press K on another one first."
                self.status.setText(why)
                return
            self._say_partners("Marked", path, session.mark(path))
            if row + 1 < self.model.rowCount():
                self.members.setCurrentIndex(self.model.index(row + 1, 0))
        self.marked = set(session.marked)
        self._apply_states()

    def _say_partners(self, verb: str, path: str, changed: list[str]) -> None:
        """Its RAW or JPEG, one shot, marked or unmarked with it (core/review.py's units): said, not silent."""
        with_it = [p for p in changed if p != path]
        if with_it:
            self.status.setText(f"{verb} {Path(path).name} with {', '.join(Path(p).name for p in with_it)}: "
                                "RAW and JPEG of one shot go together.")

    def auto_mark_group(self) -> None:
        gi = self.current_group_index()
        if gi >= 0:
            self._mark_all_but_keeper(gi)

    def auto_mark_all(self) -> None:
        self._mark_all_but_keeper(None)

    def _mark_all_but_keeper(self, gi: int | None) -> None:
        """Mark every photo but the keeper by the core's rules; "similar" groups (same scene, bursts: not
        copies) only after a second confirmation. What the rules left unmarked is said in the status line."""
        session = self.review()
        scope = self.groups if gi is None else [self.groups[gi]]
        similar = [g for g in scope if g.tier == "similar"]
        # nothing there "all but keeper" would take (every member another photo): no question to answer
        confirm = bool(similar) and all(left_by_mark_all(g.tier, m) for g in similar for m in list(g.members)[1:])
        if similar and not confirm:
            n = len(similar)
            text = (f"{n} group{'s are' if n != 1 else ' is'} similar photos: besides copies of one photo, they hold "
                    f"other shots of a scene (a burst) and different photos that look alike.{_what_they_are(similar)}"
                    "\n\nMark the copies and the other shots there too? (Photos that are not the keeper's stay "
                    "unmarked: mark them by hand.)")
            if len(similar) < len(scope):   # groups of copies too: "no" must not mean "those anyway", unasked
                answer = self.ask_similar(text)
                if answer is None:
                    self.status.setText("Nothing marked.")
                    return
                confirm = answer == "all"
            else:
                confirm = bool(self.confirm(text))
        report = session.mark_all_but_keeper(None if gi is None else self._group_id(gi), confirm_similar=confirm)
        self.marked = set(session.marked)
        self._apply_states()
        n = len(report.marked)
        text = f"Marked {n} photo{'s' if n != 1 else ''}"
        if report.skipped:
            text += f"; left {len(report.skipped)} unmarked: {report.skipped[0][1]}"
        self.status.setText(text)

    def review_group(self, verdict: str) -> None:
        """"Not duplicates" / "Keep all" on the selected group: the catalog remembers it (one write through the
        controller), and the group leaves the list; later searches leave it out until a member changes."""
        gi = self.current_group_index()
        if gi < 0 or getattr(self.lib, "readonly", False):
            return
        g = self.groups[gi]
        if not getattr(g, "id", ""):
            self.status.setText("This group has no id; find the groups again first.")
            return
        group = DuplicateGroup(g.tier, self.keeper_of(gi), list(g.members), getattr(g, "keeper_reason", ""), g.id)
        lib = self.lib
        self.controller.run_write(changes.LIBRARY, lambda: (lib.set_reviewed(group, verdict), verdict),
                                  self._group_reviewed, lambda e: self.message.emit("Review", str(e)))

    def _group_reviewed(self, result) -> None:
        gid, verdict = result
        keep = {id(g): self.keepers[gi] for gi, g in enumerate(self.groups) if gi in self.keepers}
        gone = [g for g in self.groups if getattr(g, "id", "") == gid]
        # its marks go with it (every photo is kept) and come back with an undo
        dropped = {str(m.path) for g in gone for m in g.members} & self.marked
        if gone:
            at = self.groups.index(gone[0])
            self.last_review = (gid, gone[0], at, self.keepers.get(at), dropped)
        self.groups = [g for g in self.groups if getattr(g, "id", "") != gid]
        self.keepers = {gi: keep[id(g)] for gi, g in enumerate(self.groups) if id(g) in keep}
        self.marked -= dropped
        self._fill_groups()
        word = "not duplicates" if verdict == "not_duplicates" else "kept all"
        unmarked = f", its {len(dropped)} mark{'s' if len(dropped) != 1 else ''} taken off" if dropped else ""
        self.status.setText(f"Group {word}{unmarked}: it stays out of the list until one of its photos changes "
                            "(Undo brings it back).")
        self._refresh_buttons()
        self.groupReviewed.emit(gid, verdict)

    def undo_review(self) -> None:
        """Bring back the group "Keep all" / "Not duplicates" just hid: the catalog forgets the verdict (one
        write through the controller) and the group returns to its place in the list."""
        if self.last_review is None or getattr(self.lib, "readonly", False):
            return
        gid, group, at, keeper, dropped = self.last_review
        lib = self.lib

        def back(_done) -> None:
            self.last_review = None
            at_ = min(at, len(self.groups))
            keep = {id(g): self.keepers[gi] for gi, g in enumerate(self.groups) if gi in self.keepers}
            self.groups.insert(at_, group)
            self.keepers = {gi: keep[id(g)] for gi, g in enumerate(self.groups) if id(g) in keep}
            if keeper is not None:
                self.keepers[at_] = keeper
            self.marked |= dropped
            self._fill_groups()
            self.select_group(at_)
            marks = f" with its {len(dropped)} mark{'s' if len(dropped) != 1 else ''}" if dropped else ""
            self.status.setText(f"The group is back in the list{marks}.")

        self.controller.run_write(changes.LIBRARY, lambda: lib.unset_reviewed(gid), back,
                                  lambda e: self.message.emit("Review", str(e)))

    def _ask_similar(self, text: str) -> str | None:
        """"all" (the similar groups too), "copies" (only the groups of copies) or None (cancel)."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Question, "Mark all but keeper", text, parent=self)
        every = box.addButton("Mark them too", QMessageBox.ButtonRole.YesRole)
        copies = box.addButton("Only groups of copies", QMessageBox.ButtonRole.NoRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return "all" if box.clickedButton() is every else "copies" if box.clickedButton() is copies else None

    def clear_marks(self) -> None:
        """The selected group's marks off (the button sits with the group's own; an outside try lost every
        group's marks to it)."""
        gi = self.current_group_index()
        if gi < 0:
            return
        session = self.review()   # through the core, so a RAW and its JPEG in another group come off together
        before = set(self.marked)
        mine = {str(m.path) for m in self.groups[gi].members} & before
        for p in mine:
            session.unmark(p)
        self.marked = set(session.marked)
        elsewhere = sorted(Path(p).name for p in before - mine - self.marked)
        self._apply_states()
        text = f"Took {len(mine)} mark{'s' if len(mine) != 1 else ''} off this group" if mine \
            else "Nothing is marked in this group"
        self.status.setText(text + (f", and {', '.join(elsewhere)} (RAW and JPEG of one shot)." if elsewhere else "."))

    def clear_all_marks(self) -> None:
        n = len(self.marked)
        if n and self.confirm(f"Take all {n} mark{'s' if n != 1 else ''} off, in every group?"):
            self.marked.clear()
            self._apply_states()
            self.status.setText("Nothing marked.")

    def marked_paths(self) -> list[str]:
        seen, out = set(), []
        for g in self.groups:
            for m in g.members:
                p = str(m.path)
                if p in self.marked and p not in seen:
                    seen.add(p)
                    out.append(p)
        return out


def _what_they_are(groups) -> str:
    """What the similar groups' members are to their keepers, as the verifier said (``match["kind"]``, from
    core/match_reason.similar_match)."""
    counts: dict[str, int] = {}
    for g in groups:
        for m in list(g.members)[1:]:
            kind = (getattr(m, "match", None) or {}).get("kind", "not compared")
            counts[kind] = counts.get(kind, 0) + 1
    if not counts:
        return ""
    parts = [f"{counts.pop('same photo', 0)} the same photo", f"{counts.pop('another shot', 0)} another shot"]
    if counts.get("copy of another member"):
        parts.append(f"{counts.pop('copy of another member')} a copy of another shot")
    parts.append(f"{sum(counts.values())} not the same photo or not compared (left unmarked)")
    return "\nBesides the keepers: " + ", ".join(parts) + "."
