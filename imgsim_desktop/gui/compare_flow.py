"""Compare from the Duplicates screen: the pair (keeper, current photo) in ``CompareDialog``, and the
decisions taken there: K keeps the right-hand photo, D marks it and moves on, N / P step through every pair
of every group, Esc goes back to the group. A mixin of ``DuplicatesPage``, like ``file_actions``."""

from __future__ import annotations

from .compare import CompareDialog


class CompareFlowMixin:
    def compare_current(self) -> None:
        """Compare the current photo with its group's keeper (the keeper itself: with the next member)."""
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
            self.compare_dialog = dlg = CompareDialog(self)
            dlg.keepRequested.connect(self._compare_keep)
            dlg.markRequested.connect(self._compare_mark)
            dlg.stepRequested.connect(self.compare_step)
            dlg.finished.connect(self._compare_closed)  # Esc: back to the group, same photo
        if not self.compare_dialog.isVisible():   # opened anew: whole photos (100 % of a 16 MP photo was sky)
            self.compare_dialog.compare.fit_btn.setChecked(True)
        self._compare_pair = (gi, str(other.path))
        marked = str(other.path) in self.marked
        name = str(other.path).rsplit("/", 1)[-1]
        try:   # two rows, for the camera each was taken with (the keeper's reason names it)
            recs = {r.id: r for r in self.lib.files_by_ids([base.file_id, other.file_id])}
        except Exception:
            recs = {}
        self.compare_dialog.compare.set_members(base, other, ("Keeper: " + str(base.path).rsplit("/", 1)[-1],
                                                              name + ("  — MARKED" if marked else "")),
                                                placed=_placed(base, other, str(g.keeper)),
                                                records=(recs.get(base.file_id), recs.get(other.file_id)))
        others = [str(m.path) for m in g.members if str(m.path) != keep]
        pos = others.index(str(other.path)) + 1 if str(other.path) in others else 0
        self.compare_dialog.set_position(f"Group {gi + 1} of {len(self.groups)} · pair {pos} of {len(others)}",
                                         "marked" if marked else "")
        self.compare_dialog.show()
        self.compare_dialog.raise_()
        self.compare_dialog.activateWindow()  # its keys (K, D, N, P, Esc) work at once

    def _compare_closed(self, _result=None) -> None:
        """The page's keys (K, D, Space) work again at once: its window is active again (without a window
        manager to hand it back, none was, and only a click brought the keys back) and the photos have focus."""
        self.window().activateWindow()
        self.members.setFocus()

    def follow_compare(self) -> None:
        """After the groups changed under an open Compare (a photo deleted or moved on disk): show the same pair
        where it now stands, or close it with a word when its photo left. Its group's place in the list could
        have changed, and K or D then acted on another group's photo."""
        dlg = self.compare_dialog
        if dlg is None or not dlg.isVisible():
            return
        _, path = getattr(self, "_compare_pair", (-1, ""))
        gi = next((g for g in range(len(self.groups)) if path in {str(m.path) for m in self.groups[g].members}),
                  -1)
        if gi < 0 or len(self.groups[gi].members) < 2:
            dlg.close()
            self.status.setText(f"Compare closed: {path.rsplit('/', 1)[-1]} left the library (changed on disk).")
            return
        if gi != self.current_group_index():
            self.select_group(gi)
        self._select_member(path)
        self.compare_current()

    def _select_member(self, path: str) -> None:
        for r, it in enumerate(self.model.items):
            if it.path == path:
                self.members.setCurrentIndex(self.model.index(r, 0))
                return

    def _compare_keep(self) -> None:
        """K in Compare: the right-hand photo becomes the keeper; the pair shows it against the old one."""
        gi, path = getattr(self, "_compare_pair", (-1, ""))
        if gi != self.current_group_index():
            return
        old = self.keeper_of(gi)
        self._select_member(path)
        self.keep_current()
        self._select_member(old)
        self.compare_current()

    def _compare_mark(self) -> None:
        """D in Compare: mark (or unmark) the right-hand photo; a new mark moves on to the next pair."""
        gi, path = getattr(self, "_compare_pair", (-1, ""))
        if gi != self.current_group_index():
            return
        was = path in self.marked
        self._select_member(path)
        self.toggle_mark_current()
        if not was and path in self.marked:
            self.compare_step(1, stay_at_end=True)
        else:
            self.compare_current()

    def compare_step(self, d: int, stay_at_end: bool = False) -> None:
        """The next (+1) or previous (-1) pair: the next member that is not the keeper, then the next group."""
        gi, path = getattr(self, "_compare_pair", (self.current_group_index(), ""))
        pairs = [(g, str(m.path)) for g in range(len(self.groups)) for m in self.groups[g].members
                 if str(m.path) != self.keeper_of(g)]
        if not pairs:
            return
        try:
            i = pairs.index((gi, path)) + d
        except ValueError:
            i = 0
        if not 0 <= i < len(pairs):
            if not stay_at_end:
                if self.compare_dialog is not None:   # N at the last pair did nothing, without a word
                    self.compare_dialog.where.setText(self.compare_dialog.where.text().split(" · ◀▶")[0]
                                                      + (" · ◀▶ that was the last pair" if d > 0 else
                                                         " · ◀▶ that was the first pair"))
                return
            i = max(0, min(len(pairs) - 1, i))
        g, p = pairs[i]
        if g != self.current_group_index():
            self.select_group(g)
        self._select_member(p)
        self.compare_current()


def _placed(base, other, keeper: str = ""):
    """``other``'s picture in ``base``'s (each in its own 0..1), from where the verifier placed each member
    in the group's reference (``match["in_reference"]``); None when either was not placed (another shot, a
    similar member not compared), and the view follows by relative position."""
    import numpy as np

    def in_reference(m):   # the photo the others were matched against (the keeper, as a rule)
        match = getattr(m, "match", None) or {}
        if match.get("reference") or match.get("exact") or (not match and str(m.path) == keeper):
            return np.eye(3)   # the reference itself, its byte copy, or a similar group's keeper
        placed = match.get("in_reference")
        if placed is None or match.get("same_photo") is False:
            return None
        return np.vstack([np.asarray(placed, dtype=np.float64), [0.0, 0.0, 1.0]])

    a, b = in_reference(base), in_reference(other)
    if a is None or b is None:
        return None
    try:
        return (np.linalg.inv(a) @ b)[:2].tolist()
    except np.linalg.LinAlgError:
        return None
