"""Duplicate groups written out for other tools: CSV (one row per member) or JSON (a list of groups), from the
app's Export and ``imgsim dupes --csv``-like use."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterable, Sequence

EXPORT_FIELDS = ("group", "tier", "keeper", "path", "similarity", "width", "height", "bytes", "format",
                 "date_taken", "mtime_ns", "pictures")


def _rows(groups: Iterable) -> list[dict]:
    rows = []
    for gi, g in enumerate(groups, start=1):
        for m in g.members:
            rows.append({
                "group": gi, "tier": g.tier, "keeper": str(m.path) == str(g.keeper), "path": str(m.path),
                "similarity": round(float(m.similarity), 6), "width": m.width, "height": m.height,
                "bytes": m.bytes, "format": m.format, "date_taken": m.date_taken, "mtime_ns": m.mtime_ns,
                "pictures": getattr(m, "pictures", 1) or 1,
            })
    return rows


def export_groups(groups: Sequence, dest: str | Path, fmt: str | None = None) -> Path:
    """Write the groups to CSV (one row per member) or JSON (a list of groups), by ``fmt`` or suffix."""
    dest = Path(dest)
    fmt = (fmt or dest.suffix.lstrip(".") or "csv").lower()
    rows = _rows(groups)
    if fmt == "json":
        out: list[dict] = []
        for r in rows:
            if not out or out[-1]["group"] != r["group"]:
                out.append({"group": r["group"], "tier": r["tier"], "members": []})
            out[-1]["members"].append({k: v for k, v in r.items() if k not in ("group", "tier")})
        # surrogateescape: a file name that is not UTF-8 is written back as the bytes it is
        dest.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8", errors="surrogateescape")
    elif fmt == "csv":
        with open(dest, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
            w = csv.DictWriter(f, fieldnames=EXPORT_FIELDS)
            w.writeheader()
            w.writerows(rows)
    else:
        raise ValueError(f"unknown export format {fmt!r} (use csv or json)")
    return dest
