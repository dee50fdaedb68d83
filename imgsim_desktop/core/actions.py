"""Trash / move photos, with an undo log in the library folder. Headless: no Qt here.

Nothing in this module deletes a file. ``trash_files`` hands files to the system trash (send2trash) and
``move_files`` moves them into a folder the user chose; both write one JSON line per action to
``<library home>/actions.jsonl`` *before* returning, and ``undo`` puts the files back:

* moved files are moved back to their original path;
* on Linux (freedesktop trash, which is what send2trash writes there) the ``.trashinfo`` entry whose
  ``Path=`` is the original path is found, and ``files/<name>`` is moved back. On other platforms the trash
  cannot be read back portably, so a trash action is logged but not undoable from the app.

An undo never overwrites: if something now sits at the original path, that item is reported as failed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .freedesktop_trash import _freedesktop, _sync_send2trash_env, find_trash_entry

LOG_NAME = "actions.jsonl"
TRASH = "trash"
MOVE = "move"


# --------------------------------------------------------------------------------------------- records
@dataclass
class ActionItem:
    src: str  # the original path
    dst: str | None = None  # where the file went (trash files/ entry or the target folder's file)
    bytes: int = 0
    info: str | None = None  # the freedesktop .trashinfo file, when known
    error: str | None = None  # why this file was not moved (it stays where it was)
    restored: bool = False

    @property
    def done(self) -> bool:
        return self.error is None and self.dst is not None


@dataclass
class Action:
    id: str
    kind: str  # TRASH or MOVE
    created: str
    items: list[ActionItem] = field(default_factory=list)
    target: str | None = None  # the folder of a MOVE

    @property
    def done_items(self) -> list[ActionItem]:
        return [i for i in self.items if i.done]

    @property
    def failed_items(self) -> list[ActionItem]:
        return [i for i in self.items if i.error is not None]

    @property
    def total_bytes(self) -> int:
        return sum(i.bytes for i in self.done_items)

    @property
    def pending_undo(self) -> list[ActionItem]:
        """Items that were moved and are not back yet."""
        return [i for i in self.done_items if not i.restored]

    @property
    def undone(self) -> bool:
        return bool(self.done_items) and not self.pending_undo

    @property
    def undoable(self) -> bool:
        """Some file still waits where it went (a trash emptied since leaves nothing to put back)."""
        pending = self.pending_undo
        if not pending or (self.kind == TRASH and not all(i.info for i in pending)):
            return False
        return any(os.path.lexists(i.dst) for i in pending)

    def describe(self, state: bool = True) -> str:
        """"Moved to trash: 3 files (2.1 MB)", with what an undo did unless ``state`` is False (a table that
        has a column of its own for it said "undone" twice)."""
        from .sidecars import is_sidecar

        sides = sum(is_sidecar(i.src) for i in self.done_items)
        n = len(self.done_items) - sides
        what = "Moved to trash" if self.kind == TRASH else f"Moved to {self.target}"
        s = f"{what}: {n} file{'s' if n != 1 else ''}"
        if sides:
            s += f" and {sides} sidecar{'s' if sides != 1 else ''}"
        s += f" ({format_bytes(self.total_bytes)})"
        if self.failed_items:
            s += f", {len(self.failed_items)} failed"
        if not state:
            return s
        if self.undone:
            s += " — undone"
        elif any(i.restored for i in self.done_items):   # an undo that could not put every file back
            back = sum(i.restored for i in self.done_items)
            s += f" — {back} put back, {len(self.pending_undo)} not"
        return s

    def to_json(self) -> dict:
        d = asdict(self)
        d["type"] = "action"
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Action":
        items = [ActionItem(**{k: v for k, v in it.items() if k in ActionItem.__dataclass_fields__})
                 for it in d.get("items", [])]
        return cls(id=d["id"], kind=d["kind"], created=d.get("created", ""), items=items,
                   target=d.get("target"))


@dataclass
class UndoReport:
    action_id: str
    restored: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (original path, reason)


def format_bytes(n: int | float) -> str:
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def summarize(paths: Iterable[str | Path]) -> tuple[int, int]:
    """(number of existing files, their total size in bytes) — for the confirmation dialog."""
    count = total = 0
    for p in paths:
        try:
            total += os.stat(p).st_size
            count += 1
        except OSError:
            pass
    return count, total


# --------------------------------------------------------------------------------------------- the log
class ActionLog:
    """Append-only JSON-lines log: one ``action`` line per action, one ``undo`` line per undo attempt."""

    def __init__(self, home: str | Path):
        self.home = Path(home)
        self.path = self.home / LOG_NAME
        self._lock = threading.Lock()

    def _append(self, record: dict, sync: bool = True) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        # ASCII escapes keep a name that is not UTF-8 (a lone surrogate in Python) exact, and the line valid
        line = json.dumps(record)
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            if sync:
                os.fsync(f.fileno())

    def begin(self, action: Action) -> None:
        """Before the first file moves: proves the log writable (else nothing moves: a trash nobody can undo),
        and opens the record the items then join one by one."""
        self._append({"type": "begin", "id": action.id, "kind": action.kind, "created": action.created,
                      "target": action.target})

    def record_plan(self, action: Action, src: str, dst: str | None = None) -> None:
        """A file about to move (and where, for a move): a kill between the move and its ``item`` line leaves
        this, and reading the log finds where the file went (``_resolve_plans``)."""
        self._append({"type": "plan", "id": action.id, "src": src, "dst": dst}, sync=False)

    def record_item(self, action: Action, item: ActionItem) -> None:
        """One file moved: logged at once (flushed to the system), so an action cut short by Ctrl-C, a kill or
        a crash can still be undone for the files it did move."""
        self._append({"type": "item", "id": action.id, "item": asdict(item)}, sync=False)

    def record(self, action: Action) -> None:
        self._append(action.to_json())

    def record_undo(self, report: UndoReport) -> None:
        self._append({"type": "undo", "id": report.action_id, "time": _now(),
                      "restored": report.restored, "failed": [list(f) for f in report.failed]})

    def actions(self) -> list[Action]:
        """Every logged action, oldest first, with the undo lines applied."""
        if not self.path.exists():
            return []
        by_id: dict[str, Action] = {}
        order: list[str] = []
        plans: dict[str, dict[str, str | None]] = {}   # action id -> src -> planned dst
        whole: set[str] = set()                       # actions whose closing line was written
        with self._lock, open(self.path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()   # a stray byte that is not UTF-8 spoils its line only, not the history
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line after a crash
            if not isinstance(rec, dict):
                continue
            if rec.get("type") in ("action", "begin"):
                try:
                    a = Action.from_json({**rec, "items": rec.get("items", [])})
                except (KeyError, TypeError):
                    continue
                if a.id not in by_id:
                    order.append(a.id)
                by_id[a.id] = a   # the whole action replaces what its items had said one by one
                if rec.get("type") == "action":
                    whole.add(a.id)
            elif rec.get("type") == "plan" and rec.get("id") in by_id and isinstance(rec.get("src"), str):
                plans.setdefault(rec["id"], {})[rec["src"]] = rec.get("dst")
            elif rec.get("type") == "item" and rec.get("id") in by_id and isinstance(rec.get("item"), dict):
                it = rec["item"]
                by_id[rec["id"]].items.append(
                    ActionItem(**{k: v for k, v in it.items() if k in ActionItem.__dataclass_fields__}))
            elif rec.get("type") == "undo" and rec.get("id") in by_id:
                back = set(rec.get("restored", []))
                for it in by_id[rec["id"]].items:
                    if it.src in back:
                        it.restored = True
        for aid, planned in plans.items():
            if aid not in whole:
                _resolve_plans(by_id[aid], planned)
        return [by_id[i] for i in order]

    def get(self, action_id: str) -> Action | None:
        for a in self.actions():
            if a.id == action_id:
                return a
        return None

    def last_undoable(self) -> Action | None:
        for a in reversed(self.actions()):
            if a.undoable:
                return a
        return None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _resolve_plans(action: Action, planned: dict[str, str | None]) -> None:
    """An action cut off by a kill: each file it was about to move and never logged is found where it went
    (the trash entry that names it, or the planned file of a move) and counts as moved; one still in its
    place did not move."""
    logged = {it.src for it in action.items}
    for src, dst in planned.items():
        if src in logged or os.path.lexists(src):
            continue
        item = ActionItem(src=src)
        if action.kind == TRASH:
            found = find_trash_entry(src)
            if found is None or found[0].stat().st_mtime < _started(action) - 2:
                continue   # no entry, or one an earlier action left for a file of that name
            item.info, item.dst = str(found[0]), str(found[1])
        elif dst and os.path.lexists(dst):
            item.dst = dst
        else:
            continue
        action.items.append(item)


def _started(action: Action) -> float:
    try:
        return time.mktime(time.strptime(action.created, "%Y-%m-%dT%H:%M:%S"))   # _now()'s local time
    except (TypeError, ValueError, OverflowError):
        return 0.0


def _new_action(kind: str, target: str | None = None) -> Action:
    return Action(id=uuid.uuid4().hex[:12], kind=kind, created=_now(), target=target)


# --------------------------------------------------------------------------------------------- trash
REFERENCE_REFUSAL = "in a reference folder: never trashed or moved"


def _protected(src: str, roots: Sequence[str | Path]) -> bool:
    return any(src == str(r) or src.startswith(str(r).rstrip(os.sep) + os.sep) for r in roots)


def reference_roots(log: ActionLog) -> list[str]:
    """The reference folders of the library whose log this is (read from its catalog), so that a caller
    who does not pass ``protected`` cannot trash a reference photo either."""
    from .catalog import Catalog

    db = log.home / "catalog.sqlite"
    if not db.exists():
        return []
    try:
        cat = Catalog(db, readonly=True)
    except Exception:
        return []
    try:
        return cat.reference_folders()
    except Exception:  # a catalog from before reference folders
        return []
    finally:
        cat.close()


def trash_files(paths: Sequence[str | Path], log: ActionLog,
                protected: Sequence[str | Path] | None = None, refused: dict[str, str] | None = None,
                sidecars: bool = False) -> Action:
    """Send each file to the system trash and log where it went. Files that fail stay in place, and so do
    files below a ``protected`` folder (default: the reference folders of the log's library) and the files
    ``refused`` names (normalised absolute path -> why). ``sidecars``: then, in the same action, each sidecar
    (core/sidecars.py) whose photos all went."""
    from send2trash import send2trash

    from .sidecars import companions, following

    if protected is None:
        protected = reference_roots(log)
    action = _new_action(TRASH)
    claimed: set[str] = set()
    free = _freedesktop()
    if free:
        _sync_send2trash_env()
    beside = companions(str(p) for p in paths) if sidecars else {}   # listed before their photos leave
    _begin(log, action)
    try:
        _trash_each(paths, action, log, protected, refused, claimed, free, send2trash)
        _trash_each(following(beside, (i.src for i in action.done_items), (i.src for i in action.items)), action,
                    log, protected, refused, claimed, free, send2trash)
    finally:   # all of it, or as far as it got (Ctrl-C, an error): what moved can be undone
        log.record(action)
    return action


def _item(action: Action, path, protected, refused: dict[str, str] | None = None) -> ActionItem:
    """The action's item for ``path`` (absolute, normalised), refused at once below a protected folder or
    when ``refused`` names it."""
    src = os.path.normpath(os.path.abspath(path))
    item = ActionItem(src=src)
    action.items.append(item)
    if _protected(src, protected):
        item.error = REFERENCE_REFUSAL
    elif refused and src in refused:
        item.error = refused[src]
    return item


def _trash_each(paths, action: Action, log: ActionLog, protected, refused, claimed: set, free: bool,
                send2trash) -> None:
    for p in paths:
        item = _item(action, p, protected, refused)
        if item.error is not None:
            continue
        src = item.src
        with _signals_after():   # a file moved and not logged could not be undone
            try:
                item.bytes = os.stat(src).st_size
                log.record_plan(action, src)
                send2trash(src)
            except Exception as e:  # send2trash raises OSError / TrashPermissionError
                item.error = _why_not_moved(e)
                continue
            if free:
                try:
                    found = find_trash_entry(src, exclude=claimed)
                except Exception:   # noqa: BLE001 - the file is in the trash already: log it whatever this says
                    found = None
                if found is not None:
                    info, entry = found
                    claimed.add(str(info))
                    item.info, item.dst = str(info), str(entry)
                else:
                    item.dst = "<trash>"  # trashed, but we cannot find it to restore
            else:
                item.dst = "<trash>"
            log.record_item(action, item)


def _why_not_moved(e: BaseException) -> str:
    """In words, not "[Errno 2] No such file or directory: '/…/IMG_5000.jpg'" (the path is beside it)."""
    if isinstance(e, FileNotFoundError):
        return "not found: moved or deleted since it was listed"
    return str(e) or type(e).__name__


@contextmanager
def _signals_after():
    """Ctrl-C (and a polite kill) wait until the file in hand is moved and logged, then act as they would
    have. Only the main thread receives signals; elsewhere (the app's workers) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = {sig: signal.signal(sig, lambda s, _f: caught.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in caught[:1]:
            handler = old[sig]
            if callable(handler):
                handler(sig, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(sig)


# --------------------------------------------------------------------------------------------- move
def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    stem, ext = os.path.splitext(name)
    n = 1
    while os.path.lexists(target):
        target = folder / f"{stem} ({n}){ext}"
        n += 1
    return target


def move_files(paths: Sequence[str | Path], folder: str | Path, log: ActionLog,
               protected: Sequence[str | Path] | None = None, sidecars: bool = False) -> Action:
    """Move each file into ``folder`` (never overwriting: "name (1).jpg") and log the move; files below a
    ``protected`` folder (default: the reference folders of the log's library) stay where they are.
    ``sidecars``: then each sidecar whose files all moved follows them, renamed as they were (core/sidecars.py)."""
    from .sidecars import companions, follow_name, following

    if protected is None:
        protected = reference_roots(log)
    folder = Path(folder).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    action = _new_action(MOVE, target=str(folder))
    beside = companions(str(p) for p in paths) if sidecars else {}
    _begin(log, action)
    try:
        _move_each([(p, None) for p in paths], folder, action, log, protected)
        moved = {i.src: i.dst for i in action.done_items}
        names = {s: follow_name(s, beside[s], moved) for s in following(beside, moved, (i.src for i in action.items))}
        _move_each([(s, name) for s, name in names.items() if name], folder, action, log, protected)
    finally:
        log.record(action)
    return action


def _move_each(todo, folder: Path, action: Action, log: ActionLog, protected) -> None:
    """(path, name in ``folder`` or None: its own, made free) for each file to move."""
    for p, name in todo:
        item = _item(action, p, protected)
        if item.error is not None:
            continue
        src = item.src
        with _signals_after():   # as a trash: a file moved is a file logged
            try:
                item.bytes = os.stat(src).st_size
                dst = _free_name(folder, os.path.basename(src)) if name is None else folder / name
                if name is not None and os.path.lexists(dst):
                    raise FileExistsError(f"{name} is taken in {folder}")
                log.record_plan(action, src, str(dst))
                shutil.move(src, dst)
                item.dst = str(dst)
            except Exception as e:
                item.error = _why_not_moved(e)
                continue
            log.record_item(action, item)


def _begin(log: ActionLog, action: Action) -> None:
    try:
        log.begin(action)
    except OSError as e:
        from .errors import LibraryError

        raise LibraryError(f"cannot write the undo log {log.path} ({e.strerror or e}): nothing was moved") from None


# --------------------------------------------------------------------------------------------- undo
def _put_back(current: str, original: str) -> None:
    if os.path.lexists(original):
        raise FileExistsError("a file is already at the original path: move it away, then undo again")
    if not os.path.lexists(current):
        raise FileNotFoundError(f"{current} is gone")
    os.makedirs(os.path.dirname(original), exist_ok=True)
    shutil.move(current, original)


def undo(action: Action | str, log: ActionLog, report: UndoReport | None = None) -> UndoReport:
    """Put the files of an action back where they were; logs which ones came back, also when Ctrl-C or a
    polite kill stops it (the file in hand comes back first). ``report`` (filled as files come back) lets a
    caller that is stopped so still see which did."""
    if isinstance(action, str):
        found = log.get(action)
        if found is None:
            raise KeyError(f"no action {action} in {log.path}")
        action = found
    report = report if report is not None else UndoReport(action.id)
    try:
        for item in action.pending_undo:
            with _signals_after():
                try:
                    if action.kind == MOVE:
                        _put_back(item.dst, item.src)
                    else:
                        if not item.info:
                            raise RuntimeError("this platform's trash cannot be restored from the app")
                        if not os.path.exists(item.info) or not os.path.lexists(item.dst):
                            raise FileNotFoundError("no longer in the trash")
                        _put_back(item.dst, item.src)
                        try:
                            os.remove(item.info)
                        except OSError:
                            pass
                    item.restored = True
                    report.restored.append(item.src)
                except Exception as e:
                    report.failed.append((item.src, str(e) or type(e).__name__))
    finally:
        log.record_undo(report)
    return report


# --------------------------------------------------------------------------------------------- marking
def _member_path(m) -> str:
    return str(m.path if hasattr(m, "path") else m["path"])


def auto_mark(groups: Iterable, keepers: dict[int, str] | None = None) -> list[str]:
    """Paths to mark: every member but the keeper and reference photos, per group. Never all members of a
    group. (core/review.ReviewSession.mark_all_but_keeper has the full rules: RAW+JPEG units, similar tier.)

    ``groups`` are ``DuplicateGroup``-like (``keeper``, ``members``); ``keepers`` maps a group's index to
    the path the user chose to keep instead of the suggested keeper.
    """
    marked: list[str] = []
    for gi, g in enumerate(groups):
        members = [_member_path(m) for m in g.members]
        if len(members) < 2:
            continue
        keep = (keepers or {}).get(gi) or str(g.keeper)
        if keep not in members:
            keep = members[0]
        refs = {_member_path(m) for m in g.members if getattr(m, "reference", False)}
        marked.extend(p for p in members if p != keep and p not in refs)
    return marked


def group_is_safe(member_paths: Sequence[str], marked: set[str]) -> bool:
    """True unless every member of the group is marked (the app refuses to act on such a group)."""
    return any(p not in marked for p in member_paths)
