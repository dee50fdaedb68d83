"""One typed change set per write to the library.

A write (a scan, a watcher batch, a trash, a move, an undo, a folder removal) makes the library emit many
low-level ``ChangeEvent``s, one per batch of files. Views want one answer to "what did that write change?",
the way Anki's operations return their ``OpChanges``: they read the set and refresh what it touches, instead
of every action wiring its own refresh. ``ChangeSet.add`` folds events in; the writer's owner (the GUI
controller, or a script) announces the set once the write is over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# what wrote: who announces the set
SCAN, WATCHER, TRASH, MOVE, UNDO, FOLDERS, LIBRARY = "scan", "watcher", "trash", "move", "undo", "folders", "library"
SOURCES = (SCAN, WATCHER, TRASH, MOVE, UNDO, FOLDERS, LIBRARY)


@dataclass
class ChangeSet:
    source: str                                            # one of SOURCES
    added: set[int] = field(default_factory=set)           # file ids new to the library
    updated: set[int] = field(default_factory=set)         # file ids whose content changed
    removed: set[int] = field(default_factory=set)         # file ids the library forgot
    removed_paths: set[str] = field(default_factory=set)
    moved: dict[int, str] = field(default_factory=dict)    # file id -> its new path (same id, same vector)
    folders: bool = False                                  # the list of library folders changed
    result: Any = None                                     # ScanReport, Action, UndoReport or WatchBatch

    def add(self, event) -> None:
        """Fold in one ``scanner.ChangeEvent`` (kind, file_ids, paths)."""
        kind, ids, paths = event.kind, list(event.file_ids), list(event.paths)
        if kind == "added":
            self.added.update(ids)
            self.removed.difference_update(ids)
        elif kind == "updated":
            self.updated.update(i for i in ids if i not in self.added)
        elif kind == "removed":
            self.removed.update(ids)
            self.removed_paths.update(paths)
            for i in ids:
                self.added.discard(i)
                self.updated.discard(i)
                self.moved.pop(i, None)
        elif kind == "moved":
            if len(paths) == len(ids):
                self.moved.update(zip(ids, paths))
            else:  # a folder moved: ids under one new root; their paths are read back from the catalog
                self.moved.update((i, "") for i in ids)
        elif kind == "folders":
            self.folders = True

    @property
    def files_changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.moved)

    @property
    def empty(self) -> bool:
        return not (self.files_changed or self.folders)

    def summary(self) -> str:
        parts = [f"{len(s)} {what}" for s, what in ((self.added, "new"), (self.updated, "changed"),
                                                    (self.moved, "moved"), (self.removed, "gone")) if s]
        return f"{self.source}: " + (", ".join(parts) if parts else ("folders changed" if self.folders else
                                                                     "no change"))
