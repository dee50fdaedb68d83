"""Shared CLI helpers: library option, output formats, a terminal progress bar."""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable

from imgsim_desktop.core.progress import Progress, ProgressState
from imgsim_desktop.core.roots import display_path


def add_library_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", type=Path, default=None,
                   help="library folder (default: $IMGSIM_HOME or the user data dir)")


def add_format_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="print JSON")
    g.add_argument("--csv", action="store_true", help="print CSV")


def print_json(obj: Any) -> None:
    # one write: json.dump writes piece by piece (1.8M writes for 13,000 groups, 6 s at 100k photos)
    # indented for a person at a terminal; compact into a pipe or file, which lets json use its C encoder
    # (indent selects the pure-Python one: about a third of `dupes --tier similar --json` at 1M photos)
    indent = 2 if sys.stdout.isatty() else None
    text = json.dumps(obj, indent=indent, default=str)
    if "\\ud" in text:   # a lone surrogate, or only a character past U+FFFF (an emoji): rare, so looked at then
        text = json.dumps(portable(obj), indent=indent, default=str)
    sys.stdout.write(text + "\n")


def portable(obj: Any) -> Any:
    """A name that is not UTF-8 (a Latin-1 file from an old archive) reaches Python as lone surrogates, which
    strict JSON parsers refuse. Such a string is written with U+FFFD for each bad byte, and beside it under
    ``<key>_bytes`` its exact bytes in base64 (ripgrep's JSON does the same), so a script can open the file."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(v, str) and display_path(v) != v:
                out[k] = display_path(v)
                out[f"{k}_bytes"] = base64.b64encode(os.fsencode(v)).decode("ascii")
            elif isinstance(v, (list, tuple)) and any(isinstance(x, str) and display_path(x) != x for x in v):
                # a list of names ("paths"): each one's bytes in a list beside it, None where the name is exact
                out[k] = portable(v)
                out[f"{k}_bytes"] = [base64.b64encode(os.fsencode(x)).decode("ascii")
                                     if isinstance(x, str) and display_path(x) != x else None for x in v]
            else:
                out[k] = portable(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [portable(v) for v in obj]
    return display_path(obj) if isinstance(obj, str) else obj


def print_csv(rows: list[dict], columns: list[str]) -> None:
    w = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(r)


# control characters in a file name (a newline, an escape sequence) would break a row or drive the terminal:
# written as Python writes them in a string. JSON and CSV quote them themselves.
_CONTROLS = {c: repr(chr(c))[1:-1] for c in (*range(0x20), 0x7f, *range(0x80, 0xa0))}


def shown(text: Any) -> str:
    """``text`` for a terminal: control characters escaped ("\\n", "\\x1b")."""
    return str(text).translate(_CONTROLS)


def print_table(rows: Iterable[Iterable[Any]], headers: list[str]) -> None:
    rows = [[("" if c is None else shown(c)) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


class TerminalProgress(Progress):
    """A one-line progress bar on stderr; silent when stderr is not a terminal except for a final line."""

    def __init__(self, enabled: bool = True):
        super().__init__(min_interval_s=0.2)
        self.enabled = enabled
        self.tty = sys.stderr.isatty()

    def on_update(self, s: ProgressState) -> None:
        if not self.enabled or not self.tty:
            return
        total = s.total or 0
        frac = (s.done / total) if total else 0.0
        bar = "#" * int(frac * 30)
        eta = s.eta_s
        eta_txt = f" eta {eta:4.0f}s" if eta is not None else ""
        sys.stderr.write(f"\r{s.phase:<10} [{bar:<30}] {s.done}/{total} {s.rate:6.1f}/s{eta_txt}  ")
        sys.stderr.flush()

    def finish(self) -> None:
        super().finish()
        if self.enabled and self.tty:
            sys.stderr.write("\n")
