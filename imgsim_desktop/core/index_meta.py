"""An index file's sidecar (``<index>.json``): what the file must match before hnswlib may read it.

hnswlib trusts its links and entry point blindly and crashes the process on bad ones, so a saved index is
used only when its sidecar says it was made by this model, for these columns and this catalog, and the file
is the one that was written: same fingerprint (size, inode, device, times, both ends hashed), or else the
full checksum. Reading a sidecar (``imgsim status`` does) needs neither numpy nor hnswlib.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger("imgsim_desktop.core.index")   # the index's own messages


def space_path(path: Path, space: str) -> Path:
    """Where a space's index lives: the duplicates index keeps the library's one index file name."""
    path = Path(path)
    return path if space == "duplicates" else path.with_name(f"{path.stem}-{space}{path.suffix}")


def _meta_path(path: Path) -> Path:
    return Path(str(path) + ".json")


def _write_meta(path: Path, meta: dict) -> None:
    mtmp = _meta_path(path).with_suffix(".tmp")
    mtmp.write_text(json.dumps(meta))
    os.replace(mtmp, _meta_path(path))


EDGE = 1 << 20  # bytes hashed at each end of the file for its fingerprint


def file_fingerprint(path: Path) -> list:
    """What identifies the file as it was written, cheaply: size, inode, device, mtime and ctime (ns), and a
    hash of its first and last MiB (the header with hnswlib's entry point, the upper levels' links).

    Anything that writes, truncates, replaces or copies the file changes at least one of them (ctime
    cannot be set back by anyone), so an open that finds them unchanged may skip the full checksum, which
    reads the whole file (661 MB at 1M photos); any difference means the full checksum is done."""
    import xxhash

    path = Path(path)
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        h = xxhash.xxh3_64(f.read(EDGE))
        if st.st_size > EDGE:
            f.seek(max(EDGE, st.st_size - EDGE))
            h.update(f.read(EDGE))
    return [st.st_size, st.st_ino, st.st_dev, st.st_mtime_ns, st.st_ctime_ns, h.hexdigest()]


def file_checksum(path: Path) -> tuple[str, int]:
    """(xxh3-128 hex digest, size) of a file, read in chunks (a 1M-photo index hashes in well under 1 s)."""
    import xxhash

    h = xxhash.xxh3_128()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
            size += len(chunk)
    return "xxh3_128:" + h.hexdigest(), size


def read_meta(path: Path) -> dict | None:
    """The sidecar of an index file, checked field by field; None when it is missing or malformed (a
    sidecar of ``null``, ``[1, 2]`` or with wrong types is treated like a missing one: rebuild)."""
    mp = _meta_path(Path(path))
    try:
        meta = json.loads(mp.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None  # a new library, or the index was deleted: rebuild quietly
    except (OSError, ValueError) as exc:
        log.warning("index meta %s unreadable (%s); rebuilding", mp, exc.__class__.__name__)
        return None
    ok = (isinstance(meta, dict) and isinstance(meta.get("model_id"), str) and _is_int(meta.get("dim"))
          and _is_int(meta.get("seq")) and meta["seq"] >= 0 and _is_int(meta.get("count")) and meta["count"] >= 0
          and (meta.get("cols") is None or (isinstance(meta["cols"], list) and len(meta["cols"]) == 2
                                            and all(_is_int(c) for c in meta["cols"])))
          and isinstance(meta.get("deleted", []), list) and all(_is_int(i) for i in meta.get("deleted", []))
          and isinstance(meta.get("checksum"), str) and _is_int(meta.get("bytes"))
          and (meta.get("catalog_id") is None or isinstance(meta["catalog_id"], str)))
    if not ok and isinstance(meta, dict) and "checksum" not in meta and "model_id" in meta:
        log.info("index %s was saved without a checksum (older version); rebuilding", mp)
        return None
    if not ok:
        log.warning("index meta %s is malformed; rebuilding", mp)
        return None
    meta.setdefault("deleted", [])
    return meta


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _unusable(meta: dict, path: Path, model_id: str, dim: int, cols,
              catalog_id: str | None) -> tuple[str | None, list | None]:
    """(why a saved index may not be used, or None: it may; the fingerprint of a file that needed and
    passed the full checksum, or None when its fingerprint matched the sidecar's)."""
    if meta["model_id"] != model_id or meta["dim"] != dim:
        return "was made by another model", None
    if (tuple(meta["cols"]) if meta.get("cols") else None) != (tuple(cols) if cols else None):
        return "holds other columns of the vectors", None
    if catalog_id and meta.get("catalog_id") and meta["catalog_id"] != catalog_id:
        return "belongs to another catalog", None
    try:
        if path.stat().st_size != meta["bytes"]:
            return "has the wrong size (damaged or partly written)", None
        before = file_fingerprint(path)
        if before == meta.get("fingerprint"):
            return None, None  # untouched since it was written and checksummed
        if file_checksum(path)[0] != meta["checksum"]:
            return "fails its checksum (damaged)", None
        if file_fingerprint(path) != before:
            return "changed while it was being checked", None
        return None, before
    except OSError as exc:
        return f"cannot be read ({exc.__class__.__name__})", None
