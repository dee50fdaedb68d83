"""A review of duplicate groups, with no toolkit: keepers, marks, the marking rules, what an action would
remove, and export. The Duplicates page and ``imgsim trash`` are views over one ``ReviewSession``.

The rules live here so that no view can get them wrong:

* a photo in a reference folder is never marked (and is always its group's keeper);
* the keeper is never marked, and no mark may leave a group with nothing kept;
* "all but keeper" marks nothing in a "similar" group (bursts, same scene) without ``confirm_similar``;
* a RAW file and the camera JPEG/HEIC of the same shot (same folder, same stem) are one unit: marked
  together or not at all, so "all but keeper" keeps the keeper's partner.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .actions import Action, format_bytes
from .duplicates import ANOTHER_PHOTO, FIND_AGAIN, SEVERAL_PICTURES, DuplicateGroup, GroupMember, left_by_mark_all
from .errors import ImgsimError
from .sidecars import going_with
from .units import is_raw, unit_key


UNKEPT = ("its group keeps no copy on disk as indexed (the keeper is gone or changed): not trashed; "
          + FIND_AGAIN)
CHANGED_SINCE_FOUND = "changed since its group was found: not trashed; " + FIND_AGAIN
GONE_SINCE_FOUND = "not found: moved or deleted since its group was found (its folder renamed or not mounted?)"
NOT_ITS_PHOTO = "not the same photo as the keeper: mark it by hand (D) if you mean it"
MORE_PICTURES = "holds {n} pictures (pages or frames), only its first compared: mark it by hand (D) if you mean it"


def _as_indexed(m) -> bool:
    """The member's file is on disk with the size and time it had when its group was found."""
    from .catalog import not_as_indexed

    return not_as_indexed(m.path, getattr(m, "bytes", None) or 0, getattr(m, "mtime_ns", None)) is None


class ReviewError(ImgsimError):
    """A mark or an action the review's rules refuse; the message says why."""


@dataclass
class MarkReport:
    marked: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (group id or path, why)


@dataclass
class Removal:
    """What an action on the marked photos would remove: for the confirmation and the dry run."""

    paths: list[str]
    bytes: int
    groups: int
    folders: list[tuple[str, int, int]]  # (folder, files, bytes), most bytes first
    notes: list[str] = field(default_factory=list)   # what the user should know first ("keeps a smaller copy")
    sidecars: list[str] = field(default_factory=list)   # what goes along (core/sidecars.py)

    @property
    def files(self) -> int:
        return len(self.paths)

    def describe(self, verb: str = "Move to the trash") -> str:
        if not self.paths:
            return "Nothing is marked."
        n = self.files
        head = (f"{verb}: {n} file{'s' if n != 1 else ''} ({format_bytes(self.bytes)}) from "
                f"{self.groups} group{'s' if self.groups != 1 else ''}, in "
                f"{len(self.folders)} folder{'s' if len(self.folders) != 1 else ''}:")
        lines = [f"  {f}: {c} file{'s' if c != 1 else ''} ({format_bytes(b)})" for f, c, b in self.folders]
        return "\n".join([head, *lines, *(["", *self.notes] if self.notes else [])])

    def to_dict(self) -> dict:
        return {"files": self.files, "bytes": self.bytes, "groups": self.groups, "paths": self.paths,
                "sidecars": self.sidecars,
                "folders": [{"folder": f, "files": c, "bytes": b} for f, c, b in self.folders]}


def _sidecars_note(sides: Sequence[str]) -> list[str]:
    """The edits and metadata files (XMP, AAE) that a trash takes along with their photos."""
    if not sides:
        return []
    names = ", ".join(os.path.basename(p) for p in sides[:3]) + (f" and {len(sides) - 3} more" if len(sides) > 3
                                                                 else "")
    one = len(sides) == 1
    return [f"Their sidecar file{'' if one else 's'} ({names}) go{'es' if one else ''} with them (an undo brings "
            f"{'it' if one else 'them'} back)."]


class ReviewSession:
    """Groups (each with a stable ``id``), the keeper of each, and the set of marked paths."""

    def __init__(self, groups: Iterable[DuplicateGroup], tier: str = "duplicates"):
        self.tier = tier
        self.groups: list[DuplicateGroup] = [g for g in groups if len(g.members) >= 2]
        self._marked: dict[str, None] = {}  # insertion-ordered set
        self._chosen: set[str] = set()      # group ids whose keeper the user chose
        self._suggested: dict[str, str] = {}   # their keeper as found (the rule's), by group id
        self._reindex()

    @classmethod
    def from_library(cls, lib, tier: str = "duplicates", threshold: float | None = None) -> "ReviewSession":
        return cls(lib.duplicates(tier, threshold), tier)

    def update(self, groups: Iterable[DuplicateGroup]) -> None:
        """New groups after the library changed (a scan, the watcher, an undo): the user's keeper choices
        stay where their group (same id) still exists, and marks stay where the rules still allow them."""
        chosen = {gid: self.keeper(gid) for gid in self._chosen if gid in self._by_id}
        marks = list(self._marked)
        self.groups = [g for g in groups if len(g.members) >= 2]
        self._marked, self._chosen, self._suggested = {}, set(), {}
        self._reindex()
        for gid, path in chosen.items():
            if gid in self._by_id and path in self._group_of:
                try:
                    self.set_keeper(gid, path)
                except ReviewError:
                    pass
        for p in marks:
            if p in self._group_of and p not in self._marked and self.why_not(p) is None:
                self.mark(p)

    def _reindex(self) -> None:
        self._by_id = {g.id or str(i): g for i, g in enumerate(self.groups)}
        for i, g in enumerate(self.groups):
            if not g.id:
                g.id = str(i)
        self._group_of: dict[str, DuplicateGroup] = {}
        self._member: dict[str, GroupMember] = {}
        for g in self.groups:
            for m in g.members:
                self._group_of[str(m.path)] = g
                self._member[str(m.path)] = m
        by_key: dict[tuple[str, str], list[str]] = {}
        for p in self._group_of:
            by_key.setdefault(unit_key(p), []).append(p)
        # RAW + JPEG of one shot: a unit only when a RAW file is part of it.
        self._unit = {p: sorted(ps) for ps in by_key.values()
                      if any(is_raw(x) for x in ps) and not all(is_raw(x) for x in ps) for p in ps}
        self._marked = {p: None for p in self._marked if p in self._group_of}

    # ---- groups and keepers ---------------------------------------------------------------------------
    def group(self, gid: str) -> DuplicateGroup:
        try:
            return self._by_id[gid]
        except KeyError:
            raise ReviewError(f"no group {gid!r} in this review") from None

    def group_of(self, path: str | Path) -> DuplicateGroup | None:
        return self._group_of.get(str(path))

    def keeper(self, gid: str) -> str:
        return str(self.group(gid).keeper)

    def keeper_reason(self, gid: str) -> str:
        g = self.group(gid)
        return "chosen by you" if gid in self._chosen else g.keeper_reason

    def is_reference(self, path: str | Path) -> bool:
        m = self._member.get(str(path))
        return bool(m is not None and getattr(m, "reference", False))

    def set_keeper(self, gid: str, path: str | Path) -> None:
        """Keep ``path`` instead; in a group with reference photos only one of them can be the keeper."""
        g, path = self.group(gid), str(path)
        if path not in [str(m.path) for m in g.members]:
            raise ReviewError(f"{path} is not in group {gid}")
        if any(getattr(m, "reference", False) for m in g.members) and not self.is_reference(path):
            raise ReviewError("this group has a photo in a reference folder: that one is the keeper")
        self._suggested.setdefault(gid, str(g.keeper))
        g.keeper = path
        g.members.sort(key=lambda m: str(m.path) != path)
        self._chosen.add(gid)
        for p in self.unit(path):
            self._marked.pop(p, None)

    def unit(self, path: str | Path) -> list[str]:
        """The photos marked together with ``path``: itself, or a RAW file and its JPEG of the same shot."""
        return self._unit.get(str(path), [str(path)])

    # ---- marks ----------------------------------------------------------------------------------------
    @property
    def marked(self) -> list[str]:
        return list(self._marked)

    def is_marked(self, path: str | Path) -> bool:
        return str(path) in self._marked

    def why_not(self, path: str | Path) -> str | None:
        """Why ``path`` (with its unit) cannot be marked, or None when it can."""
        unit = self.unit(path)
        for p in unit:
            g = self._group_of.get(p)
            if g is None:
                return f"{p} is not in this review"
            if self.is_reference(p):
                return f"{p} is in a reference folder: never marked"
            if p == str(g.keeper):
                return (f"{p} is the keeper of its group" if p == str(path) else
                        f"{path} goes with the keeper {os.path.basename(p)} (RAW and JPEG of one shot)")
        after = set(self._marked) | set(unit)
        for g in {id(self._group_of[p]): self._group_of[p] for p in unit}.values():
            if all(str(m.path) in after for m in g.members):
                return "that would mark every photo of the group"
        return None

    def mark(self, path: str | Path) -> list[str]:
        """Mark ``path`` and its unit; raises ReviewError with the reason when a rule forbids it."""
        reason = self.why_not(path)
        if reason:
            raise ReviewError(reason)
        new = [p for p in self.unit(path) if p not in self._marked]
        for p in new:
            self._marked[p] = None
        return new

    def unmark(self, path: str | Path) -> list[str]:
        gone = [p for p in self.unit(path) if p in self._marked]
        for p in gone:
            del self._marked[p]
        return gone

    def toggle(self, path: str | Path) -> bool:
        """Returns whether ``path`` is marked afterwards."""
        if self.is_marked(path):
            self.unmark(path)
            return False
        self.mark(path)
        return True

    def clear(self, gid: str | None = None) -> None:
        if gid is None:
            self._marked.clear()
            return
        for m in self.group(gid).members:
            self._marked.pop(str(m.path), None)

    def mark_all_but_keeper(self, gid: str | None = None, confirm_similar: bool = False) -> MarkReport:
        """Mark every photo but the keeper (and its RAW/JPEG partner, and reference photos), in one group or
        all. A "similar" group (same scene, not the same photo) needs ``confirm_similar``."""
        report = MarkReport()
        for g in ([self.group(gid)] if gid is not None else self.groups):
            if g.tier == "similar" and not confirm_similar:
                report.skipped.append((g.id, "similar photos, not copies: confirm to mark them"))
                continue
            for m in g.members:
                p = str(m.path)
                if p == str(g.keeper) or p in self._marked:
                    continue
                reason = self.why_not(p)
                if not reason and left_by_mark_all(g.tier, m) == ANOTHER_PHOTO:
                    reason = NOT_ITS_PHOTO   # one click had sent a different night photo to the trash
                if not reason:   # its other pages are in no other file (nor its RAW partner's, marked with it)
                    many = [self._member[x] for x in self.unit(p) if self._more_than_its_first(x)]
                    if many:
                        reason = MORE_PICTURES.format(n=many[0].pictures)
                if reason:
                    report.skipped.append((p, reason))
                else:
                    report.marked += self.mark(p)
        return report

    # ---- what an action removes -----------------------------------------------------------------------
    def removal(self, paths: Sequence[str] | None = None, sidecars: bool = True) -> Removal:
        """``sidecars``: name the sidecars the action takes along (a trash or a move does)."""
        paths = list(self._marked) if paths is None else [str(p) for p in paths]
        folders: dict[str, list[int]] = {}
        total = 0
        for p in paths:
            m = self._member.get(p)
            size = int(getattr(m, "bytes", 0) or 0)
            total += size
            f = folders.setdefault(os.path.dirname(p), [0, 0])
            f[0] += 1
            f[1] += size
        groups = len({id(self._group_of[p]) for p in paths if p in self._group_of})
        rows = sorted(((f, c, b) for f, (c, b) in folders.items()), key=lambda r: (-r[2], r[0]))
        refused = self.refusals()
        sides = going_with([p for p in paths if os.path.normpath(os.path.abspath(p)) not in refused]) \
            if sidecars else []
        return Removal(paths, total, groups, rows,
                       self._smaller_keepers(paths) + self._other_photos(paths) + self._more_pictures(paths)
                       + _sidecars_note(sides), sides)

    def _more_than_its_first(self, path: str) -> bool:
        """A member of several pages or frames whose others may exist nowhere else: not a byte-identical copy
        of another member (an exact copy holds the same pages)."""
        m, g = self._member.get(path), self._group_of.get(path)
        return m is not None and g is not None and left_by_mark_all(g.tier, m) == SEVERAL_PICTURES

    def _more_pictures(self, paths: Sequence[str]) -> list[str]:
        """Marked files of several pages or frames (marked by hand): only their first was compared."""
        many = [(p, self._member[p].pictures) for p in paths if self._more_than_its_first(p)]
        if not many:
            return []
        names = ", ".join(f"{os.path.basename(p)} ({n})" for p, n in many[:3])
        if len(many) > 3:
            names += f" and {len(many) - 3} more"
        return [f"Note: {names} hold{'s' if len(many) == 1 else ''} several pictures (pages or frames); only the "
                "first was compared with the keeper: the others go with it."]

    def _other_photos(self, paths: Sequence[str]) -> list[str]:
        """Marked members of similar groups that are not the keeper's photo (marked by hand): said before they
        go, as the trash's list names only folders."""
        other = [p for p in paths if p in self._group_of
                 and left_by_mark_all(self._group_of[p].tier, self._member[p]) == ANOTHER_PHOTO]
        if not other:
            return []
        names = ", ".join(os.path.basename(p) for p in other[:3])
        if len(other) > 3:
            names += f" and {len(other) - 3} more"
        one = len(other) == 1
        return [f"Note: {names} {'is' if one else 'are'} not the same photo as {'its' if one else 'their'} group's "
                f"keeper (a similar photo, not a copy): {'it goes' if one else 'they go'} with no copy kept."]

    def _smaller_keepers(self, paths: Sequence[str], shown: int = 3) -> list[str]:
        """Groups whose keeper the user chose (K) and that keep a copy of fewer pixels than one going away
        (a screenshot counted by the photo it shows): said before anything moves, as the chosen tile no
        longer says "smaller". The keeper rule's own choice (a camera original over an enlarged export) is
        explained beside each group already."""
        def pixels(m) -> float:
            inset = float((getattr(m, "match", None) or {}).get("inset_fraction", 1.0) or 1.0)
            return int(getattr(m, "width", 0) or 0) * int(getattr(m, "height", 0) or 0) * inset

        out, gone = [], set(paths)
        for g in {id(self._group_of[p]): self._group_of[p] for p in paths if p in self._group_of}.values():
            if g.id not in self._chosen:
                continue
            keep = self._member.get(str(g.keeper))
            going = [self._member[str(m.path)] for m in g.members if str(m.path) in gone]
            bigger = max(going, key=pixels, default=None)
            first = self._member.get(self._suggested.get(g.id, ""))
            if keep is not None and first is not None and str(first.path) in gone:
                # K on a crop in Compare took the keeper from the camera original, which then went with the rest
                why = f" ({g.keeper_reason})" if getattr(g, "keeper_reason", "") else ""
                out.append(f"Note: {os.path.basename(str(first.path))} ({first.width}×{first.height}), the photo "
                           f"this group would keep{why}, goes away; you chose to keep "
                           f"{os.path.basename(str(keep.path))} ({keep.width}×{keep.height}).")
            elif keep is not None and bigger is not None and pixels(bigger) > pixels(keep) > 0:
                out.append(f"Note: {os.path.basename(str(keep.path))} ({keep.width}×{keep.height}) is kept, smaller "
                           f"than {os.path.basename(str(bigger.path))} ({bigger.width}×{bigger.height}) going away.")
        return out[:shown] + ([f"... and {len(out) - shown} more such groups."] if len(out) > shown else [])

    def confirmation(self, verb: str = "Move to the trash") -> str:
        return self.removal().describe(verb) + "\n\nYou can undo this (imgsim undo, or History in the app)."

    def check_safe(self) -> None:
        """The last line of defence before an action: nothing marked breaks a rule."""
        for p in self._marked:
            if self.is_reference(p):
                raise ReviewError(f"{p} is in a reference folder: never trashed or moved")
        for g in self.groups:
            if all(str(m.path) in self._marked for m in g.members):
                raise ReviewError(f"every photo of group {g.id} is marked; nothing was done")
            if str(g.keeper) in self._marked:
                raise ReviewError(f"the keeper of group {g.id} is marked; nothing was done")

    def unkept(self) -> dict[str, str]:
        """Marked photos whose group keeps no copy on disk as it was indexed (the keeper deleted, or replaced
        by another picture, since the groups were found): trashing them could leave no copy of the photo."""
        out: dict[str, str] = {}
        for g in self.groups:
            marked = [str(m.path) for m in g.members if str(m.path) in self._marked]
            if marked and not any(_as_indexed(m) for m in g.members if str(m.path) not in self._marked):
                for p in marked:
                    out[os.path.normpath(os.path.abspath(p))] = UNKEPT
        return out

    def changed_since_found(self) -> dict[str, str]:
        """Marked photos whose file is not the one the groups were found with (overwritten by another picture,
        which a watcher may have indexed since: the catalog then agrees with the disk, the review does not)."""
        out: dict[str, str] = {}
        for g in self.groups:
            for m in g.members:
                if str(m.path) in self._marked and not _as_indexed(m):
                    # a file gone is not "changed" (a folder renamed in the shell while the app was open)
                    out[os.path.normpath(os.path.abspath(str(m.path)))] = (
                        CHANGED_SINCE_FOUND if os.path.lexists(str(m.path)) else GONE_SINCE_FOUND)
        return out

    def refusals(self) -> dict[str, str]:
        """What a trash of the marked photos must refuse (path -> why): each changed since its group was found,
        and each whose group keeps no copy on disk as it was (``unkept``)."""
        return {**self.changed_since_found(), **self.unkept()}

    def trash(self, lib) -> Action:
        """Send the marked photos to the system trash through the library (undoable); they leave the review.
        A photo changed since its group was found, or whose group's kept photos are gone or changed on disk,
        stays (``refusals``)."""
        self.check_safe()
        action = lib.trash(self.marked, refused=self.refusals())
        self.forget([it.src for it in action.done_items])
        return action

    def move(self, lib, folder: str | Path) -> Action:
        self.check_safe()
        action = lib.move(self.marked, folder)
        self.forget([it.src for it in action.done_items])
        return action

    def forget(self, paths: Iterable[str]) -> None:
        """Photos that left the library (trashed, moved away): out of their groups; a group of one goes."""
        gone = {str(p) for p in paths}
        if not gone:
            return
        for g in self.groups:
            g.members = [m for m in g.members if str(m.path) not in gone]
            if g.members and str(g.keeper) in gone:
                g.keeper = str(g.members[0].path)
        self.groups = [g for g in self.groups if len(g.members) >= 2]
        for p in gone:
            self._marked.pop(p, None)
        self._reindex()

    def dismiss(self, gid: str, lib=None, verdict: str = "not_duplicates") -> None:
        """"Not duplicates" / "keep all": the group leaves the review, and with ``lib`` it stays out of
        later reviews until one of its photos changes."""
        g = self.group(gid)
        if lib is not None:
            lib.set_reviewed(g, verdict)
        self.clear(gid)
        self.groups = [x for x in self.groups if x is not g]
        self._reindex()

    # ---- export ---------------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        out = []
        for g in self.groups:
            for m in g.members:
                p = str(m.path)
                out.append({"group": g.id, "tier": g.tier, "keeper": p == str(g.keeper),
                            "keeper_reason": self.keeper_reason(g.id) if p == str(g.keeper) else "",
                            "reference": self.is_reference(p), "marked": p in self._marked, "path": p,
                            "similarity": round(float(m.similarity), 6), "width": m.width, "height": m.height,
                            "bytes": m.bytes, "format": m.format, "date_taken": m.date_taken,
                            "pictures": getattr(m, "pictures", 1) or 1})
        return out

    def to_dict(self) -> dict:
        return {"tier": self.tier, "groups": [
            {"id": g.id, "tier": g.tier, "keeper": str(g.keeper), "keeper_reason": self.keeper_reason(g.id),
             "members": [{**m.to_dict(), "marked": str(m.path) in self._marked} for m in g.members]}
            for g in self.groups], "marked": self.removal().to_dict()}

    def export(self, dest: str | Path, fmt: str | None = None) -> Path:
        """CSV (one row per photo) or JSON (groups with members), by ``fmt`` or the file's suffix."""
        dest = Path(dest)
        fmt = (fmt or dest.suffix.lstrip(".") or "csv").lower()
        if fmt == "json":
            dest.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        elif fmt == "csv":
            rows = self.rows()
            with open(dest, "w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["group", "path"])
                w.writeheader()
                w.writerows(rows)
        else:
            raise ReviewError(f"unknown export format {fmt!r} (use csv or json)")
        return dest
