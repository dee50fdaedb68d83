"""A read-only view of a library for the commands that read only its catalog: ``status``, ``folders``,
``history``.

:class:`~.library.Library` brings the scanner, the indexes and the grouping code, and with them numpy, PIL
and hnswlib: about 0.25 s before a small library's ``status`` could print anything. A :class:`LibraryView`
opens the catalog (read-only, beside any writer) and the model card, nothing else, so these commands cost
little more than the interpreter's start (issue 13). ``Library.status()`` answers with the same function.
"""

from __future__ import annotations

import os
from pathlib import Path

from .catalog import Catalog, catalog_is_current
from .index_meta import read_meta, space_path
from .lockfile import held_elsewhere
from .model_card import LazyModel
from .paths import default_library_dir
from .roots import under

CATALOG_NAME = "catalog.sqlite"
INDEX_NAME = "index.hnsw"
LOCK_NAME = "lock"


def library_status(home: Path, catalog: Catalog, model, index_path: Path, spaces, origin: str,
                   readonly: bool) -> dict:
    """Folders and counts, the model card's facts, the indexes' size: without opening an index or loading
    the model. ``origin``: how the indexes were obtained ("unopened" when none was needed yet)."""
    counts = catalog.counts()
    unlisted = catalog.folder_problems()   # a handful: each is a folder, not a file
    folders = []
    refs = set(catalog.reference_folders())
    for f in catalog.folders():
        files, errors = catalog.count_under(f)
        below = sum(1 for p in unlisted if under(p, f))
        folders.append({"path": f, "exists": os.path.isdir(f), "files": files - below, "errors": errors - below,
                        "unreadable_folders": below, "reference": f in refs})
    index_bytes = sum(space_path(index_path, s).stat().st_size for s in spaces
                      if space_path(index_path, s).exists())
    # the count of this model's vectors comes from the saved index's meta when it reflects the catalog now,
    # else from the catalog itself
    meta = read_meta(index_path)
    if meta and meta["model_id"] == model.model_id and meta["seq"] == catalog.seq():
        indexed = meta["count"]
    else:
        indexed = catalog.embedding_count(model.model_id)
    return {
        "library": str(home),
        "folders": folders,
        "files": counts["files"] - len(unlisted), "indexed": indexed, "errors": counts["errors"] - len(unlisted),
        "unreadable_folders": len(unlisted),
        "bytes": counts["bytes"],
        "model": {"name": model.name, "model_id": model.model_id,
                  "embedding_size": model.embedding_size, "input_size": model.input_size,
                  "spaces": {k: list(v) for k, v in model.spaces.items()}, "tta": model.tta,
                  "device": model.device},
        "index": {"vectors": indexed, "file_bytes": index_bytes, "origin": origin},
        "catalog_bytes": (home / CATALOG_NAME).stat().st_size,
        "thresholds": model.thresholds,
        "readonly": readonly,
    }


class LibraryView:
    """The reads of a :class:`~.library.Library` opened read-only that need only the catalog and the card.

    Like that Library it takes no writer lock (so it works beside a writer, and ``status`` says when one is
    writing), and a missing or broken model card is the same error."""

    readonly = True

    def __init__(self, home: Path, *, model_path: str | Path | None = None, device: str = "auto"):
        self.home = Path(home)
        self.model = LazyModel(Path(model_path) if model_path else None, device=device)
        self.catalog: Catalog | None = Catalog(self.home / CATALOG_NAME, readonly=True)
        self.index_path = self.home / INDEX_NAME

    def status(self) -> dict:
        return library_status(self.home, self.catalog, self.model, self.index_path, tuple(self.model.spaces),
                              "unopened", held_elsewhere(self.home / LOCK_NAME))

    def errors(self) -> list[tuple[str, str]]:
        return self.catalog.errors()

    def folders(self) -> list[Path]:
        return [Path(p) for p in self.catalog.folders()]

    def reference_folders(self) -> list[Path]:
        return [Path(p) for p in self.catalog.reference_folders()]

    def excluded_folders(self) -> list[Path]:
        return [Path(p) for p in self.catalog.excluded_folders()]

    def history(self) -> list:
        """Every logged trash/move action, oldest first."""
        from .actions import ActionLog

        return ActionLog(self.home).actions()

    def close(self) -> None:
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None

    def __enter__(self) -> "LibraryView":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_view(home: str | Path | None = None, **kw) -> LibraryView | None:
    """A view of the library at ``home``; None when its catalog does not exist yet or needs an upgrade,
    which only a :class:`~.library.Library` does (``open_for_query``)."""
    path = Path(home).expanduser().resolve() if home else default_library_dir().resolve()
    if not catalog_is_current(path / CATALOG_NAME):
        return None
    return LibraryView(path, **kw)
